//! The text of the KPI statements, for either backend. The definitions
//! they implement are in `docs/KPIS.md`; a change here is a change there.
//!
//! Every statement binds the window as `$1` (from) and `$2` (to) and
//! returns one row per group key. The backends differ in how a timestamp
//! becomes whole seconds since the epoch, in one hint to SQLite's planner
//! (`Dialect::status`), and in how a percentile is taken: PostgreSQL's
//! `percentile_disc` and SQLite's ranks by window function both pick the
//! value at rank ceil(p·n), so the numbers are the same (`tests/kpis.rs`
//! holds both to the same hand-computed values).

use super::KpiGroup;
use crate::HUB;

/// Which database the text is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Postgres,
    Sqlite,
}

/// When an item ended: resolved, else closed, else (a source that stamps
/// neither) its last update. The same text as the `work_items_ended`
/// index, so both planners can use it.
pub(super) const ENDED: &str = "COALESCE(w.resolved_at, w.closed_at, w.updated_at)";
/// The statuses of work still to do; the `work_items_open` index's filter.
const OPEN: &str = "status IN ('new', 'open', 'in_progress', 'waiting')";
/// The statuses that count as done (not `cancelled`: nothing was delivered).
const DONE: &str = "IN ('resolved', 'closed')";
/// The key of items without a department.
pub const NO_DEPARTMENT: &str = "(none)";
/// Monday 1970-01-05 00:00 UTC, the first ISO week start after the epoch.
pub(super) const FIRST_MONDAY: i64 = 345_600;
pub(super) const WEEK_SECS: i64 = 604_800;

impl Dialect {
    /// Whole seconds since the epoch, the fraction dropped.
    fn epoch(self, t: &str) -> String {
        match self {
            Dialect::Postgres => format!("FLOOR(EXTRACT(EPOCH FROM {t}))::BIGINT"),
            // strftime('%s') reads both RFC 3339 forms the store holds.
            Dialect::Sqlite => format!("CAST(strftime('%s', {t}) AS INTEGER)"),
        }
    }

    /// `w.status`, kept from choosing an index on SQLite (unary `+`):
    /// without statistics SQLite would read every done item through
    /// `work_items_status` rather than the window's through
    /// `work_items_ended`. PostgreSQL chooses by its statistics.
    fn status(self) -> &'static str {
        match self {
            Dialect::Postgres => "w.status",
            Dialect::Sqlite => "+w.status",
        }
    }

    /// Seconds from `start` to `end`; a negative span (a source's clock
    /// error) counts as 0.
    fn secs(self, start: &str, end: &str) -> String {
        let (s, e) = (self.epoch(start), self.epoch(end));
        format!("CASE WHEN {e} > {s} THEN {e} - {s} ELSE 0 END")
    }

    /// The group key of a row as text: the department (or `(none)`), the
    /// system, or the ISO week number since 1970 of `event` (turned into
    /// `2026-W49` in Rust, the same for both backends).
    fn key(self, group: KpiGroup, alias: &str, event: &str) -> String {
        match group {
            KpiGroup::Department => format!("COALESCE({alias}.department, '{NO_DEPARTMENT}')"),
            KpiGroup::System => format!("{alias}.source_system"),
            KpiGroup::Week => format!(
                "CAST(({} - {FIRST_MONDAY}) / {WEEK_SECS} AS TEXT)",
                self.epoch(event)
            ),
        }
    }

    /// `k, n, p50, p90, sum(x1), sum(x2)` per key over `durations`, which
    /// yields `k, secs, x1, x2`. Nearest rank: the p-th percentile of n
    /// sorted values is the one at rank ceil(p·n/100).
    fn percentiles(self, durations: &str) -> String {
        match self {
            // One sort per key inside the aggregate, shared by both
            // percentiles. Ranking every row by window functions instead
            // sorted the whole window twice over (two thirds of the
            // statement's time at a quarter of a million items).
            // `percentile_disc(p)` is the first value whose cumulative
            // share reaches p: rank ceil(p·n), exact for 0.5 and 0.9 as
            // floating point (0.9·n rounds to the integer when it is one).
            Dialect::Postgres => format!(
                "SELECT k, COUNT(*), \
                        percentile_disc(0.5) WITHIN GROUP (ORDER BY secs), \
                        percentile_disc(0.9) WITHIN GROUP (ORDER BY secs), \
                        SUM(x1), SUM(x2) \
                 FROM ({durations}) d GROUP BY k"
            ),
            // SQLite has no ordered-set aggregates: rank in integers.
            Dialect::Sqlite => format!(
                "WITH d AS ({durations}), \
                 r AS (SELECT k, secs, x1, x2, \
                       ROW_NUMBER() OVER (PARTITION BY k ORDER BY secs) AS rn, \
                       COUNT(*) OVER (PARTITION BY k) AS n FROM d) \
                 SELECT k, MAX(n), \
                        MAX(CASE WHEN rn = (n * 50 + 99) / 100 THEN secs END), \
                        MAX(CASE WHEN rn = (n * 90 + 99) / 100 THEN secs END), \
                        SUM(x1), SUM(x2) \
                 FROM r GROUP BY k"
            ),
        }
    }

    /// Every statement of a grouping, in the order [`Store::kpis`] runs
    /// them (the backlog first).
    ///
    /// [`Store::kpis`]: crate::Store::kpis
    pub(super) fn statements(self, g: KpiGroup) -> [String; 8] {
        [
            match g {
                KpiGroup::Week => self.backlog_by_week(),
                _ => self.backlog(g),
            },
            self.opened(g),
            self.resolutions(g),
            self.first_responses(g),
            self.reopened(g),
            self.cases_closed(g),
            self.routed(g),
            self.routed_done(g),
        ]
    }

    /// `k, opened, cases_opened`: hub cases apart from the department work.
    pub(super) fn opened(self, g: KpiGroup) -> String {
        let k = self.key(g, "w", "w.opened_at");
        format!(
            "SELECT {k} AS k, \
                    SUM(CASE WHEN w.source_system <> '{HUB}' THEN 1 ELSE 0 END), \
                    SUM(CASE WHEN w.source_system = '{HUB}' AND w.source_stream = 'cases' THEN 1 ELSE 0 END) \
             FROM work_items w WHERE w.opened_at >= $1 AND w.opened_at < $2 \
               AND (w.source_system <> '{HUB}' OR w.source_stream = 'cases') GROUP BY k"
        )
    }

    /// Percentiles of resolution time; `x1` has a due date, `x2` met it.
    pub(super) fn resolutions(self, g: KpiGroup) -> String {
        let k = self.key(g, "w", ENDED);
        let secs = self.secs("w.opened_at", ENDED);
        self.percentiles(&format!(
            "SELECT {k} AS k, {secs} AS secs, \
                    CASE WHEN w.due_at IS NOT NULL THEN 1 ELSE 0 END AS x1, \
                    CASE WHEN w.due_at IS NOT NULL AND {ENDED} <= w.due_at THEN 1 ELSE 0 END AS x2 \
             FROM work_items w \
             WHERE {ENDED} >= $1 AND {ENDED} < $2 AND {} {DONE} \
               AND w.source_system <> '{HUB}' AND w.opened_at IS NOT NULL",
            self.status()
        ))
    }

    /// Percentiles of first response time, for items whose first response
    /// fell in the window: one range of `work_items_first_response`. The
    /// column is kept by triggers to the definition (migration 0016,
    /// docs/KPIS.md), so a quarter reads a quarter's items and no
    /// activities at all.
    pub(super) fn first_responses(self, g: KpiGroup) -> String {
        let k = self.key(g, "w", "w.first_response_at");
        let secs = self.secs("w.opened_at", "w.first_response_at");
        self.percentiles(&format!(
            "SELECT {k} AS k, {secs} AS secs, 0 AS x1, 0 AS x2 FROM work_items w \
             WHERE w.first_response_at >= $1 AND w.first_response_at < $2 \
               AND w.source_system <> '{HUB}' AND w.opened_at IS NOT NULL"
        ))
    }

    /// `k, reopened`: items with a status change from done back to open
    /// in the window, each item once per key.
    pub(super) fn reopened(self, g: KpiGroup) -> String {
        let k = self.key(g, "w", "a.occurred_at");
        format!(
            "SELECT {k} AS k, COUNT(DISTINCT w.id) \
             FROM activities a JOIN work_items w ON w.id = a.work_item_id \
             WHERE a.occurred_at >= $1 AND a.occurred_at < $2 AND a.kind = 'status_change' \
               AND a.source_system <> '{HUB}' \
               AND a.from_status IN ('resolved', 'closed') \
               AND a.to_status IN ('new', 'open', 'in_progress', 'waiting') \
               AND w.source_system <> '{HUB}' AND w.opened_at IS NOT NULL \
             GROUP BY k"
        )
    }

    /// `k, backlog, breached` at the instant `$2`: items opened before it
    /// and not ended before it; `breached` are those of them due in
    /// [`$1`, `$2`). Two index ranges: the items open now, and the items
    /// that ended at or after `$2`. Week grouping uses `backlog_by_week`.
    pub(super) fn backlog(self, g: KpiGroup) -> String {
        let k = self.key(g, "b", "");
        format!(
            "SELECT {k} AS k, COUNT(*), \
                    SUM(CASE WHEN b.due_at >= $1 AND b.due_at < $2 THEN 1 ELSE 0 END) \
             FROM (SELECT w.department, w.source_system, w.due_at FROM work_items w \
                   WHERE w.{OPEN} AND w.opened_at < $2 AND w.source_system <> '{HUB}' \
                   UNION ALL \
                   SELECT w.department, w.source_system, w.due_at FROM work_items w \
                   WHERE {ENDED} >= $2 AND {} IN ('resolved', 'closed', 'cancelled') \
                     AND w.opened_at < $2 AND w.source_system <> '{HUB}') b \
             GROUP BY k",
            self.status()
        )
    }

    /// The backlog and the breaches of every week at once, as counts by
    /// `ob, eb, db, n`: the week the item was opened (NULL: before `$1`),
    /// the week it ended (NULL: not before `$2`) and the week it fell due
    /// (NULL: outside the window). The caller sums the buckets each week's
    /// end falls between; one pass replaces a backlog statement per week.
    pub(super) fn backlog_by_week(self) -> String {
        let week = |t: &str| format!("({} - {FIRST_MONDAY}) / {WEEK_SECS}", self.epoch(t));
        let (opened, ended, due) = (week("w.opened_at"), week(ENDED), week("w.due_at"));
        let ob = format!("CASE WHEN w.opened_at >= $1 THEN {opened} END AS ob");
        let db = format!("CASE WHEN w.due_at >= $1 AND w.due_at < $2 THEN {due} END AS db");
        format!(
            "SELECT ob, eb, db, COUNT(*) FROM \
             (SELECT {ob}, NULL AS eb, {db} FROM work_items w \
              WHERE w.{OPEN} AND w.opened_at < $2 AND w.source_system <> '{HUB}' \
              UNION ALL \
              SELECT {ob}, CASE WHEN {ENDED} < $2 THEN {ended} END AS eb, {db} FROM work_items w \
              WHERE {ENDED} >= $1 AND {} IN ('resolved', 'closed', 'cancelled') \
                AND w.opened_at < $2 AND w.source_system <> '{HUB}') b \
             GROUP BY ob, eb, db",
            self.status()
        )
    }

    /// Percentiles of value-stream cases' end-to-end time, for cases
    /// closed in the window (not cancelled ones).
    pub(super) fn cases_closed(self, g: KpiGroup) -> String {
        let k = self.key(g, "w", ENDED);
        let secs = self.secs("w.opened_at", ENDED);
        self.percentiles(&format!(
            "SELECT {k} AS k, {secs} AS secs, 0 AS x1, 0 AS x2 FROM work_items w \
             WHERE {ENDED} >= $1 AND {ENDED} < $2 AND w.status = 'closed' \
               AND w.source_system = '{HUB}' AND w.source_stream = 'cases' \
               AND w.opened_at IS NOT NULL"
        ))
    }

    /// `k, routed`: work routed in the window (a `routed` link made),
    /// keyed by its origin.
    pub(super) fn routed(self, g: KpiGroup) -> String {
        let k = match g {
            KpiGroup::System => "l.from_system".to_string(),
            _ => self.key(g, "o", "l.created_at"),
        };
        format!(
            "SELECT {k} AS k, COUNT(*) FROM links l \
             LEFT JOIN work_items o ON o.source_system = l.from_system AND o.external_id = l.from_id \
                  AND (l.from_stream IS NULL OR o.source_stream = l.from_stream) \
             WHERE l.relation = 'routed' AND l.created_at >= $1 AND l.created_at < $2 \
             GROUP BY k"
        )
    }

    /// Percentiles of routed work's end-to-end time (origin opened to
    /// target done), for targets done in the window, keyed by the origin.
    pub(super) fn routed_done(self, g: KpiGroup) -> String {
        let k = match g {
            KpiGroup::Week => self.key(g, "w", ENDED),
            _ => self.key(g, "o", ""),
        };
        let secs = self.secs("o.opened_at", ENDED);
        self.percentiles(&format!(
            "SELECT {k} AS k, {secs} AS secs, 0 AS x1, 0 AS x2 FROM work_items w \
             JOIN links l ON l.relation = 'routed' AND l.to_system = w.source_system \
                  AND l.to_id = w.external_id \
             JOIN work_items o ON o.source_system = l.from_system AND o.external_id = l.from_id \
                  AND (l.from_stream IS NULL OR o.source_stream = l.from_stream) \
             WHERE {ENDED} >= $1 AND {ENDED} < $2 AND w.status {DONE} AND o.opened_at IS NOT NULL"
        ))
    }
}
