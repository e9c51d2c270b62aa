//! The API's limits: a token that calls too often is answered 429 with
//! `Retry-After`, and browsers on configured origins only get CORS headers.

mod common;

use std::sync::Arc;

use reqwest::StatusCode;
use switchboard::api::{ApiState, Tokens, router};
use switchboard::config::ApiSettings;

use common::api::token;
use common::{Backend, TestStore};

async fn serve(settings: ApiSettings) -> String {
    let ts = TestStore::new(Backend::Sqlite).await;
    let app = router(ApiState {
        store: ts.store.clone(),
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: None,
        router: None,
        connectors: Vec::new(),
        broker: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // The store lives as long as the server.
        let _ts = ts;
        let _ = axum::serve(listener, app).await;
    });
    base
}

#[tokio::test]
async fn a_token_that_calls_too_often_is_told_when_to_come_back() {
    let base = serve(ApiSettings {
        tokens: vec![
            token("busy", "busy-token", &["read"]),
            token("calm", "calm-token", &["read"]),
        ],
        rate_limit_per_minute: 2,
        ..ApiSettings::default()
    })
    .await;
    let call = |t: &'static str| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/work-items"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(call("busy-token").await.status(), 200);
    assert_eq!(call("busy-token").await.status(), 200);
    let third = call("busy-token").await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = third.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: serde_json::Value = third.json().await.unwrap();
    assert_eq!(body["status"], 429);
    // Each token has its own allowance.
    assert_eq!(call("calm-token").await.status(), 200);
}

#[tokio::test]
async fn only_configured_origins_get_cors_headers() {
    let base = serve(ApiSettings {
        tokens: vec![token("portal", "portal-token", &["portal"])],
        cors_origins: vec!["https://portal.example.com".into()],
        ..ApiSettings::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        let base = base.clone();
        async move {
            reqwest::Client::new()
                .request(
                    reqwest::Method::OPTIONS,
                    format!("{base}/api/v1/me/requests"),
                )
                .header("Origin", origin)
                .header("Access-Control-Request-Method", "GET")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, switchboard-employee",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let ok = preflight("https://portal.example.com").await;
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://portal.example.com")
    );
    let allowed = ok.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("switchboard-employee"), "{allowed}");
    let other = preflight("https://evil.example.net").await;
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // None configured (the default): no CORS headers at all.
    let base = serve(ApiSettings::default()).await;
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v1/work-items"))
        .header("Origin", "https://portal.example.com")
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
