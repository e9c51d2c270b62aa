//! The relay's pipeline: publishes kept outstanding up to a window while
//! the next batch is claimed, so the broker's confirm round trips overlap
//! the store's claims instead of alternating with them.
//!
//! Each claimed batch is published at once and its confirms awaited as
//! one future; the pipeline claims again while the window has room, and
//! whenever batches are confirmed it marks their rows sent (one statement
//! for all that are done) and releases exactly the rows the broker nacked,
//! returned, or never answered because the channel died. A row is marked
//! sent only on its own ack, so a lost connection can publish a message
//! twice (it is claimed again later) but never loses one; consumers
//! deduplicate by the message id. Several relays on one outbox never hold
//! the same row: claims are leased.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use futures::FutureExt;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;

use super::amqp::{self, AmqpError, Publisher};
use super::{RelayError, RelayOptions};
use crate::store::{Claimed, OutboxWake, Store};

/// A published batch and, once awaited, the broker's answer to each row.
type Batch = Pin<Box<dyn Future<Output = Vec<(Claimed, Result<(), AmqpError>)>> + Send>>;

/// Relay until `stop` (then `Ok`, once what is outstanding is settled) or
/// until the broker connection is lost (`Err(Broker)`, likewise settled
/// first). A store error returns at once: rows still outstanding come back
/// when their lease runs out.
pub(super) async fn pipeline(
    store: &Store,
    publisher: &Publisher,
    options: &RelayOptions,
    wake: &OutboxWake,
    pruned: &mut Option<Instant>,
    stop: &CancellationToken,
) -> Result<(), RelayError> {
    let window = options.window.max(1);
    let batch = usize::try_from(options.batch.max(1)).unwrap_or(usize::MAX);
    let mut in_flight: FuturesUnordered<Batch> = FuturesUnordered::new();
    let mut outstanding = 0usize;
    loop {
        let mut armed = None;
        while !stop.is_cancelled() && publisher.is_connected() && outstanding < window {
            // Before the claim: a commit after a claim that found nothing
            // still ends the idle wait below.
            armed = Some(wake.arm());
            let room = (window - outstanding).min(batch);
            let rows = store.claim_outbox(room as i64, options.lease).await?;
            let claimed = rows.len();
            if claimed > 0 {
                outstanding += claimed;
                let batch = publish(publisher, rows, options).await;
                in_flight.push(batch);
            }
            if claimed < room {
                break;
            }
            armed = None;
        }
        if in_flight.is_empty() {
            if !publisher.is_connected() {
                return Err(RelayError::Broker(AmqpError::Lost));
            }
            let Some(armed) = armed.filter(|_| !stop.is_cancelled()) else {
                return Ok(());
            };
            store.prune_outbox_if_due(pruned).await;
            let next_due = store.outbox_next_due().await?;
            if wake.wait(armed, next_due, stop).await {
                return Ok(());
            }
            continue;
        }
        // At least one batch answered, and whichever others already are.
        let mut done = in_flight.next().await.unwrap_or_default();
        while let Some(Some(more)) = in_flight.next().now_or_never() {
            done.extend(more);
        }
        outstanding -= done.len();
        settle(store, done, options).await?;
    }
}

/// Publish `rows` now; the future waits for their confirms, each within the
/// claim's lease (past it another relay may have the row already).
async fn publish(publisher: &Publisher, rows: Vec<Claimed>, options: &RelayOptions) -> Batch {
    let mut sent = Vec::with_capacity(rows.len());
    for row in &rows {
        sent.push(publisher.send(row).await);
    }
    let lease = options.lease;
    Box::pin(async move {
        let answers = async {
            let mut out = Vec::with_capacity(rows.len());
            for (row, sent) in rows.iter().zip(sent) {
                out.push(amqp::confirmed(row, sent).await);
            }
            out
        };
        let answers = match tokio::time::timeout(lease, answers).await {
            Ok(answers) => answers,
            Err(_) => rows
                .iter()
                .map(|row| {
                    Err(AmqpError::Publish {
                        event_id: row.message.event_id.clone(),
                        message: "no confirm from the broker within the claim's lease".into(),
                    })
                })
                .collect(),
        };
        rows.into_iter().zip(answers).collect()
    })
}

/// Mark the acked rows sent, in one statement; release each other row
/// with its error, to be tried again after `retry_in`.
async fn settle(
    store: &Store,
    done: Vec<(Claimed, Result<(), AmqpError>)>,
    options: &RelayOptions,
) -> Result<(), RelayError> {
    let mut sent = Vec::with_capacity(done.len());
    let mut failed = 0usize;
    for (row, answer) in done {
        match answer {
            Ok(()) => sent.push(row.id),
            Err(e) => {
                failed += 1;
                store
                    .release_outbox(row.id, &e.to_string(), options.retry_in)
                    .await?;
            }
        }
    }
    store.mark_sent(&sent).await?;
    if failed > 0 {
        tracing::warn!(
            sent = sent.len(),
            failed,
            "outbox relay: some messages were not confirmed; they go again later"
        );
    }
    Ok(())
}
