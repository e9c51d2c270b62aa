//! The web pages' test harness: the pages and the API served on a real
//! socket with a portal and a read token and the shipped catalogue, and a
//! browser's requests without a browser (cookies, forms with an origin).

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use switchboard::api::{ApiState, Tokens};
use switchboard::config::{ApiSettings, WebSettings};
use switchboard::store::Store;

use super::api::token;

pub async fn serve(store: Store, web: WebSettings) -> String {
    serve_with_broker(store, web, None).await
}

pub async fn serve_with_broker(
    store: Store,
    web: WebSettings,
    broker: Option<switchboard::api::DeadLetterBroker>,
) -> String {
    let settings = ApiSettings {
        tokens: vec![
            token("portal", "portal-token", &["portal"]),
            token("dashboard", "read-token", &["read"]),
        ],
        ..ApiSettings::default()
    };
    let services =
        switchboard::services::Services::load(&super::repo().join("services.toml")).unwrap();
    let api = ApiState {
        store,
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: Some(Arc::new(services)),
        router: None,
        connectors: Vec::new(),
        broker,
    };
    let app = switchboard::web::router(api.clone(), &web).merge(switchboard::api::router(api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A page as a browser on this site would ask for it, with `cookie`.
pub async fn get(base: &str, path: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, String) {
    let mut req = client().get(format!("{base}{path}"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status(),
        resp.headers().clone(),
        resp.text().await.unwrap(),
    )
}

/// A form sent from `origin` (this site's, unless a test says otherwise).
pub async fn post(
    base: &str,
    path: &str,
    cookie: Option<&str>,
    origin: &str,
    form: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut req = client()
        .post(format!("{base}{path}"))
        .header("origin", origin)
        .form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status(),
        resp.headers().clone(),
        resp.text().await.unwrap(),
    )
}

/// Sign in; the cookie to send back.
pub async fn sign_in(base: &str, token: &str, employee: &str) -> String {
    let (status, headers, body) = post(
        base,
        "/signin",
        None,
        base,
        &[("token", token), ("employee", employee)],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let set = headers[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
        "{set}"
    );
    assert!(
        !set.contains(token),
        "the cookie never carries the token: {set}"
    );
    set.split(';').next().unwrap().to_string()
}
