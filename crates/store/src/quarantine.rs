//! Quarantine as on-call sees it: the records a mapping rejected, listed,
//! shown with their raw payload, counted per stream, and read back for a
//! retry.
//!
//! A retry writes through the page write ([`Store::apply_retry`]) after
//! claiming the rows it read: if a sync changed one of them meanwhile (a
//! newer payload quarantined, or the record stored), the retry writes
//! nothing, so it never puts an older payload over a newer one.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::QueryBuilder;
use sqlx::types::Json;

use super::{Store, StoreError, on_pool};

/// One quarantined record, without its payload: what `list` shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QuarantineRow {
    pub id: i64,
    pub source_system: String,
    pub source_stream: String,
    pub external_id: String,
    pub reason: String,
    /// The version of the mapping that last rejected it.
    pub mapping_version: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    /// When a sync or a retry last mapped it.
    pub last_seen_at: DateTime<Utc>,
    /// How often it was mapped and rejected.
    pub attempts: i32,
}

/// A quarantined record with the payload the source sent.
#[derive(Debug, Clone, Serialize)]
pub struct QuarantinedRecord {
    #[serde(flatten)]
    pub row: QuarantineRow,
    pub payload: Value,
}

/// Which quarantined records to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuarantineFilter<'a> {
    pub system: Option<&'a str>,
    pub stream: Option<&'a str>,
    /// One record by its id.
    pub id: Option<i64>,
}

/// Records in quarantine for one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct QuarantineCount {
    pub source_system: String,
    pub source_stream: String,
    pub records: i64,
    /// When the longest-waiting record was first quarantined.
    pub oldest: Option<DateTime<Utc>>,
}

/// A quarantine row as a retry read it: the row is still the one read
/// when its id and attempts are unchanged (every rejection counts one more
/// attempt, and a record stored and rejected again gets a new id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub id: i64,
    pub attempts: i32,
}

/// What a retry's page write must check and release, in its transaction.
#[derive(Debug, Clone, Default)]
pub struct RetryClaim {
    /// Every row the retry read for this page.
    pub read: Vec<Stamp>,
    /// Rows the mapping now skips (`skip_if`): they leave quarantine
    /// without being stored, as a sync would never have stored them.
    pub release: Vec<i64>,
}

const COLUMNS: &str = "id, source_system, source_stream, external_id, reason, mapping_version, \
    first_seen_at, last_seen_at, attempts";

fn push_filter<'a, DB: sqlx::Database>(qb: &mut QueryBuilder<'a, DB>, f: QuarantineFilter<'a>)
where
    &'a str: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    if let Some(system) = f.system {
        qb.push(" AND source_system = ").push_bind(system);
    }
    if let Some(stream) = f.stream {
        qb.push(" AND source_stream = ").push_bind(stream);
    }
    if let Some(id) = f.id {
        qb.push(" AND id = ").push_bind(id);
    }
}

impl Store {
    /// Quarantined records, oldest first, without payloads.
    pub async fn quarantine_list(
        &self,
        filter: QuarantineFilter<'_>,
    ) -> Result<Vec<QuarantineRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM quarantine"));
            push_filter(&mut qb, filter);
            qb.push(" ORDER BY id");
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// Up to `limit` quarantined records (all when `None`) with ids above
    /// `after`, oldest first, without payloads: a page of the API's list.
    pub async fn quarantine_list_after(
        &self,
        filter: QuarantineFilter<'_>,
        after: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<QuarantineRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM quarantine"));
            push_filter(&mut qb, filter);
            if let Some(after) = after {
                qb.push(" AND id > ").push_bind(after);
            }
            qb.push(" ORDER BY id");
            if let Some(limit) = limit {
                qb.push(" LIMIT ").push_bind(limit);
            }
            qb.build_query_as().fetch_all(pool).await?
        }))
    }

    /// Every quarantined record, by system, stream and external id.
    pub async fn quarantined(&self) -> Result<Vec<QuarantineRow>, StoreError> {
        let mut rows = self.quarantine_list(QuarantineFilter::default()).await?;
        rows.sort_by(|a, b| {
            (&a.source_system, &a.source_stream, &a.external_id).cmp(&(
                &b.source_system,
                &b.source_stream,
                &b.external_id,
            ))
        });
        Ok(rows)
    }

    /// Up to `limit` quarantined records of the filter with ids above
    /// `after`, in id order, with their payloads: a retry's next page.
    pub async fn quarantine_page(
        &self,
        filter: QuarantineFilter<'_>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<QuarantinedRecord>, StoreError> {
        type Row = (
            i64,
            String,
            String,
            String,
            String,
            Option<String>,
            DateTime<Utc>,
            DateTime<Utc>,
            i32,
            Json<Value>,
        );
        let rows: Vec<Row> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS}, payload FROM quarantine"));
            push_filter(&mut qb, filter);
            qb.push(" AND id > ")
                .push_bind(after)
                .push(" ORDER BY id LIMIT ")
                .push_bind(limit);
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|r| QuarantinedRecord {
                row: QuarantineRow {
                    id: r.0,
                    source_system: r.1,
                    source_stream: r.2,
                    external_id: r.3,
                    reason: r.4,
                    mapping_version: r.5,
                    first_seen_at: r.6,
                    last_seen_at: r.7,
                    attempts: r.8,
                },
                payload: r.9.0,
            })
            .collect())
    }

    /// One quarantined record with its payload.
    pub async fn quarantined_record(
        &self,
        id: i64,
    ) -> Result<Option<QuarantinedRecord>, StoreError> {
        let filter = QuarantineFilter {
            id: Some(id),
            ..QuarantineFilter::default()
        };
        Ok(self.quarantine_page(filter, 0, 1).await?.into_iter().next())
    }

    /// Records in quarantine per stream, in one query that reads the
    /// quarantine once: every stream that has run (zero when none are; not
    /// the bookkeeping rows a stream's deletions keep, `<stream>#…`) and
    /// every stream with records in quarantine (webhook streams have no
    /// runs).
    pub async fn quarantine_counts(&self) -> Result<Vec<QuarantineCount>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT source_system, source_stream, MAX(records) AS records, MIN(oldest) AS oldest \
                 FROM (SELECT source_system, source_stream, 0 AS records, NULL AS oldest FROM sync_state \
                       WHERE source_stream NOT LIKE '%#%' \
                       UNION ALL \
                       SELECT source_system, source_stream, COUNT(*), MIN(first_seen_at) FROM quarantine \
                       GROUP BY source_system, source_stream) AS c \
                 GROUP BY source_system, source_stream \
                 ORDER BY source_system, source_stream",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}

/// The statements a retry's page write runs first, in its transaction.
macro_rules! backend {
    ($module:ident, $db:ty) => {
        pub(super) mod $module {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            /// Lock the rows the retry read; `false` when any has changed
            /// or gone since. Written as an update so that it takes the
            /// row locks (PostgreSQL) or the write lock (SQLite) before
            /// anything else in the transaction.
            pub async fn claim(tx: &mut Conn, claim: &RetryClaim) -> Result<bool, sqlx::Error> {
                let mut still = 0;
                // Two parameters a row, well under either backend's limit.
                for chunk in claim.read.chunks(1000) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "UPDATE quarantine SET attempts = attempts WHERE (id, attempts) IN (VALUES ",
                    );
                    let mut rows = qb.separated(", ");
                    for s in chunk {
                        rows.push("(")
                            .push_bind_unseparated(s.id)
                            .push_unseparated(", ")
                            .push_bind_unseparated(s.attempts)
                            .push_unseparated(")");
                    }
                    qb.push(")");
                    still += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                if still != claim.read.len() as u64 {
                    return Ok(false);
                }
                for chunk in claim.release.chunks(1000) {
                    let mut qb = QueryBuilder::<$db>::new("DELETE FROM quarantine WHERE id IN (");
                    let mut ids = qb.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    qb.push(")");
                    qb.build().execute(&mut *tx).await?;
                }
                Ok(true)
            }
        }
    };
}

backend!(pg, sqlx::Postgres);
backend!(sqlite, sqlx::Sqlite);
