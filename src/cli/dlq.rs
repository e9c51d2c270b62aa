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

use anyhow::Context;
use serde_json::{Value, json};

use super::{Cli, connect_store, load_catalog, load_config};
use crate::store::{Requeue, Store};
use crate::sync::{Letter as LetterRef, Rerendered, SyncJob, rerender};
use crate::telemetry::text::Escaped;
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

/// Which transport keeps a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    Store,
    Broker,
}

/// One dead letter, whichever transport kept it.
struct Letter {
    id: String,
    routing_key: String,
    attempts: u32,
    reason: String,
    failed_at: String,
    payload: Value,
    kept: Kept,
}

impl Letter {
    fn as_ref(&self) -> LetterRef<'_> {
        LetterRef {
            id: &self.id,
            routing_key: &self.routing_key,
            payload: &self.payload,
        }
    }

    fn never_sent(&self) -> bool {
        self.payload.get("type").and_then(Value::as_str)
            == Some(crate::routing::message::FAILED_TYPE)
    }

    /// Whether a replay renders it from the files (else it goes as sent).
    fn rendered_again(&self, as_sent: bool) -> bool {
        let routed = self.payload.get("type").and_then(Value::as_str)
            == Some(crate::routing::message::EVENT_TYPE);
        self.never_sent() || (routed && !as_sent)
    }
}

pub async fn run(cli: &Cli, args: &DlqArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let store = connect_store(&cfg).await?;
    let broker = match &cfg.settings.broker {
        Some(b) => Some(b.url.resolve().context("[broker] url")?),
        None => None,
    };
    let broker = broker.as_ref().map(|u| u.expose());
    let topology = Topology::default();
    let result = match &args.command {
        DlqCommand::List { json } => {
            let letters = letters(&store, broker, &topology).await?;
            print_letters(&letters, *json);
            Ok(())
        }
        DlqCommand::Replay { id, all, as_sent } => {
            let mut letters = letters(&store, broker, &topology).await?;
            let count = letters.len();
            if !*all {
                letters.retain(|l| Some(&l.id) == id.as_ref());
            }
            match (id, letters.is_empty()) {
                (Some(id), true) => Err(anyhow::anyhow!(
                    "no dead letter `{id}` ({count} dead letters; `switchboard dlq list` shows them)"
                )),
                (None, true) => {
                    println!("no dead letters");
                    Ok(())
                }
                _ => {
                    // The catalog only when something is rendered again: a
                    // broken file must not keep `--as-sent` from working.
                    let rerendering = letters.iter().any(|l| l.rendered_again(*as_sent));
                    let connectors = match rerendering {
                        true => load_catalog(&cfg)?.jobs().context(
                            "failed to build the connectors whose mappings render dead letters \
                             again (run the replay where the daemon's environment is set, or \
                             use --as-sent)",
                        )?,
                        false => Vec::new(),
                    };
                    let jobs: Vec<&SyncJob> = connectors.iter().flat_map(|c| &c.jobs).collect();
                    replay(&store, broker, &topology, &letters, &jobs, *as_sent).await
                }
            }
        }
    };
    store.close().await;
    result
}

/// Every dead letter, oldest first: the store's, then the broker's.
async fn letters(
    store: &Store,
    broker: Option<&str>,
    topology: &Topology,
) -> anyhow::Result<Vec<Letter>> {
    let mut letters = embedded(store).await?;
    if let Some(url) = broker {
        letters.extend(dlq::list(url, topology).await?.into_iter().map(|d| {
            Letter {
                id: d.message_id,
                routing_key: d.routing_key,
                attempts: d.attempts,
                reason: d.reason,
                failed_at: d
                    .failed_at
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
                payload: d.payload,
                kept: Kept::Broker,
            }
        }));
    }
    letters.sort_by(|a, b| a.failed_at.cmp(&b.failed_at));
    Ok(letters)
}

/// Replay the chosen letters, one line each; fails at the end if any
/// could not be replayed (they stay where they were).
async fn replay(
    store: &Store,
    broker: Option<&str>,
    topology: &Topology,
    letters: &[Letter],
    jobs: &[&SyncJob],
    as_sent: bool,
) -> anyhow::Result<()> {
    let ids: Vec<String> = letters.iter().map(|l| l.id.clone()).collect();
    // A person replays: a delivery cut off mid-call is theirs to have
    // checked, so the writer may apply it again.
    store.forget_in_doubt(&ids).await?;
    let mut replaced_in_broker = Vec::new();
    let mut resend_from_broker = Vec::new();
    let mut failed = 0;
    for l in letters {
        let id = Escaped(&l.id);
        if !l.rendered_again(as_sent) {
            println!("  {id}: sent again as it was");
            match l.kept {
                Kept::Store => {
                    store.revive_outbox(Some(&l.id)).await?;
                }
                Kept::Broker => resend_from_broker.push(l.id.clone()),
            }
            continue;
        }
        match rerender(l.as_ref(), jobs, store).await {
            Ok(Rerendered::Plan(r)) => {
                let replaces = match l.kept {
                    Kept::Store => std::slice::from_ref(&l.id),
                    Kept::Broker => &[],
                };
                let done = store
                    .requeue(Requeue {
                        replaces,
                        outbox: &r.plan.outbox,
                        effects: &r.plan.effects,
                        resend: r.resend,
                    })
                    .await?;
                if l.kept == Kept::Broker {
                    replaced_in_broker.push(l.id.clone());
                }
                println!("  {id}: {}", describe(&r, &done));
            }
            Ok(Rerendered::AsSent(why)) => {
                println!("  {id}: sent again as it was ({why})");
                match l.kept {
                    Kept::Store => {
                        store.revive_outbox(Some(&l.id)).await?;
                    }
                    Kept::Broker => resend_from_broker.push(l.id.clone()),
                }
            }
            Err(e) => {
                failed += 1;
                println!("  {id}: not replayed: {}", Escaped(e));
            }
        }
    }
    if let Some(url) = broker {
        if !replaced_in_broker.is_empty() {
            dlq::discard_replaced(url, topology, &replaced_in_broker).await?;
        }
        for id in &resend_from_broker {
            dlq::replay(url, topology, Replay::Id(id.clone())).await?;
        }
    }
    let replayed = letters.len() - failed;
    println!(
        "replayed {replayed} dead letter(s){}",
        if broker.is_some() {
            ""
        } else {
            "; the daemon delivers them on its next pass"
        }
    );
    if failed > 0 {
        anyhow::bail!(
            "{failed} dead letter(s) could not be replayed and stay in the dead letters (see above)"
        );
    }
    Ok(())
}

/// "routed again: it.servicenow.create_incident (rule heating); 1 case kept".
fn describe(r: &crate::sync::Replanned, done: &crate::store::Requeued) -> String {
    let mut parts: Vec<String> = r
        .plan
        .outbox
        .iter()
        .map(|m| {
            let by = m
                .payload
                .get("sbrule")
                .and_then(Value::as_str)
                .unwrap_or("");
            let state = if done.queued.contains(&m.event_id) {
                "queued"
            } else {
                "already queued or sent"
            };
            format!("{} by {} ({state})", m.routing_key, Escaped(by))
        })
        .collect();
    for e in &r.plan.effects {
        if let crate::store::Effect::Unrouted { reason, .. } = e {
            parts.push(format!("still not routed: {}", Escaped(reason)));
        }
    }
    if !r.cases_kept.is_empty() {
        parts.push(format!(
            "value stream case(s) {} exist already and were not started again",
            r.cases_kept.join(", ")
        ));
    }
    if parts.is_empty() {
        "rendered again: nothing to send".into()
    } else {
        format!("rendered again: {}", parts.join("; "))
    }
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
            kept: Kept::Store,
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
