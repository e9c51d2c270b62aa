//! The employee's view of the API on both stores: what a person raised or
//! is the subject of, across departments, with its journey (the work order
//! Facilities made for it, the onboarding case's tasks), and only the
//! history an employee may see.

mod common;

use reqwest::StatusCode;
use serde_json::Value;
use switchboard::store::Store;

use common::api::{get, get_as, serve};
use common::hub::execute;
use common::{Backend, TestStore};

async fn seed(store: &Store) {
    for sql in [
        "INSERT INTO people (source_system, source_stream, external_id, display_name, email, department, active, attributes, classified, mapping_version) VALUES \
         ('personio', 'employees', '42', 'Ann Lee', 'Ann@Example.com', 'it', TRUE, '{}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, requester_ref, attributes, classified, mapping_version) VALUES \
         ('servicenow', 'incident', 'INC1', 'incident', 'No heating on floor 3', 'in_progress', 'it', 'ann@example.com', '{}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, attributes, classified, mapping_version) VALUES \
         ('maximo', 'workorder', 'WO7', 'work_order', 'No heating on floor 3', 'in_progress', 'facilities', '{}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, attributes, classified, mapping_version) VALUES \
         ('switchboard', 'cases', 'onboarding:personio:employees:42', 'case', 'Onboarding Ann Lee', 'in_progress', '{}', '{}', 'routing')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, attributes, classified, mapping_version) VALUES \
         ('switchboard', 'tasks', 'onboarding:personio:employees:42#accounts', 'task', 'Accounts for Ann Lee', 'closed', 'it', '{}', '{}', 'routing')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, attributes, classified, mapping_version) VALUES \
         ('switchboard', 'tasks', 'onboarding:personio:employees:42#desk', 'task', 'Desk for Ann Lee', 'new', 'facilities', '{}', '{}', 'routing')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, requester_ref, attributes, classified, mapping_version) VALUES \
         ('jira', 'request', 'SD-1', 'request', 'New monitor', 'new', 'it', 'bob@example.com', '{}', '{}', 'v1')",
        "INSERT INTO links (from_system, from_stream, from_id, to_system, to_id, relation, event_id) VALUES ('servicenow', 'incident', 'INC1', 'maximo', 'WO7', 'routed', 'e1')",
        "INSERT INTO activities (work_item_id, kind, author_ref, to_status, occurred_at, source_system, external_id) \
         SELECT id, 'status_change', 'JSMITH', 'in_progress', '2026-12-01T10:00:00Z', 'servicenow', 'a1' FROM work_items WHERE external_id = 'INC1'",
        "INSERT INTO activities (work_item_id, kind, author_ref, body, occurred_at, source_system, external_id) \
         SELECT id, 'comment', 'JSMITH', 'Internal: check the boiler contract first', '2026-12-01T10:05:00Z', 'servicenow', 'a2' FROM work_items WHERE external_id = 'INC1'",
        "INSERT INTO activities (work_item_id, kind, author_ref, body, occurred_at, source_system, external_id, visibility) \
         SELECT id, 'comment', 'switchboard', 'Routed to facilities in maximo', '2026-12-01T10:06:00Z', 'switchboard', 'n1', 'public' FROM work_items WHERE external_id = 'INC1'",
        "INSERT INTO activities (work_item_id, kind, author_ref, body, occurred_at, source_system, external_id, visibility) \
         SELECT id, 'comment', 'JSMITH', 'A technician comes at 2 pm', '2026-12-01T10:07:00Z', 'servicenow', 'a3', 'public' FROM work_items WHERE external_id = 'INC1'",
        "INSERT INTO activities (work_item_id, kind, author_ref, body, occurred_at, source_system, external_id, visibility) \
         SELECT id, 'comment', 'switchboard', 'facilities WO7 in maximo, MGARCIA: boiler part on order', '2026-12-01T10:08:00Z', 'switchboard', 'n2', 'internal' FROM work_items WHERE external_id = 'INC1'",
    ] {
        execute(store, sql).await;
    }
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| r["item"]["title"].as_str().unwrap_or("-").to_string())
        .collect()
}

async fn an_employee_sees_their_requests_and_journeys(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve(ts.store.clone()).await;

    let (status, page) = get_as(&base, "/api/v1/me/requests", "ann@example.com").await;
    assert_eq!(status, 200, "{page}");
    // What she raised and the case about her; not the work order Facilities
    // made (its journey shows it), not the tasks (the case shows them).
    assert_eq!(
        titles(&page),
        ["Onboarding Ann Lee", "No heating on floor 3"],
        "{page}"
    );
    let case = &page["items"][0]["journey"]["tasks"];
    let tasks: Vec<(&str, &str)> = case
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["title"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tasks,
        [
            ("Accounts for Ann Lee", "closed"),
            ("Desk for Ann Lee", "new")
        ]
    );
    let link = &page["items"][1]["journey"]["links"][0];
    assert_eq!(
        (
            link["system"].as_str(),
            link["status"].as_str(),
            link["direction"].as_str()
        ),
        (Some("maximo"), Some("in_progress"), Some("to")),
        "{page}"
    );

    // One request: her history without the departments' internal comments
    // (the origin's work note, and the target's relayed onto it).
    let id = page["items"][1]["item"]["id"].as_i64().unwrap();
    let (status, detail) =
        get_as(&base, &format!("/api/v1/requests/{id}"), "ann@example.com").await;
    assert_eq!(status, 200, "{detail}");
    let bodies: Vec<String> = detail["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}:{}",
                a["kind"].as_str().unwrap(),
                a["body"].as_str().unwrap_or("-")
            )
        })
        .collect();
    assert_eq!(
        bodies,
        [
            "status_change:-",
            "comment:Routed to facilities in maximo",
            "comment:A technician comes at 2 pm"
        ]
    );

    // Someone else's request is not there for her, nor hers for Bob.
    let (_, bobs) = get_as(&base, "/api/v1/me/requests", "bob@example.com").await;
    assert_eq!(titles(&bobs), ["New monitor"]);
    let (status, _) = get_as(&base, &format!("/api/v1/requests/{id}"), "bob@example.com").await;
    assert_eq!(status, 404);

    // An agent sees the same list from the person's directory entry.
    let (_, _, people) = get(&base, "/api/v1/people", Some("agent-token")).await;
    let ann = people["items"][0]["id"].as_i64().unwrap();
    let (status, _, theirs) = get(
        &base,
        &format!("/api/v1/people/{ann}/requests"),
        Some("agent-token"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(titles(&theirs), titles(&page));
}

async fn the_employee_view_needs_a_portal_and_an_employee(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve(ts.store.clone()).await;
    let (status, _, body) = get(&base, "/api/v1/me/requests", Some("portal-token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no employee named: {body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("switchboard-employee"),
        "{body}"
    );
    let (status, ..) = get(&base, "/api/v1/me/requests", Some("agent-token")).await;
    assert_eq!(status, 403, "an agent token acts for no employee");
    let (status, ..) = get(&base, "/api/v1/me/requests", None).await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&base, "/api/v1/people/1/requests", Some("portal-token")).await;
    assert_eq!(status, 403, "the portal reads no one else's list");
}

/// Her own HR question is hers to follow, though the portal holds no `hr`
/// class; an agent without the class does not see it in her list, and a
/// confidential case she is only the subject of stays hidden from her.
async fn a_confidential_request_shows_to_whoever_raised_it(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    for sql in [
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, requester_ref, attributes, classified, mapping_version) VALUES \
         ('personio', 'cases', 'HR5', 'case', 'Question about my payslip', 'new', 'hr', 'ann@example.com', '{\"confidential\": \"hr\"}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, requester_ref, attributes, classified, mapping_version) VALUES \
         ('switchboard', 'cases', 'review:personio:employees:42', 'case', 'Conduct review of Ann Lee', 'new', 'hr', 'hr.partner@example.com', '{\"confidential\": \"hr\"}', '{}', 'routing')",
    ] {
        execute(&ts.store, sql).await;
    }
    let base = serve(ts.store.clone()).await;
    let (status, page) = get_as(&base, "/api/v1/me/requests", "ann@example.com").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        titles(&page),
        [
            "Question about my payslip",
            "Onboarding Ann Lee",
            "No heating on floor 3"
        ],
        "her own, not the review about her: {page}"
    );
    let id = page["items"][0]["item"]["id"].as_i64().unwrap();
    let (status, _) = get_as(&base, &format!("/api/v1/requests/{id}"), "ann@example.com").await;
    assert_eq!(status, 200);
    let (status, _) = get_as(&base, &format!("/api/v1/requests/{id}"), "bob@example.com").await;
    assert_eq!(status, 404);

    let (_, _, people) = get(&base, "/api/v1/people", Some("agent-token")).await;
    let ann = people["items"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/people/{ann}/requests");
    let (_, _, agent) = get(&base, &path, Some("agent-token")).await;
    assert_eq!(
        titles(&agent),
        ["Onboarding Ann Lee", "No heating on floor 3"]
    );
    let (_, _, hr) = get(&base, &path, Some("hr-token")).await;
    assert_eq!(
        titles(&hr),
        [
            "Conduct review of Ann Lee",
            "Question about my payslip",
            "Onboarding Ann Lee",
            "No heating on floor 3"
        ]
    );
}

on_every_backend!(
    an_employee_sees_their_requests_and_journeys,
    the_employee_view_needs_a_portal_and_an_employee,
    a_confidential_request_shows_to_whoever_raised_it,
);

/// The employee's view reads no table whole: the requester (by address,
/// without regard to case), the person it resolves to and the cases about
/// them are each found by an index on SQLite; on PostgreSQL, asked to
/// avoid sequential scans, no table is scanned sequentially. (On a small
/// table PostgreSQL walks the primary key backwards for the newest-first
/// order; tests/explain.rs checks its choice on 200,000 items.)
async fn the_employee_view_reads_no_table_whole(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let plan = ts
        .store
        .requests_plan(&switchboard::store::RequestFilter {
            email: "ann@example.com",
            id: None,
            before_id: None,
            limit: 50,
            classes: &[],
            own: true,
        })
        .await
        .unwrap();
    let whole = |l: &str| {
        let l = l.trim_start();
        l.starts_with("SCAN work_items") || l.starts_with("SCAN people") || l.contains("Seq Scan")
    };
    assert!(!plan.lines().any(whole), "{plan}");
    if backend == Backend::Sqlite {
        assert!(plan.contains("work_items_requester_ref"), "{plan}");
    }
}

mod plans {
    use super::*;
    on_every_backend!(the_employee_view_reads_no_table_whole);
}
