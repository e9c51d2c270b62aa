//! The API served over a hub for the repair tests (`api_repair*.rs`):
//! an agent token and an admin token, the daemon's connectors handed over
//! as `daemon::run` does, and calls that check every refusal is a problem
//! detail.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use switchboard::api::{ApiState, DeadLetterBroker, Tokens, router};
use switchboard::catalog::ConnectorJobs;
use switchboard::config::ApiSettings;

use super::api::token;
use super::hub::Hub;

pub async fn serve(hub: &mut Hub) -> (String, Vec<Arc<ConnectorJobs>>) {
    serve_with(hub, None).await
}

pub async fn serve_with(
    hub: &mut Hub,
    broker: Option<DeadLetterBroker>,
) -> (String, Vec<Arc<ConnectorJobs>>) {
    let settings = ApiSettings {
        tokens: vec![
            token("agents", "agent-token", &["agent"]),
            token("ops", "admin-token", &["admin"]),
        ],
        ..ApiSettings::default()
    };
    let connectors: Vec<Arc<ConnectorJobs>> = std::mem::take(&mut hub.connectors)
        .into_iter()
        .map(Arc::new)
        .collect();
    let app = router(ApiState {
        store: hub.store().clone(),
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: None,
        router: None,
        connectors: connectors.clone(),
        broker,
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
    (base, connectors)
}

/// A call with an optional bearer and an optional JSON body.
pub async fn call(
    method: Method,
    base: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    if status.is_client_error() {
        let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert_eq!(content_type, "application/problem+json", "{path}");
    }
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub async fn get(base: &str, path: &str, bearer: Option<&str>) -> (StatusCode, Value) {
    call(Method::GET, base, path, bearer, None).await
}

pub async fn post(
    base: &str,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call(Method::POST, base, path, Some(bearer), body).await
}

pub fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

pub async fn audited(base: &str, action: &str) -> Vec<Value> {
    let (status, log) = get(base, "/api/v1/audit", Some("admin-token")).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    log.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .cloned()
        .collect()
}
