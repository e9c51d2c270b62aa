//! Remapping: a stream's stored raw payloads mapped again with the mapping
//! in force now, without asking the source, after an admin edited the
//! mapping. A sync maps again only what it reads again (a record that
//! changed at the source, or fell in the overlap); this maps everything
//! the store holds for the stream.
//!
//! Page by page in key order, through the sync's own page write, so each
//! page's records, raw payloads, activities, lookups and routed work commit
//! together, and routing sees the changes as it would have from a sync.
//! A page a sync changed while it was remapped is read again.

use tokio_util::sync::CancellationToken;

use super::SyncJob;
use super::retry::restage;
use crate::store::{Store, StoreError, Unchanged};

/// Raw payloads per page write, as a sync page.
const PAGE: i64 = 200;
/// A page a sync keeps changing is read again this many times, then left.
const STALE_TRIES: usize = 3;

/// What remapping a stream did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemapReport {
    /// Raw payloads read and mapped again.
    pub remapped: usize,
    /// Mapped, and stored with the current mapping's version.
    pub stored: usize,
    /// The mapping now rejects them: in quarantine, with the reason.
    pub quarantined: usize,
    /// Left out by the mapping's `skip_if` now; what is stored stays.
    pub skipped: usize,
    /// Changed by a sync on every try; the sync mapped them anyway.
    pub changed: usize,
    /// Stopped between pages for shutdown.
    pub interrupted: bool,
}

impl SyncJob {
    /// Map every raw payload the store holds for this stream again with
    /// the current mapping, and store the results. `stop` is honoured
    /// between pages.
    pub async fn remap(
        &self,
        store: &Store,
        stop: &CancellationToken,
    ) -> Result<RemapReport, StoreError> {
        let (system, stream) = (self.system(), self.stream.name.as_str());
        let mut report = RemapReport::default();
        let mut after = String::new();
        loop {
            if stop.is_cancelled() {
                report.interrupted = true;
                return Ok(report);
            }
            let mut tries = 0;
            let last = loop {
                let rows = store
                    .source_rows_after(system, stream, &after, PAGE)
                    .await?;
                let Some(last) = rows.last().map(|r| r.external_id.clone()) else {
                    return Ok(report);
                };
                tries += 1;
                let n = rows.len();
                match self.remap_page(store, rows).await? {
                    Some(page) => {
                        report.remapped += page.remapped;
                        report.stored += page.stored;
                        report.quarantined += page.quarantined;
                        report.skipped += page.skipped;
                        break last;
                    }
                    None if tries < STALE_TRIES => continue,
                    None => {
                        report.changed += n;
                        break last;
                    }
                }
            };
            after = last;
        }
    }

    /// Map and write one page; `None` when a sync changed one of its
    /// records after it was read.
    async fn remap_page(
        &self,
        store: &Store,
        rows: Vec<crate::store::SourceRow>,
    ) -> Result<Option<RemapReport>, StoreError> {
        let mapping = self.mapping.current();
        let mut read = Unchanged::default();
        let mut staged = Vec::with_capacity(rows.len());
        let mut skipped = 0;
        for row in rows {
            read.read
                .push((row.external_id.clone(), row.content_hash.clone()));
            let key = (row.external_id, Some(row.content_hash));
            match restage(&mapping, &self.department, key, row.payload) {
                Some(record) => staged.push(record),
                None => skipped += 1,
            }
        }
        let remapped = read.read.len();
        let page = self.write_again(store, &mapping.version, staged).await?;
        let outcome = store.apply_remap(page, &read).await?;
        if outcome.stale {
            return Ok(None);
        }
        Ok(Some(RemapReport {
            remapped,
            stored: outcome.stored,
            quarantined: outcome.quarantined,
            skipped,
            ..RemapReport::default()
        }))
    }
}
