//! Deletions (`[streams.deletions]`, docs/CONNECTORS.md "Deletions"): what
//! a run does about records deleted at the source, which a list query no
//! longer returns. A deleted record becomes a tombstone (`deleted_at` set,
//! its content and status kept, `store/tombstones.rs`) and, for a work
//! item, a `deleted` event routed as any change is (`route/deleted.rs`);
//! a tombstone listed again is live again.
//!
//! Three ways, read here in this order: a listed record whose status says
//! deleted (within the page loop, `sync/mod.rs`); a deleted-records
//! endpoint read after the run from its own cursor, `<stream>#deletions`
//! in `sync_state`, committed with the tombstones it covers; and a
//! reconciliation, at most every `every` (its last time kept as
//! `<stream>#reconciled`), that lists the source's keys and tombstones the
//! stored records not listed, refusing when that is more than
//! `max_fraction` of them. Nothing here runs on a stream that does not
//! declare deletions, and a stream's baseline run records tombstones
//! without routing them.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::{Router, SyncError, SyncJob, SyncReport, first_bound, map_record};
use crate::connector::{DeletionSpec, PageToken, Reconcile};
use crate::mapping::Mapping;
use crate::model::Canonical;
use crate::store::{LiveRecord, Store, TombstoneWrite};
use crate::telemetry::events;

/// Missing keys tombstoned per transaction by a reconciliation.
const RECONCILE_BATCH: i64 = 500;

/// Pages a deleted-records endpoint or a key listing may have, unless the
/// stream's `max_pages` says otherwise: a guard against a source that
/// always says there is more.
const MAX_PAGES: u64 = 100_000;

/// What a deletion write is given.
pub(super) struct Marks {
    pub deleted: Vec<String>,
    pub restored: Vec<String>,
    pub cursor: Option<(String, String)>,
    pub how: &'static str,
}

impl SyncJob {
    /// Tombstone and restore records with their `deleted` events, and the
    /// cursor that covers them, in one transaction.
    pub(super) async fn mark(
        &self,
        store: &Store,
        router: Option<&Router>,
        mapping: &Mapping,
        marks: Marks,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        if marks.deleted.is_empty() && marks.restored.is_empty() && marks.cursor.is_none() {
            return Ok(());
        }
        let system = self.system();
        let stream = self.stream.name.as_str();
        let plan = match router {
            Some(r) if !marks.deleted.is_empty() => {
                // Only live ones: deleting twice routes nothing twice.
                let live = store.live_records(system, stream, &marks.deleted).await?;
                let keys: Vec<String> = live.iter().map(|l| l.external_id.clone()).collect();
                let links = store.link_ends(system, &keys).await?;
                // The record as stored, mapped again: what rules read.
                let mapped: Vec<(LiveRecord, Canonical)> = live
                    .into_iter()
                    .filter_map(|l| {
                        let c = map_record(mapping, &self.department, &l.payload)?.ok()?;
                        Some((l, c))
                    })
                    .collect();
                let gone: Vec<super::route::Gone> = mapped
                    .iter()
                    .map(|(l, c)| super::route::Gone {
                        external_id: &l.external_id,
                        canonical: c,
                        state: l.state.as_deref(),
                        link: links.get(&l.external_id),
                    })
                    .collect();
                r.plan_deleted(system, stream, &gone, Utc::now())
            }
            _ => super::Plan::default(),
        };
        let restored = marks.restored.len();
        let tombstoned = store
            .apply_tombstones(TombstoneWrite {
                system,
                stream,
                deleted: marks.deleted,
                restored: marks.restored,
                cursor: marks.cursor,
                outbox: plan.outbox,
                effects: plan.effects,
            })
            .await?;
        report.tombstoned += tombstoned as usize;
        report.restored += restored;
        events::Tombstoned {
            connector: system,
            stream,
            how: marks.how,
            tombstoned,
            restored,
        }
        .emit();
        Ok(())
    }

    /// After a run that read to the end: the deleted-records endpoint, then
    /// a reconciliation when one is due.
    pub(super) async fn deletions_after_run(
        &self,
        store: &Store,
        router: Option<&Router>,
        mapping: &Mapping,
        spec: &DeletionSpec,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        if spec.endpoint {
            self.read_deleted(store, router, mapping, spec, report)
                .await?;
        }
        if let Some(r) = spec.reconcile {
            self.reconcile(store, router, mapping, r, report).await?;
        }
        Ok(())
    }

    /// Read the deleted-records endpoint from its committed cursor and
    /// tombstone what it names, page by page; an ordered cursor commits
    /// with each page's tombstones, an unordered one at the end.
    async fn read_deleted(
        &self,
        store: &Store,
        router: Option<&Router>,
        mapping: &Mapping,
        spec: &DeletionSpec,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let system = self.system();
        let stream = self.stream.name.as_str();
        let name = format!("{stream}#deletions");
        let cursor = spec.endpoint_cursor.as_ref();
        let committed = store.cursor(system, &name).await?;
        let from = first_bound(cursor, committed.as_deref());
        let mut high = committed.clone();
        let mut token: Option<PageToken> = None;
        let max_pages = self.stream.max_pages.unwrap_or(MAX_PAGES);
        for pages in 1.. {
            if pages > max_pages {
                return Err(self.paging(format!(
                    "the deleted-records endpoint had more than {max_pages} pages"
                )));
            }
            let page = self
                .connector
                .fetch_deleted(stream, from.as_deref(), token.as_ref())
                .await?;
            let mut rows: Vec<(String, Option<String>)> = Vec::with_capacity(page.records.len());
            for r in page.records {
                if let (Some(spec), Some(value)) = (cursor, &r.cursor)
                    && high
                        .as_deref()
                        .is_none_or(|h| spec.compare(value, h) == Ordering::Greater)
                {
                    high = Some(value.clone());
                }
                if let Some(k) = r.key {
                    rows.push((k, r.cursor));
                }
            }
            let keys = self.still_deleted(store, cursor, rows).await?;
            let commit = cursor
                .filter(|c| c.ordered)
                .and(high.clone())
                .filter(|h| committed.as_ref() != Some(h))
                .map(|h| (name.clone(), h));
            let marks = Marks {
                deleted: keys,
                restored: Vec::new(),
                cursor: commit,
                how: "endpoint",
            };
            self.mark(store, router, mapping, marks, report).await?;
            token = page.next;
            if token.is_none() {
                break;
            }
        }
        if cursor.is_some_and(|c| !c.ordered)
            && let Some(h) = high.filter(|h| committed.as_ref() != Some(h))
        {
            let marks = Marks {
                deleted: Vec::new(),
                restored: Vec::new(),
                cursor: Some((name, h)),
                how: "endpoint",
            };
            self.mark(store, router, mapping, marks, report).await?;
        }
        Ok(())
    }

    /// The records a page of deletion rows names, less those the stream
    /// listed after the deletion (restored at the source: its own change
    /// time is later than the deletion's). The overlap window reads a
    /// deletion row again on the next run, and it must not tombstone a
    /// record restored since. Both times are the source's clock; a stream
    /// or endpoint without a time cursor tombstones every record named.
    async fn still_deleted(
        &self,
        store: &Store,
        endpoint: Option<&crate::connector::CursorSpec>,
        rows: Vec<(String, Option<String>)>,
    ) -> Result<Vec<String>, SyncError> {
        let mut keys: Vec<String> = Vec::with_capacity(rows.len());
        for (k, _) in &rows {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
        let (Some(endpoint), Some(listed)) = (endpoint, self.stream.cursor.as_ref()) else {
            return Ok(keys);
        };
        let live = store
            .live_records(self.system(), &self.stream.name, &keys)
            .await?;
        let seen_after = |key: &str| {
            let Some(record) = live.iter().find(|l| l.external_id == key) else {
                return false;
            };
            let changed = listed
                .value_of(&record.payload)
                .and_then(|v| listed.parse_time(&v));
            // The latest deletion row of the record counts.
            let deleted = rows
                .iter()
                .filter(|(k, _)| k == key)
                .filter_map(|(_, at)| at.as_deref().and_then(|at| endpoint.parse_time(at)))
                .max();
            matches!((changed, deleted), (Some(c), Some(d)) if c > d)
        };
        Ok(keys.into_iter().filter(|k| !seen_after(k)).collect())
    }

    /// List the source's keys into the store's staging table, compare, and
    /// tombstone the stored records not listed, unless that is more than
    /// `max_fraction` of them. A listing that fails or moves under us
    /// (offset paging that saw a shift may have skipped keys) tombstones
    /// nothing.
    async fn reconcile(
        &self,
        store: &Store,
        router: Option<&Router>,
        mapping: &Mapping,
        r: Reconcile,
        report: &mut SyncReport,
    ) -> Result<(), SyncError> {
        let system = self.system();
        let stream = self.stream.name.as_str();
        let name = format!("{stream}#reconciled");
        let now = Utc::now();
        let last = store.cursor(system, &name).await?;
        let last = last
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
        if let Some(last) = last
            && now.signed_duration_since(last).to_std().unwrap_or_default() < r.every
        {
            return Ok(());
        }
        // Its own id: another run of the stream (a `switchboard sync` beside
        // the daemon) stages its keys apart.
        let run = uuid::Uuid::new_v4().simple().to_string();
        let listed = self.stage_listing(store, &run).await;
        let listed = match listed {
            Ok(Some(n)) => n,
            Ok(None) => {
                store.unstage_keys(&run).await?;
                return Ok(());
            }
            Err(e) => {
                store.unstage_keys(&run).await?;
                return Err(e);
            }
        };
        let (live, missing) = store.reconcile_counts(&run, system, stream).await?;
        // An empty listing is a broken one unless the admin says a stream
        // may really empty (`max_fraction = 1.0`).
        let allowed = if listed == 0 && r.max_fraction < 1.0 {
            0
        } else {
            (live as f64 * r.max_fraction).floor() as i64
        };
        if missing > allowed {
            events::ReconcileRefused {
                connector: system,
                stream,
                listed,
                live,
                missing,
                max_fraction: r.max_fraction,
            }
            .emit();
            report.reconcile_refused = true;
            store.unstage_keys(&run).await?;
            return Ok(());
        }
        let mut after = String::new();
        loop {
            let keys = store
                .missing_keys(&run, system, stream, &after, RECONCILE_BATCH)
                .await?;
            let Some(last) = keys.last() else {
                break;
            };
            after = last.clone();
            let marks = Marks {
                deleted: keys,
                restored: Vec::new(),
                cursor: None,
                how: "reconcile",
            };
            self.mark(store, router, mapping, marks, report).await?;
        }
        let done = Marks {
            deleted: Vec::new(),
            restored: Vec::new(),
            cursor: Some((name, now.to_rfc3339())),
            how: "reconcile",
        };
        self.mark(store, router, mapping, done, report).await?;
        store.unstage_keys(&run).await?;
        Ok(())
    }

    /// Stage every key the source lists; how many pages' keys, or `None`
    /// when the listing shifted while paging and so may have skipped some.
    async fn stage_listing(&self, store: &Store, run: &str) -> Result<Option<u64>, SyncError> {
        let system = self.system();
        let stream = self.stream.name.as_str();
        let max_pages = self.stream.max_pages.unwrap_or(MAX_PAGES);
        let mut token: Option<PageToken> = None;
        let mut listed = 0u64;
        for pages in 1.. {
            if pages > max_pages {
                return Err(self.paging(format!("the key listing had more than {max_pages} pages")));
            }
            let page = self.connector.fetch_keys(stream, token.as_ref()).await?;
            if page.shifted {
                tracing::warn!(connector = %system, stream, "records moved while listing keys; reconciliation skipped this time");
                return Ok(None);
            }
            let keys: Vec<String> = page.records.into_iter().filter_map(|r| r.key).collect();
            listed += keys.len() as u64;
            store.stage_keys(run, system, stream, &keys).await?;
            token = page.next;
            if token.is_none() {
                break;
            }
        }
        Ok(Some(listed))
    }

    fn paging(&self, reason: String) -> SyncError {
        SyncError::Paging {
            system: self.system().to_string(),
            stream: self.stream.name.clone(),
            reason,
        }
    }
}
