//! `/quarantine`: the records a mapping rejected, a page at a time (agent),
//! one with its reason and raw payload (admin: a payload can hold
//! classified data the mapping would have withheld), and retries (admin)
//! with the mappings the daemon runs now.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use utoipa::{IntoParams, ToSchema};

use super::super::{ApiState, Caller, Problem, Remote, next_cursor, page_size, parse_cursor};
use super::{audit, body};
use crate::ops::quarantine as ops;
use crate::ops::{QuarantineError, RetryOutcome, RetryWhich, StreamRetry};
use crate::store::{QuarantineFilter, QuarantineRow};

/// Filters of the quarantine list; both optional, combined with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this system, e.g. `servicenow`.
    system: Option<String>,
    /// Only this stream, e.g. `incident`.
    stream: Option<String>,
    /// From `next_cursor` of the page before.
    cursor: Option<String>,
    /// Records per page, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// A quarantined record, without its payload.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantinedItem {
    /// The id to show or retry it by.
    pub id: i64,
    pub system: String,
    pub stream: String,
    /// The source's id of the record.
    pub external_id: String,
    /// Why the mapping rejected it, the last time it was mapped.
    pub reason: String,
    /// The version of the mapping that last rejected it.
    pub mapping_version: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// How often it was mapped and rejected.
    pub attempts: i32,
}

impl From<QuarantineRow> for QuarantinedItem {
    fn from(r: QuarantineRow) -> Self {
        let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        Self {
            id: r.id,
            system: r.source_system,
            stream: r.source_stream,
            external_id: r.external_id,
            reason: r.reason,
            mapping_version: r.mapping_version,
            first_seen_at: time(r.first_seen_at),
            last_seen_at: time(r.last_seen_at),
            attempts: r.attempts,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantinePage {
    /// Oldest first.
    pub items: Vec<QuarantinedItem>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A quarantined record with the payload the source sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuarantinedDetail {
    #[serde(flatten)]
    pub item: QuarantinedItem,
    /// The raw record as the source sent it.
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// Which streams' records to retry: `system`, `stream` (both narrow), or
/// `all: true` for every stream. Nothing at all is refused, so an empty
/// body never retries everything by accident.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryBody {
    pub system: Option<String>,
    pub stream: Option<String>,
    #[serde(default)]
    pub all: bool,
}

/// What retrying one stream's records did.
#[derive(Debug, Serialize, ToSchema)]
pub struct StreamRetried {
    pub system: String,
    pub stream: String,
    /// The mapping version they were mapped with; absent when no enabled
    /// connector runs the stream (then `error` says so).
    pub mapping_version: Option<String>,
    pub retried: usize,
    /// Mapped now, and stored as work items.
    pub stored: usize,
    /// Still rejected: in quarantine with the new reason.
    pub quarantined: usize,
    /// Left out by the mapping's `skip_if` now: out of quarantine.
    pub skipped: usize,
    /// Changed by a sync meanwhile: retry again.
    pub changed: usize,
    /// Why the stream's records could not be retried.
    pub error: Option<String>,
}

impl From<&StreamRetry> for StreamRetried {
    fn from(s: &StreamRetry) -> Self {
        match s {
            StreamRetry::Retried {
                system,
                stream,
                mapping_version,
                report,
            } => Self {
                system: system.clone(),
                stream: stream.clone(),
                mapping_version: Some(mapping_version.clone()),
                retried: report.retried,
                stored: report.stored,
                quarantined: report.quarantined,
                skipped: report.skipped,
                changed: report.changed,
                error: None,
            },
            StreamRetry::NoJob {
                system,
                stream,
                records,
            } => Self {
                system: system.clone(),
                stream: stream.clone(),
                mapping_version: None,
                retried: 0,
                stored: 0,
                quarantined: usize::try_from(*records).unwrap_or(0),
                skipped: 0,
                changed: 0,
                error: Some(
                    QuarantineError::NoJob {
                        system: system.clone(),
                        stream: stream.clone(),
                    }
                    .to_string(),
                ),
            },
        }
    }
}

/// What a retry did, and what is still in quarantine and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryAnswer {
    pub streams: Vec<StreamRetried>,
    pub stored: usize,
    pub skipped: usize,
    /// Records of what was asked for still in quarantine.
    pub still_quarantined: i64,
    /// The first 200 of them, oldest first, each with its reason now.
    pub remaining: Vec<QuarantinedItem>,
}

/// Records in quarantine, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/quarantine",
    operation_id = "list_quarantine",
    tag = "repairs",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of quarantined records", body = QuarantinePage),
        (status = 400, description = "A cursor or limit that cannot work", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `agent` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<QuarantinePage>, Problem> {
    caller.require("agent")?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = page_size(q.limit)?;
    let filter = QuarantineFilter {
        system: q.system.as_deref(),
        stream: q.stream.as_deref(),
        id: None,
    };
    let after = parse_cursor(q.cursor.as_deref())?;
    let rows = ops::list(&state.store, filter, after, Some(limit))
        .await
        .map_err(problem)?;
    let next = next_cursor(rows.iter().map(|r| r.id), rows.len(), limit);
    Ok(Json(QuarantinePage {
        items: rows.into_iter().map(QuarantinedItem::from).collect(),
        next_cursor: next,
    }))
}

/// One quarantined record with its reason and the raw payload.
#[utoipa::path(
    get,
    path = "/api/v1/quarantine/{id}",
    operation_id = "get_quarantined_record",
    tag = "repairs",
    params(("id" = i64, Path, description = "The quarantined record's id")),
    responses(
        (status = 200, description = "The record", body = QuarantinedDetail),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No quarantined record of that id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn detail(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<QuarantinedDetail>, Problem> {
    caller.require("admin")?;
    let id = record_id(&id)?;
    let record = ops::show(&state.store, id).await.map_err(problem)?;
    Ok(Json(QuarantinedDetail {
        item: record.row.into(),
        payload: record.payload,
    }))
}

/// Map one quarantined record again with the mapping the daemon runs now.
#[utoipa::path(
    post,
    path = "/api/v1/quarantine/{id}/retry",
    operation_id = "retry_quarantined_record",
    tag = "repairs",
    params(("id" = i64, Path, description = "The quarantined record's id")),
    responses(
        (status = 200, description = "Retried: stored, skipped, or still quarantined with the new reason", body = RetryAnswer),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No quarantined record of that id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No enabled connector maps the record's stream here", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn retry_one(
    State(state): State<ApiState>,
    caller: Caller,
    remote: Remote,
    Path(id): Path<String>,
) -> Result<Json<RetryAnswer>, Problem> {
    caller.require("admin")?;
    let id = record_id(&id)?;
    retry(
        &state,
        &caller,
        &remote,
        RetryWhich::One(id),
        id.to_string(),
    )
    .await
}

/// Map the quarantined records of some streams again with the mappings
/// the daemon runs now.
#[utoipa::path(
    post,
    path = "/api/v1/quarantine/retry",
    operation_id = "retry_quarantine",
    tag = "repairs",
    request_body = RetryBody,
    responses(
        (status = 200, description = "Retried, per stream, with what is still in quarantine", body = RetryAnswer),
        (status = 400, description = "No filter and no `all: true`, or `all` with a filter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn retry_many(
    State(state): State<ApiState>,
    caller: Caller,
    remote: Remote,
    bytes: Bytes,
) -> Result<Json<RetryAnswer>, Problem> {
    caller.require("admin")?;
    let b: RetryBody = body(&bytes)?;
    let narrowed = b.system.is_some() || b.stream.is_some();
    if narrowed == b.all {
        return Err(Problem::bad_request(if b.all {
            "`all` retries every stream: send it without `system` or `stream`"
        } else {
            "say which records: `system`, `stream`, or `\"all\": true` for every stream"
        }));
    }
    let target = match (&b.system, &b.stream) {
        (None, None) => "all".to_string(),
        (s, t) => format!(
            "{}/{}",
            s.as_deref().unwrap_or("*"),
            t.as_deref().unwrap_or("*")
        ),
    };
    let which = RetryWhich::Streams {
        system: b.system,
        stream: b.stream,
    };
    retry(&state, &caller, &remote, which, target).await
}

async fn retry(
    state: &ApiState,
    caller: &Caller,
    remote: &Remote,
    which: RetryWhich,
    target: String,
) -> Result<Json<RetryAnswer>, Problem> {
    let jobs = ops::jobs(state.connectors.iter().map(|c| &**c));
    // The request is the unit of work: a retry runs to its end, and what
    // a shutdown cuts off stays in quarantine for the next one.
    let never = CancellationToken::new();
    let result = ops::retry(&state.store, &jobs, &which, "api", &never, &mut |_| {}).await;
    let outcome = match result {
        Ok(outcome) => outcome,
        // A refusal (no such record, no job for it) did nothing and is not
        // an action; a failure part way may have stored records, so it is.
        Err(e @ (QuarantineError::NotFound { .. } | QuarantineError::NoJob { .. })) => {
            return Err(problem(e));
        }
        Err(e) => {
            let detail = json!({"error": e.to_string()});
            audit(
                &state.store,
                caller,
                remote,
                "retry_quarantine",
                &target,
                detail,
            )
            .await?;
            return Err(problem(e));
        }
    };
    let answer = answer(state, &which, &outcome).await?;
    let detail = json!({
        "streams": answer.streams.iter().map(|s| json!({
            "system": s.system, "stream": s.stream, "retried": s.retried, "stored": s.stored,
            "quarantined": s.quarantined, "skipped": s.skipped, "error": s.error,
        })).collect::<Vec<_>>(),
        "still_quarantined": answer.still_quarantined,
    });
    audit(
        &state.store,
        caller,
        remote,
        "retry_quarantine",
        &target,
        detail,
    )
    .await?;
    Ok(Json(answer))
}

async fn answer(
    state: &ApiState,
    which: &RetryWhich,
    outcome: &RetryOutcome,
) -> Result<RetryAnswer, Problem> {
    let filter = match which {
        RetryWhich::One(id) => QuarantineFilter {
            id: Some(*id),
            ..QuarantineFilter::default()
        },
        RetryWhich::Streams { system, stream } => QuarantineFilter {
            system: system.as_deref(),
            stream: stream.as_deref(),
            id: None,
        },
    };
    let remaining = ops::list(&state.store, filter, None, Some(200))
        .await
        .map_err(problem)?;
    Ok(RetryAnswer {
        streams: outcome.streams.iter().map(StreamRetried::from).collect(),
        stored: outcome.total.stored,
        skipped: outcome.total.skipped,
        still_quarantined: outcome.left,
        remaining: remaining.into_iter().map(QuarantinedItem::from).collect(),
    })
}

fn record_id(id: &str) -> Result<i64, Problem> {
    id.parse()
        .map_err(|_| Problem::not_found(format!("no quarantined record {id}")))
}

fn problem(e: QuarantineError) -> Problem {
    match e {
        QuarantineError::NotFound { .. } => Problem::not_found(e.to_string()),
        QuarantineError::NoJob { .. } => Problem::new(StatusCode::CONFLICT, e.to_string()),
        QuarantineError::Retry { source, .. } | QuarantineError::Store(source) => source.into(),
    }
}
