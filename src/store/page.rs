//! Writing one page of a sync: records, raw payloads, quarantine and the
//! cursor, all in one transaction, many rows per statement.
//!
//! The cursor commits with the records it covers, so a crash between pages
//! can only make the next run read a page again, never skip one. The
//! statements themselves are per backend (`pg.rs`, `sqlite.rs`): each uses
//! its own fastest bulk form.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Store, StoreError};
use crate::model::{Canonical, Person, WorkItem};

/// One source record as the sync engine hands it over.
#[derive(Debug, Clone)]
pub struct StagedRecord {
    pub external_id: String,
    pub content_hash: String,
    /// The record as the source sent it, serialized once: hashed, then stored.
    pub payload_json: String,
    /// The canonical record, or why mapping rejected it.
    pub outcome: Result<Canonical, String>,
}

/// Everything one page changes.
#[derive(Debug)]
pub struct PageWrite<'a> {
    pub system: &'a str,
    pub stream: &'a str,
    pub mapping_version: &'a str,
    /// Only changed records: unchanged ones were filtered out by the caller.
    pub records: Vec<StagedRecord>,
    /// The cursor to commit with this page; `None` keeps the stored one.
    pub cursor: Option<String>,
}

/// What the store already holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub content_hash: String,
    pub mapping_version: String,
}

/// Counts of what a page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub stored: usize,
    pub quarantined: usize,
}

impl Store {
    /// The stored hash and mapping version of each of `keys` that exists.
    pub async fn existing(
        &self,
        system: &str,
        stream: &str,
        keys: &[String],
    ) -> Result<HashMap<String, Stored>, StoreError> {
        let rows = match self {
            Store::Postgres(pool) => super::pg::existing(pool, system, stream, keys).await?,
            Store::Sqlite(pool) => super::sqlite::existing(pool, system, stream, keys).await?,
        };
        Ok(rows
            .into_iter()
            .map(|(key, content_hash, mapping_version)| {
                let stored = Stored {
                    content_hash,
                    mapping_version,
                };
                (key, stored)
            })
            .collect())
    }

    /// Write one page and its cursor atomically.
    pub async fn apply_page(&self, page: PageWrite<'_>) -> Result<PageOutcome, StoreError> {
        let PageWrite {
            system,
            stream,
            mapping_version,
            records,
            cursor,
        } = page;
        let records = dedupe_last_wins(records);
        let rows = PageRows::split(system, stream, mapping_version, cursor.as_deref(), &records);
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                super::pg::write(&mut tx, &rows).await?;
                tx.commit().await?;
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                super::sqlite::write(&mut tx, &rows).await?;
                tx.commit().await?;
            }
        }
        Ok(PageOutcome {
            stored: rows.mapped.len(),
            quarantined: rows.rejected.len(),
        })
    }
}

/// A page's records sorted by what each backend writes where.
pub(super) struct PageRows<'a> {
    pub system: &'a str,
    pub stream: &'a str,
    pub version: &'a str,
    pub now: DateTime<Utc>,
    pub cursor: Option<&'a str>,
    /// Records that mapped: their raw payloads are kept and they leave quarantine.
    pub mapped: Vec<&'a StagedRecord>,
    pub work_items: Vec<(&'a str, &'a WorkItem)>,
    pub people: Vec<(&'a str, &'a Person)>,
    pub rejected: Vec<(&'a StagedRecord, &'a str)>,
}

impl<'a> PageRows<'a> {
    fn split(
        system: &'a str,
        stream: &'a str,
        version: &'a str,
        cursor: Option<&'a str>,
        records: &'a [StagedRecord],
    ) -> Self {
        let mut rows = PageRows {
            system,
            stream,
            version,
            now: Utc::now(),
            cursor,
            mapped: Vec::new(),
            work_items: Vec::new(),
            people: Vec::new(),
            rejected: Vec::new(),
        };
        for r in records {
            match &r.outcome {
                Ok(Canonical::WorkItem(w)) => rows.work_items.push((&r.external_id, w)),
                Ok(Canonical::Person(p)) => rows.people.push((&r.external_id, p)),
                Err(reason) => rows.rejected.push((r, reason)),
            }
            if r.outcome.is_ok() {
                rows.mapped.push(r);
            }
        }
        rows
    }
}

/// A page can name the same record twice (a source re-sorts while we page);
/// one statement must not touch a row twice, and the later copy is newer.
fn dedupe_last_wins(records: Vec<StagedRecord>) -> Vec<StagedRecord> {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(records.len());
    let mut out: Vec<StagedRecord> = Vec::with_capacity(records.len());
    for r in records {
        match index.get(&r.external_id) {
            Some(&i) => out[i] = r,
            None => {
                index.insert(r.external_id.clone(), out.len());
                out.push(r);
            }
        }
    }
    out
}
