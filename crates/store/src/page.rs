//! Writing one page of a sync (or of a quarantine retry): records, raw
//! payloads, quarantine and the cursor, all in one transaction, many rows
//! per statement.
//!
//! The cursor commits with the records it covers, so a crash between pages
//! can only make the next run read a page again, never skip one. The
//! statements themselves are per backend (`pg.rs`, `sqlite.rs`): each uses
//! its own fastest bulk form.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError};
use crate::model::{Activity, Canonical, LookupEntity, Offering, OrgUnit, Person, WorkItem};

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
    /// The webhook delivery that carried these records: recorded in the
    /// same transaction, and a delivery already recorded is not applied.
    pub delivery: Option<Delivery<'a>>,
    /// Routed work this page caused: enqueued in the page's transaction.
    pub outbox: Vec<super::OutboxMessage>,
    /// What routing changes beyond the page's records (cases and tasks
    /// started, progress noted on origins): in the page's transaction too.
    pub effects: Vec<super::Effect>,
}

/// A webhook delivery, as the sender identified it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub id: &'a str,
    pub body: &'a str,
}

/// What the store already holds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub content_hash: String,
    pub mapping_version: String,
    /// A work item's status, or for a person `active`, `inactive`,
    /// `starting` (hired, not active yet) or `leaving` (leaving announced):
    /// what a change event compares against. `None` for other records and
    /// for records that were quarantined.
    pub state: Option<String>,
    /// A person's stored end date: a leaving fires when one appears, not
    /// each time a record that has one changes.
    pub end_date: Option<NaiveDate>,
}

pub(super) type ExistingRow = (String, String, String, Option<String>, Option<NaiveDate>);

/// The state and end date of [`Stored`], read with the joins below. Both
/// joins hit unique indexes, so the page's one query stays one query. A
/// person's `lifecycle` (what routing announced, migration 0008) wins over
/// what `active` says.
pub(super) const EXISTING_STATE: &str = "COALESCE(w.status, p.lifecycle, CASE WHEN p.active = FALSE THEN 'inactive' \
    WHEN p.external_id IS NOT NULL THEN 'active' END), p.end_date";
pub(super) const EXISTING_JOINS: &str = "LEFT JOIN work_items w ON w.source_system = s.source_system \
    AND w.source_stream = s.source_stream AND w.external_id = s.external_id \
    LEFT JOIN people p ON p.source_system = s.source_system \
    AND p.source_stream = s.source_stream AND p.external_id = s.external_id";

/// Counts of what a page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    pub stored: usize,
    pub quarantined: usize,
    /// The page's delivery had been taken before: nothing was written.
    pub duplicate: bool,
    /// A retry's quarantine rows changed after it read them (a sync got
    /// there first): nothing was written.
    pub stale: bool,
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
            .map(|(key, content_hash, mapping_version, state, end_date)| {
                let stored = Stored {
                    content_hash,
                    mapping_version,
                    state,
                    end_date,
                };
                (key, stored)
            })
            .collect())
    }

    /// Write one page and its cursor atomically.
    pub async fn apply_page(&self, page: PageWrite<'_>) -> Result<PageOutcome, StoreError> {
        let mut page = page;
        self.write_page(&mut page, Claim::None, true).await
    }

    /// [`Store::apply_page`], leaving the page with the caller, so that a
    /// page the database refused can be written again without some of its
    /// records (see `sync::isolate`).
    pub async fn apply_page_mut(
        &self,
        page: &mut PageWrite<'_>,
    ) -> Result<PageOutcome, StoreError> {
        self.write_page(page, Claim::None, true).await
    }

    /// The records of `page` the database refuses for what they hold, by
    /// index, with its reason: each is written alone, with nothing else of
    /// the page, in a transaction rolled back. Costs a transaction per
    /// record, so it runs only after the page as a whole was refused.
    pub async fn refused_records(
        &self,
        page: &PageWrite<'_>,
    ) -> Result<Vec<(usize, String)>, StoreError> {
        let mut refused = Vec::new();
        for (i, record) in page.records.iter().enumerate() {
            if record.outcome.is_err() {
                continue;
            }
            let mut alone = PageWrite {
                system: page.system,
                stream: page.stream,
                mapping_version: page.mapping_version,
                records: vec![record.clone()],
                cursor: None,
                delivery: None,
                outbox: Vec::new(),
                effects: Vec::new(),
            };
            match self.write_page(&mut alone, Claim::None, false).await {
                Ok(_) => {}
                Err(e) if e.is_refusal() => refused.push((i, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok(refused)
    }

    /// Write a page of quarantined records mapped again: as [`apply_page`],
    /// in a transaction that first checks that the quarantine rows are
    /// still the ones read (else writes nothing and says `stale`) and
    /// releases the rows the mapping now skips.
    ///
    /// [`apply_page`]: Store::apply_page
    pub async fn apply_retry(
        &self,
        page: PageWrite<'_>,
        claim: &super::RetryClaim,
    ) -> Result<PageOutcome, StoreError> {
        let mut page = page;
        self.write_page(&mut page, Claim::Quarantine(claim), true)
            .await
    }

    /// The page's records go back into `page` whatever happens; `commit`
    /// false rolls the transaction back (a probe).
    pub(super) async fn write_page(
        &self,
        page: &mut PageWrite<'_>,
        claim: Claim<'_>,
        commit: bool,
    ) -> Result<PageOutcome, StoreError> {
        let mut records = dedupe_last_wins(std::mem::take(&mut page.records));
        let result = self.write_records(page, &mut records, claim, commit).await;
        page.records = records;
        if let Ok(o) = &result
            && commit
            && !o.stale
            && !o.duplicate
            && !page.outbox.is_empty()
        {
            super::wake::committed(self);
        }
        result
    }

    async fn write_records(
        &self,
        page: &PageWrite<'_>,
        records: &mut [StagedRecord],
        claim: Claim<'_>,
        commit: bool,
    ) -> Result<PageOutcome, StoreError> {
        let stale = PageOutcome {
            stale: true,
            ..PageOutcome::default()
        };
        let PageWrite {
            system,
            stream,
            mapping_version,
            delivery,
            ref cursor,
            ref outbox,
            ref effects,
            ..
        } = *page;
        // Lookups resolve inside the transaction, so a placeholder exists
        // exactly when the record referencing it was written.
        let rows = match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let claimed = match claim {
                    Claim::None => true,
                    Claim::Quarantine(c) => super::quarantine::pg::claim(&mut tx, c).await?,
                    Claim::Unchanged(u) => {
                        super::remap::pg::unchanged(&mut tx, system, stream, u).await?
                    }
                };
                if !claimed {
                    return Ok(stale);
                }
                if let Some(d) = delivery
                    && !super::inbox::pg::take(&mut tx, system, d).await?
                {
                    return Ok(PageOutcome {
                        duplicate: true,
                        ..PageOutcome::default()
                    });
                }
                let deferred = super::lookup::pg::resolve(&mut tx, system, records).await?;
                let rows =
                    PageRows::split(system, stream, mapping_version, cursor.as_deref(), records);
                super::pg::write(&mut tx, &rows).await?;
                super::lookup::pg::settle(&mut tx, system, stream, &deferred).await?;
                for (entity, ids) in rows.adoptable() {
                    super::lookup::pg::adopt(&mut tx, system, stream, entity, &ids).await?;
                }
                super::outbox::pg::enqueue(&mut tx, outbox).await?;
                super::journey::pg::apply(&mut tx, effects).await?;
                if commit {
                    tx.commit().await?;
                    let db = super::wake::database(self);
                    super::stats::wrote(pool, &db, &rows.per_table()).await;
                }
                rows.counts()
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let claimed = match claim {
                    Claim::None => true,
                    Claim::Quarantine(c) => super::quarantine::sqlite::claim(&mut tx, c).await?,
                    Claim::Unchanged(u) => {
                        super::remap::sqlite::unchanged(&mut tx, system, stream, u).await?
                    }
                };
                if !claimed {
                    return Ok(stale);
                }
                if let Some(d) = delivery
                    && !super::inbox::sqlite::take(&mut tx, system, d).await?
                {
                    return Ok(PageOutcome {
                        duplicate: true,
                        ..PageOutcome::default()
                    });
                }
                let deferred = super::lookup::sqlite::resolve(&mut tx, system, records).await?;
                let rows =
                    PageRows::split(system, stream, mapping_version, cursor.as_deref(), records);
                super::sqlite::write(&mut tx, &rows).await?;
                super::lookup::sqlite::settle(&mut tx, system, stream, &deferred).await?;
                for (entity, ids) in rows.adoptable() {
                    super::lookup::sqlite::adopt(&mut tx, system, stream, entity, &ids).await?;
                }
                super::outbox::sqlite::enqueue(&mut tx, outbox).await?;
                super::journey::sqlite::apply(&mut tx, effects).await?;
                if commit {
                    tx.commit().await?;
                }
                rows.counts()
            }
        };
        Ok(rows)
    }
}

/// What a page write checks first, in its transaction: nothing (a sync's
/// page), the quarantine rows a retry read, or the raw payloads a remap
/// read. When the check fails nothing is written.
#[derive(Clone, Copy)]
pub(super) enum Claim<'a> {
    None,
    Quarantine(&'a super::RetryClaim),
    Unchanged(&'a super::remap::Unchanged),
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
    pub org_units: Vec<(&'a str, &'a OrgUnit)>,
    pub offerings: Vec<(&'a str, &'a Offering)>,
    /// Work items whose mapping has activity children: their activities
    /// from this source are replaced by these.
    pub activities: Vec<ActivityRow<'a>>,
    /// Parents in `activities`' sense, including those with none left.
    pub activity_parents: Vec<&'a str>,
    pub rejected: Vec<(&'a StagedRecord, &'a str)>,
}

/// One activity with the keys that place it.
pub(super) struct ActivityRow<'a> {
    pub parent: &'a str,
    /// `<stream>/<parent>/<key>`: unique per source system.
    pub external_id: String,
    pub activity: &'a Activity,
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
            org_units: Vec::new(),
            offerings: Vec::new(),
            activities: Vec::new(),
            activity_parents: Vec::new(),
            rejected: Vec::new(),
        };
        for r in records {
            match &r.outcome {
                Ok(Canonical::WorkItem(w)) => {
                    rows.work_items.push((&r.external_id, w));
                    if let Some(activities) = &w.activities {
                        rows.add_activities(&r.external_id, activities);
                    }
                }
                Ok(Canonical::Person(p)) => rows.people.push((&r.external_id, p)),
                Ok(Canonical::OrgUnit(o)) => rows.org_units.push((&r.external_id, o)),
                Ok(Canonical::Offering(o)) => rows.offerings.push((&r.external_id, o)),
                Err(reason) => rows.rejected.push((r, reason)),
            }
            if r.outcome.is_ok() {
                rows.mapped.push(r);
            }
        }
        rows
    }
}

impl<'a> PageRows<'a> {
    fn add_activities(&mut self, parent: &'a str, activities: &'a [Activity]) {
        self.activity_parents.push(parent);
        // Two elements with one key: the later wins, as one statement may
        // not touch a row twice.
        let mut seen = std::collections::HashSet::new();
        let mut mine: Vec<ActivityRow<'a>> = activities
            .iter()
            .rev()
            .filter(|a| seen.insert(a.key.as_str()))
            .map(|activity| ActivityRow {
                parent,
                external_id: format!("{}/{parent}/{}", self.stream, activity.key),
                activity,
            })
            .collect();
        mine.reverse();
        self.activities.extend(mine);
    }

    /// Entities written in this page that may stand for placeholders.
    fn adoptable(&self) -> Vec<(LookupEntity, Vec<&'a str>)> {
        let mut out = Vec::new();
        if !self.people.is_empty() {
            out.push((
                LookupEntity::Person,
                self.people.iter().map(|(k, _)| *k).collect(),
            ));
        }
        if !self.org_units.is_empty() {
            out.push((
                LookupEntity::OrgUnit,
                self.org_units.iter().map(|(k, _)| *k).collect(),
            ));
        }
        out
    }

    /// Rows written per table that grows with a source (`stats::TABLES`).
    fn per_table(&self) -> [(&'static str, usize); 6] {
        [
            ("source_records", self.mapped.len()),
            ("work_items", self.work_items.len()),
            ("people", self.people.len()),
            ("org_units", self.org_units.len()),
            ("offerings", self.offerings.len()),
            ("activities", self.activities.len()),
        ]
    }

    fn counts(&self) -> PageOutcome {
        PageOutcome {
            stored: self.mapped.len(),
            quarantined: self.rejected.len(),
            ..PageOutcome::default()
        }
    }
}

/// Who a person row is, across systems: see migration 0004. Emails match
/// whatever their case.
pub(super) fn identity(system: &str, stream: &str, external_id: &str, p: &Person) -> String {
    match (&p.email, &p.employee_number) {
        (Some(email), _) if !email.trim().is_empty() => {
            format!("email:{}", email.trim().to_lowercase())
        }
        (_, Some(number)) if !number.trim().is_empty() => format!("employee:{}", number.trim()),
        _ => format!("{system}/{stream}/{external_id}"),
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
