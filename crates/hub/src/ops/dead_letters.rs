//! Dead-letter repairs: routed work a writer gave up on (the target refused
//! it, or it may have been applied) and changes routing could not decide
//! (a condition failed), listed from whichever transport keeps them, and
//! replayed once the cause is fixed.
//!
//! With `[broker]` set a writer's dead letters are the messages in the
//! `switchboard.dlq` queue; embedded, they are outbox rows set aside.
//! Changes routing could not decide are outbox rows set aside on both.
//! A replay renders each letter again from the files in force now (see
//! `sync::replay`), or `as_sent` sends it as it was; either way it goes
//! through the same writer, which will not apply a message twice.

use serde_json::Value;

use crate::store::{Effect, Requeue, Requeued, Store, StoreError};
use crate::sync::{Letter as LetterRef, Replanned, Rerendered, SyncJob, rerender};
use crate::telemetry::text::Escaped;
use crate::transport::{AmqpError, Replay, Topology, dlq};

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("no dead letter `{id}` ({count} dead letters)")]
    NotFound { id: String, count: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] AmqpError),
}

/// Which transport keeps a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// An outbox row set aside.
    Store,
    /// A message in the broker's dead-letter queue.
    Broker,
}

impl Kept {
    pub fn as_str(self) -> &'static str {
        match self {
            Kept::Store => "store",
            Kept::Broker => "broker",
        }
    }
}

/// One dead letter, whichever transport kept it.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    /// The CloudEvents id.
    pub id: String,
    /// Where it was going (`unrouted`: routing could not decide).
    pub routing_key: String,
    pub attempts: u32,
    pub reason: String,
    /// `YYYY-MM-DDTHH:MM:SSZ`, or empty when the broker recorded none.
    pub failed_at: String,
    /// The CloudEvents message.
    pub payload: Value,
    pub kept: Kept,
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
    pub fn rendered_again(&self, as_sent: bool) -> bool {
        let routed = self.payload.get("type").and_then(Value::as_str)
            == Some(crate::routing::message::EVENT_TYPE);
        self.never_sent() || (routed && !as_sent)
    }
}

/// Which dead letters to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    One(String),
    All,
}

/// One routed message a replay queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWork {
    pub routing_key: String,
    /// The rule (or value stream task) that routed it.
    pub rule: String,
    /// `false`: a message of that id was already queued or sent.
    pub queued: bool,
}

/// What rendering a letter again gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replayed {
    pub work: Vec<QueuedWork>,
    /// Why routing still could not decide (the letter stays a dead letter).
    pub still_unrouted: Vec<String>,
    /// Value stream cases that exist already and were not started again.
    pub cases_kept: Vec<String>,
}

impl Replayed {
    fn new(r: &Replanned, done: &Requeued) -> Self {
        let work = r
            .plan
            .outbox
            .iter()
            .map(|m| QueuedWork {
                routing_key: m.routing_key.clone(),
                rule: m
                    .payload
                    .get("sbrule")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                queued: done.queued.contains(&m.event_id),
            })
            .collect();
        let still_unrouted = r
            .plan
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Unrouted { reason, .. } => Some(reason.clone()),
                _ => None,
            })
            .collect();
        Self {
            work,
            still_unrouted,
            cases_kept: r.cases_kept.clone(),
        }
    }

    /// "rendered again: it.servicenow.create_incident by heating (queued)".
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .work
            .iter()
            .map(|w| {
                let state = if w.queued {
                    "queued"
                } else {
                    "already queued or sent"
                };
                format!("{} by {} ({state})", w.routing_key, Escaped(&w.rule))
            })
            .collect();
        for reason in &self.still_unrouted {
            parts.push(format!("still not routed: {}", Escaped(reason)));
        }
        if !self.cases_kept.is_empty() {
            parts.push(format!(
                "value stream case(s) {} exist already and were not started again",
                self.cases_kept.join(", ")
            ));
        }
        if parts.is_empty() {
            "rendered again: nothing to send".into()
        } else {
            format!("rendered again: {}", parts.join("; "))
        }
    }
}

/// How one letter went back, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterOutcome {
    /// Sent again as it was: asked for (`None`), or for this reason.
    AsSent(Option<&'static str>),
    /// Rendered again from the files in force now.
    Rendered(Replayed),
    /// Not replayed: it stays in the dead letters.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterReplay {
    pub id: String,
    pub outcome: LetterOutcome,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOutcome {
    /// Per letter, in the order they were replayed.
    pub letters: Vec<LetterReplay>,
    pub replayed: usize,
    /// Letters not replayed: they stay where they were.
    pub failed: usize,
}

/// Every dead letter, oldest first: the store's, then the broker's (with
/// `broker`, its URL). Removes nothing.
pub async fn list(
    store: &Store,
    broker: Option<&str>,
    topology: &Topology,
) -> Result<Vec<Letter>, DeadLetterError> {
    let mut letters: Vec<Letter> = store
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
        .collect();
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

/// The letters `which` names; one that is not there is an error, `All`
/// of none is none.
pub fn choose(letters: Vec<Letter>, which: &Which) -> Result<Vec<Letter>, DeadLetterError> {
    let Which::One(id) = which else {
        return Ok(letters);
    };
    let count = letters.len();
    let chosen: Vec<Letter> = letters.into_iter().filter(|l| &l.id == id).collect();
    if chosen.is_empty() {
        return Err(DeadLetterError::NotFound {
            id: id.clone(),
            count,
        });
    }
    Ok(chosen)
}

/// Whether replaying these needs the mappings and routing: else a broken
/// file must not keep an as-sent replay from working.
pub fn needs_rendering(letters: &[Letter], as_sent: bool) -> bool {
    letters.iter().any(|l| l.rendered_again(as_sent))
}

/// Replay `letters` (from [`list`], through [`choose`]) with the mappings
/// and routing of `jobs`; `on_letter` hears each as it is done. A letter
/// that cannot be replayed stays where it was and is counted in `failed`.
pub async fn replay(
    store: &Store,
    broker: Option<&str>,
    topology: &Topology,
    letters: &[Letter],
    jobs: &[&SyncJob],
    as_sent: bool,
    on_letter: &mut (dyn FnMut(&LetterReplay) + Send),
) -> Result<ReplayOutcome, DeadLetterError> {
    let ids: Vec<String> = letters.iter().map(|l| l.id.clone()).collect();
    // A person replays: a delivery cut off mid-call is theirs to have
    // checked, so the writer may apply it again.
    store.forget_in_doubt(&ids).await?;
    let mut replaced_in_broker = Vec::new();
    let mut resend_from_broker = Vec::new();
    let mut outcome = ReplayOutcome::default();
    for l in letters {
        let done = if !l.rendered_again(as_sent) {
            resend(store, l, &mut resend_from_broker).await?;
            LetterOutcome::AsSent(None)
        } else {
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
                    LetterOutcome::Rendered(Replayed::new(&r, &done))
                }
                Ok(Rerendered::AsSent(why)) => {
                    resend(store, l, &mut resend_from_broker).await?;
                    LetterOutcome::AsSent(Some(why))
                }
                Err(e) => LetterOutcome::Failed(e.to_string()),
            }
        };
        let done = LetterReplay {
            id: l.id.clone(),
            outcome: done,
        };
        on_letter(&done);
        outcome.letters.push(done);
    }
    if let Some(url) = broker {
        if !replaced_in_broker.is_empty() {
            dlq::discard_replaced(url, topology, &replaced_in_broker).await?;
        }
        for id in &resend_from_broker {
            dlq::replay(url, topology, Replay::Id(id.clone())).await?;
        }
    }
    outcome.failed = outcome
        .letters
        .iter()
        .filter(|l| matches!(l.outcome, LetterOutcome::Failed(_)))
        .count();
    outcome.replayed = letters.len() - outcome.failed;
    Ok(outcome)
}

/// Put a letter back in line as it was: in the store at once, from the
/// broker's queue after the loop (one pass over the queue per id).
async fn resend(
    store: &Store,
    l: &Letter,
    from_broker: &mut Vec<String>,
) -> Result<(), DeadLetterError> {
    match l.kept {
        Kept::Store => {
            store.revive_outbox(Some(&l.id)).await?;
        }
        Kept::Broker => from_broker.push(l.id.clone()),
    }
    Ok(())
}
