//! Write-back into TOPdesk through the shipped manifest's actions and
//! outbound mappings, against the simulator: an incident created from a
//! canonical work item, updated, given an action visible to the caller,
//! then synced back into both stores; refusals keep the whole exchange.

mod common;

use serde_json::{Value, json};
use switchboard::connector::{Connector, ConnectorError};
use switchboard::sim::topdesk::{Fault, SimConfig, SimHandle, TopdeskSim};
use switchboard::writeback::{WriteError, write_back};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, topdesk_incident_job, topdesk_manifest};

const QUICK: [(&str, &str); 2] = [
    ("max_attempts = 5", "max_attempts = 3"),
    ("initial_backoff_ms = 1000", "initial_backoff_ms = 50"),
];

async fn sim() -> SimHandle {
    TopdeskSim::spawn(SimConfig {
        incidents: 5,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn connector(h: &SimHandle) -> std::sync::Arc<dyn Connector> {
    let m = topdesk_manifest(&h.base_url, &QUICK);
    common::connector_of(&m)
}

/// The shared work order, with a description that needs HTML escaping.
fn work_order(status: &str) -> Value {
    let mut record = common::facilities_work_order(status);
    record["description"] = json!(
        "Radiators cold since 7:00.
Thermostat reads <10 °C & falling."
    );
    record
}

/// The `name` of a lookup field of a stored incident.
fn name<'v>(rec: &'v Value, field: &str) -> &'v str {
    rec[field]["name"].as_str().unwrap_or_default()
}

async fn create_update_comment_then_sync(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let conn = connector(&h);

    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-create-incident.toml"),
        &work_order("new"),
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    assert_eq!(created.status, 201);
    let id = created.id.expect("the new incident's id");
    let rec = h.sim.get(&id).expect("incident exists");
    assert_eq!(rec["briefDescription"], "No heating on floor 3");
    assert_eq!(
        rec["request"],
        "Radiators cold since 7:00.<br>Thermostat reads &lt;10 °C &amp; falling."
    );
    assert_eq!(rec["caller"]["dynamicName"], "Switchboard (facilities)");
    assert!(rec["caller"]["id"].is_null(), "an unregistered caller");
    assert_eq!(rec["externalNumber"], "maximo:WO-1042");
    assert_eq!(name(&rec, "operatorGroup"), "Service Desk");
    assert_eq!(name(&rec, "priority"), "P2 - High");
    assert_eq!(name(&rec, "processingStatus"), "Logged");
    assert!(rec["category"].is_null());
    assert_eq!(rec["targetDate"], "2026-11-21T17:00:00.000+0000");
    assert!(rec["number"].as_str().is_some_and(|n| n.starts_with("I ")));

    let updated = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-update-incident.toml"),
        &work_order("resolved"),
        Some(&id),
    )
    .await
    .expect("update succeeds")
    .expect("something to send");
    assert_eq!(updated.status, 200);
    assert_eq!(updated.id.as_deref(), Some(id.as_str()));
    let rec = h.sim.get(&id).expect("incident exists");
    assert_eq!(name(&rec, "processingStatus"), "Completed");
    assert_eq!(rec["completed"], true);
    assert_eq!(rec["closed"], false);
    assert!(rec["completedDate"].is_string(), "{rec}");
    let trail = h.sim.trail(&id);
    let note = trail.last().expect("a trail entry");
    assert_eq!(
        (
            &note["type"],
            &note["memoText"],
            &note["invisibleForCaller"]
        ),
        (
            &json!("action"),
            &json!("Switchboard: facilities reports this as resolved."),
            &json!(true)
        ),
        "an operator-only note"
    );

    let commented = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-comment-incident.toml"),
        &work_order("in_progress"),
        Some(&id),
    )
    .await
    .expect("comment succeeds")
    .expect("something to send");
    assert_eq!(commented.id.as_deref(), Some(id.as_str()));
    let trail = h.sim.trail(&id);
    let action = trail.last().expect("a trail entry");
    assert_eq!(
        action["memoText"],
        "facilities work order WO-1042 (No heating on floor 3): in progress"
    );
    assert_eq!(action["invisibleForCaller"], false, "the caller sees it");
    let rec = h.sim.get(&id).expect("incident exists");
    assert_eq!(
        name(&rec, "processingStatus"),
        "Completed",
        "a comment changes nothing else"
    );

    // The next sync reads our incident back like any other.
    let job = topdesk_incident_job(&topdesk_manifest(&h.base_url, &QUICK));
    let report = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds");
    assert_eq!(report.quarantined, 0, "{report:?}");
    let stored = ts
        .store
        .work_item_summary("topdesk", "incident", &id)
        .await
        .unwrap()
        .expect("the created incident is stored under its id");
    assert_eq!(stored.title, "No heating on floor 3");
    assert_eq!(stored.status, "resolved");
    assert_eq!(stored.native_status.as_deref(), Some("Completed"));
    assert_eq!(stored.priority, Some(2));
}

on_every_backend!(create_update_comment_then_sync);

#[tokio::test]
async fn per_record_attributes_pick_the_caller_group_and_category() {
    let h = sim().await;
    let conn = connector(&h);
    let person = h.sim.persons()[0].clone();
    let mut record = work_order("new");
    for (k, v) in [
        (
            "topdesk_caller_id",
            person["id"].as_str().unwrap_or_default(),
        ),
        ("topdesk_operator_group", "Workplace Support"),
        ("topdesk_category", "Hardware"),
        ("topdesk_subcategory", "Docking station"),
    ] {
        record = common::with_attribute(record, k, v);
    }
    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-create-incident.toml"),
        &record,
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    let rec = h
        .sim
        .get(created.id.as_deref().unwrap_or_default())
        .expect("incident exists");
    assert_eq!(rec["caller"], person, "the registered caller");
    assert_eq!(name(&rec, "operatorGroup"), "Workplace Support");
    assert_eq!(name(&rec, "category"), "Hardware");
    assert_eq!(name(&rec, "subcategory"), "Docking station");
}

#[tokio::test]
async fn a_create_survives_a_busy_environment_and_is_sent_once() {
    let h = sim().await;
    let conn = connector(&h);
    let before = h.sim.count();
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-create-incident.toml"),
        &work_order("new"),
        None,
    )
    .await
    .expect("the create goes through after the 429")
    .expect("something to send");
    assert!(created.id.is_some());
    assert_eq!(h.sim.count(), before + 1);

    // A 500 may hide a create that happened: not resent, reported transient.
    h.sim.inject(Fault::ServerError, 1);
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-create-incident.toml"),
        &work_order("new"),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err}");
    let statuses: Vec<u16> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(
        statuses,
        [429, 201, 500],
        "429 then retry, then one 500 not retried"
    );
    assert_eq!(h.sim.count(), before + 1);
}

#[tokio::test]
async fn a_refused_create_is_a_dead_letter_with_the_whole_exchange() {
    let h = sim().await;
    let conn = connector(&h);
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-create-incident.toml"),
        &common::with_attribute(work_order("new"), "topdesk_operator_group", "Plumbing"),
        None,
    )
    .await
    .unwrap_err();
    assert!(!err.is_transient());
    let WriteError::Connector(ConnectorError::Rejected { system, exchange }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "topdesk");
    assert_eq!(exchange.method, "POST");
    assert_eq!(exchange.status, 400);
    assert!(exchange.url.ends_with("/tas/api/incidents"));
    let body = exchange.request_body.as_ref().expect("the body sent");
    assert_eq!(body["operatorGroup"], json!({"name": "Plumbing"}));
    assert_eq!(body["briefDescription"], json!("No heating on floor 3"));
    assert!(
        exchange
            .response_body
            .contains("No operatorGroup found with name 'Plumbing'."),
        "{}",
        exchange.response_body
    );
    assert_eq!(h.sim.count(), 5, "nothing was created");
}

#[tokio::test]
async fn an_update_of_a_missing_incident_is_a_dead_letter() {
    let h = sim().await;
    let conn = connector(&h);
    let missing = "00000000-0000-4000-8000-000000000000";
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("topdesk-update-incident.toml"),
        &work_order("in_progress"),
        Some(missing),
    )
    .await
    .unwrap_err();
    let WriteError::Connector(ConnectorError::Rejected { exchange, .. }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(exchange.method, "PATCH");
    assert_eq!(exchange.status, 404);
    assert!(
        exchange
            .url
            .ends_with(&format!("/tas/api/incidents/id/{missing}"))
    );
    assert_eq!(
        exchange
            .request_body
            .as_ref()
            .map(|b| &b["processingStatus"]),
        Some(&json!({"name": "In progress"}))
    );
    assert!(
        exchange.response_body.contains("No incident found"),
        "{}",
        exchange.response_body
    );
}
