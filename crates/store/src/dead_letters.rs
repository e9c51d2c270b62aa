//! The outbox's dead letters: rows the in-process transport gave up on,
//! kept with their reason and out of the relay's way until they are put
//! back in line (`revive_outbox`) or replayed (`dlq replay`: `requeue.rs`).

use chrono::Utc;
use serde_json::Value;

use super::outbox::sqlite_time;
use super::{Store, StoreError};

/// A message the in-process transport gave up on.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadRow {
    pub event_id: String,
    pub routing_key: String,
    pub attempts: i32,
    pub reason: String,
    pub dead_at: String,
    pub payload: Value,
}

impl Store {
    /// Give up on a row: out of the relay's way, with the reason, until
    /// [`Store::revive_outbox`].
    pub async fn bury_outbox(&self, id: i64, reason: &str) -> Result<(), StoreError> {
        match self {
            Store::Postgres(pool) => {
                sqlx::query("UPDATE outbox SET dead_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
                    .bind(Utc::now())
                    .bind(reason)
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
            Store::Sqlite(pool) => {
                sqlx::query("UPDATE outbox SET dead_at = $1, last_error = $2 WHERE id = $3 AND sent_at IS NULL")
                    .bind(sqlite_time(Utc::now()))
                    .bind(reason)
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The in-process transport's dead letters, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadRow>, StoreError> {
        type Dead = (String, String, i32, Option<String>, String, String);
        let rows: Vec<Dead> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(
                    "SELECT event_id, routing_key, attempts, last_error, \
                     to_char(dead_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), payload::text \
                     FROM outbox WHERE dead_at IS NOT NULL AND sent_at IS NULL ORDER BY dead_at, id",
                )
                .fetch_all(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(
                    "SELECT event_id, routing_key, attempts, last_error, dead_at, payload \
                     FROM outbox WHERE dead_at IS NOT NULL AND sent_at IS NULL ORDER BY dead_at, id",
                )
                .fetch_all(pool)
                .await?
            }
        };
        rows.into_iter()
            .map(
                |(event_id, routing_key, attempts, reason, dead_at, payload)| {
                    Ok(DeadRow {
                        event_id,
                        routing_key,
                        attempts,
                        reason: reason.unwrap_or_default(),
                        dead_at,
                        payload: serde_json::from_str(&payload)
                            .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))?,
                    })
                },
            )
            .collect()
    }

    /// Put dead letters back in line, attempts reset: one by event id, or
    /// all when `event_id` is `None`. Returns the event ids revived.
    pub async fn revive_outbox(&self, event_id: Option<&str>) -> Result<Vec<String>, StoreError> {
        let now = Utc::now();
        // A change routing could not decide has no writer to go to: only
        // routing it again (`dlq replay`) takes it out.
        let sql = "UPDATE outbox SET dead_at = NULL, attempts = 0, last_error = NULL, first_failed_at = NULL, available_at = $1 \
                   WHERE dead_at IS NOT NULL AND sent_at IS NULL AND ($2 IS NULL OR event_id = $2) \
                   AND routing_key <> 'unrouted' \
                   RETURNING event_id";
        let ids: Vec<(String,)> = match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let ids: Vec<(String,)> = sqlx::query_as(sql)
                    .bind(now)
                    .bind(event_id)
                    .fetch_all(&mut *tx)
                    .await?;
                if !ids.is_empty() {
                    super::wake::notify_pg(&mut tx).await?;
                }
                tx.commit().await?;
                ids
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(sqlite_time(now))
                    .bind(event_id)
                    .fetch_all(pool)
                    .await?
            }
        };
        if !ids.is_empty() {
            super::wake::committed(self);
        }
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }
}
