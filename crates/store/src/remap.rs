//! What `switchboard remap` and `resync` need of the store: a stream's raw
//! payloads read back in pages, a page write that checks none of them
//! changed since they were read, and a stream's cursor set on purpose.
//!
//! A remap writes the payload it read. Were a sync to store a newer one
//! between the read and the write, writing the old one back would undo it,
//! and the sync's cursor would already be past it: so the write first
//! claims the rows at the content hashes read, in its own transaction, and
//! writes nothing if any of them moved (the page is read again).

use serde_json::Value;
use sqlx::QueryBuilder;

use super::{PageOutcome, PageWrite, Store, StoreError, on_pool};

/// One raw payload as the store kept it.
#[derive(Debug, Clone)]
pub struct SourceRow {
    pub external_id: String,
    pub content_hash: String,
    pub payload: Value,
}

/// The rows a remap's page read, at the content hash it read them with.
#[derive(Debug, Clone, Default)]
pub struct Unchanged {
    pub read: Vec<(String, String)>,
}

impl Store {
    /// Up to `limit` raw payloads of a stream after the key `after`, in key
    /// order (`""` for the first page).
    pub async fn source_rows_after(
        &self,
        system: &str,
        stream: &str,
        after: &str,
        limit: i64,
    ) -> Result<Vec<SourceRow>, StoreError> {
        let sql = "SELECT external_id, content_hash, payload FROM source_records \
                   WHERE source_system = $1 AND source_stream = $2 AND external_id > $3 \
                   ORDER BY external_id LIMIT $4";
        let rows: Vec<(String, String, String)> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as::<_, (String, String, sqlx::types::Json<Value>)>(sql)
                    .bind(system)
                    .bind(stream)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .map(|(k, h, p)| (k, h, p.0.to_string()))
                    .collect()
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(sql)
                    .bind(system)
                    .bind(stream)
                    .bind(after)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        };
        rows.into_iter()
            .map(|(external_id, content_hash, text)| {
                let payload = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Query(sqlx::Error::Decode(Box::new(e))))?;
                Ok(SourceRow {
                    external_id,
                    content_hash,
                    payload,
                })
            })
            .collect()
    }

    /// Write a remapped page, unless a row it read changed since: then
    /// nothing is written and the outcome says `stale`.
    pub async fn apply_remap(
        &self,
        page: PageWrite<'_>,
        read: &Unchanged,
    ) -> Result<PageOutcome, StoreError> {
        let mut page = page;
        self.write_page(&mut page, super::page::Claim::Unchanged(read), true)
            .await
    }

    /// Set a stream's committed cursor: the next run reads from it (less
    /// the overlap). `None` clears it, so the next run starts at the
    /// cursor's `initial`: the whole stream again.
    pub async fn set_cursor(
        &self,
        system: &str,
        stream: &str,
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO sync_state (source_system, source_stream, cursor) VALUES (",
            );
            qb.push_bind(system)
                .push(", ")
                .push_bind(stream)
                .push(", ")
                .push_bind(cursor)
                .push(") ON CONFLICT (source_system, source_stream) DO UPDATE SET cursor = excluded.cursor");
            qb.build().execute(pool).await?;
        });
        Ok(())
    }
}

macro_rules! backend {
    ($module:ident, $db:ty) => {
        pub(super) mod $module {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            /// Lock the rows the remap read; `false` when any has changed or
            /// gone since. An update, so that it takes the row locks
            /// (PostgreSQL) or the write lock (SQLite) before anything else
            /// in the transaction, as the quarantine's claim does.
            pub async fn unchanged(
                tx: &mut Conn,
                system: &str,
                stream: &str,
                read: &Unchanged,
            ) -> Result<bool, sqlx::Error> {
                let mut still = 0;
                for chunk in read.read.chunks(1000) {
                    let mut qb = QueryBuilder::<$db>::new(
                        "UPDATE source_records SET content_hash = content_hash WHERE source_system = ",
                    );
                    qb.push_bind(system)
                        .push(" AND source_stream = ")
                        .push_bind(stream)
                        .push(" AND (external_id, content_hash) IN (VALUES ");
                    let mut rows = qb.separated(", ");
                    for (key, hash) in chunk {
                        rows.push("(")
                            .push_bind_unseparated(key)
                            .push_unseparated(", ")
                            .push_bind_unseparated(hash)
                            .push_unseparated(")");
                    }
                    qb.push(")");
                    still += qb.build().execute(&mut *tx).await?.rows_affected();
                }
                Ok(still == read.read.len() as u64)
            }
        }
    };
}

backend!(pg, sqlx::Postgres);
backend!(sqlite, sqlx::Sqlite);
