//! What lets a run's stages overlap: the next pages are fetched while one
//! is mapped, and pages are written on several connections at once, while
//! the cursor still only ever covers pages that are all committed.
//!
//! Everything is bounded: [`Prefetch`] holds at most `ahead` pages it has
//! read and not handed over, and [`Writes`] at most `limit` pages being
//! written, so memory does not grow with the stream.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use super::guard::{PageFingerprint, PagingGuard};
use super::{SyncError, content_hash, write_isolating};
use crate::connector::{Connector, Page, PageToken, SourceRecord};
use crate::store::{PageOutcome, PageWrite, StagedRecord, Store, StoreError};

/// A page as the reader hands it over: its records scrubbed, and each
/// payload serialized and hashed once (the same JSON text is hashed and,
/// if the record changed, stored).
pub(super) struct Fetched {
    pub page: Page,
    /// `(payload JSON, content hash)` of each record, in page order.
    pub digests: Vec<(String, String)>,
    /// Characters the store's text rule replaced.
    pub replaced: usize,
}

/// What the reader needs to know of the stream.
pub(super) struct Reading {
    pub connector: Arc<dyn Connector>,
    pub system: String,
    pub stream: String,
    /// The lower bound every request carries.
    pub from: Option<String>,
    pub max_pages: Option<u64>,
}

/// Reads a stream's pages ahead of the run, in order, on a task of its own.
/// Dropping it stops the reading.
///
/// The reader also notices a source that pages forever, so that it is
/// never asked once more than a run one page at a time would ask: a page
/// found to repeat is handed over (it is written either way: a repeat is
/// merely unchanged), then the error.
pub(super) struct Prefetch {
    pages: mpsc::Receiver<Result<Fetched, SyncError>>,
    _task: AbortOnDropHandle<()>,
}

impl Prefetch {
    pub(super) fn start(reading: Reading, ahead: usize) -> Self {
        let (send, pages) = mpsc::channel(ahead.max(1));
        let task = tokio::spawn(async move {
            let paging = |reason: String| SyncError::Paging {
                system: reading.system.clone(),
                stream: reading.stream.clone(),
                reason,
            };
            let mut guard = PagingGuard::default();
            let mut token: Option<PageToken> = None;
            let mut read = 0usize;
            loop {
                if let Some(max) = reading.max_pages
                    && read as u64 >= max
                {
                    let _ = send
                        .send(Err(paging(format!(
                            "more than `max_pages` = {max} pages; raise it in the manifest if the stream is that large"
                        ))))
                        .await;
                    return;
                }
                let page = reading
                    .connector
                    .fetch_page(&reading.stream, reading.from.as_deref(), token.as_ref())
                    .await;
                let mut page = match page {
                    Ok(p) => p,
                    Err(e) => {
                        let _ = send.send(Err(e.into())).await;
                        return;
                    }
                };
                read += 1;
                let records = std::mem::take(&mut page.records);
                let digested = tokio::task::spawn_blocking(move || digest(records)).await;
                let (records, digests, replaced) = match digested {
                    Ok(d) => d,
                    Err(e) => {
                        let _ = send.send(Err(SyncError::Task(e.to_string()))).await;
                        return;
                    }
                };
                page.records = records;
                let mut fingerprint = PageFingerprint::default();
                for (_, hash) in &digests {
                    fingerprint.add(hash);
                }
                let looping = guard.check(read, fingerprint, token.as_ref(), page.next.as_ref());
                let next = page.next.clone();
                let fetched = Fetched {
                    page,
                    digests,
                    replaced,
                };
                // The run is over or has stopped early: nothing reads on.
                if send.send(Ok(fetched)).await.is_err() {
                    return;
                }
                if let Err(reason) = looping {
                    let _ = send.send(Err(paging(reason))).await;
                    return;
                }
                match next {
                    Some(t) => token = Some(t),
                    None => return,
                }
            }
        });
        Prefetch {
            pages,
            _task: AbortOnDropHandle::new(task),
        }
    }

    /// The next page, or `None` after the last; an error ends the pages.
    pub(super) async fn next(&mut self) -> Option<Result<Fetched, SyncError>> {
        self.pages.recv().await
    }
}

/// Scrub a page's records and serialize and hash each payload: CPU work,
/// milliseconds a page, so it runs on the blocking pool.
fn digest(mut records: Vec<SourceRecord>) -> (Vec<SourceRecord>, Vec<(String, String)>, usize) {
    let mut replaced = 0;
    let digests = records
        .iter_mut()
        .map(|r| {
            let (json, n) = r.scrubbed_json();
            replaced += n;
            let hash = content_hash(&json);
            (json, hash)
        })
        .collect();
    (records, digests, replaced)
}

/// A page handed to [`Writes`], as it is reported once committed.
#[derive(Debug, Clone, Copy)]
pub(super) struct Written {
    pub outcome: PageOutcome,
}

struct Pending {
    seq: u64,
    /// The cursor that covers this page and every earlier one.
    cursor: Option<String>,
    /// The cursor was written in the page's own transaction: nothing
    /// earlier was still being written when it started.
    carried: bool,
}

/// Pages being written side by side, reported and given their cursor in
/// page order.
///
/// A page's cursor is committed only once every earlier page is: in the
/// page's own transaction when nothing earlier is still being written as it
/// starts, else on its own once the pages before it are done. Only this
/// struct writes the cursor, one write at a time, so it never goes back.
pub(super) struct Writes {
    store: Store,
    system: Arc<str>,
    stream: Arc<str>,
    version: Arc<str>,
    limit: usize,
    running: FuturesOrdered<AbortOnDropHandle<Result<PageOutcome, StoreError>>>,
    pending: VecDeque<Pending>,
    next_seq: u64,
    /// Pages committed, all of them, up to this sequence number (exclusive).
    done: u64,
    /// Each key written by a page of this run that may not have been
    /// committed when the store was asked what it holds, with the page's
    /// sequence number and the content hash it stored (`None`: the page
    /// quarantined it, so the store's raw payload is unchanged): see
    /// [`Writes::written`].
    recent: HashMap<String, (Option<String>, u64)>,
    cursor: Option<String>,
    /// The page being written resolves references to other records: the
    /// next page waits for it (see [`Writes::push`]).
    barrier: bool,
}

/// How often a write the database aborted for a conflict between this
/// run's own transactions (a deadlock, a serialization failure) is tried
/// again before the run fails.
const CONFLICT_RETRIES: u32 = 5;

impl Writes {
    pub(super) fn new(
        store: &Store,
        system: &str,
        stream: &str,
        version: &str,
        limit: usize,
        committed: Option<String>,
    ) -> Self {
        Writes {
            store: store.clone(),
            system: system.into(),
            stream: stream.into(),
            version: version.into(),
            limit: limit.max(1),
            running: FuturesOrdered::new(),
            pending: VecDeque::new(),
            next_seq: 0,
            done: 0,
            recent: HashMap::new(),
            cursor: committed,
            barrier: false,
        }
    }

    /// A mark to take just before asking the store what it holds for a
    /// page's keys; hand it to [`Writes::forget_before`] once the page is
    /// sorted.
    pub(super) fn horizon(&self) -> u64 {
        self.done
    }

    /// The hash this run last wrote `key` with, if the store might not show
    /// it yet: the page that wrote it was still being written when the
    /// store was asked. A record sent again (offset paging re-reads one
    /// record per page) is then known unchanged, as it would be after a
    /// run that writes one page at a time.
    pub(super) fn written(&self, key: &str) -> Option<&str> {
        self.recent.get(key).and_then(|(hash, _)| hash.as_deref())
    }

    /// Keys written by pages committed before `horizon`: the store answers
    /// for them now.
    pub(super) fn forget_before(&mut self, horizon: u64) {
        self.recent.retain(|_, (_, seq)| *seq >= horizon);
    }

    /// Start writing a page, after waiting for a free slot. A page that
    /// writes a key an unfinished page writes too waits for every earlier
    /// page, so the later content is the one that stays.
    pub(super) async fn push(
        &mut self,
        page: usize,
        records: Vec<StagedRecord>,
        unchanged: usize,
        cursor: Option<String>,
    ) -> Result<Vec<Written>, SyncError> {
        let mut done = Vec::new();
        let overlaps = records.iter().any(|r| {
            self.recent
                .get(&r.external_id)
                .is_some_and(|(_, seq)| *seq >= self.done)
        });
        // A page whose records refer to others (`lookup` in the mapping)
        // resolves them in its transaction, making placeholders for what it
        // cannot find, and a page that writes a record stood for by a
        // placeholder takes it over: both only see committed pages. Such a
        // page is written alone, after the pages before it and before the
        // pages after it, as a run one page at a time would.
        let refers = records
            .iter()
            .any(|r| r.outcome.as_ref().is_ok_and(|c| !c.lookups().is_empty()));
        if overlaps || refers || self.barrier {
            done = self.finish().await?;
        }
        self.barrier = refers;
        while self.running.len() >= self.limit {
            done.extend(self.complete_one().await?);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        // Quarantined records too: a later page that stores one must not
        // commit before the page that quarantines it, or the quarantine row
        // would outlive the record's fix.
        for r in &records {
            let stored = r.outcome.is_ok().then(|| r.content_hash.clone());
            self.recent.insert(r.external_id.clone(), (stored, seq));
        }
        let carried = self.running.is_empty();
        let task = write_task(
            self.store.clone(),
            [
                self.system.clone(),
                self.stream.clone(),
                self.version.clone(),
            ],
            records,
            if carried { cursor.clone() } else { None },
            (page, unchanged),
        );
        self.running
            .push_back(AbortOnDropHandle::new(tokio::spawn(task)));
        self.pending.push_back(Pending {
            seq,
            cursor,
            carried,
        });
        Ok(done)
    }

    /// Wait for every page started to be committed, with its cursor.
    pub(super) async fn finish(&mut self) -> Result<Vec<Written>, SyncError> {
        let mut done = Vec::new();
        while !self.running.is_empty() {
            done.extend(self.complete_one().await?);
        }
        Ok(done)
    }

    /// The oldest page's write, awaited: `None` if none was running.
    async fn complete_one(&mut self) -> Result<Option<Written>, SyncError> {
        let Some(joined) = self.running.next().await else {
            return Ok(None);
        };
        let outcome = joined.map_err(|e| SyncError::Task(e.to_string()))??;
        let Some(p) = self.pending.pop_front() else {
            return Ok(None);
        };
        self.done = p.seq + 1;
        if let Some(cursor) = p.cursor.filter(|c| self.cursor.as_ref() != Some(c)) {
            if !p.carried {
                self.store
                    .apply_page(PageWrite {
                        system: &self.system,
                        stream: &self.stream,
                        mapping_version: &self.version,
                        records: Vec::new(),
                        cursor: Some(cursor.clone()),
                        delivery: None,
                        outbox: Vec::new(),
                        effects: Vec::new(),
                    })
                    .await?;
            }
            self.cursor = Some(cursor);
        }
        Ok(Some(Written { outcome }))
    }
}

/// One page's write, on a task of its own so that it goes on while the run
/// prepares the next page. A conflict between this run's own transactions
/// (two pages creating the same placeholder in another order, say) is
/// tried again: the database rolled the loser back whole.
async fn write_task(
    store: Store,
    [system, stream, version]: [Arc<str>; 3],
    records: Vec<StagedRecord>,
    cursor: Option<String>,
    (number, unchanged): (usize, usize),
) -> Result<PageOutcome, StoreError> {
    let mut page = PageWrite {
        system: &system,
        stream: &stream,
        mapping_version: &version,
        records,
        cursor,
        delivery: None,
        outbox: Vec::new(),
        effects: Vec::new(),
    };
    let mut tries = 0;
    loop {
        match write_isolating(&store, &mut page, None).await {
            Err(e) if e.is_conflict() && tries < CONFLICT_RETRIES => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10 << tries)).await;
            }
            Ok(outcome) => {
                // Here rather than when the run hears of it: the metrics
                // count what is committed, as soon as it is.
                crate::telemetry::events::PageCommitted {
                    connector: &system,
                    stream: &stream,
                    page: number,
                    stored: outcome.stored,
                    unchanged,
                    quarantined: outcome.quarantined,
                }
                .emit();
                return Ok(outcome);
            }
            other => return other,
        }
    }
}
