//! The v1 reads:
//!
//! - `GET /v1/employees/directory`: `{"fields": [{id, type, name}],
//!   "employees": [{id, …}]}`, the whole directory in one answer (no paging,
//!   no filters). Inactive employees are left out, and with `onlyCurrent`
//!   (default true) so are hires starting after today; an empty directory is
//!   a 404. XML unless JSON is asked for.
//! - `GET /v1/employees/{id}?fields=a,b`: `{"id": "…", "a": …}`; unknown
//!   fields are dropped, more than 400 is a 400, id 0 (the key's own record)
//!   answers only `{"id": "0"}` as for an integration account.
//! - `GET /v1/employees/changed?since=…&type=…`: `{"latest", "employees":
//!   {"<id>": {id, action, lastChanged}}}` keyed by id, not paged.
//! - `GET /v1/employees/changed/tables/{jobInfo|employmentStatus}?since=…`:
//!   `{"table", "employees": {"<id>": {lastChanged, rows}}}`.
//! - `POST /v1/reports/custom?format=JSON&onlyCurrent=…`: `{title, fields,
//!   employees}` for every employee regardless of status, limited by the
//!   body's `filters.lastChanged.value`.
//!
//! Assumed where the docs are silent: `since` and the report filter keep
//! changes at or after the time; `latest` is the `since` given when nothing
//! changed; an action is `Inserted` while the record has not changed since
//! it was created; table rows are one `jobInfo` row per employee (dated the
//! hire date) and the employment statuses from hire to termination; the
//! custom report answers JSON only (CSV, PDF, XLS and XML are refused with a
//! 400 naming the format).

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::State;
use super::http::{error, json, not_found, respond, wants_json};
use super::model::{DIRECTORY_FIELDS, Employee, V1_FIELDS, fmt_time};
use super::xml;
use crate::request::Req;

/// The most fields one Get Employee may ask for.
const MAX_FIELDS: usize = 400;

/// `since`: ISO 8601 with `Z` or an offset, `+hh:mm` or `+hhmm`.
pub(super) fn parse_since(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%z")
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn flag(req: &Req, name: &str, default: bool) -> bool {
    match req.param(name).map(str::to_ascii_lowercase).as_deref() {
        Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        _ => default,
    }
}

fn label(field: &str) -> (&'static str, &'static str) {
    V1_FIELDS
        .iter()
        .find(|(n, ..)| *n == field)
        .map(|(_, t, l)| (*t, *l))
        .unwrap_or(("text", ""))
}

/// `id` plus the named fields the simulator knows, in the order asked.
fn record(st: &State, e: &Employee, fields: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(e.id.to_string()));
    for f in fields {
        if let Some(v) = e.v1_field(f, &st.employees) {
            out.insert((*f).to_string(), v);
        }
    }
    out
}

pub(super) fn directory(st: &State, req: &Req) -> Response {
    let today = st.now().date_naive();
    let only_current = flag(req, "onlyCurrent", true);
    let rows: Vec<Map<String, Value>> = st
        .employees
        .values()
        .filter(|e| e.status == "Active")
        .filter(|e| !only_current || e.hire_date <= today)
        .map(|e| record(st, e, DIRECTORY_FIELDS))
        .collect();
    if rows.is_empty() {
        return not_found();
    }
    if !wants_json(req) {
        let fieldset: Vec<(&str, &str)> =
            DIRECTORY_FIELDS.iter().map(|f| (*f, label(f).1)).collect();
        return respond(
            StatusCode::OK,
            "application/xml",
            xml::directory(&fieldset, &rows),
        );
    }
    let fields: Vec<Value> = DIRECTORY_FIELDS
        .iter()
        .map(|f| {
            let (kind, name) = label(f);
            json!({"id": f, "type": kind, "name": name})
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({"fields": fields, "employees": rows}),
    )
}

pub(super) fn employee(st: &State, req: &Req, id: u64) -> Response {
    let fields: Vec<&str> = req
        .param("fields")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() > MAX_FIELDS {
        return error(
            StatusCode::BAD_REQUEST,
            "A maximum of 400 fields may be requested",
        );
    }
    let body = if id == 0 {
        let mut only_id = Map::new();
        only_id.insert("id".into(), json!("0"));
        only_id
    } else {
        match st.employees.get(&id) {
            Some(e) => record(st, e, &fields),
            None => return error(StatusCode::NOT_FOUND, "Employee not found"),
        }
    };
    if wants_json(req) {
        json(StatusCode::OK, &Value::Object(body))
    } else {
        respond(StatusCode::OK, "application/xml", xml::employee(&body))
    }
}

fn bad_since() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "The since parameter is missing or is not a valid ISO 8601 date",
    )
}

pub(super) fn changed(st: &State, req: &Req) -> Response {
    let Some(since) = parse_since(req.param("since").unwrap_or("")) else {
        return bad_since();
    };
    let only = match req.param("type").map(str::to_ascii_lowercase).as_deref() {
        None | Some("" | "all") => None,
        Some(t @ ("inserted" | "updated" | "deleted")) => Some(t.to_string()),
        Some(_) => {
            let message = "The type parameter must be inserted, updated or deleted";
            return error(StatusCode::BAD_REQUEST, message);
        }
    };
    let mut rows: Vec<(u64, &str, DateTime<Utc>)> = st
        .employees
        .values()
        .filter(|e| e.last_changed >= since)
        .map(|e| {
            let action = if e.last_changed == e.created {
                "Inserted"
            } else {
                "Updated"
            };
            (e.id, action, e.last_changed)
        })
        .chain(
            st.deleted
                .iter()
                .filter(|(_, at)| **at >= since)
                .map(|(id, at)| (*id, "Deleted", *at)),
        )
        .filter(|(_, action, _)| {
            only.as_deref()
                .is_none_or(|t| action.eq_ignore_ascii_case(t))
        })
        .collect();
    rows.sort_by_key(|(id, ..)| *id);
    let latest = rows.iter().map(|(.., at)| *at).max().unwrap_or(since);
    if !wants_json(req) {
        let rows: Vec<(String, &str, String)> = rows
            .iter()
            .map(|(id, action, at)| (id.to_string(), *action, fmt_time(*at)))
            .collect();
        return respond(
            StatusCode::OK,
            "application/xml",
            xml::changed(&fmt_time(latest), &rows),
        );
    }
    let employees: Map<String, Value> = rows
        .iter()
        .map(|(id, action, at)| {
            let entry =
                json!({"id": id.to_string(), "action": action, "lastChanged": fmt_time(*at)});
            (id.to_string(), entry)
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({"latest": fmt_time(latest), "employees": employees}),
    )
}

pub(super) fn changed_table(st: &State, req: &Req, table: &str) -> Response {
    if !matches!(table, "jobInfo" | "employmentStatus") {
        return error(StatusCode::NOT_FOUND, "The specified table does not exist");
    }
    let Some(since) = parse_since(req.param("since").unwrap_or("")) else {
        return bad_since();
    };
    let date = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let employees: Map<String, Value> = st
        .employees
        .values()
        .filter(|e| e.last_changed >= since)
        .map(|e| {
            let rows = if table == "jobInfo" {
                let boss = e.v1_field("supervisor", &st.employees);
                vec![json!({
                    "date": date(e.hire_date), "location": e.location, "division": e.division,
                    "department": e.department, "jobTitle": e.job_title, "reportsTo": boss,
                })]
            } else {
                let mut rows = Vec::new();
                let first = if e.employment_status == "Terminated" {
                    "Full-Time"
                } else {
                    e.employment_status.as_str()
                };
                rows.push(json!({"date": date(e.hire_date), "employmentStatus": first}));
                if let Some(left) = e.termination_date {
                    rows.push(json!({"date": date(left), "employmentStatus": "Terminated"}));
                }
                rows
            };
            let entry = json!({"lastChanged": fmt_time(e.last_changed), "rows": rows});
            (e.id.to_string(), entry)
        })
        .collect();
    json(
        StatusCode::OK,
        &json!({"table": table, "employees": employees}),
    )
}

pub(super) fn custom_report(st: &State, req: &Req) -> Response {
    match req.param("format").map(str::to_ascii_uppercase).as_deref() {
        Some("JSON") => {}
        Some(f @ ("CSV" | "PDF" | "XLS" | "XML")) => {
            let message = format!("Report format {f} is not available in this simulator; use JSON");
            return error(StatusCode::BAD_REQUEST, &message);
        }
        _ => {
            let message = "format must be one of CSV, PDF, XLS, XML, JSON";
            return error(StatusCode::BAD_REQUEST, message);
        }
    }
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(req.body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "The request body is not a valid report",
        );
    };
    let fields: Vec<&str> = body
        .get("fields")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if fields.is_empty() {
        return error(StatusCode::BAD_REQUEST, "A report needs a list of fields");
    }
    let changed_since = match body
        .get("filters")
        .and_then(|f| f.pointer("/lastChanged/value"))
    {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_str().and_then(parse_since) {
            Some(t) => Some(t),
            None => {
                let message = "The lastChanged filter needs an ISO 8601 date";
                return error(StatusCode::BAD_REQUEST, message);
            }
        },
    };
    let today = st.now().date_naive();
    let only_current = flag(req, "onlyCurrent", false);
    let known: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| V1_FIELDS.iter().any(|(n, ..)| n == f))
        .collect();
    let employees: Vec<Value> = st
        .employees
        .values()
        .filter(|e| changed_since.is_none_or(|t| e.last_changed >= t))
        .filter(|e| !only_current || e.hire_date <= today)
        .map(|e| Value::Object(record(st, e, &known)))
        .collect();
    let described: Vec<Value> = known
        .iter()
        .map(|f| {
            let (kind, name) = label(f);
            json!({"id": f, "type": kind, "name": name})
        })
        .collect();
    let title = body.get("title").cloned().unwrap_or(json!("Report"));
    json(
        StatusCode::OK,
        &json!({"title": title, "fields": described, "employees": employees}),
    )
}
