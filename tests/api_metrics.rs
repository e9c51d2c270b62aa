//! What the API adds to `/metrics`: calls and their latency by route
//! pattern (never the ids in a path), requests raised per offering, and
//! how long the oldest undelivered routed work has waited.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use switchboard::api::{ApiState, EMPLOYEE_HEADER, Tokens};
use switchboard::config::ApiSettings;

use common::api::token;
use common::{Backend, TestStore};

#[tokio::test]
async fn calls_intake_and_waiting_work_are_measured() {
    switchboard::telemetry::metrics();
    let ts = TestStore::new(Backend::Sqlite).await;
    let settings = ApiSettings {
        tokens: vec![
            token("agents", "agent-token", &["agent"]),
            token("portal", "portal-token", &["portal"]),
        ],
        ..ApiSettings::default()
    };
    let services =
        switchboard::services::Services::load(&common::repo().join("services.toml")).unwrap();
    let api = switchboard::api::router(ApiState {
        store: ts.store.clone(),
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: Some(Arc::new(services)),
        router: None,
        connectors: Vec::new(),
        broker: None,
    });
    let app = switchboard::daemon::http::router(ts.store.clone(), HashMap::new()).merge(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let client = reqwest::Client::new();
    for path in ["/api/v1/work-items/41", "/api/v1/work-items/42"] {
        let resp = client
            .get(format!("{base}{path}"))
            .bearer_auth("agent-token")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
    // A request raised: its work waits in the outbox (no delivery runs).
    let resp = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth("portal-token")
        .header(EMPLOYEE_HEADER, "ann@example.com")
        .json(&json!({"offering": "facilities-repair", "fields": {
            "location": "B2", "summary": "Door stuck", "urgency": "Today, please"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);

    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle) && !l.starts_with('#'))
            .map(str::to_string)
    };
    let calls = line("switchboard_api_requests_total{").unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.starts_with("switchboard_api_requests_total{")
                && l.contains("route=\"/api/v1/work-items/{id}\"")
                && l.contains("status=\"404\"")
                && l.ends_with(" 2")),
        "two calls under one route pattern: {calls}\n{text}"
    );
    assert!(!text.contains("work-items/41"), "no ids in labels");
    assert!(line("switchboard_api_request_seconds").is_some(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("switchboard_intake_requests_total{")
                && l.contains("offering=\"facilities-repair\"")),
        "{text}"
    );
    let age = line("switchboard_outbox_oldest_pending_seconds").expect("the gauge is there");
    let secs: f64 = age.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((0.0..60.0).contains(&secs), "{age}");
}
