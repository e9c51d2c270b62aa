//! The transactional outbox: routed work written in the transaction of
//! the change that caused it, then claimed by relays under a lease, and
//! marked sent only once the broker has confirmed it.
//!
//! A claim moves `available_at` a lease into the future, so a relay that
//! dies mid-publish leaves its rows to be claimed again when the lease
//! runs out, and two relays never hold the same row at once (PostgreSQL
//! skips rows another claim has locked; SQLite has one writer at a time).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::QueryBuilder;

use super::{Store, StoreError};

/// A message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// The idempotency key: a second enqueue of the same id is ignored.
    pub event_id: String,
    pub routing_key: String,
    pub payload: Value,
    /// Held until then (`available_at`): a value stream's task waits for
    /// its `start_days_before`. `None`: at once. Not part of the id, and
    /// not read back by a claim (a claimed row's time has come).
    pub not_before: Option<DateTime<Utc>>,
}

impl From<crate::routing::message::WorkMessage> for OutboxMessage {
    /// Routed work as the outbox keeps it, to be sent as soon as it can.
    fn from(m: crate::routing::message::WorkMessage) -> Self {
        Self {
            event_id: m.id,
            routing_key: m.routing_key,
            payload: m.body,
            not_before: None,
        }
    }
}

/// A message claimed for publishing.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub id: i64,
    pub message: OutboxMessage,
    /// Claims so far, this one included.
    pub attempts: i32,
    /// When the in-process transport first failed to deliver it, if it
    /// has: the outage budget runs from here.
    pub first_failed_at: Option<DateTime<Utc>>,
}

/// Outbox rows not handed on yet: waiting (`pending`, retries included)
/// and given up on (`dead`, in-process transport only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    pub pending: i64,
    pub dead: i64,
}

/// `now + d`, saturating: a lease too long to represent is "never".
pub fn later(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// SQLite keeps times as ISO text in UTC; the format sorts as it reads.
pub(super) fn sqlite_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(super) mod pg {
    use super::*;

    pub async fn enqueue(
        tx: &mut sqlx::PgConnection,
        messages: &[OutboxMessage],
    ) -> Result<u64, sqlx::Error> {
        if messages.is_empty() {
            return Ok(0);
        }
        let now = Utc::now();
        let mut qb =
            QueryBuilder::new("INSERT INTO outbox (event_id, routing_key, payload, available_at) ");
        qb.push_values(messages, |mut b, m| {
            b.push_bind(&m.event_id)
                .push_bind(&m.routing_key)
                .push_bind(sqlx::types::Json(&m.payload))
                .push_bind(m.not_before.unwrap_or(now));
        });
        qb.push(" ON CONFLICT (event_id) DO NOTHING");
        let inserted = qb.build().execute(&mut *tx).await?.rows_affected();
        if inserted > 0 {
            super::super::wake::notify_pg(tx).await?;
        }
        Ok(inserted)
    }

    /// A message that goes straight to the dead letters, with the reason.
    pub async fn enqueue_dead(
        tx: &mut sqlx::PgConnection,
        m: &OutboxMessage,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(DEAD_SQL)
            .bind(&m.event_id)
            .bind(&m.routing_key)
            .bind(sqlx::types::Json(&m.payload))
            .bind(Utc::now())
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

const DEAD_SQL: &str = "INSERT INTO outbox (event_id, routing_key, payload, dead_at, last_error) \
                        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING";

pub(super) mod sqlite {
    use super::*;

    pub async fn enqueue(
        tx: &mut sqlx::SqliteConnection,
        messages: &[OutboxMessage],
    ) -> Result<u64, sqlx::Error> {
        let mut inserted = 0;
        let now = Utc::now();
        // SQLite binds at most 32766 parameters a statement: 4 per row.
        for chunk in messages.chunks(8_000) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO outbox (event_id, routing_key, payload, available_at) ",
            );
            qb.push_values(chunk, |mut b, m| {
                b.push_bind(&m.event_id)
                    .push_bind(&m.routing_key)
                    .push_bind(m.payload.to_string())
                    .push_bind(sqlite_time(m.not_before.unwrap_or(now)));
            });
            qb.push(" ON CONFLICT (event_id) DO NOTHING");
            inserted += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        Ok(inserted)
    }

    /// A message that goes straight to the dead letters, with the reason.
    pub async fn enqueue_dead(
        tx: &mut sqlx::SqliteConnection,
        m: &OutboxMessage,
        reason: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(DEAD_SQL)
            .bind(&m.event_id)
            .bind(&m.routing_key)
            .bind(m.payload.to_string())
            .bind(sqlite_time(Utc::now()))
            .bind(reason)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

type Row<T> = (i64, String, String, String, i32, Option<T>);

fn claimed<T>(
    rows: Vec<Row<T>>,
    time: impl Fn(T) -> Option<DateTime<Utc>>,
) -> Result<Vec<Claimed>, StoreError> {
    let mut out: Vec<Claimed> = rows
        .into_iter()
        .map(|(id, event_id, routing_key, payload, attempts, first)| {
            Ok(Claimed {
                id,
                message: OutboxMessage {
                    event_id,
                    routing_key,
                    payload: serde_json::from_str(&payload)
                        .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))?,
                    not_before: None,
                },
                attempts,
                first_failed_at: first.and_then(&time),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    // Publish in the order the changes happened.
    out.sort_by_key(|c| c.id);
    Ok(out)
}

impl Store {
    /// Enqueue messages in their own transaction; ids already present are
    /// ignored. Returns how many were new.
    pub async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<u64, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let n = pg::enqueue(&mut tx, messages).await?;
                tx.commit().await?;
                n
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let n = sqlite::enqueue(&mut tx, messages).await?;
                tx.commit().await?;
                n
            }
        })
        .inspect(|&n| {
            if n > 0 {
                super::wake::committed(self);
            }
        })
    }

    /// Claim up to `limit` unsent messages whose time has come, for
    /// `lease`: until then no other claim returns them.
    pub async fn claim_outbox(
        &self,
        limit: i64,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        let now = Utc::now();
        let until = later(now, lease);
        match self {
            Store::Postgres(pool) => {
                let rows: Vec<Row<DateTime<Utc>>> = sqlx::query_as(
                    "UPDATE outbox SET available_at = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL AND available_at <= $1 \
                                  ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
                     RETURNING id, event_id, routing_key, payload::text, attempts, first_failed_at",
                )
                .bind(now)
                .bind(until)
                .bind(limit)
                .fetch_all(pool)
                .await?;
                claimed(rows, Some)
            }
            Store::Sqlite(pool) => {
                let rows: Vec<Row<String>> = sqlx::query_as(
                    "UPDATE outbox SET available_at = $2, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL AND available_at <= $1 \
                                  ORDER BY id LIMIT $3) \
                     RETURNING id, event_id, routing_key, payload, attempts, first_failed_at",
                )
                .bind(sqlite_time(now))
                .bind(sqlite_time(until))
                .bind(limit)
                .fetch_all(pool)
                .await?;
                claimed(rows, |t| {
                    DateTime::parse_from_rfc3339(&t)
                        .ok()
                        .map(|t| t.with_timezone(&Utc))
                })
            }
        }
    }

    /// The broker confirmed these: never publish them again.
    pub async fn mark_sent(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Not waiting for the WAL to reach the disk: a mark that a
                // server crash loses only sends the row again, and every
                // consumer takes an event once (the writers' delivery
                // records). The in-process delivery marks each row after
                // its write, one after another, and waiting on this flush
                // kept it under 100 deliveries/s (docs/PERFORMANCE.md).
                sqlx::query("SET LOCAL synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("UPDATE outbox SET sent_at = $1, last_error = NULL WHERE id = ANY($2)")
                    .bind(Utc::now())
                    .bind(ids)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Store::Sqlite(pool) => {
                let mut qb = QueryBuilder::new("UPDATE outbox SET last_error = NULL, sent_at = ");
                qb.push_bind(sqlite_time(Utc::now())).push(" WHERE id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(id);
                }
                list.push_unseparated(")");
                qb.build().execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Publishing failed: keep the reason, and try again after `retry_in`.
    pub async fn release_outbox(
        &self,
        id: i64,
        error: &str,
        retry_in: Duration,
    ) -> Result<(), StoreError> {
        let at = later(Utc::now(), retry_in);
        match self {
            Store::Postgres(pool) => {
                sqlx::query("UPDATE outbox SET available_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
                    .bind(at)
                    .bind(error)
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
            Store::Sqlite(pool) => {
                sqlx::query("UPDATE outbox SET available_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
                    .bind(sqlite_time(at))
                    .bind(error)
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Delivery failed and a later try may succeed: keep the reason and
    /// when the row first failed (the outage budget runs from there), and
    /// try again from `retry_at`. With `tried` false the row was not tried
    /// at all (its target was just found down): its claim does not count
    /// as an attempt.
    pub async fn retry_outbox(
        &self,
        ids: &[i64],
        error: &str,
        retry_at: DateTime<Utc>,
        first_failed_at: DateTime<Utc>,
        tried: bool,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let at = retry_at;
        let untried = if tried { 0 } else { 1 };
        // Each row keeps its own first failure once it has one.
        let head = "UPDATE outbox SET available_at = ";
        let tail = ", first_failed_at = COALESCE(first_failed_at, ";
        match self {
            Store::Postgres(pool) => {
                let mut qb = QueryBuilder::new(head);
                qb.push_bind(at)
                    .push(", last_error = ")
                    .push_bind(error)
                    .push(", attempts = attempts - ")
                    .push_bind(untried)
                    .push(tail)
                    .push_bind(first_failed_at)
                    .push(") WHERE sent_at IS NULL AND id = ANY(")
                    .push_bind(ids)
                    .push(")");
                qb.build().execute(pool).await?;
            }
            Store::Sqlite(pool) => {
                let mut qb = QueryBuilder::new(head);
                qb.push_bind(sqlite_time(at))
                    .push(", last_error = ")
                    .push_bind(error)
                    .push(", attempts = attempts - ")
                    .push_bind(untried)
                    .push(tail)
                    .push_bind(sqlite_time(first_failed_at))
                    .push(") WHERE sent_at IS NULL AND id IN (");
                let mut list = qb.separated(", ");
                for id in ids {
                    list.push_bind(id);
                }
                list.push_unseparated(")");
                qb.build().execute(pool).await?;
            }
        }
        Ok(())
    }

    /// Forget rows handed on more than `keep` ago. The outbox holds work
    /// still to do, not history (`deliveries` and `links` keep that), and
    /// without this every claim would walk an ever-longer table. A change
    /// routed again after its row is gone is still applied once: writers
    /// deduplicate by `deliveries`. Returns how many rows went.
    pub async fn prune_outbox(&self, keep: Duration) -> Result<u64, StoreError> {
        let Some(cutoff) = chrono::Duration::from_std(keep)
            .ok()
            .and_then(|k| Utc::now().checked_sub_signed(k))
        else {
            return Ok(0);
        };
        let sql = "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1";
        Ok(match self {
            Store::Postgres(pool) => sqlx::query(sql)
                .bind(cutoff)
                .execute(pool)
                .await?
                .rows_affected(),
            Store::Sqlite(pool) => sqlx::query(sql)
                .bind(sqlite_time(cutoff))
                .execute(pool)
                .await?
                .rows_affected(),
        })
    }

    /// [`Store::prune_outbox`] once an hour at most, keeping a week: what
    /// the relay and the in-process transport call as they go. `last` is
    /// when it last ran; a failure is logged and retried next time.
    pub async fn prune_outbox_if_due(&self, last: &mut Option<std::time::Instant>) {
        const EVERY: Duration = Duration::from_secs(3600);
        const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);
        if last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        *last = Some(std::time::Instant::now());
        match self.prune_outbox(KEEP).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "outbox: forgot rows handed on over a week ago"),
            Err(e) => tracing::warn!(error = %e, "outbox: cannot prune handed-on rows"),
        }
    }

    /// What waits to be handed on, and what was given up on: for `/status`.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let (pending, dead): (i64, i64) = super::on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*) FILTER (WHERE dead_at IS NULL), COUNT(*) FILTER (WHERE dead_at IS NOT NULL) \
                 FROM outbox WHERE sent_at IS NULL",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(OutboxCounts { pending, dead })
    }

    /// How long the oldest routed work still waiting for delivery has
    /// waited (held work, `not_before` ahead, not counted): `None` when
    /// nothing waits.
    pub async fn outbox_oldest_pending_secs(&self) -> Result<Option<f64>, StoreError> {
        let now = Utc::now();
        let oldest: Option<DateTime<Utc>> =
            match self {
                Store::Postgres(pool) => sqlx::query_scalar(
                    "SELECT MIN(created_at) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL \
                     AND created_at <= $1",
                )
                .bind(now)
                .fetch_one(pool)
                .await?,
                Store::Sqlite(pool) => {
                    let text: Option<String> = sqlx::query_scalar(
                    "SELECT MIN(created_at) FROM outbox WHERE sent_at IS NULL AND dead_at IS NULL",
                )
                .fetch_one(pool)
                .await?;
                    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc))
                }
            };
        Ok(oldest.map(|t| (now - t).num_milliseconds().max(0) as f64 / 1000.0))
    }

    /// Messages not yet confirmed by the broker.
    pub async fn outbox_pending(&self) -> Result<i64, StoreError> {
        Ok(super::on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                .fetch_one(pool)
                .await?
        }))
    }
}
