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

use chrono::{DateTime, Utc};
use futures::StreamExt;
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
            poll: crate::DEFAULT_OUTBOX_POLL,
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

/// How many chains of one connector's rows are delivered at once on
/// PostgreSQL, where their commits share WAL flushes.
const SIDE_BY_SIDE: usize = 8;

/// [`SIDE_BY_SIDE`] on `store`. SQLite takes one writer at a time and its
/// commits do not wait for a flush (WAL, `synchronous = NORMAL`), so chains
/// side by side gain nothing there; they only queue on the write lock,
/// whose busy handler sleeps in steps of up to 100 ms, and at 200
/// webhooks/s that put hundreds of milliseconds into the tail
/// (docs/PERFORMANCE.md).
fn side_by_side(store: &Store) -> usize {
    match store {
        Store::Postgres(_) => SIDE_BY_SIDE,
        Store::Sqlite(_) => 1,
    }
}

/// What a row must stay in order with: the record it came from and the
/// record it changes in the target. A row with neither (none is routed so
/// today) orders with nothing.
fn order_keys(payload: &serde_json::Value) -> Vec<String> {
    let data = payload.get("data");
    let mut keys = Vec::with_capacity(2);
    if let Some(o) = data.and_then(|d| d.get("origin")) {
        let text = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or_default();
        keys.push(format!(
            "origin {} {} {}",
            text("system"),
            text("stream"),
            text("external_id")
        ));
    }
    if let Some(t) = data
        .and_then(|d| d.get("target_id"))
        .and_then(|t| t.as_str())
    {
        keys.push(format!("target {t}"));
    }
    keys
}

/// One connector's rows as independent chains: rows that share an origin
/// or a target record are one chain, in outbox order (a create before the
/// comment on what it created, one status change before the next), and
/// chains share nothing, so they can be delivered side by side.
fn chains(rows: Vec<Claimed>) -> Vec<Vec<Claimed>> {
    // The keys of a chain, and its rows with their place in the batch.
    type Chain = (Vec<String>, Vec<(usize, Claimed)>);
    let mut chains: Vec<Chain> = Vec::new();
    for (place, row) in rows.into_iter().enumerate() {
        let keys = order_keys(&row.message.payload);
        let mut chain = (keys, vec![(place, row)]);
        // Every chain this row shares a key with joins it.
        let mut i = 0;
        while i < chains.len() {
            if chains[i].0.iter().any(|k| chain.0.contains(k)) {
                let (keys, rows) = chains.swap_remove(i);
                chain.0.extend(keys);
                chain.1.extend(rows);
            } else {
                i += 1;
            }
        }
        chain.1.sort_by_key(|(place, _)| *place);
        chains.push(chain);
    }
    chains.sort_by_key(|(_, rows)| rows.first().map(|(place, _)| *place));
    chains
        .into_iter()
        .map(|(_, rows)| rows.into_iter().map(|(_, row)| row).collect())
        .collect()
}

/// Claim one batch and deliver it: each connector's rows in chains that
/// keep the outbox order of the rows about one record, up to
/// [`side_by_side`] chains at once after the oldest row alone, and the
/// connectors side by side, so a slow target does not hold up the others.
///
/// Chains side by side: each delivery waits on a few commits of its own
/// (the delivery record before the call, the applied one after), and one
/// after another they kept a connector under 100 deliveries/s on
/// PostgreSQL (docs/PERFORMANCE.md).
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
        .map(|(connector, rows)| deliver_connector(store, writers.get(&connector), rows, options));
    for lane in futures::future::join_all(lanes).await {
        let lane = lane?;
        report.applied += lane.applied;
        report.retried += lane.retried;
        report.dead += lane.dead;
    }
    Ok(report)
}

/// One connector's rows: the oldest alone first, then the rest in chains
/// side by side. A target that is down so gets one call per retry step,
/// the rest waiting untried with it; one that goes down in the middle of a
/// batch gets at most one call per chain.
async fn deliver_connector(
    store: &Store,
    writer: Option<&Arc<dyn WorkHandler>>,
    rows: Vec<Claimed>,
    options: &LocalOptions,
) -> Result<LocalReport, StoreError> {
    let mut chains = chains(rows);
    let Some(first) = chains.first_mut().filter(|c| !c.is_empty()) else {
        return Ok(LocalReport::default());
    };
    let probe = first.remove(0);
    let (mut report, down) = deliver_lane(store, writer, vec![probe], options).await?;
    let rest: Vec<Vec<Claimed>> = chains.into_iter().filter(|c| !c.is_empty()).collect();
    if let Some((retry_at, reason)) = down {
        let untried: Vec<i64> = rest.iter().flatten().map(|r| r.id).collect();
        let waiting = format!("not tried: the target was down ({reason})");
        store
            .retry_outbox(&untried, &waiting, retry_at, Utc::now(), false)
            .await?;
        report.retried += untried.len();
        return Ok(report);
    }
    let lanes: Vec<_> = futures::stream::iter(rest)
        .map(|chain| deliver_lane(store, writer, chain, options))
        .buffer_unordered(side_by_side(store))
        .collect()
        .await;
    for lane in lanes {
        let (lane, _) = lane?;
        report.applied += lane.applied;
        report.retried += lane.retried;
        report.dead += lane.dead;
    }
    Ok(report)
}

/// One chain of a connector's rows, one after another, until its target is
/// found down: the rest of the chain then waits with the row that failed,
/// untried, and the time it is retried at and why are returned.
async fn deliver_lane(
    store: &Store,
    writer: Option<&Arc<dyn WorkHandler>>,
    rows: Vec<Claimed>,
    options: &LocalOptions,
) -> Result<(LocalReport, Option<(DateTime<Utc>, String)>), StoreError> {
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
        return Ok((report, Some((retry_at, reason))));
    }
    Ok((report, None))
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

    fn row(id: i64, origin: Option<&str>, target: Option<&str>) -> Claimed {
        let mut data = serde_json::json!({});
        if let Some(o) = origin {
            data["origin"] =
                serde_json::json!({"system": "sn", "stream": "incident", "external_id": o});
        }
        if let Some(t) = target {
            data["target_id"] = t.into();
        }
        Claimed {
            id,
            message: crate::store::OutboxMessage {
                event_id: format!("e{id}"),
                routing_key: "it.maximo.create_workorder".into(),
                payload: serde_json::json!({ "data": data }),
                not_before: None,
            },
            attempts: 1,
            first_failed_at: None,
        }
    }

    fn ids(chains: Vec<Vec<Claimed>>) -> Vec<Vec<i64>> {
        chains
            .into_iter()
            .map(|c| c.into_iter().map(|r| r.id).collect())
            .collect()
    }

    #[test]
    fn rows_about_one_record_stay_one_chain_in_outbox_order() {
        let rows = vec![
            row(1, Some("A"), None),
            row(2, Some("B"), None),
            row(3, Some("A"), Some("WO-1")),
            // Another origin's change to the same target record.
            row(4, Some("C"), Some("WO-1")),
            row(5, None, None),
            row(6, Some("C"), None),
            row(7, Some("B"), Some("WO-2")),
        ];
        assert_eq!(ids(chains(rows)), [vec![1, 3, 4, 6], vec![2, 7], vec![5]]);
    }

    #[test]
    fn a_row_that_joins_two_chains_merges_them_in_outbox_order() {
        let rows = vec![
            row(1, Some("A"), None),
            row(2, Some("B"), Some("WO-9")),
            row(3, Some("A"), None),
            row(4, Some("B"), None),
            // A's origin, B's target: both chains become one.
            row(5, Some("A"), Some("WO-9")),
            row(6, Some("D"), None),
        ];
        assert_eq!(ids(chains(rows)), [vec![1, 2, 3, 4, 5], vec![6]]);
    }
}
