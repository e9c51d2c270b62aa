//! The daemon's HTTP surface: liveness, readiness, sync status, metrics,
//! and the webhook endpoints `POST /hooks/{system}`.
//!
//! `/metrics` serves Prometheus text. Probes must stay cheap and honest: `/healthz` answers while the process
//! runs; `/readyz` only when the store answers and is fully migrated, the
//! broker (if any) answers, and the instance is not draining (`ready.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::connector::Connector;
use crate::mapping::MappingSlot;
use crate::store::{Delivery, PageWrite, StagedRecord, Store};
use crate::sync::{content_hash, map_record, missing_key};
use crate::telemetry::events;
use crate::telemetry::text::Escaped;

/// A `webhook` connector's stream, ready to take deliveries.
#[derive(Debug, Clone)]
pub struct Hook {
    pub connector: Arc<dyn Connector>,
    pub mapping: MappingSlot,
    pub department: String,
    /// Routing for what deliveries change; a push has no baseline run, so
    /// every delivery is routed.
    pub router: Option<Arc<crate::sync::Router>>,
}

#[derive(Clone)]
struct App {
    store: Store,
    hooks: Arc<HashMap<String, Hook>>,
    ready: super::ready::Readiness,
}

/// The probes and webhooks, `/readyz` asking the store alone.
pub fn router(store: Store, hooks: HashMap<String, Hook>) -> Router {
    router_with(store, hooks, Default::default())
}

/// The probes and webhooks, `/readyz` asking what `ready` says.
pub fn router_with(
    store: Store,
    hooks: HashMap<String, Hook>,
    ready: super::ready::Readiness,
) -> Router {
    let app = App {
        store,
        hooks: Arc::new(hooks),
        ready,
    };
    Router::new()
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/hooks/{system}", post(hook))
        .with_state(app)
}

/// Take one delivery: verify, map, and store it with its id in one
/// transaction, then answer. Only a stored delivery gets a 2xx, so a sender
/// that sees anything else retries it.
async fn hook(
    State(app): State<App>,
    Path(system): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = |status: StatusCode, message: String| {
        (status, Json(json!({ "error": message }))).into_response()
    };
    let Some((hook, wh)) = app
        .hooks
        .get(&system)
        .and_then(|h| h.connector.as_webhook().map(|w| (h, w)))
    else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no webhook connector `{system}`"),
        );
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Err(refused) = wh.verify(header(wh.signature_header()), &body) {
        tracing::warn!(connector = %system, reason = %refused, "webhook delivery refused");
        return error(StatusCode::UNAUTHORIZED, refused.to_string());
    }
    // Signed but malformed: the sender's data is wrong, a retry cannot help.
    let mut value: Value = match crate::text::parse_json_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    // The store's text rule (`crate::text`): a NUL is replaced, never a 503
    // that every retry of the sender meets again.
    let replaced = crate::text::scrub(&mut value);
    if replaced > 0 {
        events::TextReplaced {
            connector: &system,
            stream: wh.stream(),
            characters: replaced,
        }
        .emit();
    }
    let delivery_id = wh.delivery_id(wh.delivery_id_header().and_then(header), &value, &body);
    let mapping = hook.mapping.current();
    let records: Vec<StagedRecord> = wh
        .records(&value)
        .into_iter()
        .filter_map(|rec| {
            let payload_json = serde_json::to_string(&rec.payload).unwrap_or_default();
            let hash = content_hash(&payload_json);
            let Some(key) = rec.key else {
                return Some(missing_key(hash, payload_json));
            };
            let outcome = map_record(&mapping, &hook.department, &rec.payload)?;
            Some(StagedRecord {
                external_id: key,
                content_hash: hash,
                payload_json,
                outcome,
            })
        })
        .collect();
    let carried = records.len();
    if carried == 0 {
        // Taken (a sender sends other events too, and would retry a
        // refusal), but said: a `records` path that misses every delivery
        // is a manifest mistake that must not pass unnoticed.
        tracing::warn!(
            connector = %system, delivery = %Escaped(&delivery_id), records = %wh.records_path(),
            "webhook delivery carried no record at the manifest's `records` path; nothing stored"
        );
    }
    let keys: Vec<String> = records.iter().map(|r| r.external_id.clone()).collect();
    let planned = async {
        let existing = app.store.existing(&system, wh.stream(), &keys).await?;
        let plan = match &hook.router {
            Some(router) => {
                crate::sync::plan_page(
                    router,
                    &app.store,
                    &system,
                    wh.stream(),
                    &records,
                    &existing,
                )
                .await?
            }
            None => crate::sync::Plan::default(),
        };
        Ok::<_, crate::store::StoreError>((existing, plan))
    };
    let (existing, plan) = match planned.await {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("store unavailable: {e}"),
            );
        }
    };
    // Kept as parsed, so what is stored is what was mapped.
    let body_text = value.to_string();
    let mut page = PageWrite {
        system: &system,
        stream: wh.stream(),
        mapping_version: &mapping.version,
        records,
        cursor: None,
        delivery: Some(Delivery {
            id: &delivery_id,
            body: &body_text,
        }),
        outbox: plan.outbox,
        effects: plan.effects,
    };
    // A record the database refuses is quarantined alone: a 503 for it
    // would be met again by every retry of the sender.
    let routed_by = hook.router.as_deref().map(|r| (r, &existing));
    let written = crate::sync::write_isolating(&app.store, &mut page, routed_by).await;
    match written {
        Ok(out) if out.duplicate => (
            StatusCode::OK,
            Json(json!({ "status": "duplicate", "delivery": delivery_id })),
        )
            .into_response(),
        Ok(out) => (
            StatusCode::ACCEPTED,
            Json(json!({
                "status": "accepted",
                "delivery": delivery_id,
                "records": carried,
                "stored": out.stored,
                "quarantined": out.quarantined,
            })),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(connector = %system, error = %e, "webhook delivery not stored");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the delivery could not be stored; send it again".into(),
            )
        }
    }
}

async fn readyz(State(App { store, ready, .. }): State<App>) -> impl IntoResponse {
    match ready.check(&store).await {
        Ok(()) => (StatusCode::OK, "ready".to_string()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
    }
}

/// Prometheus text format. The quarantine gauge is read from the store at
/// each scrape (one query); if the store does not answer, the rest is
/// still served and the gauge keeps its last value.
async fn metrics(State(App { store, .. }): State<App>) -> impl IntoResponse {
    match store.quarantine_counts().await {
        Ok(counts) => crate::telemetry::events::QuarantineGauge { counts: &counts }.emit(),
        Err(e) => tracing::warn!(error = %e, "cannot count quarantined records for /metrics"),
    }
    match store.outbox_oldest_pending_secs().await {
        // Routed work that does not move is what an alert must catch: a
        // relay or writer stuck, a target down beyond its budget.
        Ok(age) => {
            metrics::gauge!("switchboard_outbox_oldest_pending_seconds").set(age.unwrap_or(0.0))
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the outbox's oldest item for /metrics"),
    }
    match crate::telemetry::metrics() {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (
            StatusCode::NOT_FOUND,
            "metrics recorder not installed".to_string(),
        ),
    }
}

/// Cursor, last run and last error of every stream, records in quarantine
/// per stream, and routed work waiting: what on-call looks at first.
async fn status(State(App { store, .. }): State<App>) -> impl IntoResponse {
    let read = async {
        let streams = store.sync_states().await?;
        let outbox = store.outbox_counts().await?;
        let quarantine = store.quarantine_counts().await?;
        let records: i64 = quarantine.iter().map(|c| c.records).sum();
        // Records deleted at the source, kept as tombstones, per stream.
        let tombstones = store.tombstone_counts().await?;
        // Which instance runs which stream now, and when each last ran
        // well (docs/SCALING.md).
        let time = |ms: Option<i64>| {
            ms.and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        let leases: Vec<_> = store
            .leases()
            .await?
            .into_iter()
            .map(|l| {
                json!({
                    "connector": l.source_system, "stream": l.source_stream,
                    "holder": l.holder, "expires_at": time(l.expires_ms),
                    "last_ok_at": time(l.last_ok_ms),
                })
            })
            .collect();
        Ok::<_, crate::store::StoreError>(json!({
            "streams": streams,
            "quarantine": { "records": records, "streams": quarantine },
            "tombstones": tombstones,
            "leases": leases,
            "outbox": outbox,
        }))
    };
    match read.await {
        Ok(body) => (StatusCode::OK, Json(body)),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}
