//! Tombstones (migration 0020): a record deleted at the source is marked
//! `deleted_at` on its raw payload and canonical row, never erased, and a
//! record listed again is live again. A tombstone write carries its
//! deletion cursor and the routed work its `deleted` events caused, in one
//! transaction, as a page write does (`page.rs`).
//!
//! A reconciliation stages the keys the source listed in
//! `reconcile_keys`, a page at a time, and compares them with the stored
//! ones in SQL: the process holds one page of listed keys and one batch of
//! missing keys, never the stream's whole key set (a million 32-character
//! ids would be some 100 MB twice over as Rust strings), and the database
//! does the comparison through the two tables' primary keys.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;

use super::{Effect, OutboxMessage, Store, StoreError, on_pool};

/// The canonical tables a stream can write; each has `deleted_at`.
const CANONICAL: &[&str] = &["work_items", "people", "org_units", "offerings"];

/// A stored record that is not tombstoned, as a deletion needs it: its raw
/// payload (mapped again for the `deleted` event) and its state.
#[derive(Debug, Clone)]
pub struct LiveRecord {
    pub external_id: String,
    pub payload: serde_json::Value,
    /// A work item's status: the event's `from_status`.
    pub state: Option<String>,
}

/// Tombstones and restores of one stream, in one transaction.
#[derive(Debug)]
pub struct TombstoneWrite<'a> {
    pub system: &'a str,
    pub stream: &'a str,
    /// Records deleted at the source; already tombstoned ones stay as they
    /// are (deleting twice is a no-op).
    pub deleted: Vec<String>,
    /// Tombstoned records listed again: live again.
    pub restored: Vec<String>,
    /// A cursor to commit with them: `(stream name, value)`, such as
    /// (`incident#deletions`, the last deletion's time).
    pub cursor: Option<(String, String)>,
    pub outbox: Vec<OutboxMessage>,
    pub effects: Vec<Effect>,
}

/// Tombstoned records per stream, for `/status` and the status page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TombstoneCount {
    pub source_system: String,
    pub source_stream: String,
    pub records: i64,
}

macro_rules! keys_in {
    ($qb:expr, $keys:expr) => {{
        let mut list = $qb.separated(", ");
        for k in $keys {
            list.push_bind(k);
        }
        list.push_unseparated(")");
    }};
}

impl Store {
    /// The records among `keys` that are stored and live.
    pub async fn live_records(
        &self,
        system: &str,
        stream: &str,
        keys: &[String],
    ) -> Result<Vec<LiveRecord>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, String, Option<String>)> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT s.external_id, CAST(s.payload AS TEXT), w.status FROM source_records s \
                 LEFT JOIN work_items w ON w.source_system = s.source_system \
                 AND w.source_stream = s.source_stream AND w.external_id = s.external_id \
                 WHERE s.deleted_at IS NULL AND s.source_system = ",
            );
            qb.push_bind(system)
                .push(" AND s.source_stream = ")
                .push_bind(stream)
                .push(" AND s.external_id IN (");
            keys_in!(qb, keys);
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(external_id, payload, state)| LiveRecord {
                external_id,
                payload: serde_json::from_str(&payload).unwrap_or_default(),
                state,
            })
            .collect())
    }

    /// The keys among `keys` whose records are tombstoned.
    pub async fn tombstoned_among(
        &self,
        system: &str,
        stream: &str,
        keys: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        if keys.is_empty() {
            return Ok(HashSet::new());
        }
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT external_id FROM source_records WHERE deleted_at IS NOT NULL \
                 AND source_system = ",
            );
            qb.push_bind(system)
                .push(" AND source_stream = ")
                .push_bind(stream)
                .push(" AND external_id IN (");
            keys_in!(qb, keys);
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Tombstone and restore records, commit the cursor and enqueue the
    /// routed work, in one transaction. Returns how many records were
    /// tombstoned now (not before).
    pub async fn apply_tombstones(&self, w: TombstoneWrite<'_>) -> Result<u64, StoreError> {
        let now = Utc::now();
        Ok(match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let n = pg::mark(&mut tx, &w, now).await?;
                super::outbox::pg::enqueue(&mut tx, &w.outbox).await?;
                super::journey::pg::apply(&mut tx, &w.effects).await?;
                tx.commit().await?;
                n
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let n = sqlite::mark(&mut tx, &w, now).await?;
                super::outbox::sqlite::enqueue(&mut tx, &w.outbox).await?;
                super::journey::sqlite::apply(&mut tx, &w.effects).await?;
                tx.commit().await?;
                n
            }
        })
        .inspect(|_| {
            if !w.outbox.is_empty() {
                super::wake::committed(self);
            }
        })
    }

    /// Forget reconciliation `run`'s staged keys (after it ends, and when
    /// its listing failed), and those a crashed one left a day ago.
    pub async fn unstage_keys(&self, run: &str) -> Result<(), StoreError> {
        let stale = match self {
            Store::Postgres(_) => "staged_at < now() - INTERVAL '1 day'",
            Store::Sqlite(_) => "staged_at < strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')",
        };
        let sql = format!("DELETE FROM reconcile_keys WHERE run_id = $1 OR {stale}");
        on_pool!(self, |pool| {
            sqlx::query(&sql)
                .bind(run)
                .execute(pool)
                .await
                .map(|_| ())?
        });
        Ok(())
    }

    /// Stage one page of the keys a reconciliation's listing returned.
    pub async fn stage_keys(
        &self,
        run: &str,
        system: &str,
        stream: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO reconcile_keys (run_id, source_system, source_stream, external_id) ",
            );
            qb.push_values(keys, |mut row, k| {
                row.push_bind(run)
                    .push_bind(system)
                    .push_bind(stream)
                    .push_bind(k);
            });
            qb.push(" ON CONFLICT DO NOTHING");
            qb.build().execute(pool).await.map(|_| ())?
        });
        Ok(())
    }

    /// The stream's live stored records, and how many of them the staged
    /// listing lacks.
    pub async fn reconcile_counts(
        &self,
        run: &str,
        system: &str,
        stream: &str,
    ) -> Result<(i64, i64), StoreError> {
        let row: (i64, i64) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN r.external_id IS NULL THEN 1 ELSE 0 END), 0) \
                 FROM source_records s LEFT JOIN reconcile_keys r ON r.run_id = $3 \
                 AND r.source_system = s.source_system AND r.source_stream = s.source_stream \
                 AND r.external_id = s.external_id \
                 WHERE s.source_system = $1 AND s.source_stream = $2 AND s.deleted_at IS NULL",
            )
            .bind(system)
            .bind(stream)
            .bind(run)
            .fetch_one(pool)
            .await?
        });
        Ok(row)
    }

    /// Up to `limit` live stored keys after `after` (in key order) that the
    /// staged listing lacks.
    pub async fn missing_keys(
        &self,
        run: &str,
        system: &str,
        stream: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT s.external_id FROM source_records s WHERE s.source_system = $1 \
                 AND s.source_stream = $2 AND s.deleted_at IS NULL AND s.external_id > $3 \
                 AND NOT EXISTS (SELECT 1 FROM reconcile_keys r WHERE r.run_id = $5 \
                 AND r.source_system = s.source_system \
                 AND r.source_stream = s.source_stream AND r.external_id = s.external_id) \
                 ORDER BY s.external_id LIMIT $4",
            )
            .bind(system)
            .bind(stream)
            .bind(after)
            .bind(limit)
            .bind(run)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Tombstoned records per stream that has any.
    pub async fn tombstone_counts(&self) -> Result<Vec<TombstoneCount>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT source_system, source_stream, COUNT(*) AS records FROM source_records \
                 WHERE deleted_at IS NOT NULL GROUP BY source_system, source_stream \
                 ORDER BY source_system, source_stream",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}

/// Set or clear `deleted_at` on the raw payloads and canonical rows, and
/// commit the cursor. Only live rows are tombstoned, so a second deletion
/// keeps the first one's time and counts nothing.
macro_rules! backend {
    ($module:ident, $db:ty) => {
        pub(super) mod $module {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            pub async fn mark(
                tx: &mut Conn,
                w: &TombstoneWrite<'_>,
                now: DateTime<Utc>,
            ) -> Result<u64, sqlx::Error> {
                let mut tombstoned = 0;
                let tables = std::iter::once(&"source_records").chain(CANONICAL);
                for table in tables {
                    for (keys, deleted) in [(&w.deleted, true), (&w.restored, false)] {
                        for chunk in keys.chunks(500) {
                            let mut qb = QueryBuilder::<$db>::new(format!(
                                "UPDATE {table} SET deleted_at = "
                            ));
                            if deleted {
                                qb.push_bind(now).push(" WHERE deleted_at IS NULL");
                            } else {
                                qb.push("NULL WHERE deleted_at IS NOT NULL");
                            }
                            qb.push(" AND source_system = ")
                                .push_bind(w.system)
                                .push(" AND source_stream = ")
                                .push_bind(w.stream)
                                .push(" AND external_id IN (");
                            keys_in!(qb, chunk);
                            let done = qb.build().execute(&mut *tx).await?.rows_affected();
                            if deleted && *table == "source_records" {
                                tombstoned += done;
                            }
                        }
                    }
                }
                if let Some((stream, cursor)) = &w.cursor {
                    sqlx::query(&format!(
                        "INSERT INTO sync_state (source_system, source_stream, cursor, updated_at) \
                         VALUES ($1, $2, $3, $4){}",
                        super::super::CURSOR_CONFLICT
                    ))
                    .bind(w.system)
                    .bind(stream)
                    .bind(cursor)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                Ok(tombstoned)
            }
        }
    };
}

backend!(pg, sqlx::Postgres);
backend!(sqlite, sqlx::Sqlite);
