//! The fixed data set of the KPI tests, inserted with plain SQL on either
//! backend (docs/KPIS.md works through it).
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
//! | T3 | switchboard / tasks (legal)      | open   | 12-08 09:00 |                |          |
//!
//! Links: I7 → maximo F1 `routed` made 12-01 12:05; H2 → maximo WO-404
//! (not synced) `routed` 12-09 10:05; I4 → maximo F3 `routed` 11-26 (before
//! the window); T1 → servicenow INC-T1 `task` 12-02 (not routed work).

use chrono::{DateTime, NaiveDateTime, Utc};
use switchboard::store::Store;

/// `"12-01 09:00"` in 2026 (or `"11-20 10:00"`), UTC.
pub fn t(s: &str) -> DateTime<Utc> {
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

pub async fn seed(store: &Store) {
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
        // A hub task is not department work: no `legal` row appears.
        Item {
            dept: Some("legal"),
            opened: "12-08 09:00",
            ..item(HUB, "tasks", "C3#contract")
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
