//! Issue 11: a future starter's onboarding starts. People go through the
//! page write and routing as a sync hands them over (plan, then the page's
//! one transaction), on both stores: hires and leavings fire once, and a
//! value stream's work waits until `start_days_before` the start date.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use common::{Backend, TestStore};
use switchboard::diag::SourceFile;
use switchboard::model::{Canonical, Person};
use switchboard::routing::{Routing, RoutingSlot};
use switchboard::store::{PageWrite, StagedRecord, Store};
use switchboard::sync::{Router, plan_page};

const ONBOARDING: &str = r#"version = 1
[[rules]]
name = "people-to-it"
on = ["person_leaving"]
to = { department = "it", connector = "servicenow", action = "create_incident" }

[[value_streams]]
name = "onboarding"
on = ["person_hired"]
case_title = "Onboarding: {display_name}"
start_days_before = 14

[[value_streams.tasks]]
name = "accounts"
to = { department = "it", connector = "servicenow", action = "create_incident" }
title = "Create accounts for {display_name}"
due_in_days = 3

[[value_streams.tasks]]
name = "desk"
to = { department = "facilities", connector = "maximo", action = "create_workorder" }
title = "Desk for {display_name}"

[[value_streams]]
name = "offboarding"
on = ["person_leaving"]
case_title = "Offboarding: {display_name}"
end_days_before = 0

[[value_streams.tasks]]
name = "accounts"
to = { department = "it", connector = "servicenow", action = "disable_user" }
title = "Disable accounts of {display_name}"

[default]
"#;

fn router() -> Router {
    let routing = Routing::from_source(&SourceFile::new("routing.toml", ONBOARDING.to_string()))
        .unwrap_or_else(|d| panic!("{d}"));
    Router {
        routing: RoutingSlot::new(Arc::new(routing)),
        departments: BTreeMap::from([("servicenow".into(), "it".into())]),
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn grace(active: bool, start: Option<NaiveDate>, end: Option<NaiveDate>) -> Person {
    Person {
        display_name: Some("Grace Hopper".into()),
        email: Some("grace@example.com".into()),
        active: Some(active),
        start_date: start,
        end_date: end,
        ..Person::default()
    }
}

/// Sync one person as a page does after its baseline: the change routed
/// from what the store held, and written with what it routed.
async fn sync(store: &Store, router: &Router, id: &str, p: Person) {
    let payload = serde_json::to_string(&serde_json::json!({
        "active": p.active, "start": p.start_date, "end": p.end_date,
    }))
    .unwrap();
    let staged = vec![StagedRecord {
        external_id: id.into(),
        content_hash: switchboard::sync::content_hash(&payload),
        payload_json: payload,
        outcome: Ok(Canonical::Person(p)),
    }];
    let existing = store
        .existing("hr", "employees", &[id.to_string()])
        .await
        .unwrap();
    let plan = plan_page(router, store, "hr", "employees", &staged, &existing)
        .await
        .unwrap();
    store
        .apply_page(PageWrite {
            system: "hr",
            stream: "employees",
            mapping_version: "v1",
            records: staged,
            cursor: None,
            delivery: None,
            outbox: plan.outbox,
            effects: plan.effects,
        })
        .await
        .unwrap();
}

async fn texts(store: &Store, sql: &str) -> Vec<String> {
    match store {
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The events that reached the outbox, in order: `type` of the change.
async fn events(store: &Store) -> Vec<String> {
    let sql = match store {
        Store::Postgres(_) => "SELECT payload->'data'->'event'->>'kind' FROM outbox ORDER BY id",
        Store::Sqlite(_) => {
            "SELECT json_extract(payload, '$.data.event.kind') FROM outbox ORDER BY id"
        }
    };
    texts(store, sql).await
}

/// Each outbox row's routing key and `available_at`, to the second (UTC).
async fn held(store: &Store) -> Vec<String> {
    let sql = match store {
        Store::Postgres(_) => {
            "SELECT routing_key || ' ' || to_char(available_at AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS') FROM outbox ORDER BY id"
        }
        Store::Sqlite(_) => {
            "SELECT routing_key || ' ' || substr(available_at, 1, 19) FROM outbox ORDER BY id"
        }
    };
    texts(store, sql).await
}

async fn hub_items(store: &Store) -> Vec<String> {
    texts(
        store,
        "SELECT source_stream || ' ' || title FROM work_items \
         WHERE source_system = 'switchboard' ORDER BY source_stream, title",
    )
    .await
}

async fn a_future_starter_is_hired_and_their_work_waits(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let r = router();
    let start = today() + Duration::days(30);
    sync(&ts.store, &r, "42", grace(false, Some(start), None)).await;

    assert_eq!(
        hub_items(&ts.store).await,
        [
            "cases Onboarding: Grace Hopper",
            "tasks Create accounts for Grace Hopper",
            "tasks Desk for Grace Hopper",
        ],
        "the onboarding case and its tasks show in the hub at once"
    );
    let release = format!("{}T00:00:00", start - Duration::days(14));
    assert_eq!(
        held(&ts.store).await,
        [
            format!("it.servicenow.create_incident {release}"),
            format!("facilities.maximo.create_workorder {release}"),
        ],
        "the tasks' work waits until 14 days before the start"
    );
    let claimed = ts
        .store
        .claim_outbox(10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert!(claimed.is_empty(), "held work is not claimed: {claimed:?}");
    // Due three days after it is sent, not after the hire was seen.
    let due = texts(
        &ts.store,
        "SELECT CAST(due_at AS TEXT) FROM work_items WHERE title LIKE 'Create accounts%'",
    )
    .await;
    let due_day = (start - Duration::days(11)).to_string();
    assert!(due[0].starts_with(&due_day), "{due:?} is not {due_day}");

    // Their first day: active now, and no second hire.
    sync(&ts.store, &r, "42", grace(true, Some(start), None)).await;
    assert_eq!(
        events(&ts.store).await,
        ["person_hired", "person_hired"],
        "two tasks of one hire"
    );
}

async fn a_starter_too_close_to_wait_for_goes_at_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let start = today() + Duration::days(3);
    sync(&ts.store, &router(), "7", grace(false, Some(start), None)).await;
    let claimed = ts
        .store
        .claim_outbox(10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "14 days before the start has passed");
}

async fn an_inactive_person_is_hired_once_when_they_become_active(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let r = router();
    // First seen inactive without a start date: nothing to hire yet.
    sync(&ts.store, &r, "9", grace(false, None, None)).await;
    assert!(events(&ts.store).await.is_empty());
    sync(&ts.store, &r, "9", grace(true, None, None)).await;
    let mut changed = grace(true, None, None);
    changed.display_name = Some("Grace B. Hopper".into());
    sync(&ts.store, &r, "9", changed).await;
    assert_eq!(
        events(&ts.store).await,
        ["person_hired", "person_hired"],
        "one hire, its two tasks; the later edit hires no one"
    );
    let claimed = ts
        .store
        .claim_outbox(10, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "no start date: the work goes at once");
}

async fn a_leaving_fires_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let r = router();
    let start = today() - Duration::days(400);
    sync(&ts.store, &r, "5", grace(true, Some(start), None)).await;
    let end = today() + Duration::days(20);
    // The end date appears: the leaving is announced now...
    sync(&ts.store, &r, "5", grace(true, Some(start), Some(end))).await;
    // ...and the last day passing is the same leaving.
    sync(&ts.store, &r, "5", grace(false, Some(start), Some(end))).await;
    assert_eq!(
        events(&ts.store).await,
        [
            "person_hired",
            "person_hired",
            "person_leaving",
            "person_leaving"
        ],
        "one hire's two tasks; one leaving's rule and offboarding task"
    );
    let rows = held(&ts.store).await;
    assert_eq!(
        rows[3],
        format!("it.servicenow.disable_user {end}T00:00:00"),
        "offboarding waits for the last day (`end_days_before = 0`): {rows:?}"
    );
    let state = texts(
        &ts.store,
        "SELECT COALESCE(lifecycle, '-') FROM people WHERE external_id = '5'",
    )
    .await;
    assert_eq!(state, ["-"], "gone: `active` says it all again");
}

on_every_backend!(
    a_future_starter_is_hired_and_their_work_waits,
    a_starter_too_close_to_wait_for_goes_at_once,
    an_inactive_person_is_hired_once_when_they_become_active,
    a_leaving_fires_once,
);
