//! `/dead-letters`: routed work a writer gave up on and changes routing
//! could not decide, from whichever transport keeps them (agent), and
//! replays (admin), rendered again with the mappings and routing the daemon
//! runs now, or as they were sent.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::super::{ApiState, Caller, Problem, Remote};
use super::{audit, body};
use crate::ops::dead_letters as ops;
use crate::ops::{DeadLetterError, Letter, LetterOutcome, ReplayOutcome, Which};
use crate::transport::Topology;

/// A dead letter, without the message it carries (that can hold a
/// record's fields).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterItem {
    /// The CloudEvents id, to replay it by.
    pub id: String,
    /// Where it was going; `unrouted`: routing could not decide.
    pub routing_key: String,
    pub attempts: u32,
    /// Why it died.
    pub reason: String,
    pub failed_at: String,
    /// `store` (an outbox row set aside) or `broker` (the broker's DLQ).
    pub kept: &'static str,
    /// The CloudEvents `source` and `subject`: the system and the record.
    pub source: Option<String>,
    pub subject: Option<String>,
}

impl From<Letter> for DeadLetterItem {
    fn from(l: Letter) -> Self {
        let text = |k: &str| l.payload.get(k).and_then(Value::as_str).map(String::from);
        Self {
            source: text("source"),
            subject: text("subject"),
            id: l.id,
            routing_key: l.routing_key,
            attempts: l.attempts,
            reason: l.reason,
            failed_at: l.failed_at,
            kept: l.kept.as_str(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeadLetterList {
    /// Oldest first.
    pub items: Vec<DeadLetterItem>,
}

/// How to replay one letter.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayOneBody {
    /// Send it exactly as it was, without rendering it again.
    #[serde(default)]
    pub as_sent: bool,
}

/// Replay every dead letter: `all` must be `true`, so an empty body never
/// replays everything by accident.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayAllBody {
    #[serde(default)]
    pub all: bool,
    /// Send each exactly as it was, without rendering it again.
    #[serde(default)]
    pub as_sent: bool,
}

/// How one letter went back, or why it did not.
#[derive(Debug, Serialize, ToSchema)]
pub struct LetterReplayed {
    pub id: String,
    /// `rendered_again`, `sent_as_it_was` or `not_replayed` (it stays).
    pub result: &'static str,
    /// What was queued, or why it went as sent or not at all.
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayAnswer {
    pub replayed: usize,
    /// Letters not replayed: they stay in the dead letters.
    pub failed: usize,
    pub letters: Vec<LetterReplayed>,
}

impl From<&ReplayOutcome> for ReplayAnswer {
    fn from(o: &ReplayOutcome) -> Self {
        let letters = o
            .letters
            .iter()
            .map(|l| {
                let (result, detail) = match &l.outcome {
                    LetterOutcome::AsSent(None) => ("sent_as_it_was", "asked for".to_string()),
                    LetterOutcome::AsSent(Some(why)) => ("sent_as_it_was", why.to_string()),
                    LetterOutcome::Rendered(r) => ("rendered_again", r.describe()),
                    LetterOutcome::Failed(e) => ("not_replayed", e.clone()),
                };
                LetterReplayed {
                    id: l.id.clone(),
                    result,
                    detail,
                }
            })
            .collect();
        Self {
            replayed: o.replayed,
            failed: o.failed,
            letters,
        }
    }
}

/// Every dead letter, oldest first: the store's and the broker's.
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    operation_id = "list_dead_letters",
    tag = "repairs",
    responses(
        (status = 200, description = "The dead letters", body = DeadLetterList),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `agent` scope", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store or the broker did not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<DeadLetterList>, Problem> {
    caller.require("agent")?;
    let (url, topology) = broker(&state);
    let letters = ops::list(&state.store, url, &topology)
        .await
        .map_err(problem)?;
    Ok(Json(DeadLetterList {
        items: letters.into_iter().map(DeadLetterItem::from).collect(),
    }))
}

/// Replay one dead letter, rendered again from the files the daemon runs
/// now unless `as_sent`.
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/{id}/replay",
    operation_id = "replay_dead_letter",
    tag = "repairs",
    params(("id" = String, Path, description = "The letter's id")),
    request_body(content = ReplayOneBody, description = "Optional"),
    responses(
        (status = 200, description = "What was done; `failed` counts a letter that stays", body = ReplayAnswer),
        (status = 400, description = "A body this call does not take", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No dead letter of that id", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replay_one(
    State(state): State<ApiState>,
    caller: Caller,
    remote: Remote,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<ReplayAnswer>, Problem> {
    caller.require("admin")?;
    let b: ReplayOneBody = body(&bytes)?;
    replay(&state, &caller, &remote, Which::One(id), b.as_sent).await
}

/// Replay every dead letter.
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/replay",
    operation_id = "replay_dead_letters",
    tag = "repairs",
    request_body = ReplayAllBody,
    responses(
        (status = 200, description = "What was done per letter", body = ReplayAnswer),
        (status = 400, description = "No `all: true`, or a body this call does not take", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `admin` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn replay_all(
    State(state): State<ApiState>,
    caller: Caller,
    remote: Remote,
    bytes: Bytes,
) -> Result<Json<ReplayAnswer>, Problem> {
    caller.require("admin")?;
    let b: ReplayAllBody = body(&bytes)?;
    if !b.all {
        return Err(Problem::bad_request(
            "send `\"all\": true` to replay every dead letter (one goes by `POST /dead-letters/{id}/replay`)",
        ));
    }
    replay(&state, &caller, &remote, Which::All, b.as_sent).await
}

async fn replay(
    state: &ApiState,
    caller: &Caller,
    remote: &Remote,
    which: Which,
    as_sent: bool,
) -> Result<Json<ReplayAnswer>, Problem> {
    let target = match &which {
        Which::One(id) => id.clone(),
        Which::All => "all".to_string(),
    };
    let (broker, topology) = broker(state);
    let result = async {
        let letters = ops::choose(ops::list(&state.store, broker, &topology).await?, &which)?;
        let jobs = crate::ops::quarantine::jobs(state.connectors.iter().map(|c| &**c));
        ops::replay(
            &state.store,
            broker,
            &topology,
            &letters,
            &jobs,
            as_sent,
            &mut |_| {},
        )
        .await
    }
    .await;
    let outcome = match result {
        Ok(outcome) => outcome,
        // No such letter: nothing was done, so it is not an action; a
        // failure part way may have replayed some, so it is.
        Err(e @ DeadLetterError::NotFound { .. }) => return Err(problem(e)),
        Err(e) => {
            let detail = json!({"as_sent": as_sent, "error": e.to_string()});
            audit(
                &state.store,
                caller,
                remote,
                "replay_dead_letters",
                &target,
                detail,
            )
            .await?;
            return Err(problem(e));
        }
    };
    let answer = ReplayAnswer::from(&outcome);
    let detail = json!({
        "as_sent": as_sent,
        "replayed": answer.replayed,
        "failed": answer.failed,
        "letters": answer.letters.iter().map(|l| json!({"id": l.id, "result": l.result})).collect::<Vec<_>>(),
    });
    audit(
        &state.store,
        caller,
        remote,
        "replay_dead_letters",
        &target,
        detail,
    )
    .await?;
    Ok(Json(answer))
}

/// The broker's URL, if it keeps dead letters, and its names.
fn broker(state: &ApiState) -> (Option<&str>, Topology) {
    match &state.broker {
        Some(b) => (Some(b.url.expose()), b.topology.clone()),
        None => (None, Topology::default()),
    }
}

fn problem(e: DeadLetterError) -> Problem {
    match e {
        DeadLetterError::NotFound { .. } => Problem::not_found(e.to_string()),
        DeadLetterError::Store(source) => source.into(),
        DeadLetterError::Broker(source) => {
            tracing::error!(error = %source, "API request failed on the broker");
            Problem::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the broker did not answer; try again",
            )
        }
    }
}
