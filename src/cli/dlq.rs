//! `switchboard dlq`: the dead letters, routed work a writer gave up on
//! (the target refused it, or it may have been applied) and changes routing
//! could not decide (a condition failed), and replaying them once the cause
//! is fixed.
//!
//! With `[broker]` set a writer's dead letters are the messages in the
//! `switchboard.dlq` queue; embedded, they are outbox rows set aside.
//! Changes routing could not decide are outbox rows set aside on both.
//! A replay renders each letter again from the files in force now (see
//! `sync::replay`), or with `--as-sent` sends it as it was; either way it
//! goes through the same writer, which will not apply a message twice.
//! The work is `ops::dead_letters`'s, which the API's replay shares.

use anyhow::Context;
use serde_json::{Value, json};

use super::{Cli, connect_store, load_catalog, load_config};
use crate::ops::dead_letters::{self as ops, Which};
use crate::ops::{DeadLetterError, Letter, LetterOutcome, LetterReplay};
use crate::telemetry::text::Escaped;
use crate::transport::Topology;

#[derive(Debug, clap::Args)]
pub struct DlqArgs {
    #[command(subcommand)]
    command: DlqCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DlqCommand {
    /// Show every dead letter, oldest first: its id, target, attempts and
    /// why it died. Removes nothing.
    List {
        /// One JSON object per line, with the whole event.
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters back: one by id (as `list` shows it), or `--all`.
    /// Fix the cause first: each letter is rendered again from the mapping
    /// and routing files in force now (so a fixed `set` value or rule
    /// takes effect), and a change routing could not decide is routed
    /// again. A letter whose outcome was unknown (a timeout, a 500) may
    /// already exist in the target, so check there before replaying it.
    Replay {
        /// The event id of the letter to replay.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
        /// Send each letter exactly as it was sent, without rendering it
        /// again (a change routing could not decide is still routed again:
        /// it was never sent).
        #[arg(long)]
        as_sent: bool,
    },
}

pub async fn run(cli: &Cli, args: &DlqArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let store = connect_store(&cfg).await?;
    let broker = match &cfg.settings.broker {
        Some(b) => Some(b.url.resolve().context("[broker] url")?),
        None => None,
    };
    let broker = broker.as_ref().map(|u| u.expose());
    let topology = cfg
        .settings
        .broker
        .as_ref()
        .map(|b| Topology::for_prefix(&b.prefix))
        .unwrap_or_default();
    let result = match &args.command {
        DlqCommand::List { json } => match ops::list(&store, broker, &topology).await {
            Ok(letters) => {
                print_letters(&letters, *json);
                Ok(())
            }
            Err(e) => Err(e.into()),
        },
        DlqCommand::Replay { id, all, as_sent } => {
            replay(
                &cfg,
                &store,
                broker,
                &topology,
                id.as_deref(),
                *all,
                *as_sent,
            )
            .await
        }
    };
    store.close().await;
    result
}

async fn replay(
    cfg: &crate::config::LoadedConfig,
    store: &crate::store::Store,
    broker: Option<&str>,
    topology: &Topology,
    id: Option<&str>,
    all: bool,
    as_sent: bool,
) -> anyhow::Result<()> {
    let which = match (id, all) {
        (Some(id), false) => Which::One(id.to_string()),
        _ => Which::All,
    };
    let letters = match ops::choose(ops::list(store, broker, topology).await?, &which) {
        Err(DeadLetterError::NotFound { id, count }) => anyhow::bail!(
            "no dead letter `{id}` ({count} dead letters; `switchboard dlq list` shows them)"
        ),
        other => other?,
    };
    if letters.is_empty() {
        println!("no dead letters");
        return Ok(());
    }
    // The catalog only when something is rendered again: a broken file
    // must not keep `--as-sent` from working.
    let connectors = match ops::needs_rendering(&letters, as_sent) {
        true => load_catalog(cfg)?.jobs().context(
            "failed to build the connectors whose mappings render dead letters \
             again (run the replay where the daemon's environment is set, or \
             use --as-sent)",
        )?,
        false => Vec::new(),
    };
    let jobs = crate::ops::quarantine::jobs(&connectors);
    let outcome = ops::replay(
        store,
        broker,
        topology,
        &letters,
        &jobs,
        as_sent,
        &mut print_letter,
    )
    .await?;
    println!(
        "replayed {} dead letter(s){}",
        outcome.replayed,
        if broker.is_some() {
            ""
        } else {
            "; the daemon delivers them on its next pass"
        }
    );
    if outcome.failed > 0 {
        anyhow::bail!(
            "{} dead letter(s) could not be replayed and stay in the dead letters (see above)",
            outcome.failed
        );
    }
    Ok(())
}

/// One line per letter, as each is done.
fn print_letter(done: &LetterReplay) {
    let id = Escaped(&done.id);
    match &done.outcome {
        LetterOutcome::AsSent(None) => println!("  {id}: sent again as it was"),
        LetterOutcome::AsSent(Some(why)) => println!("  {id}: sent again as it was ({why})"),
        LetterOutcome::Rendered(r) => println!("  {id}: {}", r.describe()),
        LetterOutcome::Failed(e) => println!("  {id}: not replayed: {}", Escaped(e)),
    }
}

fn print_letters(letters: &[Letter], as_json: bool) {
    if as_json {
        for l in letters {
            println!(
                "{}",
                json!({"id": l.id, "routing_key": l.routing_key, "attempts": l.attempts,
                       "reason": l.reason, "failed_at": l.failed_at, "event": l.payload})
            );
        }
        return;
    }
    if letters.is_empty() {
        println!("no dead letters");
        return;
    }
    for l in letters {
        let subject = l
            .payload
            .get("subject")
            .and_then(Value::as_str)
            .unwrap_or("");
        let source = l
            .payload
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or("");
        println!(
            "{}  {}  from {}  after {} attempt(s) at {}\n    {}",
            Escaped(&l.id),
            Escaped(&l.routing_key),
            Escaped(format!("{source} {subject}")),
            l.attempts,
            l.failed_at,
            Escaped(&l.reason)
        );
    }
    println!(
        "\n{} dead letter(s). Replay one with `switchboard dlq replay ID`, or all with `--all`.",
        letters.len()
    );
}
