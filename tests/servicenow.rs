//! ServiceNow beyond the incident sync the other suites cover: catalogue
//! requests (full, incremental, paged), and write-back through the shipped
//! manifest's actions and outbound mappings, against the simulator: an
//! incident created from a canonical work item, updated, commented, then
//! synced back into both stores; refusals keep the whole exchange.

mod common;

use serde_json::{Value, json};
use switchboard::connector::{Connector, ConnectorError};
use switchboard::sim::servicenow::{Fault, ServiceNowSim, SimConfig, SimHandle};
use switchboard::sync::SyncJob;
use switchboard::writeback::{WriteError, write_back};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, incident_job, servicenow_manifest, shipped_mapping, stream_job};
use serde_json::Map;
use switchboard::store::CountedTable;

const QUICK: [(&str, &str); 1] = [("max_attempts = 5", "max_attempts = 3")];

async fn sim() -> SimHandle {
    ServiceNowSim::spawn(SimConfig {
        incidents: 5,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn connector(h: &SimHandle) -> std::sync::Arc<dyn Connector> {
    let m = servicenow_manifest(&h.base_url, &QUICK);
    common::connector_of(&m)
}

fn field<'v>(rec: &'v Value, name: &str) -> &'v str {
    rec.get(name).and_then(Value::as_str).unwrap_or_default()
}

async fn create_update_comment_then_sync(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let conn = connector(&h);

    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-create-incident.toml"),
        &common::facilities_work_order("new"),
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    assert_eq!(created.status, 201);
    let sys_id = created.id.expect("the new incident's sys_id");
    let rec = h.sim.get("incident", &sys_id).expect("incident exists");
    assert_eq!(field(&rec, "short_description"), "No heating on floor 3");
    assert_eq!(field(&rec, "state"), "1");
    assert_eq!(field(&rec, "impact"), "2");
    assert_eq!(field(&rec, "urgency"), "1");
    assert_eq!(field(&rec, "priority"), "2");
    assert_eq!(field(&rec, "correlation_id"), "maximo:WO-1042");
    assert_eq!(field(&rec, "due_date"), "2026-11-21 17:00:00");

    let updated = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-update-incident.toml"),
        &common::facilities_work_order("resolved"),
        Some(&sys_id),
    )
    .await
    .expect("update succeeds")
    .expect("something to send");
    assert_eq!(updated.id.as_deref(), Some(sys_id.as_str()));
    let rec = h.sim.get("incident", &sys_id).expect("incident exists");
    assert_eq!(field(&rec, "state"), "6");
    assert_eq!(field(&rec, "close_code"), "Solved (Permanently)");
    assert!(!field(&rec, "resolved_at").is_empty(), "{rec}");

    let commented = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-comment-incident.toml"),
        &common::facilities_work_order("in_progress"),
        Some(&sys_id),
    )
    .await
    .expect("comment succeeds")
    .expect("something to send");
    assert_eq!(commented.id.as_deref(), Some(sys_id.as_str()));
    let rec = h.sim.get("incident", &sys_id).expect("incident exists");
    assert_eq!(
        field(&rec, "comments"),
        "facilities work order WO-1042 (No heating on floor 3): in progress"
    );

    // The next sync reads our incident back like any other.
    let job: SyncJob = incident_job(&servicenow_manifest(&h.base_url, &QUICK));
    let report = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds");
    assert_eq!(report.quarantined, 0, "{report:?}");
    let stored = ts
        .store
        .work_item_summary("servicenow", "incident", &sys_id)
        .await
        .unwrap()
        .expect("the created incident is stored");
    assert_eq!(stored.title, "No heating on floor 3");
    assert_eq!(stored.status, "resolved");
    assert_eq!(stored.native_status.as_deref(), Some("6"));
    assert_eq!(stored.priority, Some(2));
}

async fn sync(job: &SyncJob, ts: &TestStore) -> switchboard::sync::SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

/// Catalogue requests: read in full, then only what changed, one record a
/// page so the run crosses several pages.
async fn catalogue_requests_full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let manifest = servicenow_manifest(
        &h.base_url,
        &[QUICK[0], ("page_size = 100", "page_size = 1")],
    );
    let job = stream_job(
        &manifest,
        "request",
        shipped_mapping("servicenow-request.toml"),
    );
    let first = sync(&job, &ts).await;
    assert_eq!(
        (first.fetched, first.stored, first.quarantined),
        (3, 3, 0),
        "{first:?}"
    );
    let pages = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/api/now/table/sc_request")
        .count();
    assert!(pages >= 3, "one request a page: {pages} requests");
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 3);
    for rec in h.sim.records("sc_request") {
        let id = field(&rec, "sys_id");
        let stored = ts
            .store
            .work_item_summary("servicenow", "request", id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("request {id} stored"));
        assert_eq!(stored.title, field(&rec, "short_description"));
        let want = match field(&rec, "request_state") {
            "in_process" => "in_progress",
            "requested" => "new",
            "closed_complete" => "closed",
            other => panic!("unexpected seed state {other}"),
        };
        assert_eq!(stored.status, want);
        assert_eq!(stored.department.as_deref(), Some("it"));
    }

    // One request is fulfilled; the next run stores that change alone.
    let open = h
        .sim
        .records("sc_request")
        .into_iter()
        .find(|r| field(r, "request_state") == "in_process")
        .expect("an open request");
    let id = field(&open, "sys_id").to_string();
    let mut change = Map::new();
    change.insert("request_state".into(), json!("closed_complete"));
    h.sim
        .set_now(chrono::Utc::now() + chrono::TimeDelta::hours(1));
    assert!(h.sim.update("sc_request", &id, change));
    let second = sync(&job, &ts).await;
    assert_eq!(second.stored, 1, "{second:?}");
    let stored = ts
        .store
        .work_item_summary("servicenow", "request", &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "closed");
}

on_every_backend!(
    create_update_comment_then_sync,
    catalogue_requests_full_then_incremental
);

#[tokio::test]
async fn a_create_survives_a_busy_instance_and_is_sent_once() {
    let h = sim().await;
    let conn = connector(&h);
    let before = h.sim.count("incident");
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-create-incident.toml"),
        &common::facilities_work_order("new"),
        None,
    )
    .await
    .expect("the create goes through after the 429")
    .expect("something to send");
    assert!(created.id.is_some());
    assert_eq!(h.sim.count("incident"), before + 1);

    // A 500 may hide a create that happened: not resent, reported transient.
    h.sim.inject(Fault::ServerError, 1);
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-create-incident.toml"),
        &common::facilities_work_order("new"),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err}");
    let posts = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 3, "429 then retry, then one 500 not retried");
}

#[tokio::test]
async fn a_refused_update_is_a_dead_letter_with_the_whole_exchange() {
    let h = sim().await;
    let conn = connector(&h);
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-update-incident.toml"),
        &common::facilities_work_order("in_progress"),
        Some("0123456789abcdef0123456789abcdef"),
    )
    .await
    .unwrap_err();
    assert!(!err.is_transient());
    let WriteError::Connector(ConnectorError::Rejected { system, exchange }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "servicenow");
    assert_eq!(exchange.method, "PATCH");
    assert_eq!(exchange.status, 404);
    assert!(
        exchange
            .url
            .ends_with("/api/now/table/incident/0123456789abcdef0123456789abcdef")
    );
    assert_eq!(
        exchange.request_body.as_ref().and_then(|b| b.get("state")),
        Some(&json!("2"))
    );
    assert!(
        exchange.response_body.contains("No Record found"),
        "{}",
        exchange.response_body
    );
}

#[tokio::test]
async fn a_status_the_target_cannot_express_is_not_sent() {
    let h = sim().await;
    let conn = connector(&h);
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("servicenow-update-incident.toml"),
        &common::facilities_work_order("on_hold"),
        Some("x"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, WriteError::Render(_)), "{err:?}");
    assert!(!err.is_transient());
    assert!(h.sim.requests().is_empty());
}
