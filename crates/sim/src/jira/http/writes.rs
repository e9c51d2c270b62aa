//! The endpoints that change data, for write-back: create a customer request
//! (`POST /request`, 201 with the created request), comment on one
//! (`POST /request/{issueIdOrKey}/comment`, 201 with the comment), list the
//! transitions available to it and perform one (`GET`/`POST
//! /request/{issueIdOrKey}/transition`, the latter 204 No Content). Every
//! change counts as activity, so the request moves to the front of the list.
//!
//! Bodies follow the documented `RequestCreateDTO`, `CommentCreateDTO` and
//! `CustomerTransitionExecutionDTO`. Validation messages are assumed: the
//! docs give only "400 Returned if the request is invalid".

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::State;
use super::super::model::{self, Customer, FormField, Request, StatusChange};
use super::super::render;
use super::read::{page_of, page_params};
use super::{Req, ctx, empty, error, not_found, respond};

/// The longest summary Jira stores.
const MAX_SUMMARY: usize = 254;

fn bad(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "sd.rest.error.bad.request",
    )
}

fn body_json(req: &Req) -> Result<Value, String> {
    serde_json::from_slice(req.body).map_err(|e| format!("The request body is not valid JSON: {e}"))
}

/// A string, or a number sent where the API documents a string id.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn customer(st: &State, account_id_or_email: &str) -> Option<Customer> {
    st.customers
        .iter()
        .chain(st.agents.iter())
        .chain(std::iter::once(&st.me))
        .find(|c| {
            c.account_id == account_id_or_email
                || c.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(account_id_or_email))
        })
        .cloned()
}

/// `POST /rest/servicedeskapi/request`.
pub(super) fn create(st: &mut State, req: &Req, site: &str) -> Response {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(message) => return bad(&message),
    };
    let desk = id_text(body.get("serviceDeskId"));
    if desk.as_deref() != Some(model::SERVICE_DESK_ID) {
        return bad(&format!(
            "The service desk '{}' does not exist.",
            desk.unwrap_or_default()
        ));
    }
    let type_id = id_text(body.get("requestTypeId")).unwrap_or_default();
    let Some(request_type) = model::request_type(&type_id) else {
        return bad(&format!(
            "The request type '{type_id}' does not exist in service desk '{}'.",
            model::SERVICE_DESK_ID
        ));
    };
    let empty_values = serde_json::Map::new();
    let values = body
        .get("requestFieldValues")
        .and_then(Value::as_object)
        .unwrap_or(&empty_values);
    let visible = |f: FormField| request_type.fields.contains(&f);
    let invalid: Vec<&str> = values
        .keys()
        .map(String::as_str)
        .filter(|k| match *k {
            "summary" => !visible(FormField::Summary),
            "description" => !visible(FormField::Description),
            "priority" => !visible(FormField::Priority),
            _ => true,
        })
        .collect();
    if !invalid.is_empty() {
        return bad(&format!(
            "These fields are not on the form of request type '{}': {}",
            request_type.name,
            invalid.join(", ")
        ));
    }
    let text = |k: &str| {
        values
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let summary = match (text("summary"), request_type.preset_summary) {
        // Jira's own message; the summary field holds at most 254 characters.
        (Some(s), _) if s.chars().count() > MAX_SUMMARY => {
            return bad("summary: Summary must be less than 255 characters.");
        }
        (Some(s), _) => s,
        (None, Some(preset)) => preset.to_string(),
        // Jira's own message for a missing summary.
        (None, None) => return bad("summary: You must specify a summary of the issue."),
    };
    let priority = match values.get("priority") {
        None | Some(Value::Null) => None,
        Some(p) => {
            let by_name = p.get("name").and_then(Value::as_str);
            let by_id = p.get("id").and_then(Value::as_str);
            let found = model::PRIORITIES
                .iter()
                .find(|(id, name)| by_name == Some(*name) || by_id == Some(*id));
            match found {
                Some((_, name)) => Some(name.to_string()),
                None => return bad(&format!("priority: '{p}' is not a valid priority.")),
            }
        }
    };
    let reporter = match body.get("raiseOnBehalfOf").and_then(Value::as_str) {
        None => st.me.clone(),
        Some(who) => match customer(st, who) {
            Some(c) => c,
            None => return bad(&format!("The user '{who}' does not exist.")),
        },
    };
    let mut participants = Vec::new();
    for p in body
        .get("requestParticipants")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let who = p.as_str().unwrap_or_default();
        match customer(st, who) {
            Some(c) => participants.push(c),
            None => return bad(&format!("The user '{who}' does not exist.")),
        }
    }
    let now = st.now();
    let request = Request {
        issue_id: 0,
        issue_key: String::new(),
        service_desk_id: model::SERVICE_DESK_ID.into(),
        request_type_id: request_type.id.into(),
        reporter,
        participants,
        summary,
        description: text("description"),
        priority,
        created: now,
        history: vec![StatusChange {
            status: model::INITIAL_STATUS.into(),
            at: now,
        }],
        comments: Vec::new(),
        last_activity: now,
    };
    let id = st.insert(request).to_string();
    let ctx = ctx(st, site);
    match st.find(&id) {
        Some(r) => respond(
            StatusCode::CREATED,
            &render::request(r, &render::Expand::default(), &ctx),
        ),
        None => not_found(),
    }
}

/// `POST /rest/servicedeskapi/request/{issueIdOrKey}/comment`.
pub(super) fn comment(st: &mut State, req: &Req, id: &str, site: &str) -> Response {
    if st.find(id).is_none() {
        return not_found();
    }
    let body = match body_json(req) {
        Ok(b) => b,
        Err(message) => return bad(&message),
    };
    let Some(text) = body
        .get("body")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
    else {
        return bad("body: The comment body must not be empty.");
    };
    // `public` is optional in the DTO; public is assumed when it is left out.
    // Anything but a boolean fails the JSON binding.
    let public = match body.get("public") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(other) => return bad(&format!("public: '{other}' is not a boolean.")),
    };
    let Some(c) = st.add_comment(id, text, public) else {
        return not_found();
    };
    let ctx = ctx(st, site);
    match st.find(id) {
        Some(r) => respond(StatusCode::CREATED, &render::comment(r, &c, &ctx)),
        None => not_found(),
    }
}

/// `GET /rest/servicedeskapi/request/{issueIdOrKey}/transition`: a page of
/// `{id, name}` for the transitions from the request's current status.
pub(super) fn transitions(st: &State, req: &Req, id: &str, site: &str) -> Response {
    let Some(r) = st.find(id) else {
        return not_found();
    };
    let (start, limit) = match page_params(req) {
        Ok(p) => p,
        Err(message) => return bad(&message),
    };
    let all = model::transitions_from(r.status());
    let page = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|(id, name, _)| json!({"id": id, "name": name}))
        .collect();
    let ctx = ctx(st, site);
    respond(
        StatusCode::OK,
        &page_of(page, all.len(), (start, limit), req, &ctx),
    )
}

/// `POST /rest/servicedeskapi/request/{issueIdOrKey}/transition` with
/// `{"id": "…", "additionalComment": {"body": "…"}}`: 204 No Content.
pub(super) fn transition(st: &mut State, req: &Req, id: &str) -> Response {
    let Some(current) = st.find(id).map(|r| r.status().to_string()) else {
        return not_found();
    };
    let body = match body_json(req) {
        Ok(b) => b,
        Err(message) => return bad(&message),
    };
    let wanted = id_text(body.get("id")).unwrap_or_default();
    let Some((_, _, target)) = model::transitions_from(&current)
        .into_iter()
        .find(|(t, ..)| *t == wanted)
    else {
        return bad(&format!(
            "The transition '{wanted}' is not available for this request in status '{current}'."
        ));
    };
    let now = st.now();
    if let Some(r) = st.find_mut(id) {
        r.set_status(target, now);
    }
    let remark = body
        .get("additionalComment")
        .and_then(|c| c.get("body"))
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty());
    if let Some(text) = remark {
        st.add_comment(id, text, true);
    }
    empty(StatusCode::NO_CONTENT)
}
