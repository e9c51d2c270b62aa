//! End-to-end sync of TOPdesk incidents through the shipped manifest and
//! mapping, against the simulator, into both store backends: full then
//! incremental runs, paging by 206 Partial Content, auth failure, retried
//! transient failures, and the canonical records that land.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use switchboard::sim::topdesk::{Fault, SimConfig, SimHandle, TopdeskSim, seed};
use switchboard::store::{CountedTable, Store};
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, topdesk_incident_job, topdesk_manifest, topdesk_manifest_as};

/// Small pages, quick backoff and no client-side rate limit keep tests fast.
const PAGE_10: (&str, &str) = ("page_size = 200", "page_size = 10");
const PAGE_20: (&str, &str) = ("page_size = 200", "page_size = 20");
const QUICK: [(&str, &str); 2] = [
    ("initial_backoff_ms = 1000", "initial_backoff_ms = 50"),
    ("rate_limit_per_sec = 4", "rate_limit_per_sec = 0"),
];

fn edits(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    QUICK.iter().chain(extra).copied().collect()
}

async fn sim(incidents: usize) -> SimHandle {
    TopdeskSim::spawn(SimConfig {
        incidents,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn job(h: &SimHandle, extra: &[(&'static str, &'static str)]) -> SyncJob {
    topdesk_incident_job(&topdesk_manifest(&h.base_url, &edits(extra)))
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

fn text<'v>(rec: &'v Value, path: &str) -> &'v str {
    path.split('.')
        .try_fold(rec, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// Every incident the simulator lists is stored once, with its processing
/// status and brief description.
async fn assert_store_matches_sim(ts: &TestStore, sim: &TopdeskSim) {
    let incidents = sim.records();
    assert_eq!(
        ts.store.count(CountedTable::WorkItems).await.unwrap(),
        incidents.len() as i64,
        "every incident is stored once"
    );
    for rec in &incidents {
        let id = text(rec, "id");
        let stored = ts
            .store
            .work_item_summary("topdesk", "incident", id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("incident {id} missing from the store"));
        assert_eq!(
            stored.native_status.as_deref(),
            Some(text(rec, "processingStatus.name")),
            "status of {id}"
        );
        assert_eq!(stored.title, text(rec, "briefDescription"));
        assert_eq!(stored.department.as_deref(), Some("it"));
    }
}

async fn full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let td = sim(45).await;
    let job = job(&td, &[PAGE_20]);

    let first = sync(&job, &ts).await;
    assert_eq!(
        (first.pages, first.fetched, first.stored, first.quarantined),
        (3, 45, 45, 0),
        "{first:?}"
    );
    assert_store_matches_sim(&ts, &td.sim).await;
    let cursor = ts
        .store
        .cursor("topdesk", "incident")
        .await
        .unwrap()
        .expect("cursor committed");
    let newest = td
        .sim
        .records()
        .iter()
        .map(|r| time(text(r, "modificationDate")))
        .max()
        .unwrap();
    assert_eq!(
        time(&cursor),
        newest,
        "cursor is the newest modificationDate"
    );

    // Operators close three incidents, with an action each.
    let changed: Vec<String> = td
        .sim
        .records()
        .iter()
        .filter(|r| r["closed"] == false)
        .take(3)
        .map(|r| text(r, "id").to_string())
        .collect();
    for id in &changed {
        td.sim
            .update(
                id,
                json!({"processingStatus": {"name": "Closed"}, "action": "Solved on site."}),
            )
            .expect("update");
    }
    let requests_before = td.sim.requests().len();
    let second = sync(&job, &ts).await;
    assert_eq!(
        second.stored, 3,
        "only the changed incidents are written: {second:?}"
    );
    assert_store_matches_sim(&ts, &td.sim).await;
    for id in &changed {
        let w = ts
            .store
            .work_item_summary("topdesk", "incident", id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.status, "closed");
    }
    // The incremental query is FIQL on modificationDate, one overlap window
    // (60 s) before the committed cursor, in the documented date form.
    let from = newest - TimeDelta::seconds(60);
    let req = &td.sim.requests()[requests_before];
    assert_eq!(
        req.query["query"],
        format!(
            "modificationDate=ge={}",
            from.format("%Y-%m-%dT%H:%M:%S+0000")
        )
    );
    assert_eq!(req.query["sort"], "modificationDate:asc,id:asc");
    assert_eq!(
        (
            req.query["pageStart"].as_str(),
            req.query["pageSize"].as_str()
        ),
        ("0", "20")
    );
    // It reads exactly the window: the changed incidents plus those within the overlap.
    let in_window = td
        .sim
        .records()
        .iter()
        .filter(|r| time(text(r, "modificationDate")) >= from)
        .count();
    assert_eq!(second.fetched, in_window, "{second:?}");
    assert!(
        in_window < 45 / 2,
        "the window is a small part of the incidents"
    );

    let third = sync(&job, &ts).await;
    assert_eq!(third.stored, 0, "nothing changed, nothing written");
}

async fn pages_until_200_and_reads_nothing_on_204(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let td = sim(25).await;
    let report = sync(&job(&td, &[PAGE_10]), &ts).await;
    assert_eq!(
        (report.pages, report.fetched, report.stored),
        (3, 25, 25),
        "{report:?}"
    );
    // The list's own requests (each incident's progress trail is asked
    // for too: tests/details.rs).
    let log: Vec<_> = td
        .sim
        .requests()
        .into_iter()
        .filter(|r| !r.path.ends_with("/progresstrail"))
        .collect();
    let pages: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|r| {
            (
                r.query["pageStart"].as_str(),
                r.query["pageSize"].as_str(),
                r.status,
            )
        })
        .collect();
    // Each page after the first re-reads the previous page's last incident.
    assert_eq!(
        pages,
        vec![("0", "10", 206), ("9", "10", 206), ("18", "10", 200)]
    );
    assert!(
        log.iter()
            .all(|r| r.path == "/tas/api/incidents" && r.method == "GET")
    );
    assert_store_matches_sim(&ts, &td.sim).await;

    // An environment with no incidents answers 204 No Content: an empty, successful run.
    let empty_store = TestStore::new(backend).await;
    let empty = sim(0).await;
    let report = sync(&job(&empty, &[PAGE_10]), &empty_store).await;
    assert_eq!((report.fetched, report.stored), (0, 0), "{report:?}");
    let statuses: Vec<u16> = empty.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![204]);
}

async fn auth_failure_names_the_connector_and_stores_nothing(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let td = sim(10).await;
    let manifest = topdesk_manifest_as(
        &td.base_url,
        "switchboard",
        "the-operators-own-password",
        &edits(&[]),
    );
    let err = topdesk_incident_job(&manifest)
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect_err("wrong credentials fail the run");
    let message = err.to_string();
    assert!(message.starts_with("topdesk:"), "{message}");
    assert!(
        message.contains("authentication failed") && message.contains("401"),
        "{message}"
    );
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 0);
    assert_eq!(
        ts.store.count(CountedTable::SourceRecords).await.unwrap(),
        0
    );
    assert_eq!(ts.store.cursor("topdesk", "incident").await.unwrap(), None);
    let states = ts.store.sync_states().await.unwrap();
    assert!(
        states[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("topdesk"),
        "{states:?}"
    );
    assert_eq!(td.sim.requests().len(), 1, "a 401 is not retried");
}

async fn rate_limit_and_server_errors_are_retried(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let td = sim(15).await;
    td.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    td.sim.inject(Fault::ServerError, 1);
    td.sim.inject(Fault::Unavailable, 1);
    let started = Instant::now();
    let report = sync(&job(&td, &[]), &ts).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is a minimum wait"
    );
    assert_eq!(report.stored, 15);
    let statuses: Vec<u16> = td
        .sim
        .requests()
        .iter()
        .filter(|r| !r.path.ends_with("/progresstrail"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 500, 503, 200]);
    assert_store_matches_sim(&ts, &td.sim).await;
}

/// An incident last modified at 2024-03-04 09:15 UTC, with `fields` set.
fn incident(fields: &[(&str, Value)]) -> Map<String, Value> {
    let mut rec = seed::incident_modified_at("", "2024-03-04T09:15:00.000+0000");
    for (k, v) in fields {
        rec.insert(k.to_string(), v.clone());
    }
    rec
}

/// An entry of one of the simulator's lookup lists, by name.
fn entry(td: &TopdeskSim, list: &str, name: &str) -> Value {
    td.lookup_list(list)
        .into_iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no {list} named {name}"))
}

async fn times(store: &Store, id: &str) -> Vec<Option<DateTime<Utc>>> {
    // The id is a UUID from the simulator, safe to inline.
    let sql = format!(
        "SELECT opened_at, updated_at, resolved_at, closed_at, due_at FROM work_items \
         WHERE source_system = 'topdesk' AND external_id = '{id}'"
    );
    type Row = (
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    let row: Row = match store {
        Store::Postgres(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    vec![row.0, row.1, row.2, row.3, row.4]
}

fn at(s: &str) -> Option<DateTime<Utc>> {
    Some(time(s))
}

async fn canonical_records_land(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let td = sim(0).await;
    let people = td.sim.persons();
    let s = &td.sim;
    let open = s.insert(incident(&[
        ("briefDescription", json!("Laptop fan very loud")),
        (
            "request",
            json!("The fan runs at full speed all day.<br>Laptop NB-20991."),
        ),
        ("caller", people[0].clone()),
        ("branch", people[0]["branch"].clone()),
        (
            "processingStatus",
            entry(s, "processingStatus", "In progress"),
        ),
        ("priority", entry(s, "priority", "P2 - High")),
        (
            "operatorGroup",
            entry(s, "operatorGroup", "Workplace Support"),
        ),
        ("callDate", json!("2024-03-04T08:55:00.000+0000")),
        ("targetDate", json!("2024-03-04T16:55:00.000+0000")),
    ]));
    let closed = s.insert(incident(&[
        ("briefDescription", json!("VPN drops every hour")),
        ("caller", people[1].clone()),
        ("processingStatus", entry(s, "processingStatus", "Closed")),
        ("priority", entry(s, "priority", "P4 - Low")),
        ("completed", json!(true)),
        ("closed", json!(true)),
        ("callDate", json!("2024-03-01T07:00:00.000+0000")),
        ("completedDate", json!("2024-03-03T10:00:00.000+0000")),
        ("closedDate", json!("2024-03-04T09:15:00.000+0000")),
        ("targetDate", json!("2024-03-06T07:00:00.000+0000")),
    ]));
    // Never prioritised, on hold, and called in by someone not registered.
    let waiting = s.insert(incident(
        &[
            ("briefDescription", json!("Visitor cannot reach guest Wi-Fi")),
            (
                "caller",
                json!({"id": null, "dynamicName": "Guest at reception", "email": "", "phoneNumber": ""}),
            ),
            ("processingStatus", entry(s, "processingStatus", "Waiting for user")),
            ("onHold", json!(true)),
            ("callDate", json!("2024-03-04T09:00:00.000+0000")),
        ],
    ));
    let report = sync(&job(&td, &[]), &ts).await;
    assert_eq!((report.stored, report.quarantined), (3, 0), "{report:?}");

    let summary = |id: String| {
        let store = &ts.store;
        async move {
            store
                .work_item_summary("topdesk", "incident", &id)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let w = summary(open.clone()).await;
    assert_eq!(
        (
            w.title.as_str(),
            w.status.as_str(),
            w.native_status.as_deref(),
            w.priority
        ),
        (
            "Laptop fan very loud",
            "in_progress",
            Some("In progress"),
            Some(2)
        )
    );
    assert_eq!(w.department.as_deref(), Some("it"));
    assert_eq!(w.requester_ref.as_deref(), people[0]["email"].as_str());
    assert_eq!(w.classified.0["attributes.caller_name"], "personal");
    assert_eq!(
        times(&ts.store, &open).await,
        vec![
            at("2024-03-04T08:55:00+0000"),
            at("2024-03-04T09:15:00+0000"),
            None,
            None,
            at("2024-03-04T16:55:00+0000"),
        ]
    );

    let w = summary(closed.clone()).await;
    assert_eq!(
        (w.title.as_str(), w.status.as_str(), w.priority),
        ("VPN drops every hour", "closed", Some(4))
    );
    assert_eq!(
        times(&ts.store, &closed).await,
        vec![
            at("2024-03-01T07:00:00+0000"),
            at("2024-03-04T09:15:00+0000"),
            at("2024-03-03T10:00:00+0000"),
            at("2024-03-04T09:15:00+0000"),
            at("2024-03-06T07:00:00+0000"),
        ]
    );

    let w = summary(waiting.clone()).await;
    assert_eq!(
        (w.status.as_str(), w.priority, w.requester_ref.as_deref()),
        ("waiting", None, None)
    );
    assert_eq!(w.department.as_deref(), Some("it"));
    // The two registered callers became placeholder people, found by email.
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 2);
}

async fn unknown_processing_status_is_quarantined(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let td = sim(12).await;
    let id = text(&td.sim.records()[0], "id").to_string();
    // An admin added a processing status the shipped mapping does not know.
    let mut fields = Map::new();
    fields.insert(
        "processingStatus".into(),
        json!({"id": "1f0c6a3e-9b7d-4c1e-8a52-6d3f0b9e2c41", "name": "Escalated to vendor"}),
    );
    for flag in ["closed", "completed", "onHold"] {
        fields.insert(flag.into(), json!(false));
    }
    assert!(td.sim.set_raw(&id, fields));
    let report = sync(&job(&td, &[]), &ts).await;
    assert_eq!((report.stored, report.quarantined), (11, 1), "{report:?}");
    let q = ts.store.quarantined().await.unwrap();
    assert_eq!(q[0].external_id, id);
    assert!(
        q[0].reason.contains("topdesk-incident.toml")
            && q[0].reason.contains("fields.status")
            && q[0].reason.contains("Escalated to vendor"),
        "{}",
        q[0].reason
    );
}

on_every_backend!(
    full_then_incremental,
    pages_until_200_and_reads_nothing_on_204,
    auth_failure_names_the_connector_and_stores_nothing,
    rate_limit_and_server_errors_are_retried,
    canonical_records_land,
    unknown_processing_status_is_quarantined,
);
