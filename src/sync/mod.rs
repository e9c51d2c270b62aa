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
mod isolate;
mod lifecycle;
mod remap;
mod replay;
mod retry;
mod route;

use std::cmp::Ordering;
use std::sync::Arc;

use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::connector::{Connector, ConnectorError, CursorSpec, PageToken, StreamSpec};
use crate::mapping::{Mapping, MappingSlot};
use crate::model::Canonical;
use crate::store::{PageWrite, StagedRecord, Store, StoreError};
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
}

/// Called after every committed page, e.g. to draw progress.
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

    async fn run_pages(
        &self,
        store: &Store,
        stop: &CancellationToken,
        progress: ProgressFn<'_>,
    ) -> Result<SyncReport, SyncError> {
        let system = self.system().to_string();
        let stream = self.stream.name.as_str();
        let cursor_spec = self.stream.cursor.as_ref();
        let mapping: Arc<Mapping> = self.mapping.current();
        let committed = store.cursor(&system, stream).await?;
        let from = first_bound(cursor_spec, committed.as_deref());

        // Until a run has completed, changes are a baseline (see `route`).
        let router = match &self.router {
            Some(r) if store.baseline_done(&system, stream).await? => Some(r.as_ref()),
            _ => None,
        };
        let mut report = SyncReport::default();
        let mut high = committed.clone();
        // The lowest cursor the next run must re-read from, when a shift was seen.
        let mut rewind: Option<String> = None;
        // The largest cursor of the previous page: skipped records sort after it.
        let mut prev_page_max: Option<String> = None;
        let mut token: Option<PageToken> = None;
        let mut guard = PagingGuard::default();
        // How the stream sees deletions, if it says (`deletions.rs`).
        let deletions = self.connector.deletions(stream);
        let status_mark = deletions.as_ref().and_then(|d| d.status.as_ref());
        let paging_error = |reason: String| SyncError::Paging {
            system: system.clone(),
            stream: stream.to_string(),
            reason,
        };
        loop {
            if stop.is_cancelled() {
                report.interrupted = true;
                break;
            }
            if let Some(max) = self.stream.max_pages
                && report.pages as u64 >= max
            {
                return Err(paging_error(format!(
                    "more than `max_pages` = {max} pages; raise it in the manifest if the stream is that large"
                )));
            }
            let mut page = tokio::select! {
                page = self.connector.fetch_page(stream, from.as_deref(), token.as_ref()) => page?,
                _ = stop.cancelled() => { report.interrupted = true; break; }
            };
            report.pages += 1;
            report.fetched += page.records.len();
            let unchanged_before = report.unchanged;
            if page.shifted
                && let (Some(spec), Some(before)) = (cursor_spec, &prev_page_max)
                && rewind
                    .as_deref()
                    .is_none_or(|r| spec.compare(before, r) == Ordering::Less)
            {
                rewind = Some(before.clone());
            }
            let mut page_max: Option<String> = None;
            let mut fingerprint = PageFingerprint::default();

            // What PostgreSQL cannot store is replaced before anything reads it.
            let replaced: usize = page.records.iter_mut().map(|r| r.scrub()).sum();
            let keys: Vec<String> = page.records.iter().filter_map(|r| r.key.clone()).collect();
            let existing = store.existing(&system, stream, &keys).await?;
            // Only a stream that declares deletions has tombstones to check.
            let tombstones = match &deletions {
                Some(_) => store.tombstoned_among(&system, stream, &keys).await?,
                None => Default::default(),
            };
            // Listed records that say they are deleted, and tombstones
            // listed again.
            let (mut gone, mut back) = (Vec::new(), Vec::new());
            let mut staged = Vec::with_capacity(page.records.len());
            // New or changed records, in page order: mapped once their
            // details (if the stream has any) are in.
            let mut changed = Vec::with_capacity(page.records.len());
            for rec in page.records {
                // A kind that reads its own cursor (file, exec) names no field.
                if let Some(spec) = cursor_spec.filter(|c| c.reads_records())
                    && rec.cursor.is_none()
                {
                    report.cursor_missing += 1;
                    events::CursorMissing {
                        connector: &system,
                        stream,
                        key: rec.key.as_deref().unwrap_or("(no key)"),
                        fields: spec,
                        first: report.cursor_missing == 1,
                    }
                    .emit();
                }
                if let (Some(spec), Some(value)) = (cursor_spec, &rec.cursor) {
                    let above = |v: &Option<String>| {
                        v.as_deref()
                            .is_none_or(|h| spec.compare(value, h) == Ordering::Greater)
                    };
                    if above(&high) {
                        high = Some(value.clone());
                    }
                    if above(&page_max) {
                        page_max = Some(value.clone());
                    }
                }
                let payload_json = serde_json::to_string(&rec.payload).unwrap_or_default();
                let hash = content_hash(&payload_json);
                fingerprint.add(&hash);
                let Some(key) = rec.key else {
                    staged.push(missing_key(hash, payload_json));
                    continue;
                };
                let tombstone = tombstones.contains(&key);
                if status_mark.is_some_and(|m| m.says_deleted(&rec.payload)) {
                    // Tombstoned instead of stored: the store keeps the
                    // record as it was while live.
                    if tombstone {
                        report.unchanged += 1;
                    } else {
                        gone.push(key);
                    }
                    continue;
                }
                if tombstone {
                    // Live again even with its content unchanged.
                    back.push(key.clone());
                }
                let same = !tombstone
                    && existing.get(&key).is_some_and(|s| {
                        s.content_hash == hash && s.mapping_version == mapping.version
                    });
                if same {
                    report.unchanged += 1;
                    continue;
                }
                changed.push((key, hash, payload_json, rec.payload));
            }
            let details = self.details(stream, &changed).await?;
            for (i, (key, hash, payload_json, mut payload)) in changed.into_iter().enumerate() {
                // The hash stays the list's: an unchanged record is known
                // without asking for its details again. The raw payload kept
                // holds them, for a retry or a remap.
                let (payload_json, detail_error) = match details.get(i) {
                    None => (payload_json, None),
                    Some(Ok(pairs)) => {
                        if let Some(obj) = payload.as_object_mut() {
                            for (k, v) in pairs {
                                obj.insert(k.clone(), v.clone());
                            }
                        }
                        (
                            serde_json::to_string(&payload).unwrap_or(payload_json),
                            None,
                        )
                    }
                    Some(Err(e)) => (payload_json, Some(e.clone())),
                };
                if let Some(reason) = detail_error {
                    staged.push(StagedRecord {
                        external_id: key,
                        content_hash: hash,
                        payload_json,
                        outcome: Err(reason),
                    });
                    continue;
                }
                let Some(outcome) = map_record(&mapping, &self.department, &payload) else {
                    report.skipped += 1;
                    continue;
                };
                staged.push(StagedRecord {
                    external_id: key,
                    content_hash: hash,
                    payload_json,
                    outcome,
                });
            }
            // The page is written either way (a repeat is merely unchanged);
            // the next request is what must not happen.
            let looping = guard.check(
                report.pages,
                fingerprint,
                token.as_ref(),
                page.next.as_ref(),
            );
            // Unordered sources only get their cursor once the run has seen
            // everything; after a shift the cursor is held before the gap even
            // if the run is killed before it ends.
            let commit = cursor_spec
                .filter(|c| c.ordered)
                .and_then(|spec| held_back(spec, &high, &rewind));
            // Before the page, whose cursor covers them: a stop in between
            // only makes the next run read the page again.
            if !gone.is_empty() || !back.is_empty() {
                let marks = deletions::Marks {
                    deleted: gone,
                    restored: back,
                    cursor: None,
                    how: "status",
                };
                self.mark(store, router, &mapping, marks, &mut report)
                    .await?;
            }
            let plan = match router {
                Some(r) => plan_page(r, store, &system, stream, &staged, &existing).await?,
                None => Plan::default(),
            };
            let page_write = PageWrite {
                system: &system,
                stream,
                mapping_version: &mapping.version,
                records: staged,
                cursor: commit,
                delivery: None,
                outbox: plan.outbox,
                effects: plan.effects,
            };
            let routed_by = router.map(|r| (r, &existing));
            let outcome = write_isolating(store, page_write, routed_by).await?;
            if replaced > 0 {
                events::TextReplaced {
                    connector: &system,
                    stream,
                    characters: replaced,
                }
                .emit();
            }
            report.stored += outcome.stored;
            report.quarantined += outcome.quarantined;
            events::PageCommitted {
                connector: &system,
                stream,
                page: report.pages,
                stored: outcome.stored,
                unchanged: report.unchanged - unchanged_before,
                quarantined: outcome.quarantined,
            }
            .emit();
            progress(self, &report);
            looping.map_err(paging_error)?;
            prev_page_max = page_max.or(prev_page_max);
            token = page.next;
            if token.is_none() {
                break;
            }
        }

        let final_cursor = match cursor_spec {
            Some(spec) => held_back(spec, &high, &rewind),
            None => high,
        };
        if let Some(r) = rewind
            .as_deref()
            .filter(|r| final_cursor.as_deref() == Some(*r))
        {
            events::ShiftDetected {
                connector: &system,
                stream,
                cursor: r,
            }
            .emit();
        }
        let needs_final_commit = cursor_spec.is_some()
            && !report.interrupted
            && final_cursor.is_some()
            && final_cursor != committed;
        if needs_final_commit {
            store
                .apply_page(PageWrite {
                    system: &system,
                    stream,
                    mapping_version: &mapping.version,
                    records: Vec::new(),
                    cursor: final_cursor.clone(),
                    delivery: None,
                    outbox: Vec::new(),
                    effects: Vec::new(),
                })
                .await?;
        }
        report.cursor = final_cursor;
        if let Some(spec) = deletions.as_ref().filter(|_| !report.interrupted) {
            self.deletions_after_run(store, router, &mapping, spec, &mut report)
                .await?;
        }
        if self.router.is_some() && router.is_none() && !report.interrupted {
            store.mark_baseline(&system, stream).await?;
            crate::telemetry::events::BaselineTaken {
                connector: &system,
                stream,
                stored: report.stored,
            }
            .emit();
        }
        Ok(report)
    }
}

/// What a run remembers of the pages it read to notice a source that pages
/// forever: one that ignores the offset or page number and sends the same
/// records again, or whose next link or token leads back to a page already
/// read. A few words per page, for the last [`PagingGuard::REMEMBERED`].
#[derive(Default)]
struct PagingGuard {
    previous: Option<PageFingerprint>,
    tokens: std::collections::VecDeque<u64>,
}

impl PagingGuard {
    const REMEMBERED: usize = 64;

    fn check(
        &mut self,
        page: usize,
        records: PageFingerprint,
        asked: Option<&PageToken>,
        next: Option<&PageToken>,
    ) -> Result<(), String> {
        if records.count > 0 && self.previous == Some(records) {
            return Err(format!(
                "page {page} holds the same {} records as page {}: the source ignores the paging parameter",
                records.count,
                page - 1
            ));
        }
        self.previous = Some(records);
        if let Some(asked) = asked {
            self.remember(hash_of(asked));
        }
        if let Some(next) = next
            && self.tokens.contains(&hash_of(next))
        {
            return Err(format!(
                "page {page} points to a page already read as the next one ({}): the source's paging loops",
                describe(next)
            ));
        }
        Ok(())
    }

    fn remember(&mut self, token: u64) {
        if self.tokens.len() == Self::REMEMBERED {
            self.tokens.pop_front();
        }
        self.tokens.push_back(token);
    }
}

/// The records of one page, as the hash of their content hashes, in order.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
struct PageFingerprint {
    count: usize,
    hash: u64,
}

impl PageFingerprint {
    fn add(&mut self, content_hash: &str) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.hash, content_hash).hash(&mut h);
        self.hash = h.finish();
        self.count += 1;
    }
}

fn hash_of(token: &PageToken) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

/// A token for a message: links and tokens as sent, cut to a readable length.
fn describe(token: &PageToken) -> String {
    let text = match token {
        // Without the query: some APIs put a key there.
        PageToken::Url(u) => match u.split_once('?') {
            Some((path, _)) => format!("{path}?…"),
            None => u.clone(),
        },
        PageToken::Token(t) => format!("token {t}"),
        other => format!("{other:?}"),
    };
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
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
