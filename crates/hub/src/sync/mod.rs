//! The sync engine: one run of one stream, from the committed cursor to the
//! last page.
//!
//! Per page: fetch, skip records whose content and mapping are unchanged, map
//! the rest, and hand records, rejects and the advanced cursor to the store in
//! one transaction. Shutdown is honoured between pages only, so a page is
//! either wholly committed or not at all.
//!
//! Offset paging over a live source can skip records: when an already-read
//! record changes (or is deleted) mid-run it leaves its place, and everything
//! after it shifts toward the start. The connector notices (each page re-reads
//! the previous page's last record) and flags the page; we then commit a
//! cursor from before the gap, so the next run reads what was skipped. This
//! costs no memory per record. Late-committing sources are covered by the
//! overlap window ([`CursorSpec::rewind`]).

mod deletions;
mod details;
mod guard;
mod isolate;
mod lifecycle;
mod pipeline;
mod remap;
mod replay;
mod retry;
mod route;
mod run;

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::connector::{Connector, ConnectorError, CursorSpec, StreamSpec};
use crate::mapping::{Mapping, MappingSlot};
use crate::model::Canonical;
use crate::store::{StagedRecord, Store, StoreError};
use crate::telemetry::events;
pub use isolate::write_isolating;
pub use remap::RemapReport;
pub use replay::{Letter, Replanned, ReplayError, Rerendered, rerender};
pub use retry::RetryReport;
pub use route::{Change, Plan, Router, Scope};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A task of the run's own ended without an answer (it panicked).
    #[error("a task of the run stopped: {0}")]
    Task(String),
    /// The source pages without end; the pages read before are kept.
    #[error("`{system}` stream `{stream}`: {reason}; the run stops here")]
    Paging {
        system: String,
        stream: String,
        reason: String,
    },
}

/// One stream of one connector, with the mapping for its records.
#[derive(Debug, Clone)]
pub struct SyncJob {
    pub connector: Arc<dyn Connector>,
    pub stream: StreamSpec,
    /// Read once per run: a reload takes effect from the next run.
    pub mapping: MappingSlot,
    /// Filled into work items whose mapping sets no department.
    pub department: String,
    /// Routing rules for this stream's changes; `None` routes nothing.
    pub router: Option<Arc<Router>>,
}

/// The lower bound a run's first request carries: the committed cursor,
/// rewound by the overlap, or the cursor's `initial` on a first run.
/// `check --connect` sends the same.
pub fn first_bound(cursor: Option<&CursorSpec>, committed: Option<&str>) -> Option<String> {
    cursor.map(|c| match committed {
        Some(v) => c.rewind(v),
        None => c.initial.clone(),
    })
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pages: usize,
    pub fetched: usize,
    /// Written because new or changed.
    pub stored: usize,
    /// Skipped because unchanged.
    pub unchanged: usize,
    pub quarantined: usize,
    /// Left out by the mapping's `skip_if`.
    pub skipped: usize,
    /// The cursor committed at the end, if the stream has one.
    pub cursor: Option<String>,
    /// Records whose cursor field was missing or unreadable: they cannot
    /// advance the cursor, so they are counted and warned about.
    pub cursor_missing: usize,
    /// The run stopped early for shutdown; the next run resumes from the cursor.
    pub interrupted: bool,
    /// Records deleted at the source and tombstoned by this run
    /// (`[streams.deletions]`), and tombstones listed again, live again.
    pub tombstoned: usize,
    pub restored: usize,
    /// A reconciliation found more records gone than `max_fraction`
    /// allows and tombstoned nothing.
    pub reconcile_refused: bool,
    /// Records moved while the run paged, so the committed cursor was held
    /// back to before them: the next run reads them again.
    pub held_back: bool,
    /// The stream's first completed run with routing: its records were
    /// taken as the baseline, not routed.
    pub baseline: bool,
}

/// Called after each page is read and handed over to be written, and once
/// more when the last writes are done, e.g. to draw progress. `pages` and
/// `fetched` count pages read; `stored` and `quarantined` what is committed.
pub type ProgressFn<'a> = &'a (dyn Fn(&SyncJob, &SyncReport) + Send + Sync);

impl SyncJob {
    pub fn system(&self) -> &str {
        self.connector.system()
    }

    /// Run until the last page, or until `stop` is cancelled between pages.
    pub async fn run(
        &self,
        store: &Store,
        stop: &CancellationToken,
        progress: ProgressFn<'_>,
    ) -> Result<SyncReport, SyncError> {
        let started = Utc::now();
        let clock = std::time::Instant::now();
        let result = self.run_pages(store, stop, progress).await;
        match &result {
            Ok(report) => events::SyncFinished {
                connector: self.system(),
                stream: &self.stream.name,
                report,
                elapsed: clock.elapsed(),
            }
            .emit(),
            Err(error) => events::SyncFailed {
                connector: self.system(),
                stream: &self.stream.name,
                error,
            }
            .emit(),
        }
        let error = result.as_ref().err().map(|e| e.to_string());
        let report = result.as_ref().ok();
        let outcome = crate::store::RunOutcome {
            started,
            error: error.as_deref(),
            completed: report.is_some_and(|r| !r.interrupted),
            fetched: report.map_or(0, |r| r.fetched as i64),
            stored: report.map_or(0, |r| r.stored as i64),
        };
        // Bookkeeping must not hide the run's own error.
        if let Err(e) = store
            .record_run(self.system(), &self.stream.name, &outcome)
            .await
        {
            tracing::warn!(connector = %self.system(), stream = %self.stream.name, error = %e, "cannot record run");
        }
        result
    }
}

/// Route a page's changed records: their links read in one query.
pub async fn plan_page(
    router: &Router,
    store: &Store,
    system: &str,
    stream: &str,
    staged: &[StagedRecord],
    existing: &std::collections::HashMap<String, crate::store::Stored>,
) -> Result<Plan, StoreError> {
    let keys: Vec<String> = staged
        .iter()
        .filter(|r| r.outcome.is_ok())
        .map(|r| r.external_id.clone())
        .collect();
    if keys.is_empty() {
        return Ok(Plan::default());
    }
    let links = store.link_ends(system, &keys).await?;
    // Only a linked record can carry a comment the hub wrote.
    let linked: Vec<String> = links.keys().cloned().collect();
    let sent = store.sent_notes(system, &linked).await?;
    let changes: Vec<Change> = staged
        .iter()
        .filter_map(|r| {
            let canonical = r.outcome.as_ref().ok()?;
            Some(Change {
                external_id: &r.external_id,
                canonical,
                before: existing.get(&r.external_id),
                link: links.get(&r.external_id),
                sent: sent.get(&r.external_id).map_or(&[], Vec::as_slice),
            })
        })
        .collect();
    Ok(router.plan(system, stream, &changes, Utc::now()))
}

/// Map one record for the store: the canonical record, or why not.
/// `None` when the mapping's `skip_if` leaves it out. Work items and
/// offerings the mapping gives no department get the connector's.
pub fn map_record(
    mapping: &Mapping,
    department: &str,
    payload: &serde_json::Value,
) -> Option<Result<Canonical, String>> {
    match mapping.skips(payload) {
        Ok(true) => None,
        Ok(false) => Some(
            mapping
                .apply(payload)
                .map(|c| match c {
                    Canonical::WorkItem(mut w) => {
                        if w.department.is_none() {
                            w.department = Some(department.to_string());
                        }
                        Canonical::WorkItem(w)
                    }
                    // A catalogue belongs to the department whose system it
                    // is, unless an item says otherwise.
                    Canonical::Offering(mut o) => {
                        if o.department.is_none() {
                            o.department = Some(department.to_string());
                        }
                        Canonical::Offering(o)
                    }
                    other => other,
                })
                .map_err(|e| e.to_string()),
        ),
        Err(e) => Some(Err(e.to_string())),
    }
}

/// How the quarantine names a record that came without an id.
pub const MISSING_KEY: &str = "missing-key:";

/// A record without an id cannot be stored, only quarantined, under a
/// name made from its content.
pub fn missing_key(hash: String, payload_json: String) -> StagedRecord {
    StagedRecord {
        external_id: format!("{MISSING_KEY}{}", &hash[..16]),
        content_hash: hash,
        payload_json,
        outcome: Err("record has no key (the manifest's `key` path is missing or empty)".into()),
    }
}

/// The cursor to commit: the high-water mark, unless a shift was seen before
/// it, in which case the point before the gap.
fn held_back(
    spec: &crate::connector::CursorSpec,
    high: &Option<String>,
    rewind: &Option<String>,
) -> Option<String> {
    match (high, rewind) {
        (Some(h), Some(r)) if spec.compare(r, h) == Ordering::Less => Some(r.clone()),
        (None, Some(r)) => Some(r.clone()),
        _ => high.clone(),
    }
}

/// Hash of a payload's JSON as serialized from a `serde_json::Value`, whose
/// object keys are sorted: the same content hashes the same however the
/// source ordered its keys.
pub fn content_hash(payload_json: &str) -> String {
    content_hash_bytes(payload_json.as_bytes())
}

pub fn content_hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
