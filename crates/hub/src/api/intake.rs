//! `POST /requests`: an employee asks for something from the catalogue.
//!
//! The answers are checked against the offering's form, the request is
//! stored as a work item of the hub (`switchboard`/`requests`), and routed
//! in the same transaction: to the offering's `to` when it names one, else
//! by `routing.toml` like any change. The writers then create the record
//! in the department's own system and link it, and its progress shows in
//! the employee's view.
//!
//! An `Idempotency-Key` makes a retried POST create nothing twice: the
//! request's id is derived from the caller and the key, so a retry finds
//! the request it made (and its work, whose message ids are stable) and
//! answers with it; the same key with other answers is refused.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::requests::{Request, with_journeys};
use super::{ApiState, Caller, EMPLOYEE_HEADER, Problem};
use crate::routing::message::{Origin, Routed};
use crate::routing::{Event, Target};
use crate::store::{Effect, HUB, REQUESTS, Requeue};

/// The header that makes a POST safe to retry.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The offering's id, as `GET /services` lists it.
    pub offering: String,
    /// The answers to the offering's form, by field name.
    #[schema(value_type = Object)]
    #[serde(default)]
    pub fields: Map<String, Value>,
    /// Who asks: for a `portal` token, the employee it acts for (the
    /// default); an `agent` token may raise a request for anyone.
    pub requester: Option<String>,
}

/// Who the request is for, and whether the caller may raise it: an
/// employee (signed in, or through a portal) only for themselves, an agent
/// for anyone.
fn requester(caller: &Caller, headers: &HeaderMap, asked: Option<&str>) -> Result<String, Problem> {
    if caller.acts_for_employee(headers) {
        let e = caller.employee(headers)?;
        return match asked {
            Some(a) if !a.trim().eq_ignore_ascii_case(&e) => Err(Problem::new(
                StatusCode::FORBIDDEN,
                "an employee raises requests only for themselves",
            )),
            _ => Ok(e),
        };
    }
    if caller.has("portal") && !caller.has("agent") {
        return Err(Problem::bad_request(format!(
            "a portal token raises requests for the employee the `{EMPLOYEE_HEADER}` header names"
        )));
    }
    caller.require("agent")?;
    asked
        .map(str::trim)
        .filter(|a| a.contains('@'))
        .map(str::to_string)
        .ok_or_else(|| {
            Problem::bad_request("`requester`: the e-mail address of whom the request is for")
        })
}

/// The request's id in the hub: random, or derived from the caller and
/// its idempotency key.
fn request_id(caller: &Caller, key: Option<&str>) -> String {
    match key {
        Some(k) => {
            let mut h = Sha256::new();
            h.update(caller.name.as_bytes());
            h.update([0]);
            h.update(k.as_bytes());
            format!("req-{}", &hex::encode(h.finalize())[..24])
        }
        None => format!("req-{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Raise a request from the service catalogue.
#[utoipa::path(
    post,
    path = "/api/v1/requests",
    operation_id = "raise_request",
    tag = "employee",
    request_body = NewRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried POST create nothing twice"),
        ("Switchboard-Employee" = Option<String>, Header, description = "For a portal token: the employee it acts for"),
    ),
    responses(
        (status = 201, description = "Raised and routed", body = Request),
        (status = 200, description = "Raised before with this Idempotency-Key: the same request", body = Request),
        (status = 400, description = "A body that is not a request", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither a portal acting for the requester nor an agent", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offering", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Answers the form refuses (each in `errors`), or a reused Idempotency-Key", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn raise(
    State(state): State<ApiState>,
    caller: Caller,
    remote: super::Remote,
    headers: HeaderMap,
    body: Result<Json<NewRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let Json(new) = body.map_err(|e| Problem::bad_request(e.body_text()))?;
    let email = requester(&caller, &headers, new.requester.as_deref())?;
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let raised = submit(
        &state,
        &caller,
        Ask {
            offering: &new.offering,
            answers: &new.fields,
            requester: email,
            for_someone: new.requester.is_some(),
            key,
            remote: remote.0.as_deref(),
        },
    )
    .await?;
    let status = if raised.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(raised.request)).into_response())
}

/// What is asked, by whom, once the caller may ask it.
pub(crate) struct Ask<'a> {
    /// The offering's id.
    pub offering: &'a str,
    /// The form's answers, by field name, as submitted.
    pub answers: &'a Map<String, Value>,
    /// The e-mail address of whom the request is for.
    pub requester: String,
    /// Named by an agent for someone else: audited.
    pub for_someone: bool,
    /// Makes a retry (or a form submitted twice) create nothing twice.
    pub key: Option<&'a str>,
    /// Where the call came from, for the audit log.
    pub remote: Option<&'a str>,
}

/// A request as stored, and whether this call created it.
pub(crate) struct Raised {
    pub request: Request,
    pub created: bool,
}

/// Raise a request: the one path for `POST /requests` and the portal's
/// form, so both check, store, route and deduplicate alike.
pub(crate) async fn submit(
    state: &ApiState,
    caller: &Caller,
    ask: Ask<'_>,
) -> Result<Raised, Problem> {
    let email = ask.requester;
    let offering = state
        .services
        .as_ref()
        .and_then(|s| s.offering(ask.offering))
        .ok_or_else(|| Problem::not_found(format!("no offering `{}`", ask.offering)))?;
    let fields = offering
        .validate_submission(ask.answers)
        .map_err(|problems| {
            let mut p = Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the answers do not fit the form of `{}`", offering.id),
            );
            p.errors = Some(
                problems
                    .iter()
                    .map(|f| json!({"field": f.field(), "detail": f.to_string()}))
                    .collect(),
            );
            p
        })?;
    let id = request_id(caller, ask.key);
    let classes = caller.classes();
    let item = offering.work_item(&fields, &email);
    if let Some(existing) = state.store.work_item_by_key(HUB, REQUESTS, &id).await? {
        let stored = crate::store::json_column(&existing.attributes);
        if stored.get("fields") != item.pointer("/attributes/fields")
            || stored.get("offering") != item.pointer("/attributes/offering")
        {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was used for another request",
            ));
        }
        let request = with_journeys(state, vec![existing], &classes)
            .await?
            .remove(0);
        return Ok(Raised {
            request,
            created: false,
        });
    }

    let mut record = item.clone();
    if let Value::Object(m) = &mut record {
        m.insert("external_id".into(), json!(id));
    }
    let origin = Origin {
        system: HUB,
        stream: REQUESTS,
        external_id: &id,
    };
    let event = Event {
        kind: "created".into(),
        system: HUB.into(),
        stream: REQUESTS.into(),
        from_status: None,
        to_status: Some("new".into()),
    };
    let now = Utc::now();
    let routing = state.router.as_ref().map(|r| r.routing.current());
    let mut plan = match (&offering.to, &state.router) {
        (Some(dest), _) => {
            let target = Target {
                department: offering.department.clone(),
                connector: dest.connector.clone(),
                action: dest.action.clone(),
            };
            let by = format!("offering {}", offering.id);
            let routed = Routed {
                origin,
                record: &record,
                event: &event,
                by: &by,
                target: &target,
                target_id: None,
                priority: None,
                sla_hours: offering.sla_hours,
                set: &Default::default(),
            };
            let clearance = routing
                .as_ref()
                .map(|r| r.clearance.clone())
                .unwrap_or_default();
            let m = routed.message(&clearance, now);
            let mut plan = crate::sync::Plan::default();
            plan.outbox.push(m.into());
            plan
        }
        (None, Some(router)) => router.plan_record(origin, &record, &event, now),
        (None, None) => crate::sync::Plan::default(),
    };
    let mut effects = vec![Effect::Spawn {
        stream: REQUESTS,
        external_id: id.clone(),
        item,
    }];
    effects.append(&mut plan.effects);
    state
        .store
        .requeue(Requeue {
            replaces: &[],
            outbox: &plan.outbox,
            effects: &effects,
            resend: false,
        })
        .await?;
    // Raised by an agent for someone: the audit log says who did it.
    if ask.for_someone && caller.has("agent") {
        state
            .store
            .audit(&crate::store::AuditEntry {
                actor: &caller.name,
                action: "raise_request",
                target: Some(&id),
                detail: json!({"offering": offering.id, "requester": email}),
                remote: ask.remote,
            })
            .await?;
    }
    let stored = state
        .store
        .work_item_by_key(HUB, REQUESTS, &id)
        .await?
        .ok_or_else(|| {
            Problem::unavailable(&std::io::Error::other("the request was not stored"))
        })?;
    metrics::counter!("switchboard_intake_requests_total", "offering" => offering.id.clone())
        .increment(1);
    tracing::info!(
        caller = %caller.name, offering = %offering.id, request = %id,
        routed = plan.outbox.len(), "request raised at the front door"
    );
    let request = with_journeys(state, vec![stored], &classes)
        .await?
        .remove(0);
    Ok(Raised {
        request,
        created: true,
    })
}
