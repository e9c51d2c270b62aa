//! `switchboard route`: try records against the routing rules and show,
//! rule by rule, why each did or did not take the work; or, with
//! `--replay`, route a stored record again for real (see `sync::replay`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::map::{Record, records};
use super::{Cli, config};
use crate::connector::Manifest;
use crate::diag::suggest;
use crate::routing::{EVENT_KINDS, Event, Outcome, Routing};
use crate::telemetry::text::Escaped;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("records").required(true).args(["input", "replay"])))]
pub struct RouteArgs {
    /// Canonical records, as `switchboard map` prints them: a `.jsonl` file,
    /// a `.json` file (one record or an array), or `-` for JSON lines on stdin.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Route a stored record again, for real: map the raw payload the store
    /// kept with the mapping in force now, route it with the current rules
    /// and value streams, and enqueue the work. Idempotent: what was already
    /// enqueued or applied is not sent twice, and a value stream whose case
    /// exists is not started again. `--event` says which change (default
    /// `created` for a work item, `person_hired` for a person).
    #[arg(
        long,
        num_args = 3,
        value_names = ["SYSTEM", "STREAM", "EXTERNAL_ID"],
        conflicts_with_all = ["system", "stream", "routing"]
    )]
    replay: Option<Vec<String>>,
    /// The change event: created, updated, status_changed, person_hired or
    /// person_leaving.
    #[arg(long)]
    event: Option<String>,
    /// The system and stream the record came from (`event.system`, `event.stream`).
    /// With `--system`, a work item without a department gets that
    /// connector's (its manifest's `department`), as in a sync.
    #[arg(long, default_value = "")]
    system: String,
    #[arg(long, default_value = "")]
    stream: String,
    /// The routing file. Default: `[paths] routing` of the config (`routing.toml`).
    #[arg(long)]
    routing: Option<PathBuf>,
}

pub async fn run(cli: &Cli, args: &RouteArgs) -> anyhow::Result<()> {
    if let Some(e) = args.event.as_deref()
        && !EVENT_KINDS.contains(&e)
    {
        anyhow::bail!("--event {e}: events are {}", EVENT_KINDS.join(", "));
    }
    if let Some([system, stream, id]) = args.replay.as_deref() {
        return replay(cli, system, stream, id, args.event.as_deref()).await;
    }
    let event_kind = args.event.as_deref().unwrap_or("created");
    let Some(input) = &args.input else {
        anyhow::bail!("--input FILE or --replay SYSTEM STREAM EXTERNAL_ID");
    };
    let file = match &args.routing {
        Some(f) => f.clone(),
        None => config::load(cli.config.as_deref())?.routing_file(),
    };
    let routing = Routing::load(&file).map_err(anyhow::Error::new)?;
    let department = if args.system.is_empty() {
        None
    } else {
        let cfg = config::load(cli.config.as_deref())?;
        Some(department_of(&cfg.connectors_dir(), &args.system)?)
    };
    for (n, item) in records(input)?.enumerate() {
        let Record { at, value } = item?;
        let mut record = value.map_err(|e| anyhow::anyhow!("record {}: {at}: {e}", n + 1))?;
        as_routing_sees_it(&mut record, department.as_deref());
        let event = Event {
            kind: event_kind.to_string(),
            system: args.system.clone(),
            stream: args.stream.clone(),
            from_status: None,
            to_status: record
                .get("status")
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        print_decision(n + 1, &record, &routing, &event);
    }
    Ok(())
}

/// The record as a sync hands it to routing: a work item the mapping gave
/// no department has the connector's, and the history and lookups a sync
/// leaves out are left out here too, so a condition matches the same way.
fn as_routing_sees_it(record: &mut Value, department: Option<&str>) {
    let Value::Object(m) = record else {
        return;
    };
    m.remove("activities");
    m.remove("lookups");
    let work_item = m.get("entity").and_then(Value::as_str) == Some("work_item");
    let has_department = m.get("department").is_some_and(|d| !d.is_null());
    if let (true, false, Some(d)) = (work_item, has_department, department) {
        m.insert("department".into(), Value::String(d.to_string()));
    }
}

/// The department the connector manifest of `system` serves.
fn department_of(dir: &Path, system: &str) -> anyhow::Result<String> {
    let mut systems = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        // A manifest that does not load is `check`'s to report; it cannot
        // be the one asked for unless none other is.
        let Ok(m) = Manifest::load(&path) else {
            continue;
        };
        if m.header.system == system {
            return Ok(m.header.department);
        }
        systems.push(m.header.system);
    }
    let hint = suggest(system, &systems)
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default();
    anyhow::bail!(
        "--system {system}: no connector manifest in {} has system `{system}`{hint}",
        dir.display()
    )
}

fn print_decision(n: usize, record: &Value, routing: &Routing, event: &Event) {
    let text = |k: &str| record.get(k).and_then(Value::as_str).unwrap_or("-");
    let name = record
        .get("title")
        .or_else(|| record.get("display_name"))
        .and_then(Value::as_str)
        .unwrap_or("-");
    let kind = record
        .get("kind")
        .or_else(|| record.get("entity"))
        .and_then(Value::as_str)
        .unwrap_or("-");
    println!(
        "record {n}: \"{name}\" ({kind}, {}), event {}",
        text("department"),
        event.kind
    );
    let decision = routing.route(record, event);
    for (i, step) in decision.steps.iter().enumerate() {
        let why = match &step.outcome {
            Outcome::Matched => match step.rule.condition() {
                Some(c) => format!("matched: {}", one_line(c)),
                None => "matched (no condition)".into(),
            },
            Outcome::NoMatch => format!(
                "no match: {}",
                one_line(step.rule.condition().unwrap_or(""))
            ),
            Outcome::OtherEvent => format!(
                "skipped: only on {}",
                step.rule.events().unwrap_or_default().join(", ")
            ),
            Outcome::Error(e) => format!("error: {e}"),
        };
        println!("  {}. {}: {why}", i + 1, step.rule.name);
    }
    match (decision.rule, decision.target) {
        (Some(rule), None) if decision.failed.is_some() => println!(
            "  -> not routed: rule `{}` failed, so a live sync sends this event to the dead letters \
             (`switchboard dlq list`); fix the rule, then `switchboard dlq replay ID`",
            rule.name
        ),
        (Some(rule), Some(t)) => {
            let mut extra = Vec::new();
            if let Some(p) = rule.priority {
                extra.push(format!("priority {p}"));
            }
            if let Some(h) = rule.sla_hours {
                extra.push(format!("SLA {h} h"));
            }
            println!(
                "  -> {} / {} / {}{}",
                t.department,
                t.connector,
                t.action,
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", extra.join(", "))
                }
            );
        }
        (None, Some(t)) => println!(
            "  -> default route: {} / {} / {}",
            t.department, t.connector, t.action
        ),
        _ => println!("  -> no rule matched; it stays where it was raised"),
    }
    let (started, errors) = routing.streams_started(record, event);
    for v in started {
        let tasks: Vec<String> = v
            .tasks
            .iter()
            .map(|t| {
                format!(
                    "{} ({} / {} / {})",
                    t.name, t.to.department, t.to.connector, t.to.action
                )
            })
            .collect();
        println!("  starts value stream `{}`: {}", v.name, tasks.join(", "));
    }
    for (v, e) in errors {
        println!(
            "  value stream `{}` failed, so a live sync sends this event to the dead letters: {e}",
            v.name
        );
    }
}

/// `route --replay`: one stored record routed again, and what it sent.
async fn replay(
    cli: &Cli,
    system: &str,
    stream: &str,
    id: &str,
    event: Option<&str>,
) -> anyhow::Result<()> {
    let cfg = super::load_config(cli)?;
    let catalog = super::load_catalog(&cfg)?;
    let connectors = catalog.jobs().context("failed to build connectors")?;
    let Some(job) = connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find(|j| j.system() == system && j.stream.name == stream)
    else {
        anyhow::bail!(
            "{}",
            crate::sync::ReplayError::NoJob {
                system: system.into(),
                stream: stream.into(),
            }
        );
    };
    let store = super::connect_store(&cfg).await?;
    let result = async {
        let r = job
            .replan(&store, id, event, crate::sync::Scope::Everything)
            .await?;
        let done = store
            .requeue(crate::store::Requeue {
                replaces: &[],
                outbox: &r.plan.outbox,
                effects: &r.plan.effects,
                resend: false,
            })
            .await?;
        println!("{system}/{stream} `{}`:", Escaped(id));
        for m in &r.plan.outbox {
            let by = m
                .payload
                .get("sbrule")
                .and_then(Value::as_str)
                .unwrap_or("");
            let state = if done.queued.contains(&m.event_id) {
                "queued"
            } else {
                "already queued or sent, not sent again"
            };
            println!("  -> {} by {} ({state})", m.routing_key, Escaped(by));
        }
        for e in &r.plan.effects {
            if let crate::store::Effect::Unrouted { reason, message } = e {
                println!(
                    "  not routed: {}; in the dead letters as {}",
                    Escaped(reason),
                    message.event_id
                );
            }
        }
        for case in &r.cases_kept {
            println!("  value stream case {case} exists already: not started again");
        }
        if r.plan.outbox.is_empty() && r.plan.effects.is_empty() && r.cases_kept.is_empty() {
            println!("  no rule or value stream takes it: nothing to send");
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    result
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
