//! Writing one page of a sync: records, raw payloads, quarantine and the
//! cursor, all in one transaction, many rows per statement.
//!
//! The cursor commits with the records it covers, so a crash between pages
//! can only make the next run read a page again, never skip one.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::Value;
use sqlx::QueryBuilder;
use sqlx::types::Json;

use super::{Store, StoreError, on_pool};
use crate::model::{Canonical, Person, WorkItem};

/// Rows per statement: well under both backends' bind-parameter limits
/// (SQLite 32766, Postgres 65535) at ~25 columns a row.
const CHUNK: usize = 400;

/// One source record as the sync engine hands it over.
#[derive(Debug, Clone)]
pub struct StagedRecord {
    pub external_id: String,
    pub content_hash: String,
    pub payload: Value,
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
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK * 10) {
            let rows: Vec<(String, String, String)> = on_pool!(self, |pool| {
                let mut qb = QueryBuilder::new(
                    "SELECT external_id, content_hash, mapping_version FROM source_records WHERE source_system = ",
                );
                qb.push_bind(system)
                    .push(" AND source_stream = ")
                    .push_bind(stream)
                    .push(" AND external_id IN (");
                let mut list = qb.separated(", ");
                for key in chunk {
                    list.push_bind(key);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            found.extend(
                rows.into_iter()
                    .map(|(key, content_hash, mapping_version)| {
                        (
                            key,
                            Stored {
                                content_hash,
                                mapping_version,
                            },
                        )
                    }),
            );
        }
        Ok(found)
    }

    /// Write one page and its cursor atomically.
    pub async fn apply_page(&self, page: PageWrite<'_>) -> Result<PageOutcome, StoreError> {
        let records = dedupe_last_wins(page.records);
        let mut work_items = Vec::new();
        let mut people = Vec::new();
        let mut rejected = Vec::new();
        let mut mapped = Vec::new();
        for r in &records {
            match &r.outcome {
                Ok(Canonical::WorkItem(w)) => work_items.push((r.external_id.as_str(), w)),
                Ok(Canonical::Person(p)) => people.push((r.external_id.as_str(), p)),
                Err(reason) => rejected.push((r, reason.as_str())),
            }
            if r.outcome.is_ok() {
                mapped.push(r);
            }
        }
        let now = Utc::now();
        let (system, stream, version) = (page.system, page.stream, page.mapping_version);

        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in mapped.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO source_records (source_system, source_stream, external_id, content_hash, mapping_version, payload, last_changed_at) ",
                );
                qb.push_values(chunk, |mut row, r| {
                    row.push_bind(system)
                        .push_bind(stream)
                        .push_bind(&r.external_id)
                        .push_bind(&r.content_hash)
                        .push_bind(version)
                        .push_bind(Json(&r.payload))
                        .push_bind(now);
                });
                qb.push(
                    " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
                     content_hash = excluded.content_hash, mapping_version = excluded.mapping_version, \
                     payload = excluded.payload, last_changed_at = excluded.last_changed_at",
                );
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in work_items.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(WORK_ITEM_INSERT);
                qb.push_values(chunk, |mut row, (key, w): &(&str, &WorkItem)| {
                    row.push_bind(system)
                        .push_bind(stream)
                        .push_bind(*key)
                        .push_bind(&w.external_url)
                        .push_bind(&w.kind)
                        .push_bind(&w.title)
                        .push_bind(&w.description)
                        .push_bind(&w.status)
                        .push_bind(&w.native_status)
                        .push_bind(w.priority)
                        .push_bind(&w.requester_ref)
                        .push_bind(&w.department)
                        .push_bind(&w.assignee_group)
                        .push_bind(&w.service)
                        .push_bind(&w.location_ref)
                        .push_bind(w.opened_at)
                        .push_bind(w.updated_at)
                        .push_bind(w.resolved_at)
                        .push_bind(w.closed_at)
                        .push_bind(w.due_at)
                        .push_bind(Json(&w.attributes))
                        .push_bind(version)
                        .push_bind(now);
                });
                qb.push(WORK_ITEM_CONFLICT);
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in people.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(PERSON_INSERT);
                qb.push_values(chunk, |mut row, (key, p): &(&str, &Person)| {
                    row.push_bind(system)
                        .push_bind(stream)
                        .push_bind(*key)
                        .push_bind(&p.display_name)
                        .push_bind(&p.email)
                        .push_bind(&p.employee_number)
                        .push_bind(&p.department)
                        .push_bind(&p.org_unit_ref)
                        .push_bind(&p.location_ref)
                        .push_bind(&p.manager_ref)
                        .push_bind(p.active)
                        .push_bind(Json(&p.attributes))
                        .push_bind(version)
                        .push_bind(now);
                });
                qb.push(PERSON_CONFLICT);
                qb.build().execute(&mut *tx).await?;
            }
            for chunk in rejected.chunks(CHUNK) {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO quarantine (source_system, source_stream, external_id, reason, payload, mapping_version, last_seen_at) ",
                );
                qb.push_values(chunk, |mut row, (r, reason)| {
                    row.push_bind(system)
                        .push_bind(stream)
                        .push_bind(&r.external_id)
                        .push_bind(*reason)
                        .push_bind(Json(&r.payload))
                        .push_bind(version)
                        .push_bind(now);
                });
                qb.push(
                    " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
                     reason = excluded.reason, payload = excluded.payload, mapping_version = excluded.mapping_version, \
                     last_seen_at = excluded.last_seen_at, attempts = quarantine.attempts + 1",
                );
                qb.build().execute(&mut *tx).await?;
            }
            // A record that maps cleanly now leaves quarantine.
            for chunk in mapped.chunks(CHUNK * 10) {
                let mut qb = QueryBuilder::new("DELETE FROM quarantine WHERE source_system = ");
                qb.push_bind(system)
                    .push(" AND source_stream = ")
                    .push_bind(stream)
                    .push(" AND external_id IN (");
                let mut list = qb.separated(", ");
                for r in chunk {
                    list.push_bind(&r.external_id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            if let Some(cursor) = &page.cursor {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO sync_state (source_system, source_stream, cursor, updated_at) VALUES (",
                );
                qb.push_bind(system)
                    .push(", ")
                    .push_bind(stream)
                    .push(", ")
                    .push_bind(cursor)
                    .push(", ")
                    .push_bind(now)
                    .push(
                        ") ON CONFLICT (source_system, source_stream) DO UPDATE SET \
                         cursor = excluded.cursor, updated_at = excluded.updated_at",
                    );
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(PageOutcome {
            stored: mapped.len(),
            quarantined: rejected.len(),
        })
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

const WORK_ITEM_INSERT: &str = "INSERT INTO work_items (source_system, source_stream, external_id, \
    external_url, kind, title, description, status, native_status, priority, requester_ref, department, \
    assignee_group, service, location_ref, opened_at, updated_at, resolved_at, closed_at, due_at, \
    attributes, mapping_version, synced_at) ";

const WORK_ITEM_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    external_url = excluded.external_url, kind = excluded.kind, title = excluded.title, \
    description = excluded.description, status = excluded.status, native_status = excluded.native_status, \
    priority = excluded.priority, requester_ref = excluded.requester_ref, department = excluded.department, \
    assignee_group = excluded.assignee_group, service = excluded.service, location_ref = excluded.location_ref, \
    opened_at = excluded.opened_at, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, \
    closed_at = excluded.closed_at, due_at = excluded.due_at, attributes = excluded.attributes, \
    mapping_version = excluded.mapping_version, synced_at = excluded.synced_at";

const PERSON_INSERT: &str = "INSERT INTO people (source_system, source_stream, external_id, \
    display_name, email, employee_number, department, org_unit_ref, location_ref, manager_ref, active, \
    attributes, mapping_version, synced_at) ";

const PERSON_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    display_name = excluded.display_name, email = excluded.email, employee_number = excluded.employee_number, \
    department = excluded.department, org_unit_ref = excluded.org_unit_ref, location_ref = excluded.location_ref, \
    manager_ref = excluded.manager_ref, active = excluded.active, attributes = excluded.attributes, \
    mapping_version = excluded.mapping_version, synced_at = excluded.synced_at";
