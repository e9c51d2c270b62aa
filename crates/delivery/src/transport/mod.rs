//! The transport: the outbox relay that publishes routed work to RabbitMQ,
//! the writers' consumers on the other side, and the dead-letter tools.
//!
//! A relay claims outbox rows under a lease, publishes each as a persistent
//! message on the topic exchange `switchboard.work` with publisher
//! confirms, and marks a row sent only once the broker has confirmed it. A
//! nack or a lost connection releases the row with its error for a later
//! try, so a message can be published twice but never lost; consumers
//! deduplicate by the message id (the CloudEvents id). `topology` names
//! what is declared, `consumer` runs a connector's writer on its work queue
//! with delayed retries, `retry` says how long a target's outage is waited
//! out (for both transports), and `dlq` lists and replays dead letters.

pub mod amqp;
pub mod consumer;
pub mod dlq;
mod relay;
pub mod retry;
pub mod topology;

use std::time::Duration;

use crate::store::{Store, StoreError};
pub use amqp::{AmqpError, Publisher};
pub use consumer::{WriterOptions, declare_writers, prefetch_for, run_writer};
pub use dlq::{DeadLetter, Replay, ReplayReport};
pub use topology::Topology;

/// The topic exchange routed work is published on.
pub const EXCHANGE: &str = "switchboard.work";

/// What one relay pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayReport {
    pub claimed: usize,
    pub sent: usize,
    pub failed: usize,
    /// The event ids of the messages the broker confirmed.
    pub sent_events: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broker(#[from] AmqpError),
}

/// How a relay paces itself.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    pub batch: i64,
    /// How long a claim is ours: longer than a batch takes to confirm.
    pub lease: Duration,
    /// When a publish failed, how long before the row is tried again.
    pub retry_in: Duration,
    /// Which exchange to publish on.
    pub topology: Topology,
    /// How many publishes `run_relay` keeps unconfirmed at most: claims go
    /// on while the broker confirms earlier batches.
    pub window: usize,
    /// The safety poll: how long an idle relay waits at most. A commit that
    /// enqueues work wakes it at once (`store::OutboxWake`).
    pub poll: Duration,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            batch: 200,
            lease: Duration::from_secs(60),
            retry_in: Duration::from_secs(5),
            topology: Topology::default(),
            window: 1024,
            poll: crate::DEFAULT_OUTBOX_POLL,
        }
    }
}

/// Claim one batch, publish it, record what the broker confirmed.
pub async fn relay_once(
    store: &Store,
    publisher: &Publisher,
    options: &RelayOptions,
) -> Result<RelayReport, RelayError> {
    let claimed = store.claim_outbox(options.batch, options.lease).await?;
    let mut report = RelayReport {
        claimed: claimed.len(),
        ..RelayReport::default()
    };
    if claimed.is_empty() {
        return Ok(report);
    }
    let outcomes = publisher.publish_confirmed(&claimed).await;
    let lost = !publisher.is_connected();
    let mut sent = Vec::new();
    for (row, outcome) in claimed.iter().zip(outcomes) {
        match outcome {
            Ok(()) => sent.push(row.id),
            Err(e) => {
                report.failed += 1;
                store
                    .release_outbox(row.id, &e.to_string(), options.retry_in)
                    .await?;
            }
        }
    }
    store.mark_sent(&sent).await?;
    report.sent = sent.len();
    report.sent_events = claimed
        .iter()
        .filter(|row| sent.contains(&row.id))
        .map(|row| row.message.event_id.clone())
        .collect();
    if lost {
        return Err(RelayError::Broker(AmqpError::Lost));
    }
    Ok(report)
}

/// Relay until `stop`: publish whatever the outbox holds, up to
/// `options.window` publishes unconfirmed at once, sleeping while it is
/// empty until a commit enqueues more (or the safety poll), and
/// reconnecting after a lost broker with a doubling pause (up to 30 s).
/// Rows claimed by a connection that died and not settled come back when
/// their lease runs out.
pub async fn run_relay(
    store: Store,
    url: crate::connector::Secret,
    options: RelayOptions,
    stop: tokio_util::sync::CancellationToken,
) {
    const MAX_PAUSE: Duration = Duration::from_secs(30);
    let wake = store.outbox_wake(options.poll);
    let mut pause = Duration::from_millis(250);
    let mut pruned = None;
    while !stop.is_cancelled() {
        let publisher = match Publisher::connect_with(url.expose(), &options.topology).await {
            Ok(p) => {
                tracing::info!(exchange = %options.topology.exchange, "outbox relay connected");
                pause = Duration::from_millis(250);
                p
            }
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "outbox relay cannot reach the broker");
                sleep_or_stop(pause, &stop).await;
                pause = (pause * 2).min(MAX_PAUSE);
                continue;
            }
        };
        loop {
            match relay::pipeline(&store, &publisher, &options, &wake, &mut pruned, &stop).await {
                Ok(()) => return,
                Err(RelayError::Broker(e)) => {
                    tracing::warn!(error = %e, "outbox relay lost the broker; reconnecting");
                    break;
                }
                Err(RelayError::Store(e)) => {
                    tracing::warn!(error = %e, "outbox relay cannot read the store");
                    if sleep_or_stop(pause, &stop).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Sleep, or return `true` at once if `stop` fires first.
async fn sleep_or_stop(d: Duration, stop: &tokio_util::sync::CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => stop.is_cancelled(),
        _ = stop.cancelled() => true,
    }
}

/// One piece of routed work, as a writer receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The CloudEvents id: the idempotency key.
    pub event_id: String,
    /// `<department>.<connector>.<action>`.
    pub routing_key: String,
    /// The CloudEvents JSON event.
    pub payload: serde_json::Value,
    /// 1 on the first try; one more for each retry through a delay queue.
    pub attempt: u32,
}

/// Why a writer could not apply a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing was applied and a later try may succeed (the target was
    /// down, slow or busy): retry after a delay, within the outage budget.
    Retry(String),
    /// Retrying cannot help (the target refused the data, or the outcome
    /// is unknown and a retry could apply it twice): a dead letter.
    Dead(String),
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Failure::Retry(r) | Failure::Dead(r) => r,
        }
    }
}

/// What applies routed work to one target connector. The same handler
/// serves the RabbitMQ consumer and the in-process transport, so both
/// give the same guarantees.
#[async_trait::async_trait]
pub trait WorkHandler: Send + Sync {
    /// Apply one message. Must be idempotent on `event_id`: a message
    /// already applied returns `Ok` without applying it again.
    async fn handle(&self, message: &Inbound) -> Result<(), Failure>;
}
