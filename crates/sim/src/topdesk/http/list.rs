//! The read side's lists: `GET /tas/api/incidents` (`pageStart`,
//! `pageSize`, `query`, `sort`, `fields`, `all`; 206 while more follow, 200
//! on the last page, 204 when nothing is left) and an incident's actions,
//! requests and progress trail (`start`, `page_size`).

use std::cmp::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::super::State;
use super::super::fiql::{self, lookup};
use super::super::seed::parse_time;
use super::{Req, bad_request, empty, respond};

/// `pageSize` when none is given, and the most the API accepts
/// ("Default value: 10. Allowed values: 1-10000").
const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 10_000;
/// Paging of the actions and progress trail lists (`start`, `page_size`).
const TRAIL_PAGE_SIZE: usize = 10;
const MAX_TRAIL_PAGE_SIZE: usize = 100;

/// A numeric parameter; the error is the message of a 400.
fn number_param(req: &Req, name: &str, default: usize) -> Result<usize, String> {
    match req.param(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("The value '{v}' of parameter '{name}' is not a valid number.")),
    }
}

/// `field:asc` / `field:desc`, comma-separated.
fn parse_sort(text: &str) -> Result<Vec<(String, bool)>, String> {
    text.split(',')
        .map(|part| {
            let (field, dir) = part.trim().split_once(':').unwrap_or((part.trim(), "asc"));
            let ascending = match dir {
                "asc" => true,
                "desc" => false,
                _ => return Err(format!("Invalid sort direction '{dir}'; use asc or desc.")),
            };
            if field.is_empty() {
                return Err(format!("Invalid sort '{text}'."));
            }
            Ok((field.to_string(), ascending))
        })
        .collect()
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    let (a, b) = (a.unwrap_or(&Value::Null), b.unwrap_or(&Value::Null));
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::String(x), Value::String(y)) => match (parse_time(x), parse_time(y)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.cmp(y),
        },
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Object(x), Value::Object(y)) => compare(x.get("name"), y.get("name")),
        _ => Ordering::Equal,
    }
}

/// `GET /tas/api/incidents`.
pub(super) fn list(st: &State, req: &Req) -> Response {
    let start = match number_param(req, "pageStart", 0) {
        Ok(n) => n,
        Err(message) => return bad_request(message),
    };
    let size = match number_param(req, "pageSize", DEFAULT_PAGE_SIZE) {
        Ok(n) => n,
        Err(message) => return bad_request(message),
    };
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return bad_request(format!(
            "The value of parameter 'pageSize' must be between 1 and {MAX_PAGE_SIZE}."
        ));
    }
    let query = match req.param("query").filter(|q| !q.is_empty()) {
        Some(text) => match fiql::parse(text) {
            Ok(q) => Some(q),
            Err(e) => return bad_request(e.0),
        },
        None => None,
    };
    // Assumed default order: newest first by creation date, as the older
    // `order_by` parameter documented.
    let sort = match req.param("sort").filter(|s| !s.is_empty()) {
        Some(text) => match parse_sort(text) {
            Ok(s) => s,
            Err(message) => return bad_request(message),
        },
        None => vec![("creationDate".to_string(), false)],
    };
    // Without `all=true` only first- and second-line incidents are listed:
    // partials and archived ones are left out.
    let all = req
        .param("all")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut rows: Vec<Value> = Vec::new();
    for inc in &st.incidents {
        let line = inc.get("status").and_then(Value::as_str).unwrap_or("");
        if !all && !matches!(line, "firstLine" | "secondLine") {
            continue;
        }
        let rec = Value::Object(inc.clone());
        if let Some(q) = &query {
            match fiql::matches(q, &rec) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => return bad_request(e.0),
            }
        }
        rows.push(rec);
    }
    rows.sort_by(|a, b| {
        sort.iter()
            .map(|(field, asc)| {
                let o = compare(lookup(a, field), lookup(b, field));
                if *asc { o } else { o.reverse() }
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    });
    let total = rows.len();
    if start >= total {
        return empty(StatusCode::NO_CONTENT);
    }
    let end = start.saturating_add(size).min(total);
    let fields: Option<Vec<&str>> = req
        .param("fields")
        .filter(|f| !f.is_empty())
        .map(|f| f.split(',').map(str::trim).collect());
    let page: Vec<Value> = rows[start..end]
        .iter()
        .map(|r| match &fields {
            None => r.clone(),
            // `id` always comes back, so a selection stays addressable.
            Some(keep) => Value::Object(
                r.as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k.as_str() == "id" || keep.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Map<String, Value>>(),
            ),
        })
        .collect();
    let status = if end < total {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    respond(status, &Value::Array(page))
}

/// `…/actions`, `…/requests` and `…/progresstrail`, newest first, paged by
/// `start` and `page_size` like the API's other older lists.
pub(super) fn trail_list(req: &Req, trail: &[Value], sub: &str) -> Response {
    let start = match number_param(req, "start", 0) {
        Ok(n) => n,
        Err(message) => return bad_request(message),
    };
    let size = match number_param(req, "page_size", TRAIL_PAGE_SIZE) {
        Ok(n) => n,
        Err(message) => return bad_request(message),
    };
    if !(1..=MAX_TRAIL_PAGE_SIZE).contains(&size) {
        return bad_request(format!(
            "The value of parameter 'page_size' must be between 1 and {MAX_TRAIL_PAGE_SIZE}."
        ));
    }
    let kind = match sub {
        "actions" => Some("action"),
        "requests" => Some("request"),
        _ => None,
    };
    let entries: Vec<Value> = trail
        .iter()
        .rev()
        .filter(|e| kind.is_none_or(|k| e["type"] == k))
        .map(|e| {
            let mut e = e.clone();
            if let Some(o) = e.as_object_mut() {
                // Progress trail entries carry their date as `creationDate`,
                // actions and requests as `entryDate`.
                if kind.is_none() {
                    let date = o.remove("entryDate").unwrap_or(Value::Null);
                    o.insert("creationDate".into(), date);
                } else {
                    o.remove("type");
                }
            }
            e
        })
        .collect();
    if start >= entries.len() {
        return empty(StatusCode::NO_CONTENT);
    }
    let end = start.saturating_add(size).min(entries.len());
    let status = if end < entries.len() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    respond(status, &Value::Array(entries[start..end].to_vec()))
}
