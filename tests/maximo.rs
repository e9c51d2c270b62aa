//! End-to-end sync of Maximo work orders through the shipped manifest and
//! mapping, against the simulator, into both store backends: full then
//! incremental runs, paging by next-page links, auth failure, retried
//! transient failures, and the canonical records that land.

#[path = "maximo/canonical.rs"]
mod canonical;
mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard::sim::maximo::model::rest_id;
use switchboard::sim::maximo::{Fault, MaximoSim, SimConfig, SimHandle};
use switchboard::store::{CountedTable, Store};
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, maximo_manifest, maximo_manifest_as, maximo_workorder_job};

const KEY: &str = "sim-maximo-api-key";
/// Small pages, quick backoff and no client-side rate limit keep tests fast.
const PAGE_10: (&str, &str) = ("\"oslc.pageSize\" = \"200\"", "\"oslc.pageSize\" = \"10\"");
const PAGE_20: (&str, &str) = ("\"oslc.pageSize\" = \"200\"", "\"oslc.pageSize\" = \"20\"");
const QUICK: [(&str, &str); 2] = [
    ("initial_backoff_ms = 1000", "initial_backoff_ms = 50"),
    ("rate_limit_per_sec = 4", "rate_limit_per_sec = 0"),
];

fn edits(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    QUICK.iter().chain(extra).copied().collect()
}

async fn spawn(config: SimConfig) -> SimHandle {
    MaximoSim::spawn(config).await.expect("simulator starts")
}

async fn sim(work_orders: usize) -> SimHandle {
    spawn(SimConfig {
        work_orders,
        ..SimConfig::default()
    })
    .await
}

fn job(h: &SimHandle, extra: &[(&'static str, &'static str)]) -> SyncJob {
    maximo_workorder_job(&maximo_manifest(&h.base_url, &edits(extra)))
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

fn text<'v>(rec: &'v Value, key: &str) -> &'v str {
    rec.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

/// The work item's id in the store: the work order's WORKORDERID.
fn key_of(rec: &Value) -> String {
    rec["workorderid"]
        .as_i64()
        .expect("workorderid")
        .to_string()
}

fn id_of(rec: &Value) -> String {
    rest_id(text(rec, "siteid"), text(rec, "wonum"))
}

/// Every work order the simulator holds is stored once, with its status and summary.
async fn assert_store_matches_sim(ts: &TestStore, sim: &MaximoSim) {
    let records = sim.records();
    assert_eq!(
        ts.store.count(CountedTable::WorkItems).await.unwrap(),
        records.len() as i64,
        "every work order is stored once"
    );
    for rec in &records {
        let id = key_of(rec);
        let stored = ts
            .store
            .work_item_summary("maximo", "workorder", &id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("work order {id} missing from the store"));
        assert_eq!(
            stored.native_status.as_deref(),
            Some(text(rec, "status")),
            "status of {id}"
        );
        assert_eq!(stored.title, text(rec, "description"));
        assert_eq!(stored.department.as_deref(), Some("facilities"));
    }
}

/// (kind, author, body) of a work item's activities, oldest first.
async fn activities(
    store: &Store,
    workorderid: &str,
) -> Vec<(String, Option<String>, Option<String>)> {
    assert!(workorderid.chars().all(|c| c.is_ascii_digit()));
    let sql = format!(
        "SELECT a.kind, a.author_ref, a.body FROM activities a JOIN work_items w ON a.work_item_id = w.id \
         WHERE w.source_system = 'maximo' AND w.external_id = '{workorderid}' ORDER BY a.occurred_at, a.id"
    );
    match store {
        Store::Postgres(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mx = sim(45).await;
    let job = job(&mx, &[PAGE_20]);

    let first = sync(&job, &ts).await;
    assert_eq!(
        (first.pages, first.fetched, first.stored, first.quarantined),
        (3, 45, 45, 0),
        "{first:?}"
    );
    assert_store_matches_sim(&ts, &mx.sim).await;
    let cursor = ts
        .store
        .cursor("maximo", "workorder")
        .await
        .unwrap()
        .expect("cursor committed");
    let newest = mx
        .sim
        .records()
        .iter()
        .map(|r| time(text(r, "changedate")))
        .max()
        .unwrap();
    assert_eq!(time(&cursor), newest, "cursor is the newest changedate");

    // Two work orders move on in Maximo, one with a note from the crew, and
    // a requester raises a new one through the API.
    let moving: Vec<Value> = mx
        .sim
        .records()
        .into_iter()
        .filter(|r| matches!(text(r, "status"), "WAPPR" | "APPR" | "WMATL"))
        .take(2)
        .collect();
    assert_eq!(moving.len(), 2);
    for rec in &moving {
        mx.sim
            .update(
                &id_of(rec),
                json!({"status": "INPRG", "worklog": [{"description": "Crew dispatched", "createby": "GARCIA"}]}),
            )
            .expect("update");
    }
    let created = reqwest::Client::new()
        .post(format!("{}/maximo/oslc/os/mxwo?lean=1", mx.base_url))
        .header("apikey", KEY)
        .header("properties", "workorderid")
        .json(&json!({"siteid": "BEDFORD", "description": "Broken lock on bike shed", "location": "PARKING-B", "reportedby": "JONES"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let created_id = created.json::<Value>().await.expect("json")["workorderid"].to_string();

    let requests_before = mx.sim.requests().len();
    let second = sync(&job, &ts).await;
    assert_eq!(
        second.stored, 3,
        "only the changed work orders are written: {second:?}"
    );
    assert_store_matches_sim(&ts, &mx.sim).await;
    for rec in &moving {
        let id = key_of(rec);
        let w = ts
            .store
            .work_item_summary("maximo", "workorder", &id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.status, "in_progress");
        let notes = activities(&ts.store, &id).await;
        assert!(
            notes.iter().any(|(kind, author, body)| kind == "comment"
                && author.as_deref() == Some("GARCIA")
                && body.as_deref() == Some("Crew dispatched")),
            "{notes:?}"
        );
    }
    let new = ts
        .store
        .work_item_summary("maximo", "workorder", &created_id)
        .await
        .unwrap()
        .expect("created work order stored");
    assert_eq!(
        (new.title.as_str(), new.status.as_str()),
        ("Broken lock on bike shed", "new")
    );

    // The incremental query is oslc.where on changedate, one overlap window
    // (60 s) before the committed cursor, in UTC with its offset.
    let from = newest - TimeDelta::seconds(60);
    let req = &mx.sim.requests()[requests_before];
    assert_eq!(
        req.query["oslc.where"],
        format!("changedate>=\"{}\"", from.format("%Y-%m-%dT%H:%M:%S+00:00"))
    );
    assert_eq!(req.query["oslc.orderBy"], "+changedate,+workorderid");
    assert_eq!(
        (
            req.query["pageno"].as_str(),
            req.query["oslc.pageSize"].as_str(),
            req.query["lean"].as_str()
        ),
        ("1", "20", "1")
    );
    assert_eq!(req.headers["apikey"], KEY);
    // It reads exactly the window: the changed work orders plus those within the overlap.
    let in_window = mx
        .sim
        .records()
        .iter()
        .filter(|r| time(text(r, "changedate")) >= from)
        .count();
    assert_eq!(second.fetched, in_window, "{second:?}");
    assert!(
        in_window < 46 / 2,
        "the window is a small part of the work orders"
    );

    let third = sync(&job, &ts).await;
    assert_eq!(third.stored, 0, "nothing changed, nothing written");
}

async fn follows_next_page_links(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mx = sim(45).await;
    let report = sync(&job(&mx, &[PAGE_10]), &ts).await;
    assert_eq!(
        (report.pages, report.fetched, report.stored),
        (5, 45, 45),
        "{report:?}"
    );
    let log = mx.sim.requests();
    let pages: Vec<(&str, &str, u16)> = log
        .iter()
        .map(|r| {
            (
                r.query["pageno"].as_str(),
                r.query["oslc.pageSize"].as_str(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        pages,
        vec![
            ("1", "10", 200),
            ("2", "10", 200),
            ("3", "10", 200),
            ("4", "10", 200),
            ("5", "10", 200)
        ]
    );
    assert!(
        log.iter()
            .all(|r| r.path == "/maximo/oslc/os/mxwo" && r.method == "GET")
    );
    // Every page repeats the filter: the next links carry it.
    let filters: Vec<&str> = log.iter().map(|r| r.query["oslc.where"].as_str()).collect();
    assert!(filters.iter().all(|f| *f == filters[0] && f.starts_with("changedate>=\"1970-01-01T00:00:00+00:00\"")), "{filters:?}");
    assert_store_matches_sim(&ts, &mx.sim).await;

    // A server that caps pages below the size asked for (mxe.oslc.maxpagesize)
    // still hands over everything: its links, not the page length, say where the end is.
    let capped_store = TestStore::new(backend).await;
    let capped = spawn(SimConfig {
        work_orders: 45,
        max_page_size: Some(7),
        ..SimConfig::default()
    })
    .await;
    let report = sync(&job(&capped, &[PAGE_10]), &capped_store).await;
    assert_eq!(
        (report.pages, report.fetched, report.stored),
        (7, 45, 45),
        "{report:?}"
    );
    assert_store_matches_sim(&capped_store, &capped.sim).await;
}

async fn auth_failure_names_the_connector_and_stores_nothing(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mx = sim(10).await;
    let manifest = maximo_manifest_as(&mx.base_url, "a-revoked-key", &edits(&[]));
    let err = maximo_workorder_job(&manifest)
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect_err("a wrong key fails the run");
    let message = err.to_string();
    assert!(message.starts_with("maximo:"), "{message}");
    assert!(
        message.contains("authentication failed") && message.contains("401"),
        "{message}"
    );
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 0);
    assert_eq!(
        ts.store.count(CountedTable::SourceRecords).await.unwrap(),
        0
    );
    assert_eq!(ts.store.cursor("maximo", "workorder").await.unwrap(), None);
    let states = ts.store.sync_states().await.unwrap();
    assert!(
        states[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("maximo"),
        "{states:?}"
    );
    let log = mx.sim.requests();
    assert_eq!(log.len(), 1, "a 401 is not retried");
    assert_eq!(log[0].headers["apikey"], "a-revoked-key");
}

async fn rate_limit_and_server_errors_are_retried(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mx = sim(15).await;
    mx.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    mx.sim.inject(Fault::ServerError, 1);
    mx.sim.inject(Fault::Unavailable, 1);
    let started = Instant::now();
    let report = sync(&job(&mx, &[]), &ts).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is a minimum wait"
    );
    assert_eq!(report.stored, 15);
    let statuses: Vec<u16> = mx.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 503, 200]);
    assert_store_matches_sim(&ts, &mx.sim).await;
}

use canonical::{canonical_records_land, unknown_status_is_quarantined};

on_every_backend!(
    full_then_incremental,
    follows_next_page_links,
    auth_failure_names_the_connector_and_stores_nothing,
    rate_limit_and_server_errors_are_retried,
    canonical_records_land,
    unknown_status_is_quarantined,
);
