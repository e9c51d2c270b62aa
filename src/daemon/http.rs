//! The daemon's HTTP surface: liveness, readiness, sync status, metrics.
//!
//! `/metrics` serves Prometheus text. Probes must stay cheap and honest: `/healthz` answers while the process
//! runs; `/readyz` only when the store answers and is fully migrated.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use serde_json::json;

use crate::store::Store;

pub fn router(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(store)
}

async fn readyz(State(store): State<Store>) -> impl IntoResponse {
    match store.ready().await {
        Ok(true) => (StatusCode::OK, "ready".to_string()),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "store reachable, migrations not applied".to_string(),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unreachable: {e}"),
        ),
    }
}

/// Prometheus text format.
async fn metrics() -> impl IntoResponse {
    match crate::telemetry::metrics() {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (
            StatusCode::NOT_FOUND,
            "metrics recorder not installed".to_string(),
        ),
    }
}

/// Cursor, last run and last error of every stream: what on-call looks at first.
async fn status(State(store): State<Store>) -> impl IntoResponse {
    match store.sync_states().await {
        Ok(streams) => (StatusCode::OK, Json(json!({ "streams": streams }))),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}
