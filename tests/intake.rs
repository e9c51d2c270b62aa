//! Intake end to end, on both stores: an employee raises a Facilities
//! request at the front door (`POST /api/v1/requests`); exactly one work
//! order appears in the Maximo simulator, a retry with the same
//! `Idempotency-Key` creates nothing, and the employee's view shows the
//! work order's progress once Maximo moves it. The same over RabbitMQ: the
//! outbox relay publishes the request, Maximo's writer consumes it.

mod common;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::api::{ApiState, EMPLOYEE_HEADER, IDEMPOTENCY_HEADER, Tokens, router};
use switchboard::config::ApiSettings;
use switchboard::sim::maximo::model::rest_id;

use common::Backend;
use common::api::{get_as, token};
use common::broker::{amqp_url, delete_topology, test_topology};
use common::hub::Hub;

async fn serve(hub: &Hub) -> String {
    let settings = ApiSettings {
        tokens: vec![
            token("portal", "portal-token", &["portal"]),
            token("agents", "agent-token", &["agent"]),
        ],
        ..ApiSettings::default()
    };
    let services =
        switchboard::services::Services::load(&common::repo().join("services.toml")).unwrap();
    let app = router(ApiState {
        store: hub.store().clone(),
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: Some(Arc::new(services)),
        router: hub
            .connectors
            .iter()
            .flat_map(|c| &c.jobs)
            .find_map(|j| j.router.clone()),
        connectors: Vec::new(),
        broker: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn post(
    base: &str,
    body: &Value,
    key: Option<&str>,
    employee: Option<&str>,
    bearer: &str,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(bearer)
        .json(body);
    if let Some(k) = key {
        req = req.header(IDEMPOTENCY_HEADER, k);
    }
    if let Some(e) = employee {
        req = req.header(EMPLOYEE_HEADER, e);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn repair() -> Value {
    json!({"offering": "facilities-repair", "fields": {
        "location": "B2, floor 3, room 312", "summary": "Radiator cold",
        "urgency": "Today, please"}})
}

async fn a_request_becomes_one_work_order_and_shows_its_progress(backend: Backend) {
    let hub = Hub::start(backend).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let base = serve(&hub).await;
    let maximo = &hub.estate.maximo.sim;
    let before = maximo.count();
    let ann = Some("ann@example.com");

    let (status, first) = post(&base, &repair(), Some("k-1"), ann, "portal-token").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        first["item"]["title"],
        "B2, floor 3, room 312: Radiator cold"
    );
    assert_eq!(first["item"]["requester_ref"], "ann@example.com");
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    assert_eq!(maximo.count(), before + 1, "one work order");

    // The portal retries (a timeout on its side): nothing new anywhere.
    let (status, again) = post(&base, &repair(), Some("k-1"), ann, "portal-token").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["item"]["id"], first["item"]["id"]);
    assert_eq!(hub.deliver().await.claimed, 0);
    assert_eq!(maximo.count(), before + 1, "still one work order");
    // The same key with other answers is refused.
    let mut other = repair();
    other["fields"]["summary"] = json!("Lights out");
    let (status, body) = post(&base, &other, Some("k-1"), ann, "portal-token").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Facilities starts work in Maximo; the employee sees it.
    maximo_starts(&hub, "Radiator cold").await;
    hub.deliver().await;
    ann_sees_it_in_progress(&base, &first["item"]["id"]).await;
    hub.estate.shutdown().await;
}

/// Maximo starts the work order that carries `summary`; the next sync
/// brings its status back.
async fn maximo_starts(hub: &Hub, summary: &str) {
    let maximo = &hub.estate.maximo.sim;
    let order = maximo
        .records()
        .into_iter()
        .find(|w| {
            w["description"]
                .as_str()
                .is_some_and(|d| d.contains(summary))
        })
        .expect("the work order carries the request");
    let text = |k: &str| order[k].as_str().unwrap_or_default().to_string();
    maximo
        .update(
            &rest_id(&text("siteid"), &text("wonum")),
            json!({"status": "INPRG"}),
        )
        .expect("Maximo takes the status");
    hub.sync("maximo").await;
}

/// The employee's newest request is `id`, and its Maximo work order is
/// in progress.
async fn ann_sees_it_in_progress(base: &str, id: &Value) {
    let (status, mine) = get_as(base, "/api/v1/me/requests", "ann@example.com").await;
    assert_eq!(status, 200, "{mine}");
    let request = &mine["items"][0];
    assert_eq!(&request["item"]["id"], id, "{mine}");
    let link = &request["journey"]["links"][0];
    assert_eq!(
        (link["system"].as_str(), link["status"].as_str()),
        (Some("maximo"), Some("in_progress")),
        "the work order's progress: {mine}"
    );
}

async fn a_request_over_rabbitmq_becomes_one_work_order(backend: Backend) {
    use std::time::{Duration, Instant};
    use switchboard::config::Secret;
    use switchboard::transport::{RelayOptions, WriterOptions, run_relay, run_writer};
    use tokio_util::sync::CancellationToken;

    let hub = Hub::start(backend).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let base = serve(&hub).await;
    let maximo = &hub.estate.maximo.sim;
    let before = maximo.count();
    // Queues of our own on the shared broker, per backend.
    let topology = test_topology(&format!("intake{backend:?}").to_lowercase());
    let stop = CancellationToken::new();
    let url = Secret::new(amqp_url());
    let writer = hub.writers.get("maximo").expect("a Maximo writer").clone();
    let tasks = [
        tokio::spawn(run_writer(
            url.clone(),
            "maximo".into(),
            writer,
            WriterOptions {
                topology: topology.clone(),
                ..WriterOptions::default()
            },
            stop.clone(),
        )),
        tokio::spawn(run_relay(
            hub.store().clone(),
            url,
            RelayOptions {
                retry_in: Duration::from_millis(200),
                topology: topology.clone(),
                ..RelayOptions::default()
            },
            stop.clone(),
        )),
    ];
    let ann = Some("ann@example.com");
    let settle = async |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };

    let (status, first) = post(&base, &repair(), Some("amqp-1"), ann, "portal-token").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    settle("the work order", &|| maximo.count() > before).await;
    // A retried POST publishes nothing: give a stray message time to land.
    let (status, again) = post(&base, &repair(), Some("amqp-1"), ann, "portal-token").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["item"]["id"], first["item"]["id"]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(maximo.count(), before + 1, "exactly one work order");
    assert_eq!(hub.outbox_total().await, 1, "one routed message, sent once");

    maximo_starts(&hub, "Radiator cold").await;
    ann_sees_it_in_progress(&base, &first["item"]["id"]).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    delete_topology(&topology, &["maximo"]).await;
    hub.estate.shutdown().await;
}

async fn answers_and_callers_are_checked(backend: Backend) {
    let hub = Hub::start(backend).await;
    let base = serve(&hub).await;
    let ann = Some("ann@example.com");
    let (status, body) = post(
        &base,
        &json!({"offering": "facilities-repair", "fields": {"location": "B2"}}),
        None,
        ann,
        "portal-token",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"summary") && fields.contains(&"urgency"),
        "{body}"
    );
    let (status, _) = post(
        &base,
        &json!({"offering": "nope"}),
        None,
        ann,
        "portal-token",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = post(
        &base,
        &json!({"offering": "facilities-repair", "oops": 1}),
        None,
        ann,
        "portal-token",
    )
    .await;
    assert!(
        status.is_client_error() && status != StatusCode::NOT_FOUND,
        "{status}"
    );
    // A portal raises only for the employee it acts for; an agent for anyone.
    let mut for_bob = repair();
    for_bob["requester"] = json!("bob@example.com");
    let (status, _) = post(&base, &for_bob, None, ann, "portal-token").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(&base, &repair(), None, None, "portal-token").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = post(&base, &for_bob, None, None, "agent-token").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["item"]["requester_ref"], "bob@example.com");
    hub.estate.shutdown().await;
}

on_every_backend!(
    a_request_becomes_one_work_order_and_shows_its_progress,
    answers_and_callers_are_checked,
    a_request_over_rabbitmq_becomes_one_work_order,
);
