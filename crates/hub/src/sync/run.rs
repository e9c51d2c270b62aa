//! A run's pages, from the committed cursor to the last page.
//!
//! The stages overlap (`pipeline.rs`): the next pages are read while one is
//! sorted and mapped, hashing and mapping run off the async threads, and a
//! run that routes nothing writes several pages at once. A run that routes
//! writes one page after another, because routing a page reads what the
//! pages before it stored (links, states, notes sent); so does a stream
//! whose records say they are deleted, as those marks change what later
//! pages read of tombstones.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::pipeline::{Fetched, Prefetch, Reading, Writes, Written};
use super::{
    Plan, ProgressFn, SyncError, SyncJob, SyncReport, deletions, first_bound, held_back,
    map_record, missing_key, plan_page, write_isolating,
};
use crate::mapping::Mapping;
use crate::store::{PageWrite, StagedRecord, Store};
use crate::telemetry::events;

/// Pages read ahead of the one being sorted and mapped. Measured on 2
/// cores (docs/PERFORMANCE.md): one page ahead is as fast as two, and each
/// page held costs memory.
const AHEAD: usize = 1;
/// Pages written at once on PostgreSQL, each on a connection of its own:
/// two were faster than one or three on 2 cores. SQLite has one writer at
/// a time whatever we do: there a page is written while the next is
/// prepared, no more.
const PG_WRITERS: usize = 2;

/// A new or changed record: key, content hash, payload as JSON, payload.
type Changed = (String, String, String, serde_json::Value);
/// What a stream's `[[streams.details]]` added to each changed record.
type Details = Vec<Result<Vec<(String, serde_json::Value)>, String>>;

impl SyncJob {
    pub(super) async fn run_pages(
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
        // How the stream sees deletions, if it says (`deletions.rs`).
        let deletions = self.connector.deletions(stream);
        let status_mark = deletions.as_ref().and_then(|d| d.status.as_ref());
        let mut writes = (router.is_none() && status_mark.is_none()).then(|| {
            let limit = match store {
                Store::Postgres(_) => PG_WRITERS,
                Store::Sqlite(_) => 1,
            };
            Writes::new(
                store,
                &system,
                stream,
                &mapping.version,
                limit,
                committed.clone(),
            )
        });
        let reading = Reading {
            connector: self.connector.clone(),
            system: system.clone(),
            stream: stream.to_string(),
            from,
            max_pages: self.stream.max_pages,
        };
        let mut pages = Prefetch::start(reading, AHEAD);
        let mut committed_pages: Vec<Written> = Vec::new();
        let pages_read: Result<(), SyncError> = async {
            loop {
                if stop.is_cancelled() {
                    report.interrupted = true;
                    break;
                }
                let page = tokio::select! {
                    page = pages.next() => page,
                    _ = stop.cancelled() => { report.interrupted = true; break; }
                };
                // The reader ends after the last page, which ends the loop first.
                let Some(page) = page else { break };
                let Fetched {
                    page,
                    digests,
                    replaced,
                } = page?;
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

                // Taken before the store is asked: see `Writes::written`.
                let horizon = writes.as_ref().map(Writes::horizon);
                // What PostgreSQL cannot store was replaced before anything read it.
                let records = page.records;
                if replaced > 0 {
                    events::TextReplaced {
                        connector: &system,
                        stream,
                        characters: replaced,
                    }
                    .emit();
                }
                let keys: Vec<String> = records.iter().filter_map(|r| r.key.clone()).collect();
                let existing = store.existing(&system, stream, &keys).await?;
                // Only a stream that declares deletions has tombstones to check.
                let tombstones = match &deletions {
                    Some(_) => store.tombstoned_among(&system, stream, &keys).await?,
                    None => HashSet::new(),
                };
                // Listed records that say they are deleted, and tombstones
                // listed again.
                let (mut gone, mut back) = (Vec::new(), Vec::new());
                let mut staged = Vec::with_capacity(records.len());
                // New or changed records, in page order: mapped once their
                // details (if the stream has any) are in.
                let mut changed: Vec<Changed> = Vec::with_capacity(records.len());
                for (rec, (payload_json, hash)) in records.into_iter().zip(digests) {
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
                    // What a page of this run still being written holds is
                    // newer than what the store answered.
                    let same = !tombstone
                        && match writes.as_ref().and_then(|w| w.written(&key)) {
                            Some(written) => written == hash,
                            None => existing.get(&key).is_some_and(|s| {
                                s.content_hash == hash && s.mapping_version == mapping.version
                            }),
                        };
                    if same {
                        report.unchanged += 1;
                        continue;
                    }
                    changed.push((key, hash, payload_json, rec.payload));
                }
                if let (Some(w), Some(h)) = (writes.as_mut(), horizon) {
                    w.forget_before(h);
                }
                // A page's details can take a while (one request per
                // record, rate limited): a stop meanwhile drops the page,
                // which the next run reads again.
                let details = tokio::select! {
                    details = self.details(stream, &changed) => details?,
                    _ = stop.cancelled() => { report.interrupted = true; break; }
                };
                let (mapping_, department) = (mapping.clone(), self.department.clone());
                let (mapped, skipped) =
                    off_thread(move || map_changed(&mapping_, &department, changed, details))
                        .await?;
                staged.extend(mapped);
                report.skipped += skipped;
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
                let unchanged = report.unchanged - unchanged_before;
                match writes.as_mut() {
                    Some(w) => {
                        let done = w.push(report.pages, staged, unchanged, commit).await?;
                        committed_pages.extend(done);
                    }
                    None => {
                        let plan = match router {
                            Some(r) => {
                                plan_page(r, store, &system, stream, &staged, &existing).await?
                            }
                            None => Plan::default(),
                        };
                        let mut page_write = PageWrite {
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
                        let outcome = write_isolating(store, &mut page_write, routed_by).await?;
                        events::PageCommitted {
                            connector: &system,
                            stream,
                            page: report.pages,
                            stored: outcome.stored,
                            unchanged,
                            quarantined: outcome.quarantined,
                        }
                        .emit();
                        committed_pages.push(Written { outcome });
                    }
                }
                for written in committed_pages.drain(..) {
                    self.committed(&mut report, written);
                }
                // Once per page read, whether or not its write is done: a
                // watcher that stops the run here stops it after this page.
                progress(self, &report);
                prev_page_max = page_max.or(prev_page_max.take());
                if page.next.is_none() {
                    break;
                }
            }
            Ok(())
        }
        .await;
        // Pages handed over are finished either way: what is committed is
        // kept, with the cursor that covers it.
        if let Some(w) = writes.as_mut() {
            match w.finish().await {
                Ok(done) => {
                    if !done.is_empty() {
                        for written in done {
                            self.committed(&mut report, written);
                        }
                        progress(self, &report);
                    }
                }
                Err(e) => {
                    pages_read?;
                    return Err(e);
                }
            }
        }
        pages_read?;
        drop(pages);

        let final_cursor = match cursor_spec {
            Some(spec) => held_back(spec, &high, &rewind),
            None => high,
        };
        if let Some(r) = rewind
            .as_deref()
            .filter(|r| final_cursor.as_deref() == Some(*r))
        {
            report.held_back = true;
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
            report.baseline = true;
            events::BaselineTaken {
                connector: &system,
                stream,
                stored: report.stored,
            }
            .emit();
        }
        Ok(report)
    }

    /// Count a committed page (its event was emitted as it committed).
    fn committed(&self, report: &mut SyncReport, written: Written) {
        report.stored += written.outcome.stored;
        report.quarantined += written.outcome.quarantined;
    }
}

/// Run CPU work (a page's mapping, milliseconds) on the
/// blocking pool, so that it holds up no async task: the page reader, the
/// writers and the HTTP server go on meanwhile.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SyncError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| SyncError::Task(e.to_string()))
}

/// Map a page's new and changed records, with their details merged in;
/// with how many the mapping's `skip_if` left out.
fn map_changed(
    mapping: &Mapping,
    department: &str,
    changed: Vec<Changed>,
    details: Details,
) -> (Vec<StagedRecord>, usize) {
    let mut staged = Vec::with_capacity(changed.len());
    let mut skipped = 0;
    let mut details = details.into_iter();
    for (key, hash, payload_json, mut payload) in changed {
        // The hash stays the list's: an unchanged record is known
        // without asking for its details again. The raw payload kept
        // holds them, for a retry or a remap.
        let (payload_json, detail_error) = match details.next() {
            None => (payload_json, None),
            Some(Ok(pairs)) => {
                if let Some(obj) = payload.as_object_mut() {
                    for (k, v) in pairs {
                        obj.insert(k, v);
                    }
                }
                (
                    serde_json::to_string(&payload).unwrap_or(payload_json),
                    None,
                )
            }
            Some(Err(e)) => (payload_json, Some(e)),
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
        let Some(outcome) = map_record(mapping, department, &payload) else {
            skipped += 1;
            continue;
        };
        staged.push(StagedRecord {
            external_id: key,
            content_hash: hash,
            payload_json,
            outcome,
        });
    }
    (staged, skipped)
}
