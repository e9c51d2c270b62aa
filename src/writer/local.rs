//! The in-process transport, for the embedded default (no broker): the
//! outbox is delivered straight to the writers.
//!
//! The outbox row is the queue. A claim leases it, so a process that dies
//! mid-delivery leaves it to be claimed again once the lease runs out; the
//! writer's delivery record keeps that second try from applying it twice. A
//! row is marked sent only after its writer succeeded, retried later with a
//! growing delay on a transient failure, and buried (kept, with the reason,
//! for `switchboard dlq`) on a data error or after the last attempt: the
//! same guarantees as the RabbitMQ writers, across restarts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::Writers;
use crate::store::{Claimed, Store, StoreError, later};
use crate::transport::retry::{self, Next};
use crate::transport::{Failure, Inbound, WorkHandler};

#[derive(Debug, Clone)]
pub struct LocalOptions {
    pub batch: i64,
    /// Longer than a batch of target calls can take.
    pub lease: Duration,
    /// How long a row whose target does not answer is retried, from its
    /// first failure, before it is a dead letter.
    pub outage_budget: Duration,
    /// The delay before try n+1 is `delays[n-1]`, the last one repeating.
    pub delays: Vec<Duration>,
    /// The safety poll: how long an idle loop waits at most. A commit
    /// that enqueues work wakes it at once (`store::OutboxWake`); this only
    /// covers a wake-up that was lost.
    pub poll: Duration,
}

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            batch: 100,
            lease: Duration::from_secs(300),
            outage_budget: retry::DEFAULT_OUTAGE_BUDGET,
            delays: retry::default_delays(),
            poll: crate::config::DEFAULT_OUTBOX_POLL,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalReport {
    pub claimed: usize,
    pub applied: usize,
    pub retried: usize,
    pub dead: usize,
}

/// The connector a routing key `<department>.<connector>.<action>` names.
fn connector_of(routing_key: &str) -> Option<&str> {
    let mut parts = routing_key.splitn(3, '.');
    let (_, connector, _) = (parts.next()?, parts.next()?, parts.next()?);
    Some(connector)
}

/// Claim one batch and deliver it: each connector's rows in outbox order,
/// the connectors side by side, so a slow target does not hold up the
/// others.
pub async fn deliver_once(
    store: &Store,
    writers: &Writers,
    options: &LocalOptions,
) -> Result<LocalReport, StoreError> {
    let claimed = store.claim_outbox(options.batch, options.lease).await?;
    let mut report = LocalReport {
        claimed: claimed.len(),
        ..LocalReport::default()
    };
    let mut by_connector: Vec<(String, Vec<Claimed>)> = Vec::new();
    for row in claimed {
        let key = connector_of(&row.message.routing_key)
            .unwrap_or_default()
            .to_string();
        match by_connector.iter_mut().find(|(c, _)| *c == key) {
            Some((_, rows)) => rows.push(row),
            None => by_connector.push((key, vec![row])),
        }
    }
    let lanes = by_connector
        .into_iter()
        .map(|(connector, rows)| deliver_lane(store, writers.get(&connector), rows, options));
    for lane in futures::future::join_all(lanes).await {
        let lane = lane?;
        report.applied += lane.applied;
        report.retried += lane.retried;
        report.dead += lane.dead;
    }
    Ok(report)
}

/// One connector's rows, one after another, until its target is found
/// down: the rest then wait with the row that failed, untried.
async fn deliver_lane(
    store: &Store,
    writer: Option<&Arc<dyn WorkHandler>>,
    rows: Vec<Claimed>,
    options: &LocalOptions,
) -> Result<LocalReport, StoreError> {
    let mut report = LocalReport::default();
    let mut rows = rows.into_iter();
    while let Some(row) = rows.next() {
        let attempt = u32::try_from(row.attempts).unwrap_or(1).max(1);
        let message = Inbound {
            event_id: row.message.event_id,
            routing_key: row.message.routing_key,
            payload: row.message.payload,
            attempt,
        };
        let result = match writer {
            Some(w) => w.handle(&message).await,
            None => Err(Failure::Dead(format!(
                "no writer for `{}`: is the target connector's manifest enabled, with its actions?",
                message.routing_key
            ))),
        };
        let reason = match result {
            Ok(()) => {
                store.mark_sent(&[row.id]).await?;
                report.applied += 1;
                continue;
            }
            Err(Failure::Dead(reason)) => {
                store.bury_outbox(row.id, &reason).await?;
                report.dead += 1;
                continue;
            }
            Err(Failure::Retry(reason)) => reason,
        };
        let now = Utc::now();
        let first_failed_at = row.first_failed_at.unwrap_or(now);
        let next = retry::after_failure(
            &options.delays,
            options.outage_budget,
            attempt,
            first_failed_at,
            now,
            &reason,
        );
        let wait = match next {
            Next::GiveUp(reason) => {
                store.bury_outbox(row.id, &reason).await?;
                report.dead += 1;
                // The next row has a budget of its own: it is tried.
                continue;
            }
            Next::RetryIn(wait) => wait,
        };
        // One time for all: the next claim takes them together again, the
        // oldest first.
        let retry_at = later(now, wait);
        store
            .retry_outbox(&[row.id], &reason, retry_at, first_failed_at, true)
            .await?;
        report.retried += 1;
        let untried: Vec<i64> = rows.by_ref().map(|r| r.id).collect();
        let waiting = format!("not tried: the target was down ({reason})");
        store
            .retry_outbox(&untried, &waiting, retry_at, now, false)
            .await?;
        report.retried += untried.len();
    }
    Ok(report)
}

/// Deliver until `stop`: claim while there is work, then sleep until a
/// commit enqueues more, a held row comes due, or the safety poll. A store
/// error is logged and the loop waits.
pub async fn run_local(
    store: Store,
    writers: Writers,
    options: LocalOptions,
    stop: CancellationToken,
) {
    tracing::info!(writers = writers.len(), "in-process delivery started");
    let wake = store.outbox_wake(options.poll);
    let mut pruned = None;
    while !stop.is_cancelled() {
        store.prune_outbox_if_due(&mut pruned).await;
        // Before the claim: a commit that lands after the claim found
        // nothing still ends the wait.
        let armed = wake.arm();
        let idle = match deliver_once(&store, &writers, &options).await {
            Ok(r) if r.claimed > 0 => continue,
            Ok(_) => store.outbox_next_due().await,
            Err(e) => Err(e),
        };
        let next_due = match idle {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "in-process delivery cannot read the store");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            }
        };
        if wake.wait(armed, next_due, &stop).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_is_the_middle_of_the_routing_key() {
        assert_eq!(
            connector_of("facilities.maximo.create_workorder"),
            Some("maximo")
        );
        assert_eq!(connector_of("facilities.maximo"), None);
    }
}
