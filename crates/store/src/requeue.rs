//! Routing again: the messages a replay produced (`route --replay`, `dlq
//! replay`) written in one transaction with the dead letters they replace
//! and the cases and tasks they start.
//!
//! A replay keeps the ids routing gives the same change, so the outbox's
//! unique `event_id` and the writers' `deliveries` table keep it from
//! applying anything twice. What it must do beyond a sync's enqueue is send
//! a known id again with a new body: a dead letter re-rendered after a fix
//! to `routing.toml` is the same piece of work with the fixed values.

use chrono::Utc;

use super::outbox::sqlite_time;
use super::{Effect, OutboxMessage, Store, StoreError};

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct Requeue<'a> {
    /// Dead letters these messages replace: removed first, in the same
    /// transaction, so a replaced letter and its replacement never both
    /// exist, and a replacement with the letter's own id goes out afresh.
    pub replaces: &'a [String],
    pub outbox: &'a [OutboxMessage],
    pub effects: &'a [Effect],
    /// Send a message again even when its id was sent already (a letter
    /// the broker's dead-letter queue holds was sent, then refused). When
    /// false, only ids never enqueued, or dead, are queued: routing a
    /// stored record again sends nothing that already went.
    pub resend: bool,
}

/// What a requeue did, by event id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requeued {
    /// New in the outbox, or put back in line with their new body.
    pub queued: Vec<String>,
    /// Already pending or sent, left as they were.
    pub unchanged: Vec<String>,
}

const DELETE_DEAD: &str =
    "DELETE FROM outbox WHERE event_id = $1 AND dead_at IS NOT NULL AND sent_at IS NULL";

/// Insert, or put an existing row back in line with the new body when it
/// is dead (or when `$5` says to send it again). A value stream's task
/// held until before a start date (`not_before`) stays held.
const UPSERT: &str = "INSERT INTO outbox (event_id, routing_key, payload, available_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (event_id) DO UPDATE SET routing_key = excluded.routing_key, \
     payload = excluded.payload, available_at = excluded.available_at, sent_at = NULL, \
     dead_at = NULL, attempts = 0, last_error = NULL, first_failed_at = NULL \
     WHERE outbox.dead_at IS NOT NULL OR $5 \
     RETURNING event_id";

impl Store {
    /// Write a replay's messages and effects atomically; see [`Requeue`].
    pub async fn requeue(&self, r: Requeue<'_>) -> Result<Requeued, StoreError> {
        let mut out = Requeued::default();
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for id in r.replaces {
                    sqlx::query(DELETE_DEAD).bind(id).execute(&mut *tx).await?;
                }
                for m in r.outbox {
                    let queued: Option<(String,)> = sqlx::query_as(UPSERT)
                        .bind(&m.event_id)
                        .bind(&m.routing_key)
                        .bind(sqlx::types::Json(&m.payload))
                        .bind(m.not_before.unwrap_or_else(Utc::now))
                        .bind(r.resend)
                        .fetch_optional(&mut *tx)
                        .await?;
                    out.record(&m.event_id, queued.is_some());
                }
                super::journey::pg::apply(&mut tx, r.effects).await?;
                if !out.queued.is_empty() {
                    super::wake::notify_pg(&mut tx).await?;
                }
                tx.commit().await?;
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                for id in r.replaces {
                    sqlx::query(DELETE_DEAD).bind(id).execute(&mut *tx).await?;
                }
                for m in r.outbox {
                    let queued: Option<(String,)> = sqlx::query_as(UPSERT)
                        .bind(&m.event_id)
                        .bind(&m.routing_key)
                        .bind(m.payload.to_string())
                        .bind(sqlite_time(m.not_before.unwrap_or_else(Utc::now)))
                        .bind(r.resend)
                        .fetch_optional(&mut *tx)
                        .await?;
                    out.record(&m.event_id, queued.is_some());
                }
                super::journey::sqlite::apply(&mut tx, r.effects).await?;
                tx.commit().await?;
            }
        }
        if !out.queued.is_empty() {
            super::wake::committed(self);
        }
        Ok(out)
    }

    /// The raw payload the source last sent for a record, as the store
    /// kept it; `None` if the store holds none.
    pub async fn source_payload(
        &self,
        system: &str,
        stream: &str,
        external_id: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let sql = "SELECT payload FROM source_records WHERE source_system = $1 \
                   AND source_stream = $2 AND external_id = $3";
        let text: Option<String> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as::<_, (sqlx::types::Json<serde_json::Value>,)>(sql)
                    .bind(system)
                    .bind(stream)
                    .bind(external_id)
                    .fetch_optional(pool)
                    .await?
                    .map(|(v,)| v.0.to_string())
            }
            Store::Sqlite(pool) => sqlx::query_as::<_, (String,)>(sql)
                .bind(system)
                .bind(stream)
                .bind(external_id)
                .fetch_optional(pool)
                .await?
                .map(|(v,)| v),
        };
        text.map(|t| {
            serde_json::from_str(&t)
                .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))
        })
        .transpose()
    }
}

impl Requeued {
    fn record(&mut self, id: &str, queued: bool) {
        if queued {
            self.queued.push(id.to_string());
        } else {
            self.unchanged.push(id.to_string());
        }
    }
}
