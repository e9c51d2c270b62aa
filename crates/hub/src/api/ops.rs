//! Operations: how each connector's streams are doing (`GET /connectors`),
//! syncing one now (`POST /connectors/{name}/sync`), and the audit log of
//! what was done through the API (`GET /audit`). Every action here is
//! written to the audit log before it is answered.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::{ApiState, Caller, Problem};
use crate::store::AuditEntry;

/// Where a call came from: the first address of a proxy's
/// `X-Forwarded-For`, else the connection's peer.
#[derive(Debug, Clone)]
pub struct Remote(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Remote {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        let peer = || {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        };
        Ok(Remote(forwarded.or_else(peer)))
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StreamStatus {
    pub name: String,
    /// The committed cursor: how far the stream has read.
    pub cursor: Option<String>,
    pub last_run_started_at: Option<String>,
    pub last_run_finished_at: Option<String>,
    /// How long the last run took, in seconds.
    pub last_run_seconds: Option<f64>,
    /// Records the last run read from the system, and stored (new or
    /// changed; the rest were unchanged).
    pub last_run_fetched: Option<i64>,
    pub last_run_stored: Option<i64>,
    /// Seconds since the last run that read to the end started: anything
    /// changed at the source before then is in the store. Absent until a
    /// run completes.
    pub lag_seconds: Option<i64>,
    /// Why the last run failed; absent when it succeeded.
    pub last_error: Option<String>,
    /// Records waiting in quarantine (docs/OPERATIONS.md).
    pub quarantined: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConnectorStatus {
    pub system: String,
    /// When the schedule runs it next; absent for a connector without one
    /// (webhooks).
    pub next_run: Option<String>,
    pub streams: Vec<StreamStatus>,
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// How each connector's streams are doing, from the store's bookkeeping:
/// what `GET /connectors`, `switchboard status` and the status page show.
pub async fn connector_statuses(
    store: &crate::store::Store,
    connectors: &[crate::catalog::ConnectorPlan],
) -> Result<Vec<ConnectorStatus>, crate::store::StoreError> {
    let states: HashMap<(String, String), crate::store::SyncStateRow> = store
        .sync_states()
        .await?
        .into_iter()
        .map(|s| ((s.source_system.clone(), s.source_stream.clone()), s))
        .collect();
    let quarantined: HashMap<(String, String), i64> = store
        .quarantine_counts()
        .await?
        .into_iter()
        .map(|c| ((c.source_system, c.source_stream), c.records))
        .collect();
    let now = chrono::Utc::now();
    Ok(connectors
        .iter()
        .map(|c| ConnectorStatus {
            system: c.system.clone(),
            next_run: time(
                c.schedule
                    .as_ref()
                    .and_then(|s| s.upcoming(chrono::Utc).next()),
            ),
            streams: c
                .streams
                .iter()
                .map(|stream| {
                    let key = (c.system.clone(), stream.clone());
                    let s = states.get(&key);
                    let started = s.and_then(|s| s.last_run_started_at);
                    let finished = s.and_then(|s| s.last_run_finished_at);
                    StreamStatus {
                        name: stream.clone(),
                        cursor: s.and_then(|s| s.cursor.clone()),
                        last_run_started_at: time(started),
                        last_run_finished_at: time(finished),
                        last_run_seconds: started
                            .zip(finished)
                            .map(|(a, b)| (b - a).num_milliseconds().max(0) as f64 / 1000.0),
                        last_run_fetched: s.and_then(|s| s.last_run_fetched),
                        last_run_stored: s.and_then(|s| s.last_run_stored),
                        lag_seconds: s
                            .and_then(|s| s.last_success_started_at)
                            .map(|t| (now - t).num_seconds().max(0)),
                        last_error: s.and_then(|s| s.last_error.clone()),
                        quarantined: quarantined.get(&key).copied().unwrap_or(0),
                    }
                })
                .collect(),
        })
        .collect())
}

/// Every enabled connector with how each of its streams last ran.
#[utoipa::path(
    get,
    path = "/api/v1/connectors",
    operation_id = "list_connectors",
    tag = "operations",
    responses(
        (status = 200, description = "The connectors and their streams", body = Vec<ConnectorStatus>),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn connectors(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<ConnectorStatus>>, Problem> {
    caller.require("read")?;
    let plans: Vec<crate::catalog::ConnectorPlan> =
        state.connectors.iter().map(|c| (&**c).into()).collect();
    let out = connector_statuses(&state.store, &plans).await?;
    Ok(Json(out))
}

/// Sync every stream of a connector now, beside its schedule.
#[utoipa::path(
    post,
    path = "/api/v1/connectors/{name}/sync",
    operation_id = "sync_connector",
    tag = "operations",
    params(("name" = String, Path, description = "The connector's system name")),
    responses(
        (status = 202, description = "Started; `GET /connectors` shows how it ends"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No enabled connector of that name", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sync_now(
    State(state): State<ApiState>,
    caller: Caller,
    remote: Remote,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    caller.require("admin")?;
    let Some(c) = state.connectors.iter().find(|c| c.system == name).cloned() else {
        return Err(Problem::not_found(format!("no enabled connector `{name}`")));
    };
    let streams: Vec<String> = c.jobs.iter().map(|j| j.stream.name.clone()).collect();
    state
        .store
        .audit(&AuditEntry {
            actor: &caller.name,
            action: "sync",
            target: Some(&name),
            detail: json!({"streams": streams}),
            remote: remote.0.as_deref(),
        })
        .await?;
    let store = state.store.clone();
    // The run outlives the request; each page commits on its own, so a
    // shutdown meanwhile loses nothing (the next run resumes).
    tokio::spawn(async move {
        let never = CancellationToken::new();
        for (stream, result) in crate::daemon::sync_connector(&store, &c, &never, &|_, _| {}).await
        {
            if let Err(e) = result {
                tracing::warn!(connector = %c.system, stream = %stream, error = %e, "sync asked through the API failed");
            }
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "started", "connector": name, "streams": streams})),
    )
        .into_response())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecord {
    pub at: String,
    /// The token's name.
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub remote: Option<String>,
}

/// The latest 200 actions taken through the API, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "list_audit",
    tag = "operations",
    responses(
        (status = 200, description = "The audit log", body = Vec<AuditRecord>),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn audit(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<Vec<AuditRecord>>, Problem> {
    caller.require("admin")?;
    let rows = state.store.audit_log(200).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditRecord {
                detail: crate::store::json_column(&r.detail_text),
                at: r.at,
                actor: r.actor,
                action: r.action,
                target: r.target,
                remote: r.remote,
            })
            .collect(),
    ))
}
