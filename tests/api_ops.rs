//! Operations through the API, on both stores, against the simulated
//! estate: each connector's streams and how they last ran, a sync started
//! now by an admin, and the audit log recording who did it from where.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use switchboard::api::{ApiState, Tokens, router};
use switchboard::config::ApiSettings;

use common::Backend;
use common::api::token;
use common::hub::Hub;

async fn serve(hub: &mut Hub) -> String {
    let settings = ApiSettings {
        tokens: vec![
            token("agents", "agent-token", &["agent"]),
            token("ops", "admin-token", &["admin"]),
        ],
        ..ApiSettings::default()
    };
    let connectors = std::mem::take(&mut hub.connectors)
        .into_iter()
        .map(Arc::new)
        .collect();
    let app = router(ApiState {
        store: hub.store().clone(),
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: None,
        router: None,
        connectors,
        broker: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    base
}

async fn call(
    method: reqwest::Method,
    base: &str,
    path: &str,
    bearer: &str,
) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn finished(connectors: &Value, system: &str) -> bool {
    connectors
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["system"] == system)
        .flat_map(|c| c["streams"].as_array().cloned().unwrap_or_default())
        .any(|s| s["last_run_finished_at"].is_string())
}

async fn an_admin_syncs_a_connector_and_the_audit_log_says_so(backend: Backend) {
    let mut hub = Hub::start(backend).await;
    let base = serve(&mut hub).await;
    let get = reqwest::Method::GET;
    let post = reqwest::Method::POST;

    let (status, list) = call(get.clone(), &base, "/api/v1/connectors", "agent-token").await;
    assert_eq!(status, 200, "{list}");
    let sn = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["system"] == "servicenow")
        .expect("servicenow is listed");
    assert!(sn["next_run"].is_string(), "{sn}");
    assert!(!finished(&list, "servicenow"), "nothing ran yet: {list}");

    let (status, _) = call(
        post.clone(),
        &base,
        "/api/v1/connectors/servicenow/sync",
        "agent-token",
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an agent does not run syncs");
    let (status, _) = call(
        post.clone(),
        &base,
        "/api/v1/connectors/nope/sync",
        "admin-token",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, started) = call(
        post,
        &base,
        "/api/v1/connectors/servicenow/sync",
        "admin-token",
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{started}");

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, list) = call(get.clone(), &base, "/api/v1/connectors", "agent-token").await;
        if finished(&list, "servicenow") {
            break;
        }
        assert!(Instant::now() < deadline, "the sync never finished: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (status, _) = call(get.clone(), &base, "/api/v1/audit", "agent-token").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, log) = call(get, &base, "/api/v1/audit", "admin-token").await;
    assert_eq!(status, 200, "{log}");
    let row = &log[0];
    assert_eq!(
        (
            row["actor"].as_str(),
            row["action"].as_str(),
            row["target"].as_str(),
            row["remote"].as_str()
        ),
        (
            Some("ops"),
            Some("sync"),
            Some("servicenow"),
            Some("127.0.0.1")
        ),
        "{log}"
    );
    assert!(row["detail"]["streams"].is_array(), "{row}");
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "a refused call is not an action: {log}"
    );
    hub.estate.shutdown().await;
}

on_every_backend!(an_admin_syncs_a_connector_and_the_audit_log_says_so);
