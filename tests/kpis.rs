//! KPIs against numbers computed by hand (docs/KPIS.md has the
//! definitions and this data set as its worked example), on SQLite and
//! PostgreSQL alike.
//!
//! The window is [Mon 2026-11-30, Mon 2026-12-14): ISO weeks 2026-W49
//! (Nov 30 to Dec 6) and 2026-W50 (Dec 7 to 13). Times are UTC.
//!
//! Work items (system / department, status, opened → done, due):
//!
//! | id | system / dept        | status      | opened      | resolved / closed        | due         |
//! |----|----------------------|-------------|-------------|--------------------------|-------------|
//! | I1 | servicenow / it      | closed      | 11-30 09:00 | res 12-01 09:00, cl 12-03 | 12-02 09:00 |
//! | I2 | servicenow / it      | resolved    | 12-01 08:00 | res 12-10 08:00 (reopened twice) | 12-03 08:00 |
//! | I3 | servicenow / it      | open        | 12-08 09:00 |                          | 12-10 09:00 |
//! | I4 | servicenow / it      | in_progress | 11-20 10:00 |                          |             |
//! | I5 | servicenow / it      | cancelled   | 12-02 09:00 | cl 12-03 09:00           | 12-04 09:00 |
//! | I6 | servicenow / it      | open        | (none)      |                          |             |
//! | I7 | servicenow / it      | in_progress | 12-01 12:00 | (routed to F1)           |             |
//! | H1 | servicenow / hr      | resolved    | 12-07 10:00 | res 12-07 16:00          | 12-08 10:00 |
//! | H2 | servicenow / hr      | open        | 12-09 10:00 | (routed to WO-404)       | 12-20 10:00 |
//! | F1 | maximo / facilities  | closed      | 12-01 12:05 | cl 12-04 12:05 (no res)  | 12-05 12:00 |
//! | F2 | maximo / facilities  | resolved    | 12-10 07:00 | res 12-14 00:00 (= to)   |             |
//! | F3 | maximo / facilities  | resolved    | 11-25 12:05 | res 12-01 12:05 (from I4)|             |
//! | C1 | switchboard / cases  | closed      | 12-02 09:00 | cl 12-09 09:00           |             |
//! | C2 | switchboard / cases  | open        | 11-28 09:00 |                          |             |
//! | C3 | switchboard / cases  | new         | 12-08 09:00 |                          |             |
//! | T1 | switchboard / tasks (it)         | closed | 12-02 09:00 | cl 12-05 09:00 |          |
//! | T2 | switchboard / tasks (facilities) | closed | 12-02 09:00 | cl 12-09 09:00 | 12-03 09:00 |
//!
//! Links: I7 → maximo F1 `routed` made 12-01 12:05; H2 → maximo WO-404
//! (not synced) `routed` 12-09 10:05; I4 → maximo F3 `routed` 11-26 (before
//! the window); T1 → servicenow INC-T1 `task` 12-02 (not routed work).

mod common;

use chrono::{DateTime, NaiveDateTime, Utc};
use switchboard::store::{JourneyKpis, KpiGroup, KpiQuery, KpiRow, Store};

use common::{Backend, TestStore};

/// `"12-01 09:00"` in 2026 (or `"11-20 10:00"`), UTC.
fn t(s: &str) -> DateTime<Utc> {
    NaiveDateTime::parse_from_str(&format!("2026-{s}"), "%Y-%m-%d %H:%M")
        .expect("test time")
        .and_utc()
}

fn ot(s: &str) -> Option<DateTime<Utc>> {
    (!s.is_empty()).then(|| t(s))
}

/// Run one statement with the same binds on whichever backend.
macro_rules! on_store {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            Store::Postgres($pool) => $body,
            Store::Sqlite($pool) => $body,
        }
    };
}

struct Item {
    system: &'static str,
    stream: &'static str,
    id: &'static str,
    dept: Option<&'static str>,
    status: &'static str,
    requester: Option<&'static str>,
    opened: &'static str,
    resolved: &'static str,
    closed: &'static str,
    due: &'static str,
}

const fn item(system: &'static str, stream: &'static str, id: &'static str) -> Item {
    Item {
        system,
        stream,
        id,
        dept: None,
        status: "open",
        requester: None,
        opened: "",
        resolved: "",
        closed: "",
        due: "",
    }
}

async fn insert_item(store: &Store, i: &Item) -> i64 {
    let kind = match i.stream {
        "cases" => "case",
        "tasks" => "task",
        "workorder" => "work_order",
        _ => "incident",
    };
    let sql = "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, \
               status, department, requester_ref, opened_at, resolved_at, closed_at, due_at, \
               mapping_version) VALUES ($1, $2, $3, $4, $3, $5, $6, $7, $8, $9, $10, $11, 'v1') \
               RETURNING id";
    on_store!(store, |pool| sqlx::query_scalar(sql)
        .bind(i.system)
        .bind(i.stream)
        .bind(i.id)
        .bind(kind)
        .bind(i.status)
        .bind(i.dept)
        .bind(i.requester)
        .bind(ot(i.opened))
        .bind(ot(i.resolved))
        .bind(ot(i.closed))
        .bind(ot(i.due))
        .fetch_one(pool)
        .await
        .expect("insert work item"))
}

/// An activity: `(item, system, kind, author, from, to, at)`.
type Act = (
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

async fn insert_activity(store: &Store, n: usize, a: Act) {
    let sql = "INSERT INTO activities (work_item_id, source_system, kind, author_ref, from_status, \
               to_status, occurred_at, external_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    on_store!(store, |pool| {
        sqlx::query(sql)
            .bind(a.0)
            .bind(a.1)
            .bind(a.2)
            .bind(a.3)
            .bind(a.4)
            .bind(a.5)
            .bind(t(a.6))
            .bind(format!("act-{n}"))
            .execute(pool)
            .await
            .expect("insert activity");
    });
}

async fn insert_link(
    store: &Store,
    from: (&str, &str, &str),
    to: (&str, &str),
    rel: &str,
    at: &str,
) {
    let sql = "INSERT INTO links (from_system, from_stream, from_id, to_system, to_id, relation, \
               created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_store!(store, |pool| {
        sqlx::query(sql)
            .bind(from.0)
            .bind(from.1)
            .bind(from.2)
            .bind(to.0)
            .bind(to.1)
            .bind(rel)
            .bind(t(at))
            .execute(pool)
            .await
            .expect("insert link");
    });
}

async fn seed(store: &Store) {
    const SN: &str = "servicenow";
    const MX: &str = "maximo";
    const HUB: &str = "switchboard";
    let it = |id, status, opened| Item {
        dept: Some("it"),
        status,
        opened,
        ..item(SN, "incident", id)
    };
    let items = [
        Item {
            requester: Some("alice"),
            resolved: "12-01 09:00",
            closed: "12-03 09:00",
            due: "12-02 09:00",
            ..it("I1", "closed", "11-30 09:00")
        },
        Item {
            requester: Some("erin"),
            resolved: "12-10 08:00",
            due: "12-03 08:00",
            ..it("I2", "resolved", "12-01 08:00")
        },
        Item {
            due: "12-10 09:00",
            ..it("I3", "open", "12-08 09:00")
        },
        it("I4", "in_progress", "11-20 10:00"),
        Item {
            closed: "12-03 09:00",
            due: "12-04 09:00",
            ..it("I5", "cancelled", "12-02 09:00")
        },
        it("I6", "open", ""),
        it("I7", "in_progress", "12-01 12:00"),
        Item {
            dept: Some("hr"),
            status: "resolved",
            opened: "12-07 10:00",
            resolved: "12-07 16:00",
            due: "12-08 10:00",
            ..item(SN, "incident", "H1")
        },
        Item {
            dept: Some("hr"),
            requester: Some("dave"),
            opened: "12-09 10:00",
            due: "12-20 10:00",
            ..item(SN, "incident", "H2")
        },
        Item {
            dept: Some("facilities"),
            status: "closed",
            opened: "12-01 12:05",
            closed: "12-04 12:05",
            due: "12-05 12:00",
            ..item(MX, "workorder", "F1")
        },
        Item {
            dept: Some("facilities"),
            status: "resolved",
            opened: "12-10 07:00",
            resolved: "12-14 00:00",
            ..item(MX, "workorder", "F2")
        },
        Item {
            dept: Some("facilities"),
            status: "resolved",
            opened: "11-25 12:05",
            resolved: "12-01 12:05",
            ..item(MX, "workorder", "F3")
        },
        Item {
            status: "closed",
            opened: "12-02 09:00",
            closed: "12-09 09:00",
            ..item(HUB, "cases", "C1")
        },
        Item {
            opened: "11-28 09:00",
            ..item(HUB, "cases", "C2")
        },
        Item {
            status: "new",
            opened: "12-08 09:00",
            ..item(HUB, "cases", "C3")
        },
        Item {
            dept: Some("it"),
            status: "closed",
            opened: "12-02 09:00",
            closed: "12-05 09:00",
            ..item(HUB, "tasks", "C1#accounts")
        },
        Item {
            dept: Some("facilities"),
            status: "closed",
            opened: "12-02 09:00",
            closed: "12-09 09:00",
            due: "12-03 09:00",
            ..item(HUB, "tasks", "C1#desk")
        },
    ];
    let mut ids = std::collections::HashMap::new();
    for i in &items {
        ids.insert(i.id, insert_item(store, i).await);
    }
    let id = |k: &str| ids[k];
    let sc = "status_change";
    let acts: Vec<Act> = vec![
        // I1: the requester's own comment is no response; bob's is (1 h).
        (
            id("I1"),
            SN,
            "comment",
            Some("alice"),
            None,
            None,
            "11-30 09:10",
        ),
        (
            id("I1"),
            SN,
            "comment",
            Some("bob"),
            None,
            None,
            "11-30 10:00",
        ),
        (
            id("I1"),
            SN,
            "comment",
            Some("bob"),
            None,
            None,
            "12-01 08:00",
        ),
        // I2: new → in_progress after 2 h, resolved, reopened twice, resolved.
        (
            id("I2"),
            SN,
            sc,
            Some("bob"),
            Some("new"),
            Some("in_progress"),
            "12-01 10:00",
        ),
        (
            id("I2"),
            SN,
            sc,
            Some("bob"),
            Some("in_progress"),
            Some("resolved"),
            "12-08 08:00",
        ),
        (
            id("I2"),
            SN,
            sc,
            Some("erin"),
            Some("resolved"),
            Some("open"),
            "12-09 10:00",
        ),
        (
            id("I2"),
            SN,
            sc,
            Some("bob"),
            Some("open"),
            Some("resolved"),
            "12-09 12:00",
        ),
        (
            id("I2"),
            SN,
            sc,
            Some("erin"),
            Some("resolved"),
            Some("in_progress"),
            "12-09 14:00",
        ),
        (
            id("I2"),
            SN,
            sc,
            Some("bob"),
            Some("in_progress"),
            Some("resolved"),
            "12-10 08:00",
        ),
        // I4: Switchboard's own note is no response; carol's is, 12 days in.
        (
            id("I4"),
            HUB,
            "comment",
            Some(HUB),
            None,
            None,
            "11-21 10:00",
        ),
        (
            id("I4"),
            SN,
            "comment",
            Some("carol"),
            None,
            None,
            "12-02 10:00",
        ),
        (
            id("H1"),
            SN,
            "comment",
            Some("hr-agent"),
            None,
            None,
            "12-07 10:30",
        ),
        (
            id("H2"),
            SN,
            "comment",
            Some("dave"),
            None,
            None,
            "12-09 11:00",
        ),
        (
            id("F1"),
            MX,
            sc,
            Some("tech"),
            Some("new"),
            Some("in_progress"),
            "12-02 08:00",
        ),
        // F3 was first answered before the window: its comment in the window is not a first.
        (
            id("F3"),
            MX,
            sc,
            Some("tech"),
            Some("new"),
            Some("in_progress"),
            "11-25 13:05",
        ),
        (
            id("F3"),
            MX,
            "comment",
            Some("tech"),
            None,
            None,
            "11-30 10:00",
        ),
    ];
    for (n, a) in acts.into_iter().enumerate() {
        insert_activity(store, n, a).await;
    }
    insert_link(
        store,
        (SN, "incident", "I7"),
        (MX, "F1"),
        "routed",
        "12-01 12:05",
    )
    .await;
    insert_link(
        store,
        (SN, "incident", "H2"),
        (MX, "WO-404"),
        "routed",
        "12-09 10:05",
    )
    .await;
    insert_link(
        store,
        (SN, "incident", "I4"),
        (MX, "F3"),
        "routed",
        "11-26 09:00",
    )
    .await;
    insert_link(
        store,
        (HUB, "tasks", "C1#accounts"),
        (SN, "INC-T1"),
        "task",
        "12-02 09:05",
    )
    .await;
}

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
            "activities_work_item",
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

on_every_backend!(
    by_department,
    by_system,
    by_week,
    partial_and_empty_weeks,
    plans_read_index_ranges
);
