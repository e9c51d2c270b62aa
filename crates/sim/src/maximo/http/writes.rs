//! Writes, with the rules Maximo applies on save:
//! - create, `POST /maximo/oslc/os/mxwo`: `siteid` is required, `wonum`
//!   comes from the autokey unless given (and must then be new at the
//!   site), `location` must exist at the site; 201 with `Location`;
//! - update, `POST …/mxwo/{id}` with `x-method-override: PATCH`: given
//!   attributes change, a `worklog` array replaces the work logs or, with
//!   `patchtype: MERGE`, is merged into them by `worklogid`; 204;
//! - a `status` in either is a status change, checked against the allowed
//!   moves and recorded in `wostatus` with `np_statusmemo`; the
//!   `?action=wsmethod:changeStatus` action does the same from
//!   `{"status", "date", "memo"}` and, unlike PATCH, refuses the status the
//!   work order already has;
//! - sync, `POST …/mxwo` with `x-method-override: SYNC`: the work order the
//!   body's `siteid` and `wonum` name is updated as by PATCH (merged with
//!   `patchtype: MERGE`), or created when there is none; for clients that
//!   know a record's keys but not its rest id;
//! - every write takes a new `changedate`, `changeby` and `_rowstamp`, and a
//!   `properties` header turns the empty answer into the record (200, or
//!   201 on create) with those properties.
//!
//! Assumed where the docs are silent: attributes the structure does not have,
//! and read-only ones (`workorderid`, `changedate`, …), are ignored, as the
//! server skips unknown JSON; a closed or canceled work order takes new work
//! logs but refuses other changes. Namespaced bodies (`spi:wonum`, without
//! `lean=1`) are read by dropping the prefix.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::super::errors::{self, MaximoError, StatusRefusal};
use super::super::model::{
    is_history, parse_time, site, status_description, text, transition_allowed,
};
use super::super::seed::API_USER;
use super::super::{State, model::fmt_time, select};
use super::list::properties;
use super::{Context, Req, empty, error, header, respond, set_header};

/// Text attributes a client may set.
const TEXTS: &[&str] = &[
    "description",
    "description_longdescription",
    "assetnum",
    "worktype",
    "reportedby",
];
/// Date attributes a client may set.
const DATES: &[&str] = &[
    "reportdate",
    "targstartdate",
    "targcompdate",
    "actstart",
    "actfinish",
];

fn read_object(body: &[u8]) -> Result<Map<String, Value>, MaximoError> {
    let parsed: Value =
        serde_json::from_slice(body).map_err(|e| errors::bad_body(&e.to_string()))?;
    let Value::Object(obj) = parsed else {
        return Err(errors::bad_body("The body must be a JSON object."));
    };
    Ok(obj
        .into_iter()
        .map(|(k, v)| (k.strip_prefix("spi:").unwrap_or(&k).to_ascii_lowercase(), v))
        .collect())
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sets the plain attributes `body` gives (not status or work logs).
fn apply_fields(
    st: &State,
    rec: &mut Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<(), MaximoError> {
    let siteid = text(rec, "siteid").to_string();
    for (k, v) in body {
        let k = k.as_str();
        if TEXTS.contains(&k) {
            rec.insert(
                k.into(),
                as_text(v).map(Value::String).unwrap_or(Value::Null),
            );
        } else if DATES.contains(&k) {
            let value = match v {
                Value::Null => Value::Null,
                Value::String(s) if s.is_empty() => Value::Null,
                Value::String(s) => match parse_time(s, st.tz()) {
                    Some(t) => json!(fmt_time(t, st.tz())),
                    None => return Err(errors::invalid_value(k, v)),
                },
                _ => return Err(errors::invalid_value(k, v)),
            };
            rec.insert(k.into(), value);
        } else if k == "wopriority" {
            let value = match v {
                Value::Null => Value::Null,
                Value::String(s) if s.is_empty() => Value::Null,
                Value::Number(n) if n.as_i64().is_some() => v.clone(),
                Value::String(s) => match s.trim().parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => return Err(errors::invalid_value("Priority", v)),
                },
                _ => return Err(errors::invalid_value("Priority", v)),
            };
            rec.insert(k.into(), value);
        } else if k == "location" {
            let value = as_text(v).map(|l| l.to_uppercase());
            if let Some(loc) = &value
                && !st.knows_location(&siteid, loc)
            {
                return Err(errors::invalid_location(loc));
            }
            rec.insert(k.into(), value.map(Value::String).unwrap_or(Value::Null));
        }
    }
    Ok(())
}

/// Changes the status, as the status handler does: checked, dated, recorded.
fn change_status(
    st: &State,
    rec: &mut Map<String, Value>,
    to: &str,
    date: Option<String>,
    memo: Option<&Value>,
) -> Result<(), MaximoError> {
    let wonum = text(rec, "wonum").to_string();
    let from = text(rec, "status").to_string();
    let refuse = |why| errors::status_change(&wonum, to, why);
    if status_description(to).is_none() {
        return Err(refuse(StatusRefusal::Unknown));
    }
    if from == to {
        return Err(refuse(StatusRefusal::Same));
    }
    if !transition_allowed(&from, to) {
        return Err(refuse(StatusRefusal::NotAllowed(from)));
    }
    let now = st.now_text();
    let at = date.unwrap_or_else(|| now.clone());
    rec.insert("status".into(), json!(to));
    rec.insert("statusdate".into(), json!(at));
    rec.insert("historyflag".into(), json!(is_history(to)));
    if to == "INPRG" && rec.get("actstart").is_none_or(Value::is_null) {
        rec.insert("actstart".into(), json!(at));
    }
    if matches!(to, "COMP" | "CLOSE") && rec.get("actfinish").is_none_or(Value::is_null) {
        rec.insert("actfinish".into(), json!(at));
    }
    let memo = memo
        .and_then(as_text)
        .map(Value::String)
        .unwrap_or(Value::Null);
    let entry = json!({"status": to, "changedate": at, "changeby": API_USER, "memo": memo});
    if let Some(Value::Array(history)) = rec.get_mut("wostatus") {
        history.push(entry);
    } else {
        rec.insert("wostatus".into(), json!([entry]));
    }
    Ok(())
}

/// Applies a `worklog` array: merged by `worklogid`, or replacing them all.
fn apply_worklog(
    st: &mut State,
    rec: &mut Map<String, Value>,
    given: &Value,
    merge: bool,
) -> Result<(), MaximoError> {
    let Some(entries) = given.as_array() else {
        return Err(errors::invalid_value("Work Log", given));
    };
    let existing: Vec<Value> = rec
        .get("worklog")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut result: Vec<Value> = if merge { existing.clone() } else { Vec::new() };
    let now = st.now_text();
    for entry in entries {
        let Some(fields) = entry.as_object() else {
            return Err(errors::invalid_value("Work Log", entry));
        };
        let fields: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| {
                (
                    k.strip_prefix("spi:").unwrap_or(k).to_ascii_lowercase(),
                    v.clone(),
                )
            })
            .collect();
        let id = fields.get("worklogid").and_then(Value::as_i64);
        let matched = id.and_then(|id| {
            existing
                .iter()
                .find(|e| e["worklogid"].as_i64() == Some(id))
        });
        let mut log = match matched {
            Some(old) => old.clone(),
            None => {
                st.next_worklogid += 1;
                json!({
                    "worklogid": st.next_worklogid - 1, "recordkey": text(rec, "wonum"),
                    "class": "WORKORDER", "siteid": text(rec, "siteid"), "logtype": "CLIENTNOTE",
                    "createby": API_USER, "createdate": now, "clientviewable": false,
                })
            }
        };
        for key in [
            "description",
            "description_longdescription",
            "logtype",
            "createby",
        ] {
            if let Some(v) = fields.get(key) {
                log[key] = as_text(v).map(Value::String).unwrap_or(Value::Null);
            }
        }
        if let Some(v) = fields.get("clientviewable") {
            log["clientviewable"] = json!(v.as_bool().unwrap_or(v == 1));
        }
        if log["description"].as_str().is_none_or(str::is_empty) {
            return Err(errors::required("Summary", "WORKLOG"));
        }
        log["modifydate"] = json!(now);
        let position = log["worklogid"].as_i64().and_then(|id| {
            result
                .iter()
                .position(|e| e["worklogid"].as_i64() == Some(id))
        });
        match position {
            Some(i) => result[i] = log,
            None => result.push(log),
        }
    }
    rec.insert("worklog".into(), Value::Array(result));
    Ok(())
}

/// `POST /maximo/oslc/os/mxwo`.
pub(super) fn create(st: &mut State, req: &Req, ctx: &Context) -> Response {
    match try_create(st, req, ctx) {
        Ok(resp) => resp,
        Err(e) => error(&e, ctx),
    }
}

fn try_create(st: &mut State, req: &Req, ctx: &Context) -> Result<Response, MaximoError> {
    let answer = properties(req, ctx)?;
    let body = read_object(req.body)?;
    let siteid = body
        .get("siteid")
        .and_then(as_text)
        .map(|s| s.to_uppercase())
        .ok_or_else(|| errors::required("Site", "WORKORDER"))?;
    if site(&siteid).is_none() {
        return Err(errors::invalid_site(&siteid));
    }
    let wonum = body
        .get("wonum")
        .and_then(as_text)
        .map(|w| w.to_uppercase());
    if let Some(w) = &wonum
        && st
            .records
            .iter()
            .any(|r| text(r, "siteid") == siteid && text(r, "wonum") == w)
    {
        return Err(errors::already_exists(&siteid, w));
    }
    let mut seed = Map::new();
    seed.insert("siteid".into(), json!(siteid));
    if let Some(w) = wonum {
        seed.insert("wonum".into(), json!(w));
    }
    seed.insert("reportedby".into(), json!(API_USER));
    let draft_id = st.insert(seed);
    let i = st.records.len() - 1;
    let mut rec = st.records[i].clone();
    let history = json!([{"status": "WAPPR", "changedate": st.now_text(), "changeby": API_USER, "memo": Value::Null}]);
    rec.insert("wostatus".into(), history);
    let outcome = apply_fields(st, &mut rec, &body)
        .and_then(|()| match body.get("worklog") {
            Some(logs) => apply_worklog(st, &mut rec, logs, true),
            None => Ok(()),
        })
        .and_then(|()| {
            match body
                .get("status")
                .and_then(as_text)
                .map(|s| s.to_uppercase())
            {
                Some(to) if to != "WAPPR" => {
                    change_status(st, &mut rec, &to, None, body.get("np_statusmemo"))
                }
                _ => Ok(()),
            }
        });
    if let Err(e) = outcome {
        // Nothing is saved when any attribute is refused.
        st.records.pop();
        return Err(e);
    }
    st.records[i] = rec;
    let href = format!("{}/{}", ctx.collection(), draft_id);
    let mut resp = match answer {
        Some((select, render)) => respond(
            StatusCode::CREATED,
            &select::member(&st.records[i], &select, &render),
        ),
        None => empty(StatusCode::CREATED),
    };
    set_header(&mut resp, "location", &href);
    Ok(resp)
}

/// `POST /maximo/oslc/os/mxwo` with `x-method-override: SYNC`: 204 (or 200
/// with `properties`) when it updated, as create when it created.
pub(super) fn sync(st: &mut State, req: &Req, ctx: &Context) -> Response {
    let body = match read_object(req.body) {
        Ok(b) => b,
        Err(e) => return error(&e, ctx),
    };
    let key = |k: &str| body.get(k).and_then(as_text).map(|s| s.to_uppercase());
    let existing = match (key("siteid"), key("wonum")) {
        (Some(siteid), Some(wonum)) => st
            .records
            .iter()
            .find(|r| text(r, "siteid") == siteid && text(r, "wonum") == wonum)
            .map(super::super::model::record_id),
        _ => None,
    };
    match existing {
        Some(id) => update(st, req, ctx, &id),
        None => create(st, req, ctx),
    }
}

/// `POST /maximo/oslc/os/mxwo/{id}` with `x-method-override: PATCH`, and
/// the changeStatus action on the same URL.
pub(super) fn update(st: &mut State, req: &Req, ctx: &Context, id: &str) -> Response {
    let result = properties(req, ctx).and_then(|answer| {
        let body = Value::Object(read_object(req.body)?);
        match req.param("action") {
            None => {
                let merge = header(req, "patchtype") == Some("MERGE");
                apply_update(st, id, &body, merge)?;
            }
            Some(action) if action.eq_ignore_ascii_case("wsmethod:changeStatus") => {
                change_status_action(st, id, &body)?;
            }
            Some(other) => {
                return Err(errors::unsupported(&format!(
                    "The action {other} is not defined for the object structure MXWO."
                )));
            }
        }
        Ok(answer)
    });
    match result {
        Ok(Some((select, render))) => match st.position(id) {
            Some(i) => respond(
                StatusCode::OK,
                &select::member(&st.records[i], &select, &render),
            ),
            None => empty(StatusCode::NO_CONTENT),
        },
        Ok(None) => empty(StatusCode::NO_CONTENT),
        Err(e) => error(&e, ctx),
    }
}

/// Applies an update body to work order `rest_id`; returns the stored record.
pub(crate) fn apply_update(
    st: &mut State,
    rest_id: &str,
    body: &Value,
    merge: bool,
) -> Result<Value, MaximoError> {
    let i = st
        .position(rest_id)
        .ok_or_else(|| errors::resource_not_found(rest_id))?;
    let body: Map<String, Value> = body
        .as_object()
        .ok_or_else(|| errors::bad_body("The body must be a JSON object."))?
        .iter()
        .map(|(k, v)| {
            (
                k.strip_prefix("spi:").unwrap_or(k).to_ascii_lowercase(),
                v.clone(),
            )
        })
        .collect();
    let mut rec = st.records[i].clone();
    // Keys and bookkeeping name the record; they do not change it.
    let only_logs = body.keys().all(|k| {
        matches!(
            k.as_str(),
            "worklog" | "href" | "_rowstamp" | "siteid" | "wonum" | "orgid"
        )
    });
    if rec.get("historyflag") == Some(&json!(true)) && !only_logs {
        return Err(errors::in_history(text(&rec, "wonum")));
    }
    apply_fields(st, &mut rec, &body)?;
    if let Some(logs) = body.get("worklog") {
        apply_worklog(st, &mut rec, logs, merge)?;
    }
    if let Some(to) = body
        .get("status")
        .and_then(as_text)
        .map(|s| s.to_uppercase())
        && to != text(&rec, "status")
    {
        change_status(st, &mut rec, &to, None, body.get("np_statusmemo"))?;
    }
    st.records[i] = rec;
    st.stamp(i, API_USER);
    Ok(Value::Object(st.records[i].clone()))
}

/// `?action=wsmethod:changeStatus` with `{"status", "date", "memo"}`.
fn change_status_action(st: &mut State, rest_id: &str, body: &Value) -> Result<(), MaximoError> {
    let i = st
        .position(rest_id)
        .ok_or_else(|| errors::resource_not_found(rest_id))?;
    let to = body
        .get("status")
        .and_then(as_text)
        .map(|s| s.to_uppercase())
        .ok_or_else(|| errors::required("Status", "WORKORDER"))?;
    let date = match body.get("date").and_then(Value::as_str) {
        Some(d) => Some(fmt_time(
            parse_time(d, st.tz())
                .ok_or_else(|| errors::invalid_value("Status Date", &json!(d)))?,
            st.tz(),
        )),
        None => None,
    };
    let mut rec = st.records[i].clone();
    change_status(st, &mut rec, &to, date, body.get("memo"))?;
    st.records[i] = rec;
    st.stamp(i, API_USER);
    Ok(())
}
