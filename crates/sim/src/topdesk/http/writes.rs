//! Writes: how the bodies of `POST /tas/api/incidents` and `PATCH` (or
//! `PUT`) `/tas/api/incidents/id/{id}` become stored incidents, with the
//! rules TOPdesk applies on write: lookups by `{"id"}` or `{"name"}`, a
//! registered caller through `callerLookup`, `action` and `request` texts
//! added to the progress trail, the completed/closed/on-hold flags following
//! the processing status (and the other way round), priority from the
//! impact x urgency matrix, and a new `modificationDate` and `modifier`.
//!
//! Assumed where the docs are silent: unknown body fields are refused (the
//! API's JSON binding is strict); `PUT` behaves as `PATCH` (fields left out
//! stay); a `request` added by an update is put above the earlier text under
//! a date-and-name line, as the operator screens show it.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::super::State;
use super::super::seed::{blank_incident, fmt_time, next_number, parse_time, trail_entry};
use super::rules::{follow_status, priority_from_matrix};
use super::{Req, error, respond};

/// Why a write is refused; the message is the error body's.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

impl ApiError {
    fn response(&self) -> Response {
        error(self.status, &self.message)
    }
}

/// Fields that point into a lookup list.
const LOOKUPS: &[&str] = &[
    "category",
    "subcategory",
    "callType",
    "entryType",
    "impact",
    "urgency",
    "priority",
    "operatorGroup",
    "operator",
    "processingStatus",
    "closureCode",
    "branch",
];
const BOOLS: &[&str] = &[
    "completed",
    "closed",
    "onHold",
    "responded",
    "majorCall",
    "publishToSsd",
];
const DATES: &[&str] = &[
    "callDate",
    "targetDate",
    "completedDate",
    "closedDate",
    "responseDate",
];
/// Text fields and their maximum length.
const TEXTS: &[(&str, usize)] = &[
    ("briefDescription", 80),
    ("externalNumber", 60),
    ("feedbackMessage", 4000),
];

fn read_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(bad("The request body must be a JSON object.")),
        Err(e) => Err(bad(format!("The request body is not valid JSON: {e}"))),
    }
}

pub(super) fn create(st: &mut State, req: &Req) -> Response {
    let body = match read_object(req.body) {
        Ok(b) => b,
        Err(e) => return e.response(),
    };
    if !body.contains_key("callerLookup") && !body.contains_key("caller") {
        return bad("A caller is mandatory: give 'callerLookup' or 'caller.dynamicName'.")
            .response();
    }
    let now = st.now();
    let id = uuid::Uuid::new_v4().to_string();
    let mut inc = blank_incident(&id);
    if let Some((logged, _)) = st.catalog.status("Logged") {
        inc.insert("processingStatus".into(), logged);
    }
    inc.insert("callDate".into(), json!(fmt_time(now)));
    let added = match apply(st, &mut inc, &body, true, now) {
        Ok(a) => a,
        Err(e) => return e.response(),
    };
    let number = next_number(&mut st.numbers, now);
    inc.insert("number".into(), json!(number));
    stamp(st, &mut inc, now, true);
    st.trails.insert(id, added);
    let rec = Value::Object(inc.clone());
    st.incidents.push(inc);
    respond(StatusCode::CREATED, &rec)
}

pub(super) fn update(st: &mut State, req: &Req, id: &str) -> Response {
    let body = match serde_json::from_slice::<Value>(req.body) {
        Ok(b) => b,
        Err(e) => return bad(format!("The request body is not valid JSON: {e}")).response(),
    };
    match apply_update(st, id, &body) {
        Ok(rec) => respond(StatusCode::OK, &rec),
        Err(e) => e.response(),
    }
}

/// Applies an update body to incident `id` and returns the stored incident.
pub(crate) fn apply_update(st: &mut State, id: &str, body: &Value) -> Result<Value, ApiError> {
    let body = body
        .as_object()
        .ok_or_else(|| bad("The request body must be a JSON object."))?;
    let i = st.position(id).ok_or_else(|| ApiError {
        status: StatusCode::NOT_FOUND,
        message: format!("No incident found with id '{id}'."),
    })?;
    let now = st.now();
    let mut inc = st.incidents[i].clone();
    let added = apply(st, &mut inc, body, false, now)?;
    stamp(st, &mut inc, now, false);
    st.trails.entry(id.to_string()).or_default().extend(added);
    st.incidents[i] = inc.clone();
    Ok(Value::Object(inc))
}

/// System fields every write sets.
fn stamp(st: &State, inc: &mut Map<String, Value>, now: DateTime<Utc>, creating: bool) {
    let me = st.catalog.api_operator.clone();
    if creating {
        inc.insert("creationDate".into(), json!(fmt_time(now)));
        inc.insert("creator".into(), me.clone());
    }
    inc.insert("modificationDate".into(), json!(fmt_time(now)));
    inc.insert("modifier".into(), me);
}

/// Resolves a lookup value (`{"id": …}` or `{"name": …}`) of `field`.
fn resolve(st: &State, field: &str, value: &Value) -> Result<Value, ApiError> {
    let Some(obj) = value.as_object() else {
        return Err(bad(format!(
            "'{field}' must be an object with an 'id' or a 'name'."
        )));
    };
    if let Some(id) = obj.get("id") {
        let id = id.as_str().unwrap_or_default();
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(bad(format!("'{field}.id' cannot be parsed.")));
        }
        return st
            .catalog
            .find(field, Some(id), None)
            .cloned()
            .ok_or_else(|| bad(format!("No {field} found with id '{id}'.")));
    }
    if let Some(name) = obj.get("name").and_then(Value::as_str) {
        return st
            .catalog
            .find(field, None, Some(name))
            .cloned()
            .ok_or_else(|| bad(format!("No {field} found with name '{name}'.")));
    }
    Err(bad(format!(
        "'{field}' must be an object with an 'id' or a 'name'."
    )))
}

/// A registered caller, by `callerLookup` `{"id"}` or `{"email"}`.
fn caller_lookup(st: &State, value: &Value) -> Result<Value, ApiError> {
    if let Some(id) = value.get("id") {
        let id = id.as_str().unwrap_or_default();
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(bad("'callerLookup.id' cannot be parsed."));
        }
        return st
            .catalog
            .persons
            .iter()
            .find(|p| p["id"].as_str() == Some(id))
            .cloned()
            .ok_or_else(|| bad(format!("No person found with id '{id}'.")));
    }
    if let Some(email) = value.get("email").and_then(Value::as_str) {
        return st
            .catalog
            .persons
            .iter()
            .find(|p| {
                p["email"]
                    .as_str()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned()
            .ok_or_else(|| bad(format!("No person found with email '{email}'.")));
    }
    Err(bad("'callerLookup' must have an 'id' or an 'email'."))
}

/// An unregistered caller: a name (and contact details) typed in.
fn free_caller(st: &State, value: &Value) -> Result<Value, ApiError> {
    let name = value
        .get("dynamicName")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("'caller.dynamicName' is mandatory for an unregistered caller."))?;
    let text = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let branch = match value.get("branch") {
        Some(b) if !b.is_null() => resolve(st, "branch", b)?,
        _ => Value::Null,
    };
    Ok(json!({
        "id": null, "dynamicName": name, "phoneNumber": text("phoneNumber"),
        "mobileNumber": text("mobileNumber"), "fax": "", "email": text("email"),
        "department": null, "budgetHolder": null, "branch": branch,
    }))
}

/// Applies `body` to `inc`; returns the progress trail entries it adds.
fn apply(
    st: &State,
    inc: &mut Map<String, Value>,
    body: &Map<String, Value>,
    creating: bool,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, ApiError> {
    let me = st.catalog.api_operator.clone();
    let mut added = Vec::new();
    for (key, value) in body {
        let k = key.as_str();
        if LOOKUPS.contains(&k) {
            let v = if value.is_null() && k != "processingStatus" {
                Value::Null
            } else {
                resolve(st, k, value)?
            };
            inc.insert(key.clone(), v);
        } else if BOOLS.contains(&k) {
            let b = value
                .as_bool()
                .ok_or_else(|| bad(format!("'{k}' must be true or false.")))?;
            inc.insert(key.clone(), json!(b));
        } else if DATES.contains(&k) {
            let v = match value {
                Value::Null => Value::Null,
                Value::String(s) => json!(fmt_time(parse_time(s).ok_or_else(|| {
                    bad(format!(
                        "'{k}' cannot be parsed: '{s}' is not an ISO 8601 date."
                    ))
                })?)),
                _ => return Err(bad(format!("'{k}' must be an ISO 8601 date."))),
            };
            inc.insert(key.clone(), v);
        } else if let Some((_, max)) = TEXTS.iter().find(|(f, _)| *f == k) {
            let s = value.as_str().unwrap_or_default();
            if s.chars().count() > *max {
                return Err(bad(format!(
                    "'{k}' is too long: at most {max} characters are allowed."
                )));
            }
            inc.insert(key.clone(), json!(s));
        } else {
            match k {
                "status" => match value.as_str() {
                    Some(line @ ("firstLine" | "secondLine")) => {
                        inc.insert("status".into(), json!(line));
                    }
                    _ => return Err(bad("'status' must be firstLine or secondLine.")),
                },
                "callerLookup" => {
                    let person = caller_lookup(st, value)?;
                    inc.insert("callerBranch".into(), person["branch"].clone());
                    if !body.contains_key("branch") {
                        inc.insert("branch".into(), person["branch"].clone());
                    }
                    inc.insert("caller".into(), person);
                }
                "caller" => {
                    let caller = free_caller(st, value)?;
                    inc.insert("callerBranch".into(), caller["branch"].clone());
                    inc.insert("caller".into(), caller);
                }
                "request" => {
                    let text = value.as_str().unwrap_or_default();
                    if text.is_empty() {
                        continue;
                    }
                    let caller = inc.get("caller").cloned().unwrap_or(Value::Null);
                    let person = caller["id"].is_string().then_some(&caller);
                    let entry_id = uuid::Uuid::new_v4().to_string();
                    added.push(trail_entry(
                        entry_id, "request", text, now, None, person, false,
                    ));
                    let memo = match inc.get("request").and_then(Value::as_str) {
                        Some(old) if !creating && !old.is_empty() => format!(
                            "{} {}: <br>{text}<br><br>{old}",
                            now.format("%d-%m-%Y %H:%M"),
                            me["name"].as_str().unwrap_or_default()
                        ),
                        _ => text.to_string(),
                    };
                    inc.insert("request".into(), json!(memo));
                }
                "action" => {
                    let text = value.as_str().unwrap_or_default();
                    if !text.is_empty() {
                        let hidden = body
                            .get("actionInvisibleForCaller")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                        let entry_id = uuid::Uuid::new_v4().to_string();
                        added.push(trail_entry(
                            entry_id,
                            "action",
                            text,
                            now,
                            Some(&me),
                            None,
                            hidden,
                        ));
                    }
                }
                "actionInvisibleForCaller" => {
                    if !value.is_boolean() && !value.is_null() {
                        return Err(bad("'actionInvisibleForCaller' must be true or false."));
                    }
                }
                "feedbackRating" => {
                    let ok =
                        value.is_null() || value.as_u64().is_some_and(|r| (1..=5).contains(&r));
                    if !ok {
                        return Err(bad("'feedbackRating' must be a number from 1 to 5."));
                    }
                    inc.insert(key.clone(), value.clone());
                }
                "optionalFields1" | "optionalFields2" => {
                    let Some(given) = value.as_object() else {
                        return Err(bad(format!("'{k}' must be an object.")));
                    };
                    if let Some(Value::Object(current)) = inc.get_mut(k) {
                        for (f, v) in given {
                            current.insert(f.clone(), v.clone());
                        }
                    }
                }
                _ => return Err(bad(format!("Unrecognized field '{k}'."))),
            }
        }
    }
    priority_from_matrix(st, inc, body);
    follow_status(st, inc, body, now);
    Ok(added)
}
