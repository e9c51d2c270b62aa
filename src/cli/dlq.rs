//! `switchboard dlq`: the dead letters, routed work a writer gave up on
//! (the target refused it, or it kept failing), and replaying them once
//! the cause is fixed.
//!
//! With `[broker]` set they are the messages in the `switchboard.dlq`
//! queue; embedded, they are outbox rows set aside. Either way the reason
//! is kept with each, and a replay goes through the same writer, which
//! still will not apply a message twice.

use anyhow::Context;
use serde_json::{Value, json};

use super::{Cli, connect_store, load_config};
use crate::store::Store;
use crate::transport::{Replay, Topology, dlq};

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
    /// Send dead letters back to their writers: one by id (as `list`
    /// shows it), or `--all`. Fix the cause first: a letter whose outcome
    /// was unknown (a timeout, a 500) may already exist in the target, so
    /// check there before replaying it.
    Replay {
        /// The event id of the letter to replay.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        #[arg(long)]
        all: bool,
    },
}

/// One dead letter, whichever transport kept it.
struct Letter {
    id: String,
    routing_key: String,
    attempts: u32,
    reason: String,
    failed_at: String,
    payload: Value,
}

pub async fn run(cli: &Cli, args: &DlqArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let store = connect_store(&cfg).await?;
    let broker = match &cfg.settings.broker {
        Some(b) => Some(b.url.resolve().context("[broker] url")?),
        None => None,
    };
    let topology = Topology::default();
    match &args.command {
        DlqCommand::List { json } => {
            let letters = match &broker {
                Some(url) => dlq::list(url.expose(), &topology)
                    .await?
                    .into_iter()
                    .map(|d| Letter {
                        id: d.message_id,
                        routing_key: d.routing_key,
                        attempts: d.attempts,
                        reason: d.reason,
                        failed_at: d.failed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        payload: d.payload,
                    })
                    .collect(),
                None => embedded(&store).await?,
            };
            print_letters(&letters, *json);
        }
        DlqCommand::Replay { id, all } => {
            let ids: Vec<String> = match (id, &broker) {
                (Some(id), _) => vec![id.clone()],
                (None, Some(url)) if *all => dlq::list(url.expose(), &topology)
                    .await?
                    .into_iter()
                    .map(|d| d.message_id)
                    .collect(),
                (None, None) if *all => embedded(&store).await?.into_iter().map(|l| l.id).collect(),
                (None, _) => anyhow::bail!("name a dead letter's id, or --all"),
            };
            // A person replays: a delivery cut off mid-call is theirs to
            // have checked, so the writer may apply it again.
            store.forget_in_doubt(&ids).await?;
            let replayed = match (&broker, id) {
                (Some(url), Some(id)) => {
                    dlq::replay(url.expose(), &topology, Replay::Id(id.clone()))
                        .await?
                        .replayed
                }
                (Some(url), None) => {
                    dlq::replay(url.expose(), &topology, Replay::All)
                        .await?
                        .replayed
                }
                (None, Some(id)) => {
                    let r = store.revive_outbox(Some(id)).await?;
                    if r.is_empty() {
                        let count = embedded(&store).await?.len();
                        anyhow::bail!(
                            "no dead letter `{id}` ({count} dead letters; `switchboard dlq list` shows them)"
                        );
                    }
                    r
                }
                (None, None) => store.revive_outbox(None).await?,
            };
            println!(
                "replayed {} dead letter(s){}",
                replayed.len(),
                if broker.is_some() {
                    ""
                } else {
                    "; the daemon delivers them on its next pass"
                }
            );
            for id in replayed {
                println!("  {id}");
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn embedded(store: &Store) -> anyhow::Result<Vec<Letter>> {
    Ok(store
        .dead_letters()
        .await?
        .into_iter()
        .map(|d| Letter {
            id: d.event_id,
            routing_key: d.routing_key,
            attempts: u32::try_from(d.attempts).unwrap_or(0),
            reason: d.reason,
            failed_at: d.dead_at,
            payload: d.payload,
        })
        .collect())
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
            "{}  {}  from {source} {subject}  after {} attempt(s) at {}\n    {}",
            l.id, l.routing_key, l.attempts, l.failed_at, l.reason
        );
    }
    println!(
        "\n{} dead letter(s). Replay one with `switchboard dlq replay ID`, or all with `--all`.",
        letters.len()
    );
}
