//! Retrying quarantine: a stream's quarantined records mapped again with
//! the mapping in force now, from the raw payloads the store kept, without
//! asking the source.
//!
//! Each page of retried records goes through the sync's own page write, so
//! records, raw payloads (with the content hash and mapping version that
//! let the next sync skip them as unchanged), activities, lookups, routed
//! work and the quarantine rows commit together. A record that still fails
//! stays with the new reason; one the mapping now skips (`skip_if`) leaves
//! quarantine unstored. Retrying again finds only what is still there, so
//! nothing is applied twice.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{SyncJob, content_hash, map_record, missing_key, plan_page};
use crate::store::{
    PageWrite, QuarantineFilter, QuarantinedRecord, RetryClaim, StagedRecord, Stamp, Store,
    StoreError,
};
use crate::sync::Plan;

/// Quarantined records per page write, as a sync page.
const PAGE: i64 = 200;

/// A page whose rows a sync changed while it was retried is read again
/// this many times before it is left for the next retry.
const STALE_TRIES: usize = 3;

/// What retrying a stream's quarantine did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryReport {
    /// Records read from quarantine and mapped again.
    pub retried: usize,
    /// Mapped now, and stored.
    pub stored: usize,
    /// Still rejected: in quarantine with the new reason.
    pub quarantined: usize,
    /// Left out by the mapping's `skip_if` now: out of quarantine, not stored.
    pub skipped: usize,
    /// Changed by a sync while being retried, and left for the next retry.
    pub changed: usize,
    /// Stopped between pages for shutdown; the rest stays in quarantine.
    pub interrupted: bool,
}

impl RetryReport {
    fn add(&mut self, other: RetryReport) {
        self.retried += other.retried;
        self.stored += other.stored;
        self.quarantined += other.quarantined;
        self.skipped += other.skipped;
        self.changed += other.changed;
        self.interrupted |= other.interrupted;
    }
}

impl SyncJob {
    /// Map this stream's quarantined records again with the current
    /// mapping and store those that map: all of them, or the one `id`.
    /// `stop` is honoured between pages.
    pub async fn retry_quarantined(
        &self,
        store: &Store,
        id: Option<i64>,
        stop: &CancellationToken,
    ) -> Result<RetryReport, StoreError> {
        let system = self.system();
        let stream = self.stream.name.as_str();
        let filter = QuarantineFilter {
            system: Some(system),
            stream: Some(stream),
            id,
        };
        let mut report = RetryReport::default();
        let mut after = 0;
        loop {
            if stop.is_cancelled() {
                report.interrupted = true;
                return Ok(report);
            }
            let mut tries = 0;
            let (last, page) = loop {
                let records = store.quarantine_page(filter, after, PAGE).await?;
                let Some(last) = records.last().map(|r| r.row.id) else {
                    return Ok(report);
                };
                tries += 1;
                match self.retry_page(store, records).await? {
                    Some(page) => break (last, page),
                    None if tries < STALE_TRIES => continue,
                    None => {
                        let changed = store.quarantine_page(filter, after, PAGE).await?.len();
                        let left = RetryReport {
                            changed,
                            ..RetryReport::default()
                        };
                        break (last, left);
                    }
                }
            };
            report.add(page);
            after = last;
        }
    }

    /// Map and write one page of quarantined records; `None` when a sync
    /// changed one of them after they were read.
    async fn retry_page(
        &self,
        store: &Store,
        records: Vec<QuarantinedRecord>,
    ) -> Result<Option<RetryReport>, StoreError> {
        let mapping = self.mapping.current();
        let mut claim = RetryClaim::default();
        let mut staged = Vec::with_capacity(records.len());
        for q in records {
            claim.read.push(Stamp {
                id: q.row.id,
                attempts: q.row.attempts,
            });
            match restage(
                &mapping,
                &self.department,
                (q.row.external_id, None),
                q.payload,
            ) {
                Some(record) => staged.push(record),
                None => claim.release.push(q.row.id),
            }
        }
        let report = RetryReport {
            retried: claim.read.len(),
            skipped: claim.release.len(),
            ..RetryReport::default()
        };
        let page = self.write_again(store, &mapping.version, staged).await?;
        let outcome = store.apply_retry(page, &claim).await?;
        if outcome.stale {
            return Ok(None);
        }
        Ok(Some(RetryReport {
            stored: outcome.stored,
            quarantined: outcome.quarantined,
            ..report
        }))
    }
}

impl SyncJob {
    /// The page write for records mapped again from their kept payloads
    /// (a quarantine retry, a remap): no cursor, and routed as a sync
    /// would route these changes (nothing until the stream's first run has
    /// completed).
    pub(super) async fn write_again<'a>(
        &'a self,
        store: &Store,
        mapping_version: &'a str,
        staged: Vec<StagedRecord>,
    ) -> Result<PageWrite<'a>, StoreError> {
        let (system, stream) = (self.system(), self.stream.name.as_str());
        let plan = match &self.router {
            Some(router) if store.baseline_done(system, stream).await? => {
                let keys: Vec<String> = staged.iter().map(|r| r.external_id.clone()).collect();
                let existing = store.existing(system, stream, &keys).await?;
                plan_page(router, store, system, stream, &staged, &existing).await?
            }
            _ => Plan::default(),
        };
        Ok(PageWrite {
            system,
            stream,
            mapping_version,
            records: staged,
            cursor: None,
            delivery: None,
            outbox: plan.outbox,
            effects: plan.effects,
        })
    }
}

/// A kept record ready for the page write, as the sync would have staged
/// it; `None` when the mapping skips it. Its content hash is `hash` when
/// the store knows it (a remap: the list's hash, which a record with
/// details does not have in its payload), else the sync's, from the same
/// canonical JSON; either way the next sync that reads the record
/// unchanged skips it.
pub(super) fn restage(
    mapping: &crate::mapping::Mapping,
    department: &str,
    (external_id, hash): (String, Option<String>),
    payload: Value,
) -> Option<StagedRecord> {
    let payload_json = serde_json::to_string(&payload).unwrap_or_default();
    let hash = hash.unwrap_or_else(|| content_hash(&payload_json));
    // The key comes from the manifest, not the mapping: a record that had
    // none still has none, unless the mapping now leaves it out.
    if external_id.starts_with(super::MISSING_KEY) {
        if mapping.skips(&payload).unwrap_or(false) {
            return None;
        }
        return Some(StagedRecord {
            external_id,
            ..missing_key(hash, payload_json)
        });
    }
    let outcome = map_record(mapping, department, &payload)?;
    Some(StagedRecord {
        external_id,
        content_hash: hash,
        payload_json,
        outcome,
    })
}
