//! Record shaping for the simulator's Table API: how stored records are
//! rendered on the wire (`sysparm_fields`, `sysparm_display_value`,
//! `sysparm_exclude_reference_link`), and how POST/PUT/PATCH bodies become
//! stored records, including the incident business rules the platform runs
//! on write.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::super::State;
use super::super::seed::{fmt_time, priority_for};
use super::{Req, error, not_found, respond, respond_empty, set_header};

/// Every column the table has: the union of its records' fields, kept up to
/// date on write (records created through the API get every column, as on
/// the platform).
pub(super) fn known_fields(st: &State, table: &str) -> Vec<String> {
    st.columns.get(table).cloned().unwrap_or_default()
}

/// Which table a reference column points at. `category` is a choice on
/// incidents but a reference on catalogue items.
fn reference_target(table: &str, field: &str) -> Option<&'static str> {
    Some(match (table, field) {
        (
            _,
            "caller_id" | "opened_by" | "assigned_to" | "resolved_by" | "closed_by"
            | "requested_for",
        ) => "sys_user",
        (_, "assignment_group") => "sys_user_group",
        (_, "location") => "cmn_location",
        (_, "company") => "core_company",
        (_, "sys_scope") => "sys_scope",
        ("sc_cat_item", "category") => "sc_category",
        _ => return None,
    })
}

/// Labels of the incident choice lists, for `sysparm_display_value`.
fn choice_label(table: &str, field: &str, value: &str) -> Option<&'static str> {
    if table != "incident" {
        return None;
    }
    Some(match (field, value) {
        ("state" | "incident_state", "1") => "New",
        ("state" | "incident_state", "2") => "In Progress",
        ("state" | "incident_state", "3") => "On Hold",
        ("state" | "incident_state", "6") => "Resolved",
        ("state" | "incident_state", "7") => "Closed",
        ("state" | "incident_state", "8") => "Canceled",
        ("priority", "1") => "1 - Critical",
        ("priority", "2") => "2 - High",
        ("priority", "3") => "3 - Moderate",
        ("priority", "4") => "4 - Low",
        ("priority", "5") => "5 - Planning",
        ("impact" | "urgency", "1") => "1 - High",
        ("impact" | "urgency", "2") => "2 - Medium",
        ("impact" | "urgency", "3") => "3 - Low",
        _ => return None,
    })
}

/// Shapes one stored record for the wire according to the request's
/// `sysparm_fields`, `sysparm_display_value` and `sysparm_exclude_reference_link`.
pub(super) fn render(
    st: &State,
    req: &Req,
    table: &str,
    record: &Map<String, Value>,
    columns: &[String],
) -> Value {
    let display = req
        .param("sysparm_display_value")
        .map(str::to_ascii_lowercase);
    let (show_display, show_both) = match display.as_deref() {
        Some("true") => (true, false),
        Some("all") => (true, true),
        _ => (false, false),
    };
    let exclude_links = req.flag("sysparm_exclude_reference_link");
    let wanted: Vec<&str> = match req.param("sysparm_fields") {
        // Invalid field names are ignored, as documented.
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|f| columns.iter().any(|c| c == f))
            .collect(),
        None => columns.iter().map(String::as_str).collect(),
    };
    let mut out = Map::new();
    for field in wanted {
        let value = record.get(field).and_then(Value::as_str).unwrap_or("");
        let rendered = match reference_target(table, field).filter(|_| !value.is_empty()) {
            Some(target) => {
                let link = format!("{}/api/now/table/{target}/{value}", req.base());
                let name = st
                    .find(target, value)
                    // The display field: `name` on most tables, `title` on categories.
                    .and_then(|r| r.get("name").or_else(|| r.get("title")))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let mut obj = Map::new();
                if show_display {
                    obj.insert("display_value".into(), json!(name));
                }
                if !exclude_links {
                    obj.insert("link".into(), json!(link));
                }
                if show_both || !show_display {
                    obj.insert("value".into(), json!(value));
                }
                match (show_display, show_both, exclude_links) {
                    (false, _, true) => json!(value),
                    (true, false, true) => json!(name),
                    _ => Value::Object(obj),
                }
            }
            None => {
                let label = choice_label(table, field, value).unwrap_or(value);
                match (show_display, show_both) {
                    (true, true) => json!({"display_value": label, "value": value}),
                    (true, false) => json!(label),
                    _ => json!(value),
                }
            }
        };
        out.insert(field.to_string(), rendered);
    }
    Value::Object(out)
}

fn bad_body() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "Exception while reading request",
        Some("The payload is not valid JSON."),
    )
}

/// Reads a JSON object body into string-valued fields, as the platform
/// stores them; `sys_*` fields other than `sys_id` are system-maintained and
/// silently ignored. `None` when the body is not a JSON object.
fn read_body(body: &Bytes) -> Option<Map<String, Value>> {
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    Some(
        obj.into_iter()
            .filter(|(k, _)| k == "sys_id" || !k.starts_with("sys_"))
            .map(|(k, v)| {
                let s = match v {
                    Value::String(s) => s,
                    Value::Null => String::new(),
                    Value::Object(ref o) => o
                        .get("value")
                        .and_then(Value::as_str)
                        .map_or_else(|| v.to_string(), str::to_string),
                    other => other.to_string(),
                };
                (k, Value::String(s))
            })
            .collect(),
    )
}

/// Incident business rules the platform runs on every write: priority from
/// impact x urgency, the legacy `incident_state` mirror, and resolution/closure stamps.
fn incident_rules(
    fields: &mut Map<String, Value>,
    current: Option<&Map<String, Value>>,
    now: &str,
) {
    let get =
        |f: &Map<String, Value>, k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
    let pick = |k: &str, default: &str| {
        get(fields, k)
            .or_else(|| current.and_then(|c| get(c, k)))
            .unwrap_or_else(|| default.to_string())
    };
    if fields.contains_key("impact") || fields.contains_key("urgency") || current.is_none() {
        let p = priority_for(&pick("impact", "3"), &pick("urgency", "3"));
        fields.insert("priority".into(), json!(p));
    }
    if let Some(state) = get(fields, "state") {
        fields.insert("incident_state".into(), json!(state));
        let unset = |k: &str| {
            current.and_then(|c| get(c, k)).is_none_or(|v| v.is_empty()) && !fields.contains_key(k)
        };
        let (resolve, close) = (unset("resolved_at"), unset("closed_at"));
        if matches!(state.as_str(), "6" | "7") && resolve {
            fields.insert("resolved_at".into(), json!(now));
        }
        if matches!(state.as_str(), "7" | "8") && close {
            fields.insert("closed_at".into(), json!(now));
        }
        fields.insert(
            "active".into(),
            json!(if matches!(state.as_str(), "7" | "8") {
                "false"
            } else {
                "true"
            }),
        );
    }
}

pub(super) fn create(st: &mut State, req: &Req, table: &str, user: &str) -> Response {
    let mut fields = match read_body(req.body) {
        Some(f) => f,
        None => return bad_body(),
    };
    // A caller may choose the sys_id, but only a well-formed, unused one;
    // otherwise the platform generates it.
    let chosen = fields.get("sys_id").and_then(Value::as_str).unwrap_or("");
    let well_formed = chosen.len() == 32 && chosen.chars().all(|c| c.is_ascii_hexdigit());
    if !well_formed || st.find(table, chosen).is_some() {
        fields.remove("sys_id");
    }
    let now = fmt_time(st.now());
    if table == "incident" {
        let caller = st
            .tables
            .get("sys_user")
            .into_iter()
            .flatten()
            .find(|u| u.get("user_name").and_then(Value::as_str) == Some(user));
        let opened_by = caller
            .and_then(|u| u.get("sys_id"))
            .cloned()
            .unwrap_or_else(|| json!(""));
        for (k, v) in [
            ("state", json!("1")),
            ("impact", json!("3")),
            ("urgency", json!("3")),
            ("active", json!("true")),
            ("category", json!("inquiry")),
            ("opened_at", json!(now.clone())),
            ("opened_by", opened_by),
        ] {
            fields.entry(k).or_insert(v);
        }
        incident_rules(&mut fields, None, &now);
    }
    // Columns not given are set to their empty value, as the platform does.
    for column in known_fields(st, table) {
        if !column.starts_with("sys_") {
            fields.entry(column).or_insert_with(|| json!(""));
        }
    }
    let sys_id = st.insert(table, fields, user);
    let Some(rec) = st.find(table, &sys_id) else {
        return not_found();
    };
    let mut resp = if req.flag_header("x-no-response-body") {
        respond_empty(StatusCode::CREATED)
    } else {
        respond(
            StatusCode::CREATED,
            &json!({"result": render(st, req, table, rec, &known_fields(st, table))}),
        )
    };
    set_header(
        &mut resp,
        "location",
        &format!("{}/api/now/table/{table}/{sys_id}", req.base()),
    );
    resp
}

pub(super) fn modify(st: &mut State, req: &Req, table: &str, sys_id: &str, user: &str) -> Response {
    let mut fields = match read_body(req.body) {
        Some(f) => f,
        None => return bad_body(),
    };
    let Some(current) = st.find(table, sys_id).cloned() else {
        return not_found();
    };
    if table == "incident" {
        incident_rules(&mut fields, Some(&current), &fmt_time(st.now()));
    }
    let Some(rec) = st.update(table, sys_id, fields, user) else {
        return not_found();
    };
    if req.flag_header("x-no-response-body") {
        return respond_empty(StatusCode::OK);
    }
    respond(
        StatusCode::OK,
        &json!({"result": render(st, req, table, &rec, &known_fields(st, table))}),
    )
}
