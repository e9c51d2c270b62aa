//! KPIs over the canonical store: volume, first response and resolution
//! time, backlog, SLA attainment, reopen rate and cross-department
//! journeys, for a time window, by department, ISO week or system.
//!
//! Everything is computed in SQL, percentiles included, so a quarter at a
//! million items sends a few rows per group to Rust, never the items.
//! Both backends run the same statements (`sql.rs`) but for the epoch
//! conversion, one planner hint and how a percentile is taken (the same
//! nearest rank), so they give the same numbers.
//! `docs/KPIS.md` defines every number; the two must change together.
//! This module reads only: it never decides what is routed or writes a
//! row.

mod sql;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::{Store, StoreError};
pub use sql::NO_DEPARTMENT;
use sql::{Dialect, FIRST_MONDAY, WEEK_SECS};

/// The longest window asked for at once: a year's KPIs by week is 53
/// backlog counts, and a longer window is a report, not a dashboard.
pub const MAX_WINDOW_DAYS: i64 = 366;

/// PostgreSQL's `work_mem` for one KPI statement; the eight of a call
/// run at once, and concurrent calls share one computation, so a call
/// holds at most eight times this.
const SORT_MEMORY: &str = "16MB";

/// How the rows are grouped; `department`, `week` or `system` in a query
/// string or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KpiGroup {
    /// The item's `department` (`(none)` when it has none).
    Department,
    /// The ISO week (Monday 00:00 UTC) the counted event fell in.
    Week,
    /// The item's source system.
    System,
}

impl KpiGroup {
    pub const NAMES: [&'static str; 3] = ["department", "week", "system"];
}

impl FromStr for KpiGroup {
    type Err = KpiError;

    fn from_str(s: &str) -> Result<Self, KpiError> {
        match s {
            "department" => Ok(KpiGroup::Department),
            "week" => Ok(KpiGroup::Week),
            "system" => Ok(KpiGroup::System),
            other => Err(KpiError::UnknownGroup(other.to_string())),
        }
    }
}

/// A KPI request that cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KpiError {
    #[error("unknown group_by `{0}`: use department, week or system")]
    UnknownGroup(String),
    #[error("empty window: `from` ({from}) must be before `to` ({to})")]
    EmptyWindow {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    #[error("the window spans {days} days; at most {MAX_WINDOW_DAYS} at once")]
    WindowTooLong { days: i64 },
}

/// KPIs for events in the half-open window [`from`, `to`), and the
/// backlog at the instant `to`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KpiQuery {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub group_by: KpiGroup,
}

impl KpiQuery {
    /// A checked query: `from` before `to`, at most [`MAX_WINDOW_DAYS`].
    pub fn new(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        group_by: KpiGroup,
    ) -> Result<Self, KpiError> {
        let q = KpiQuery { from, to, group_by };
        q.check()?;
        Ok(q)
    }

    /// The fields are public, so [`Store::kpis`] checks again.
    pub fn check(&self) -> Result<(), KpiError> {
        if self.from >= self.to {
            return Err(KpiError::EmptyWindow {
                from: self.from,
                to: self.to,
            });
        }
        let span = self.to - self.from;
        if span > Duration::days(MAX_WINDOW_DAYS) {
            return Err(KpiError::WindowTooLong {
                days: span.num_days(),
            });
        }
        Ok(())
    }
}

/// One group's numbers. Durations are whole seconds; a percentile is
/// `None` when nothing was measured, a rate when its denominator is 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KpiRow {
    /// The department, the ISO week (`2026-W49`) or the system.
    pub key: String,
    /// Work items opened in the window (hub cases and tasks excluded).
    pub opened: i64,
    /// Work items resolved or closed in the window.
    pub resolved: i64,
    /// Items whose first response fell in the window.
    pub first_responses: i64,
    pub first_response_p50_secs: Option<i64>,
    pub first_response_p90_secs: Option<i64>,
    pub resolution_p50_secs: Option<i64>,
    pub resolution_p90_secs: Option<i64>,
    /// Open at `to` (under week grouping: at the end of the week).
    pub backlog: i64,
    pub sla_attained: i64,
    pub sla_measured: i64,
    /// `sla_attained / sla_measured`.
    pub sla_attainment: Option<f64>,
    /// Items reopened in the window (each once, however often).
    pub reopened: i64,
    /// `reopened / resolved`.
    pub reopen_rate: Option<f64>,
    pub journeys: JourneyKpis,
}

/// Work that crossed departments: value-stream cases and routed work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct JourneyKpis {
    /// Value-stream cases (`switchboard`/`cases`) opened in the window.
    pub cases_opened: i64,
    /// Cases closed in the window, and their opened-to-closed time.
    pub cases_closed: i64,
    pub case_p50_secs: Option<i64>,
    pub case_p90_secs: Option<i64>,
    /// Work routed in the window (`routed` links made), by its origin.
    pub routed: i64,
    /// Routed work whose target was resolved or closed in the window, and
    /// the time from the origin's opening to the target's resolution.
    pub routed_done: i64,
    pub routed_p50_secs: Option<i64>,
    pub routed_p90_secs: Option<i64>,
}

/// One percentile statement's row: key, n, p50, p90, and two sums.
type Pct = (String, i64, Option<i64>, Option<i64>, i64, i64);
/// A count statement's row: key and one or two counts.
type Count = (String, i64);
type Count2 = (String, i64, i64);
/// Items by the weeks they were opened, ended and fell due
/// (`Dialect::backlog_by_week`), and how many.
type Bucket = (Option<i64>, Option<i64>, Option<i64>, i64);

impl Store {
    /// The KPIs of `q`, one row per group that has any number, sorted by
    /// key; under week grouping, every ISO week the window touches.
    pub async fn kpis(&self, q: &KpiQuery) -> Result<Vec<KpiRow>, StoreError> {
        q.check()?;
        let d = match self {
            Store::Postgres(_) => Dialect::Postgres,
            Store::Sqlite(_) => Dialect::Sqlite,
        };
        let g = q.group_by;
        // The statements are independent reads: run together, each on a
        // connection of its own, the database uses every core for one call
        // (one after another, a quarter at 1M items took twice as long on
        // two cores). Like the sequential reads before, they are not one
        // snapshot; each is consistent in itself.
        let week = g == KpiGroup::Week;
        let [
            backlog_sql,
            opened_sql,
            resolutions_sql,
            first_sql,
            reopened_sql,
            cases_sql,
            routed_sql,
            routed_done_sql,
        ] = d.statements(g);
        let (buckets, backlog, opened, resolutions, first, reopened, cases, routed, routed_done) =
            tokio::try_join!(
                async {
                    match week {
                        true => self.fetch::<Bucket>(&backlog_sql, q.from, q.to).await,
                        false => Ok(Vec::new()),
                    }
                },
                async {
                    match week {
                        true => Ok(Vec::new()),
                        false => self.fetch::<Count2>(&backlog_sql, q.from, q.to).await,
                    }
                },
                self.fetch::<Count2>(&opened_sql, q.from, q.to),
                self.fetch::<Pct>(&resolutions_sql, q.from, q.to),
                self.fetch::<Pct>(&first_sql, q.from, q.to),
                self.fetch::<Count>(&reopened_sql, q.from, q.to),
                self.fetch::<Pct>(&cases_sql, q.from, q.to),
                self.fetch::<Count>(&routed_sql, q.from, q.to),
                self.fetch::<Pct>(&routed_done_sql, q.from, q.to),
            )?;
        let mut rows = Rows::default();
        if week {
            for week in weeks(q.from, q.to) {
                let row = rows.get(week_label(week));
                // Open at the week's end: opened in or before the week, and
                // not ended in or before it (the last week ends at `to`).
                for (ob, eb, db, n) in &buckets {
                    if ob.is_none_or(|o| o <= week) && eb.is_none_or(|e| e > week) {
                        row.backlog += n;
                        if *db == Some(week) {
                            row.sla_measured += n;
                        }
                    }
                }
            }
        } else {
            for (k, backlog, breached) in backlog {
                let row = rows.get(k);
                row.backlog = backlog;
                row.sla_measured += breached;
            }
        }
        let key = |k: String| match g {
            KpiGroup::Week => k.parse::<i64>().map(week_label).unwrap_or(k),
            _ => k,
        };
        for (k, opened, cases) in opened {
            let row = rows.get(key(k));
            row.opened = opened;
            row.journeys.cases_opened = cases;
        }
        for (k, n, p50, p90, due, met) in resolutions {
            let row = rows.get(key(k));
            (
                row.resolved,
                row.resolution_p50_secs,
                row.resolution_p90_secs,
            ) = (n, p50, p90);
            row.sla_measured += due;
            row.sla_attained = met;
        }
        for (k, n, p50, p90, _, _) in first {
            let row = rows.get(key(k));
            row.first_responses = n;
            (row.first_response_p50_secs, row.first_response_p90_secs) = (p50, p90);
        }
        for (k, n) in reopened {
            rows.get(key(k)).reopened = n;
        }
        for (k, n, p50, p90, _, _) in cases {
            let j = &mut rows.get(key(k)).journeys;
            (j.cases_closed, j.case_p50_secs, j.case_p90_secs) = (n, p50, p90);
        }
        for (k, n) in routed {
            rows.get(key(k)).journeys.routed = n;
        }
        for (k, n, p50, p90, _, _) in routed_done {
            let j = &mut rows.get(key(k)).journeys;
            (j.routed_done, j.routed_p50_secs, j.routed_p90_secs) = (n, p50, p90);
        }
        Ok(rows.finish())
    }

    /// The plan of every KPI statement of `q`, as the database explains
    /// it (PostgreSQL `EXPLAIN`, SQLite `EXPLAIN QUERY PLAN`), to check
    /// that a large store reads index ranges. `prefer_indexes` prices
    /// PostgreSQL's sequential scans out for the statements, which shows
    /// an index exists and fits even on a table small enough to scan.
    pub async fn kpi_plans(
        &self,
        q: &KpiQuery,
        prefer_indexes: bool,
    ) -> Result<Vec<String>, StoreError> {
        q.check()?;
        let mut plans = Vec::new();
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if prefer_indexes {
                    sqlx::query("SET LOCAL enable_seqscan = off")
                        .execute(&mut *tx)
                        .await?;
                }
                for sql in Dialect::Postgres.statements(q.group_by) {
                    let lines: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
                        .bind(q.from)
                        .bind(q.to)
                        .fetch_all(&mut *tx)
                        .await?;
                    plans.push(lines.join("\n"));
                }
                tx.rollback().await?;
            }
            Store::Sqlite(pool) => {
                for sql in Dialect::Sqlite.statements(q.group_by) {
                    let lines: Vec<(i64, i64, i64, String)> =
                        sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                            .bind(q.from)
                            .bind(q.to)
                            .fetch_all(pool)
                            .await?;
                    let details: Vec<String> = lines.into_iter().map(|l| l.3).collect();
                    plans.push(details.join("\n"));
                }
            }
        }
        Ok(plans)
    }

    /// Run one KPI statement over [`from`, `to`); the rows are few (one
    /// per key), so they are fetched whole.
    async fn fetch<T>(
        &self,
        sql: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
    {
        // On SQLite the times are text, compared as text: sqlx binds a
        // `DateTime<Utc>` in the form page writes stored it (RFC 3339,
        // `+00:00`, only the fraction digits needed), and in that form
        // text order is time order (`…:00+00:00` before `…:00.5+00:00`).
        // A `links.created_at` SQLite filled in itself (`…:00.000Z`, three
        // digits always) orders the same way against these bounds: at an
        // equal second its `.` sorts after `+`, as it should, being equal
        // or later.
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // JIT compiling a statement that reads a quarter cost about
                // 50 ms of each call's few hundred, to save less than it
                // cost: the statements read index ranges, not tables. The
                // memory lets a quarter's durations sort without spilling
                // to disk (at 60,000 items, about 6 MB for one statement).
                sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
                sqlx::query(&format!("SET LOCAL work_mem = '{SORT_MEMORY}'"))
                    .execute(&mut *tx)
                    .await?;
                let rows = sqlx::query_as(sql)
                    .bind(from)
                    .bind(to)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(rows)
            }
            Store::Sqlite(pool) => Ok(sqlx::query_as(sql)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?),
        }
    }
}

/// The rows by key; `BTreeMap` keeps them sorted (`2026-W49` before
/// `2026-W50`, as ISO week labels are zero-padded).
#[derive(Default)]
struct Rows(BTreeMap<String, KpiRow>);

impl Rows {
    fn get(&mut self, key: String) -> &mut KpiRow {
        self.0.entry(key.clone()).or_insert_with(|| KpiRow {
            key,
            ..KpiRow::default()
        })
    }

    fn finish(self) -> Vec<KpiRow> {
        let ratio = |num: i64, den: i64| (den > 0).then(|| num as f64 / den as f64);
        self.0
            .into_values()
            .map(|mut row| {
                row.sla_attainment = ratio(row.sla_attained, row.sla_measured);
                row.reopen_rate = ratio(row.reopened, row.resolved);
                row
            })
            .collect()
    }
}

/// The ISO week number since 1970 of `t`, as the SQL computes it.
fn week_of(t: DateTime<Utc>) -> i64 {
    (t.timestamp() - FIRST_MONDAY).div_euclid(WEEK_SECS)
}

/// The number of every ISO week the window touches.
fn weeks(from: DateTime<Utc>, to: DateTime<Utc>) -> std::ops::RangeInclusive<i64> {
    week_of(from)..=week_of(to - Duration::nanoseconds(1))
}

fn week_start(week: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(FIRST_MONDAY + week * WEEK_SECS, 0).unwrap_or_default()
}

/// `2026-W49`: the ISO year and week of the week's Monday.
fn week_label(week: i64) -> String {
    let iso = week_start(week).iso_week();
    format!("{}-W{:02}", iso.year(), iso.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_are_the_iso_weeks_the_window_touches() {
        let w = weeks(at("2026-12-02T12:00:00Z"), at("2026-12-14T00:00:00Z"));
        let labels: Vec<_> = w.map(week_label).collect();
        assert_eq!(labels, ["2026-W49", "2026-W50"]);
        let one = weeks(at("2026-12-07T00:00:00Z"), at("2026-12-07T00:00:01Z"));
        assert_eq!(one.map(week_label).collect::<Vec<_>>(), ["2026-W50"]);
        // ISO years differ from calendar years around New Year.
        assert_eq!(week_label(week_of(at("2027-01-01T00:00:00Z"))), "2026-W53");
        assert_eq!(week_label(week_of(at("2025-12-29T00:00:00Z"))), "2026-W01");
    }

    #[test]
    fn group_by_parses_or_names_the_choices() {
        assert_eq!("week".parse::<KpiGroup>(), Ok(KpiGroup::Week));
        let json: KpiGroup = serde_json::from_str("\"system\"").unwrap();
        assert_eq!(json, KpiGroup::System);
        let e = "team".parse::<KpiGroup>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown group_by `team`: use department, week or system"
        );
    }

    #[test]
    fn windows_must_be_forward_and_at_most_a_year() {
        let (a, b) = (at("2026-01-01T00:00:00Z"), at("2026-04-01T00:00:00Z"));
        assert!(KpiQuery::new(a, b, KpiGroup::Department).is_ok());
        assert!(matches!(
            KpiQuery::new(b, a, KpiGroup::Department),
            Err(KpiError::EmptyWindow { .. })
        ));
        let far = a + Duration::days(400);
        assert_eq!(
            KpiQuery::new(a, far, KpiGroup::Week),
            Err(KpiError::WindowTooLong { days: 400 })
        );
    }
}
