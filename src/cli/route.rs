//! `switchboard route`: try records against the routing rules and show,
//! rule by rule, why each did or did not take the work.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use super::map::{Record, records};
use super::{Cli, config};
use crate::connector::Manifest;
use crate::diag::suggest;
use crate::routing::{EVENT_KINDS, Event, Outcome, Routing};

#[derive(Debug, clap::Args)]
pub struct RouteArgs {
    /// Canonical records, as `switchboard map` prints them: a `.jsonl` file,
    /// a `.json` file (one record or an array), or `-` for JSON lines on stdin.
    #[arg(long)]
    input: PathBuf,
    /// The change event: created, updated, status_changed, person_hired or
    /// person_leaving.
    #[arg(long, default_value = "created")]
    event: String,
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

pub fn run(cli: &Cli, args: &RouteArgs) -> anyhow::Result<()> {
    if !EVENT_KINDS.contains(&args.event.as_str()) {
        anyhow::bail!(
            "--event {}: events are {}",
            args.event,
            EVENT_KINDS.join(", ")
        );
    }
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
    for (n, item) in records(&args.input)?.enumerate() {
        let Record { at, value } = item?;
        let mut record = value.map_err(|e| anyhow::anyhow!("record {}: {at}: {e}", n + 1))?;
        as_routing_sees_it(&mut record, department.as_deref());
        let event = Event {
            kind: args.event.clone(),
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
            Outcome::Error(e) => format!("error, so no match: {e}"),
        };
        println!("  {}. {}: {why}", i + 1, step.rule.name);
    }
    match (decision.rule, decision.target) {
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
    for e in errors {
        println!("  {e}");
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
