//! End-to-end sync of ServiceNow incidents through the shipped manifest and
//! mapping, against the simulator, into both store backends.

mod common;

use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use switchboard::sim::servicenow::{Fault, ServiceNowSim, SimConfig, seed};
use switchboard::store::CountedTable;
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, incident_job, servicenow_manifest};

const PAGE_50: (&str, &str) = ("page_size = 100", "page_size = 50");

async fn sim(incidents: usize) -> switchboard::sim::servicenow::SimHandle {
    ServiceNowSim::spawn(SimConfig {
        incidents,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

fn field(rec: &Value, name: &str) -> String {
    rec.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Run a sync that is told to stop as soon as page `pages` is read and
/// handed over: the run stops there, once the pages it handed over are written.
async fn sync_stopping_after(job: &SyncJob, ts: &TestStore, pages: usize) -> SyncReport {
    let stop = CancellationToken::new();
    let stop_at = |_: &SyncJob, r: &SyncReport| {
        if r.pages == pages {
            stop.cancel();
        }
    };
    job.run(&ts.store, &stop, &stop_at)
        .await
        .expect("sync succeeds")
}

/// The simulator's incidents in the order the manifest's query sorts them.
fn oldest_first(sim: &ServiceNowSim) -> Vec<Value> {
    let mut records = sim.records("incident");
    records.sort_by_key(|r| (field(r, "sys_updated_on"), field(r, "sys_id")));
    records
}

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect()
}

/// sys_id -> state of every incident in the store must equal the simulator's.
async fn assert_store_matches_sim(ts: &TestStore, sim: &ServiceNowSim) {
    let incidents = sim.records("incident");
    assert_eq!(
        ts.store.count(CountedTable::WorkItems).await.unwrap(),
        incidents.len() as i64,
        "every incident is stored once"
    );
    for rec in &incidents {
        let id = field(rec, "sys_id");
        let stored = ts
            .store
            .work_item_summary("servicenow", "incident", &id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("incident {id} missing from the store"));
        assert_eq!(
            stored.native_status.as_deref(),
            Some(field(rec, "state").as_str()),
            "state of {id}"
        );
        assert_eq!(stored.title, field(rec, "short_description"));
    }
}

async fn full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(180).await;
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[PAGE_50]));

    let first = sync(&job, &ts).await;
    assert_eq!(
        (first.pages, first.fetched, first.stored, first.quarantined),
        (4, 180, 180, 0)
    );
    assert_store_matches_sim(&ts, &sn.sim).await;
    let cursor = ts
        .store
        .cursor("servicenow", "incident")
        .await
        .unwrap()
        .expect("cursor committed");
    let newest = sn
        .sim
        .records("incident")
        .iter()
        .map(|r| field(r, "sys_updated_on"))
        .max()
        .unwrap();
    assert_eq!(cursor, newest, "cursor is the newest sys_updated_on");

    let changed: Vec<String> = sn
        .sim
        .records("incident")
        .iter()
        .take(3)
        .map(|r| field(r, "sys_id"))
        .collect();
    for id in &changed {
        assert!(sn.sim.update(
            "incident",
            id,
            fields(&[("state", "7"), ("close_code", "Solved")])
        ));
    }
    let requests_before = sn.sim.requests().len();
    let second = sync(&job, &ts).await;
    assert_eq!(
        second.stored, 3,
        "only the changed records are written: {second:?}"
    );
    assert_store_matches_sim(&ts, &sn.sim).await;
    for id in &changed {
        let w = ts
            .store
            .work_item_summary("servicenow", "incident", id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.status, "closed");
    }
    // The incremental query starts one overlap window (60 s) before the committed cursor.
    let req = &sn.sim.requests()[requests_before];
    let expected_from = chrono::NaiveDateTime::parse_from_str(&cursor, "%Y-%m-%d %H:%M:%S")
        .unwrap()
        - chrono::TimeDelta::seconds(60);
    assert_eq!(
        req.query["sysparm_query"],
        format!(
            "sys_updated_on>={}^ORDERBYsys_updated_on^ORDERBYsys_id",
            expected_from.format("%Y-%m-%d %H:%M:%S")
        )
    );
    assert_eq!(req.query["sysparm_offset"], "0");
    // It reads exactly the window: the changed records plus those within the overlap.
    let from = expected_from.format("%Y-%m-%d %H:%M:%S").to_string();
    let in_window = sn
        .sim
        .records("incident")
        .iter()
        .filter(|r| field(r, "sys_updated_on") >= from)
        .count();
    assert_eq!(second.fetched, in_window, "{second:?}");
    assert!(
        in_window < 180 / 2,
        "the window is a small part of the table"
    );

    let third = sync(&job, &ts).await;
    assert_eq!(third.stored, 0, "nothing changed, nothing written");
}

async fn ties_larger_than_a_page(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(0).await;
    for i in 0..230 {
        sn.sim.insert(
            "incident",
            seed::incident_with_updated_on(&format!("Tied {i}"), "2026-03-01 12:00:00"),
        );
    }
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[PAGE_50]));
    let report = sync(&job, &ts).await;
    assert_eq!((report.fetched, report.stored), (230, 230));
    assert_store_matches_sim(&ts, &sn.sim).await;

    // Another record at the very same second, after the cursor was committed at it.
    sn.sim.insert(
        "incident",
        seed::incident_with_updated_on("Late tie", "2026-03-01 12:00:00"),
    );
    let again = sync(&job, &ts).await;
    assert_eq!(
        again.stored, 1,
        "a record sharing the cursor value is not skipped: {again:?}"
    );
    assert_store_matches_sim(&ts, &sn.sim).await;
}

async fn interrupted_between_pages_resumes_without_loss(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(0).await;
    // Ties across page boundaries are the hard case for resuming.
    for i in 0..160 {
        let ts = format!("2026-03-01 12:00:{:02}", i / 60);
        sn.sim.insert(
            "incident",
            seed::incident_with_updated_on(&format!("Item {i}"), &ts),
        );
    }
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[PAGE_50]));
    let first = sync_stopping_after(&job, &ts, 2).await;
    assert!(first.interrupted);
    assert_eq!(first.pages, 2);
    // Page 2 re-reads page 1's last record, so it brings 49 new ones.
    assert_eq!(
        ts.store.count(CountedTable::WorkItems).await.unwrap(),
        99,
        "two whole pages committed"
    );

    let resumed = sync(&job, &ts).await;
    assert!(!resumed.interrupted);
    assert_store_matches_sim(&ts, &sn.sim).await;
}

async fn change_during_sync_is_picked_up_next_run(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(150).await;
    let oldest_first = oldest_first(&sn.sim);
    // After page 1 is served, agents edit two records from page 1: they move
    // to the end of the ordering and every later record shifts two places up,
    // so one record slips past the page boundary unseen in this run.
    let edited = field(&oldest_first[5], "sys_id");
    let ids = [edited.clone(), field(&oldest_first[7], "sys_id")];
    sn.sim.after_list_request(
        1,
        Box::new(move |sim| {
            for id in &ids {
                let changed = fields(&[("state", "6"), ("short_description", "Edited mid-sync")]);
                assert!(sim.update("incident", id, changed));
            }
        }),
    );
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[PAGE_50]));
    sync(&job, &ts).await;
    sync(&job, &ts).await;
    assert_store_matches_sim(&ts, &sn.sim).await;
    let w = ts
        .store
        .work_item_summary("servicenow", "incident", &edited)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (w.title.as_str(), w.status.as_str()),
        ("Edited mid-sync", "resolved")
    );
}

async fn stop_right_after_a_shift_keeps_the_gap(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(150).await;
    let oldest_first = oldest_first(&sn.sim);
    let ids = [
        field(&oldest_first[2], "sys_id"),
        field(&oldest_first[9], "sys_id"),
    ];
    sn.sim.after_list_request(
        1,
        Box::new(move |sim| {
            for id in &ids {
                assert!(sim.update("incident", id, fields(&[("state", "2")])));
            }
        }),
    );
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[PAGE_50]));
    // Stop as soon as the page that noticed the shift is committed: the
    // cursor committed with it must already sit before the gap.
    let first = sync_stopping_after(&job, &ts, 2).await;
    assert!(first.interrupted);
    sync(&job, &ts).await;
    assert_store_matches_sim(&ts, &sn.sim).await;
}

async fn deletion_during_sync_loses_nothing(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(150).await;
    let oldest_first = oldest_first(&sn.sim);
    let gone = [
        field(&oldest_first[3], "sys_id"),
        field(&oldest_first[4], "sys_id"),
    ];
    // Deleting records already read shifts the rest up: undetectable by keys alone.
    sn.sim.after_list_request(
        1,
        Box::new(move |sim| {
            for id in &gone {
                assert!(sim.delete("incident", id));
            }
        }),
    );
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[PAGE_50]));
    sync(&job, &ts).await;
    sync(&job, &ts).await;
    // Every incident still in the simulator is stored (the two deleted stay
    // stored from the first page: deletion sync is not built yet).
    for rec in sn.sim.records("incident") {
        let id = field(&rec, "sys_id");
        assert!(
            ts.store
                .work_item_summary("servicenow", "incident", &id)
                .await
                .unwrap()
                .is_some(),
            "incident {id} was skipped"
        );
    }
}

async fn rate_limit_is_waited_out(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(30).await;
    sn.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[]));
    let started = Instant::now();
    let report = sync(&job, &ts).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is a minimum wait"
    );
    assert_eq!(report.stored, 30);
    // The incident list's requests; the deletions' follow the run.
    let statuses: Vec<u16> = sn
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/incident"))
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 200]);
    assert_store_matches_sim(&ts, &sn.sim).await;
}

async fn unmappable_record_is_quarantined_and_the_rest_stored(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(40).await;
    let mut bad = seed::incident_with_updated_on("State nobody mapped", "2026-03-02 08:00:00");
    bad.insert("state".into(), Value::String("99".into()));
    let bad_id = sn.sim.insert("incident", bad);
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[]));

    let report = sync(&job, &ts).await;
    assert_eq!((report.stored, report.quarantined), (40, 1));
    let q = ts.store.quarantined().await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].external_id, bad_id);
    assert!(
        q[0].reason.contains("servicenow-incident.toml"),
        "{}",
        q[0].reason
    );
    assert!(
        q[0].reason.contains("fields.status") && q[0].reason.contains("\"99\""),
        "{}",
        q[0].reason
    );
    assert!(
        ts.store
            .work_item_summary("servicenow", "incident", &bad_id)
            .await
            .unwrap()
            .is_none()
    );

    // Fixed at the source, the record leaves quarantine on the next run.
    sn.sim
        .update("incident", &bad_id, fields(&[("state", "2")]));
    let next = sync(&job, &ts).await;
    assert_eq!((next.stored, next.quarantined), (1, 0));
    assert!(ts.store.quarantined().await.unwrap().is_empty());
    assert_store_matches_sim(&ts, &sn.sim).await;
}

async fn failed_run_commits_nothing_past_the_last_good_page(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim(120).await;
    let job = incident_job(&servicenow_manifest(
        &sn.base_url,
        &[PAGE_50, ("max_attempts = 5", "max_attempts = 1")],
    ));
    // Page 1 succeeds, then the instance fails.
    sn.sim
        .after_list_request(1, Box::new(|sim| sim.inject(Fault::ServerError, 1)));
    let err = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 50);
    let state = ts.store.sync_states().await.unwrap();
    assert!(
        state[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("500")
    );

    let report = sync(&job, &ts).await;
    assert!(report.fetched >= 70);
    assert_store_matches_sim(&ts, &sn.sim).await;
}

on_every_backend!(
    full_then_incremental,
    ties_larger_than_a_page,
    interrupted_between_pages_resumes_without_loss,
    change_during_sync_is_picked_up_next_run,
    deletion_during_sync_loses_nothing,
    stop_right_after_a_shift_keeps_the_gap,
    rate_limit_is_waited_out,
    unmappable_record_is_quarantined_and_the_rest_stored,
    failed_run_commits_nothing_past_the_last_good_page,
);
