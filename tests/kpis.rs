//! KPIs against numbers computed by hand, on SQLite and PostgreSQL alike.
//! The data set is in `kpis/seed.rs`; docs/KPIS.md has the definitions and
//! works through the same data set.

mod common;
#[path = "kpis/seed.rs"]
mod seed;

use switchboard::store::{JourneyKpis, KpiGroup, KpiQuery, KpiRow, Store};

use common::{Backend, TestStore};
use seed::{seed, t};

async fn kpis(store: &Store, group_by: KpiGroup) -> Vec<KpiRow> {
    let q = KpiQuery::new(t("11-30 00:00"), t("12-14 00:00"), group_by).expect("query");
    store.kpis(&q).await.expect("kpis")
}

const H: i64 = 3600;
const D: i64 = 86_400;

/// A row with only the journeys of value-stream cases (`cases_opened`,
/// `cases_closed` and their time).
fn cases_row(key: &str, opened: i64, closed: i64, secs: Option<i64>) -> KpiRow {
    KpiRow {
        key: key.into(),
        journeys: JourneyKpis {
            cases_opened: opened,
            cases_closed: closed,
            case_p50_secs: secs,
            case_p90_secs: secs,
            ..JourneyKpis::default()
        },
        ..KpiRow::default()
    }
}

async fn by_department(backend: Backend) {
    let s = TestStore::new(backend).await;
    seed(&s.store).await;
    let rows = kpis(&s.store, KpiGroup::Department).await;
    // Cases have no department: C1 and C3 opened, C1 closed after 7 days.
    let none = cases_row("(none)", 2, 1, Some(7 * D));
    let facilities = KpiRow {
        key: "facilities".into(),
        opened: 2,   // F1, F2 (F3 opened before the window)
        resolved: 2, // F1 (closed_at, no resolved_at), F3; F2 at `to` is not in [from, to)
        first_responses: 1,
        first_response_p50_secs: Some(19 * H + 55 * 60), // F1: 12-01 12:05 → 12-02 08:00
        first_response_p90_secs: Some(19 * H + 55 * 60),
        resolution_p50_secs: Some(3 * D), // [F1 3 d, F3 6 d]: ranks ceil(1.0) = 1, ceil(1.8) = 2
        resolution_p90_secs: Some(6 * D),
        backlog: 1,      // F2: resolved at `to`, so not before it
        sla_attained: 1, // F1 closed 12-04 12:05, due 12-05 12:00
        sla_measured: 1,
        sla_attainment: Some(1.0),
        reopened: 0,
        reopen_rate: Some(0.0),
        journeys: JourneyKpis::default(), // routed work counts at its origin
    };
    let hr = KpiRow {
        key: "hr".into(),
        opened: 2, // H1, H2
        resolved: 1,
        first_responses: 1, // H1 after 30 min; H2 only has the requester's comment
        first_response_p50_secs: Some(30 * 60),
        first_response_p90_secs: Some(30 * 60),
        resolution_p50_secs: Some(6 * H),
        resolution_p90_secs: Some(6 * H),
        backlog: 1,      // H2
        sla_attained: 1, // H1; H2 is due after the window
        sla_measured: 1,
        sla_attainment: Some(1.0),
        reopened: 0,
        reopen_rate: Some(0.0),
        journeys: JourneyKpis {
            routed: 1, // H2 → WO-404, not done
            ..JourneyKpis::default()
        },
    };
    let it = KpiRow {
        key: "it".into(),
        opened: 5, // I1, I2, I3, I5 (cancelled still counts), I7; not I4 (before), I6 (no opened_at)
        resolved: 2, // I1 (resolved_at, not closed_at), I2 (its last resolution)
        // [I1 1 h, I2 2 h, I4 12 d]: p50 rank ceil(1.5) = 2, p90 rank ceil(2.7) = 3
        first_responses: 3,
        first_response_p50_secs: Some(2 * H),
        first_response_p90_secs: Some(12 * D),
        // [I1 1 d, I2 9 d]
        resolution_p50_secs: Some(D),
        resolution_p90_secs: Some(9 * D),
        backlog: 3, // I3, I4, I7 (I5 cancelled, I6 undated)
        // I1 met; I2 resolved late; I3 due 12-10 and open at `to`
        sla_attained: 1,
        sla_measured: 3,
        sla_attainment: Some(1.0 / 3.0),
        reopened: 1, // I2, twice, counts once
        reopen_rate: Some(0.5),
        journeys: JourneyKpis {
            routed: 1, // I7 → F1 (I4 → F3 was routed before the window)
            // I7 12-01 12:00 → F1 12-04 12:05; I4 11-20 10:00 → F3 12-01 12:05
            routed_done: 2,
            routed_p50_secs: Some(3 * D + 5 * 60),
            routed_p90_secs: Some(11 * D + 2 * H + 5 * 60),
            ..JourneyKpis::default()
        },
    };
    assert_eq!(rows, vec![none, facilities, hr, it]);
}

async fn by_system(backend: Backend) {
    let s = TestStore::new(backend).await;
    seed(&s.store).await;
    let rows = kpis(&s.store, KpiGroup::System).await;
    let maximo = KpiRow {
        key: "maximo".into(),
        opened: 2,
        resolved: 2,
        first_responses: 1,
        first_response_p50_secs: Some(19 * H + 55 * 60),
        first_response_p90_secs: Some(19 * H + 55 * 60),
        resolution_p50_secs: Some(3 * D),
        resolution_p90_secs: Some(6 * D),
        backlog: 1,
        sla_attained: 1,
        sla_measured: 1,
        sla_attainment: Some(1.0),
        reopened: 0,
        reopen_rate: Some(0.0),
        journeys: JourneyKpis::default(),
    };
    let servicenow = KpiRow {
        key: "servicenow".into(),
        opened: 7,
        resolved: 3,
        // [H1 30 min, I1 1 h, I2 2 h, I4 12 d]: ranks ceil(2.0) = 2, ceil(3.6) = 4
        first_responses: 4,
        first_response_p50_secs: Some(H),
        first_response_p90_secs: Some(12 * D),
        // [H1 6 h, I1 1 d, I2 9 d]: ranks 2 and 3
        resolution_p50_secs: Some(D),
        resolution_p90_secs: Some(9 * D),
        backlog: 4,      // I3, I4, I7, H2
        sla_attained: 2, // I1, H1 of I1, I2, H1, I3
        sla_measured: 4,
        sla_attainment: Some(0.5),
        reopened: 1,
        reopen_rate: Some(1.0 / 3.0),
        journeys: JourneyKpis {
            routed: 2,
            routed_done: 2,
            routed_p50_secs: Some(3 * D + 5 * 60),
            routed_p90_secs: Some(11 * D + 2 * H + 5 * 60),
            ..JourneyKpis::default()
        },
    };
    let hub = cases_row("switchboard", 2, 1, Some(7 * D));
    assert_eq!(rows, vec![maximo, servicenow, hub]);
}

async fn by_week(backend: Backend) {
    let s = TestStore::new(backend).await;
    seed(&s.store).await;
    let rows = kpis(&s.store, KpiGroup::Week).await;
    let w49 = KpiRow {
        key: "2026-W49".into(),
        opened: 5, // I1, I2, I5, I7, F1
        // [I1 1 d, F1 3 d, F3 6 d]: ranks 2 and 3
        resolved: 3,
        resolution_p50_secs: Some(3 * D),
        resolution_p90_secs: Some(6 * D),
        // [I1 1 h, I2 2 h, F1 19 h 55 min, I4 12 d]: ranks 2 and 4
        first_responses: 4,
        first_response_p50_secs: Some(2 * H),
        first_response_p90_secs: Some(12 * D),
        backlog: 3, // at 12-07 00:00: I2 (done 12-10), I4, I7
        // I1 and F1 met; I2, due 12-03, still open at the week's end
        sla_attained: 2,
        sla_measured: 3,
        sla_attainment: Some(2.0 / 3.0),
        reopened: 0,
        reopen_rate: Some(0.0),
        journeys: JourneyKpis {
            cases_opened: 1, // C1
            routed: 1,       // I7 → F1
            routed_done: 2,  // F1 and F3 done this week
            routed_p50_secs: Some(3 * D + 5 * 60),
            routed_p90_secs: Some(11 * D + 2 * H + 5 * 60),
            ..JourneyKpis::default()
        },
    };
    let w50 = KpiRow {
        key: "2026-W50".into(),
        opened: 4, // I3, H1, H2, F2
        // [H1 6 h, I2 9 d]
        resolved: 2,
        resolution_p50_secs: Some(6 * H),
        resolution_p90_secs: Some(9 * D),
        first_responses: 1, // H1
        first_response_p50_secs: Some(30 * 60),
        first_response_p90_secs: Some(30 * 60),
        backlog: 5, // at `to`: I3, I4, I7, H2, F2
        // H1 met; I2 resolved late (missed again); I3 due 12-10 and open
        sla_attained: 1,
        sla_measured: 3,
        sla_attainment: Some(1.0 / 3.0),
        reopened: 1,
        reopen_rate: Some(0.5),
        journeys: JourneyKpis {
            cases_opened: 1, // C3
            cases_closed: 1, // C1 after 7 days
            case_p50_secs: Some(7 * D),
            case_p90_secs: Some(7 * D),
            routed: 1, // H2 → WO-404
            ..JourneyKpis::default()
        },
    };
    assert_eq!(rows, vec![w49, w50]);
}

/// A window that touches a week only in part counts only that part, and a
/// window with nothing in it still has its weeks, with the backlog.
async fn partial_and_empty_weeks(backend: Backend) {
    let s = TestStore::new(backend).await;
    seed(&s.store).await;
    let q = KpiQuery::new(t("12-10 00:00"), t("12-10 12:00"), KpiGroup::Week).unwrap();
    let rows = s.store.kpis(&q).await.unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.key, "2026-W50");
    // F2 opened 12-10 07:00; I2 resolved 12-10 08:00 after 9 days.
    assert_eq!((r.opened, r.resolved), (1, 1));
    assert_eq!(r.resolution_p50_secs, Some(9 * D));
    // At 12:00: I3, I4, I7, H2, F2 open; I3 was due 09:00 and is open.
    assert_eq!((r.backlog, r.sla_attained, r.sla_measured), (5, 0, 2));
}

/// Every KPI statement reads index ranges, never a whole table: on
/// PostgreSQL with sequential scans priced out (the tables are small here,
/// so the planner would rightly scan them otherwise), on SQLite as its
/// planner chooses without statistics.
async fn plans_read_index_ranges(backend: Backend) {
    let s = TestStore::new(backend).await;
    seed(&s.store).await;
    for group_by in [KpiGroup::Department, KpiGroup::Week, KpiGroup::System] {
        let q = KpiQuery::new(t("11-30 00:00"), t("12-14 00:00"), group_by).unwrap();
        let plans = s.store.kpi_plans(&q, true).await.expect("plans");
        assert_eq!(plans.len(), 8, "{plans:?}");
        for plan in &plans {
            // PostgreSQL: `Seq Scan on work_items w`; SQLite: `SCAN w` (a
            // table alias; `SCAN r`, `SCAN cand` and the like are the
            // statements' own intermediate rows).
            let full_scan = plan.lines().any(|line| {
                let line = line.trim_start_matches([' ', '-', '>']);
                line.starts_with("Seq Scan")
                    || ["SCAN w", "SCAN a", "SCAN c", "SCAN l", "SCAN o"]
                        .iter()
                        .any(|scan| line == *scan || line.starts_with(&format!("{scan} ")))
            });
            assert!(!full_scan, "{group_by:?}: {plan}");
        }
        let all = plans.join("\n");
        let mut indexes = vec![
            "work_items_opened",
            "work_items_ended",
            "activities_occurred",
            "work_items_first_response",
            "links_relation_created",
        ];
        if backend == Backend::Postgres {
            indexes.push("work_items_open");
        }
        for index in indexes {
            assert!(all.contains(index), "{group_by:?}: {index} unused:\n{all}");
        }
    }
}

/// Both backends' percentiles are the nearest rank, ceil(p·n/100), for
/// every count: PostgreSQL takes them with `percentile_disc` (floating
/// point), SQLite by ranks in integers, and the two must not differ by one
/// at any n. Each department `nNNN` has n items resolved 1..=n minutes
/// after opening, inserted out of order.
async fn percentiles_are_the_nearest_rank_at_any_count(backend: Backend) {
    let s = TestStore::new(backend).await;
    let counts: Vec<i64> = (1..=30).chain([99, 100, 101, 199, 200]).collect();
    let opened = t("12-01 09:00");
    let sql = "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, \
               status, department, opened_at, resolved_at, mapping_version) \
               VALUES ('servicenow', 'incident', $1, 'incident', $1, 'resolved', $2, $3, $4, 'v1')";
    for &n in &counts {
        for i in 0..n {
            // A permutation of 1..=n (7 is prime to every count above but
            // multiples of 7, where the stride 1 is used instead).
            let stride = if n % 7 == 0 { 1 } else { 7 };
            let minutes = (i * stride) % n + 1;
            let resolved = opened + chrono::Duration::minutes(minutes);
            let (id, dept) = (format!("n{n}-{i}"), format!("n{n:03}"));
            match &s.store {
                Store::Postgres(pool) => sqlx::query(sql)
                    .bind(&id)
                    .bind(&dept)
                    .bind(opened)
                    .bind(resolved)
                    .execute(pool)
                    .await
                    .map(|_| ()),
                Store::Sqlite(pool) => sqlx::query(sql)
                    .bind(&id)
                    .bind(&dept)
                    .bind(opened)
                    .bind(resolved)
                    .execute(pool)
                    .await
                    .map(|_| ()),
            }
            .expect("insert");
        }
    }
    let rows = kpis(&s.store, KpiGroup::Department).await;
    assert_eq!(rows.len(), counts.len(), "{rows:?}");
    for (row, n) in rows.iter().zip(&counts) {
        let rank = |p: i64| (n * p + 99) / 100 * 60;
        assert_eq!(row.key, format!("n{n:03}"));
        assert_eq!(row.resolved, *n);
        assert_eq!(
            (row.resolution_p50_secs, row.resolution_p90_secs),
            (Some(rank(50)), Some(rank(90))),
            "n = {n}"
        );
    }
}

on_every_backend!(
    percentiles_are_the_nearest_rank_at_any_count,
    by_department,
    by_system,
    by_week,
    partial_and_empty_weeks,
    plans_read_index_ranges
);
