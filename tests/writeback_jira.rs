//! Write-back into Jira Service Management through the shipped manifest's
//! actions and outbound mappings, against the simulator: a customer request
//! created from a canonical work item, moved along its workflow and
//! commented, then synced back into both stores; refusals keep the whole
//! exchange.

mod common;

use serde_json::json;
use switchboard::connector::{Connector, ConnectorError};
use switchboard::sim::jira::{Fault, JiraSim, SimConfig, SimHandle};
use switchboard::writeback::{WriteError, write_back};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, jira_manifest, jira_request_job};

const QUICK: [(&str, &str); 2] = [
    ("max_attempts = 5", "max_attempts = 3"),
    ("initial_backoff_ms = 1000", "initial_backoff_ms = 50"),
];

async fn sim() -> SimHandle {
    JiraSim::spawn(SimConfig {
        requests: 5,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

fn connector(h: &SimHandle) -> std::sync::Arc<dyn Connector> {
    let m = jira_manifest(&h.base_url, &QUICK);
    common::connector_of(&m)
}

async fn create_transition_comment_then_sync(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let conn = connector(&h);

    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("jira-create-request.toml"),
        &common::facilities_work_order("new"),
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    assert_eq!(created.status, 201);
    let issue_id = created.id.expect("the new request's issue id");
    let req = h.sim.get(&issue_id).expect("request exists");
    assert_eq!(req.issue_id.to_string(), issue_id, "the id is the issueId");
    assert_eq!(req.service_desk_id, "1");
    assert_eq!(req.request_type_id, "1");
    assert_eq!(req.summary, "No heating on floor 3");
    assert_eq!(
        req.description.as_deref(),
        Some(
            "Radiators cold since 7:00\n\nRaised by Switchboard for facilities work order WO-1042."
        )
    );
    assert_eq!(
        req.reporter,
        h.sim.me(),
        "raised by the integration account"
    );
    assert_eq!(req.status(), "Waiting for support");

    // Work that has not moved on yet sends nothing.
    let before = h.sim.requests().len();
    let skipped = write_back(
        conn.as_ref(),
        &common::shipped_outbound("jira-transition-request.toml"),
        &common::facilities_work_order("open"),
        Some(&issue_id),
    )
    .await
    .expect("nothing to fail");
    assert!(skipped.is_none());
    assert_eq!(h.sim.requests().len(), before, "no request was made");

    for (status, jira_status) in [("in_progress", "In progress"), ("resolved", "Resolved")] {
        let moved = write_back(
            conn.as_ref(),
            &common::shipped_outbound("jira-transition-request.toml"),
            &common::facilities_work_order(status),
            Some(&issue_id),
        )
        .await
        .unwrap_or_else(|e| panic!("transition to {status}: {e}"))
        .expect("something to send");
        assert_eq!(moved.status, 204);
        assert_eq!(moved.id.as_deref(), Some(issue_id.as_str()));
        let req = h.sim.get(&issue_id).expect("request exists");
        assert_eq!(req.status(), jira_status);
    }
    let req = h.sim.get(&issue_id).expect("request exists");
    let remarks: Vec<&str> = req.comments.iter().map(|c| c.body.as_str()).collect();
    assert_eq!(
        remarks,
        [
            "facilities work order WO-1042 (No heating on floor 3): in progress",
            "facilities work order WO-1042 (No heating on floor 3): resolved",
        ],
        "each transition says why"
    );

    let commented = write_back(
        conn.as_ref(),
        &common::shipped_outbound("jira-comment-request.toml"),
        &common::facilities_work_order("closed"),
        Some(&issue_id),
    )
    .await
    .expect("comment succeeds")
    .expect("something to send");
    assert_eq!(commented.status, 201);
    assert_eq!(commented.id.as_deref(), Some(issue_id.as_str()));
    let req = h.sim.get(&issue_id).expect("request exists");
    let last = req.comments.last().expect("a comment");
    assert_eq!(
        last.body,
        "facilities work order WO-1042 (No heating on floor 3): closed"
    );
    assert!(last.public, "the customer sees it");
    assert_eq!(last.author, h.sim.me());

    // The next sync reads our request back like any other.
    let job = jira_request_job(&jira_manifest(&h.base_url, &QUICK));
    let report = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds");
    assert_eq!(report.quarantined, 0, "{report:?}");
    let stored = ts
        .store
        .work_item_summary("jira", "request", &issue_id)
        .await
        .unwrap()
        .expect("the created request is stored under its issue id");
    assert_eq!(stored.title, "No heating on floor 3");
    assert_eq!(stored.status, "resolved");
    assert_eq!(stored.native_status.as_deref(), Some("Resolved"));
}

on_every_backend!(create_transition_comment_then_sync);

#[tokio::test]
async fn per_record_attributes_pick_the_request_type_and_the_customer() {
    let h = sim().await;
    let conn = connector(&h);
    let customer = h.sim.customers()[2].clone();
    let record = common::with_attribute(
        common::with_attribute(
            common::facilities_work_order("new"),
            "jira_request_type_id",
            "3",
        ),
        "jira_account_id",
        &customer.account_id,
    );
    let created = write_back(
        conn.as_ref(),
        &common::shipped_outbound("jira-create-request.toml"),
        &record,
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    let req = h
        .sim
        .get(created.id.as_deref().unwrap_or_default())
        .expect("request exists");
    assert_eq!(req.request_type_id, "3");
    assert_eq!(req.reporter, customer, "raised on the customer's behalf");
}

#[tokio::test]
async fn a_create_survives_a_busy_site_and_is_sent_once() {
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
        &common::shipped_outbound("jira-create-request.toml"),
        &common::facilities_work_order("new"),
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
        &common::shipped_outbound("jira-create-request.toml"),
        &common::facilities_work_order("new"),
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
        &common::shipped_outbound("jira-create-request.toml"),
        &common::with_attribute(
            common::facilities_work_order("new"),
            "jira_request_type_id",
            "77",
        ),
        None,
    )
    .await
    .unwrap_err();
    assert!(!err.is_transient());
    let WriteError::Connector(ConnectorError::Rejected { system, exchange }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "jira");
    assert_eq!(exchange.method, "POST");
    assert_eq!(exchange.status, 400);
    assert!(exchange.url.ends_with("/rest/servicedeskapi/request"));
    let body = exchange.request_body.as_ref().expect("the body sent");
    assert_eq!(body["requestTypeId"], json!("77"));
    assert_eq!(
        body["requestFieldValues"]["summary"],
        json!("No heating on floor 3")
    );
    assert!(
        exchange
            .response_body
            .contains("The request type '77' does not exist"),
        "{}",
        exchange.response_body
    );
    assert_eq!(h.sim.count(), 5, "nothing was created");
}

#[tokio::test]
async fn a_comment_on_a_missing_request_is_a_dead_letter() {
    let h = sim().await;
    let conn = connector(&h);
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("jira-comment-request.toml"),
        &common::facilities_work_order("in_progress"),
        Some("IT-404"),
    )
    .await
    .unwrap_err();
    let WriteError::Connector(ConnectorError::Rejected { exchange, .. }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(exchange.status, 404);
    assert!(
        exchange
            .url
            .ends_with("/rest/servicedeskapi/request/IT-404/comment")
    );
    assert_eq!(
        exchange.request_body.as_ref().and_then(|b| b.get("public")),
        Some(&json!(true))
    );
    assert!(
        exchange.response_body.contains("Request does not exist"),
        "{}",
        exchange.response_body
    );
}

#[tokio::test]
async fn a_transition_the_workflow_does_not_offer_is_a_dead_letter() {
    let h = sim().await;
    let conn = connector(&h);
    let id = h.sim.insert(h.sim.template("1", "Monitor flickers"));
    // Resolve is offered from In progress only; the request waits for support.
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("jira-transition-request.toml"),
        &common::facilities_work_order("resolved"),
        Some(&id),
    )
    .await
    .unwrap_err();
    let WriteError::Connector(ConnectorError::Rejected { exchange, .. }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(exchange.status, 400);
    assert_eq!(
        exchange.request_body.as_ref().and_then(|b| b.get("id")),
        Some(&json!("51"))
    );
    assert!(
        exchange.response_body.contains("'51' is not available"),
        "{}",
        exchange.response_body
    );
    assert_eq!(
        h.sim.get(&id).expect("there").status(),
        "Waiting for support"
    );
}
