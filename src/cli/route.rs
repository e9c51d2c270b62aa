//! `switchboard route`: try records against the routing rules and show,
//! rule by rule, why each did or did not take the work.

use std::path::PathBuf;

use serde_json::Value;

use super::map::{Record, records};
use super::{Cli, config};
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
    for (n, item) in records(&args.input)?.enumerate() {
        let Record { at, value } = item?;
        let record = value.map_err(|e| anyhow::anyhow!("record {}: {at}: {e}", n + 1))?;
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
