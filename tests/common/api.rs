//! Serving the HTTP API on a real socket for tests, with one token per
//! scope the tests need.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use switchboard::api::{ApiState, Tokens, router};
use switchboard::config::{ApiSettings, ApiToken, SecretRef};
use switchboard::store::Store;

pub fn token(name: &str, secret: &str, scopes: &[&str]) -> ApiToken {
    ApiToken {
        name: name.into(),
        token: Some(SecretRef::parse(secret)),
        sha256: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    }
}

/// The clients every API test knows: an agent, an HR desk, a portal and a
/// dashboard.
pub fn settings() -> ApiSettings {
    // One client by hash, as an admin who keeps no secret in the file would.
    let by_hash = ApiToken {
        name: "dashboard".into(),
        token: None,
        sha256: Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            b"dash-token",
        ))),
        scopes: vec!["read".into()],
    };
    ApiSettings {
        tokens: vec![
            token("agents", "agent-token", &["agent"]),
            token("hr-desk", "hr-token", &["read", "hr"]),
            token("portal", "portal-token", &["portal"]),
            by_hash,
        ],
        ..ApiSettings::default()
    }
}

pub async fn serve(store: Store) -> String {
    let tokens = Tokens::from_settings(&settings()).expect("tokens resolve");
    serve_with(store, tokens).await
}

/// Serve the API with these clients and the shipped service catalogue.
pub async fn serve_with(store: Store, tokens: Tokens) -> String {
    let services = switchboard::services::Services::load(&super::repo().join("services.toml"))
        .unwrap_or_else(|d| panic!("{d}"));
    let app = router(ApiState {
        store,
        tokens: Arc::new(tokens),
        services: Some(Arc::new(services)),
        router: None,
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

pub async fn get(base: &str, path: &str, bearer: Option<&str>) -> (StatusCode, String, Value) {
    let mut req = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (
        status,
        content_type,
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// A GET as a portal acting for `employee`.
pub async fn get_as(base: &str, path: &str, employee: &str) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth("portal-token")
        .header(switchboard::api::EMPLOYEE_HEADER, employee)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}
