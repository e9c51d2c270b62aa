//! `POST /v2/datasets/{datasetName}/data` (Get Data from Dataset, v2), for
//! the `employee` dataset. The JSON body carries `fields` (required),
//! `filter` (see `filter`), `orderBy` (`field asc|desc, …`; every field in
//! it must also be in `fields`, else 400 `UE-1001`), `page` (from 1) and
//! `pageSize` (default 100, at most 1000). The answer:
//!
//! ```json
//! {"data": [{"fields": {"eeid": "101", …}, "_restrictedFields": []}],
//!  "links": {"next": "…", "prev": "…"},
//!  "meta": {"page": 2, "pageSize": 10, "totalPages": 6, "totalItems": 60}}
//! ```
//!
//! `links.next` is present while more pages follow and `links.prev` when not
//! on the first page. Without `orderBy` the order is unspecified (here: by
//! internal id). Errors are RFC 7807 problems.
//!
//! Assumed where the docs are silent: a page past the end answers an empty
//! `data` with the same `meta`; an unknown field in `fields` is a 400
//! `INVALID_FIELD`; the link URLs repeat the endpoint with `page` and
//! `pageSize` as query parameters (the reference only says "pagination
//! navigation URLs").

use std::cmp::Ordering;

use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::State;
use super::filter;
use super::http::{json, problem, request_id};
use super::model::{Employee, dataset_field_type};
use crate::request::Req;

const DEFAULT_PAGE_SIZE: u64 = 100;
const MAX_PAGE_SIZE: u64 = 1000;

/// One `orderBy` rule: the field and whether it sorts descending.
type Rule = (String, bool);

fn order_by(raw: &str, fields: &[String]) -> Result<Vec<Rule>, (StatusCode, &'static str, String)> {
    let mut rules = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let field = words.next().unwrap_or_default().to_string();
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                let detail = format!("`{other}` is not a sort direction; use asc or desc");
                return Err((StatusCode::BAD_REQUEST, "INVALID_ORDER_BY", detail));
            }
        };
        if !fields.contains(&field) {
            let detail = format!("orderBy field `{field}` must also be requested in fields");
            return Err((StatusCode::BAD_REQUEST, "UE-1001", detail));
        }
        rules.push((field, desc));
    }
    Ok(rules)
}

/// A positive integer member of the body, or its default.
fn number(body: &Map<String, Value>, name: &str, default: u64) -> Option<u64> {
    match body.get(name) {
        None | Some(Value::Null) => Some(default),
        Some(v) => v.as_u64().filter(|n| *n >= 1),
    }
}

fn link(req: &Req, page: u64, size: u64) -> String {
    let host = req
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{}?page={page}&pageSize={size}", req.path())
}

pub(super) fn query(st: &State, req: &Req, name: &str) -> Response {
    if name != "employee" {
        let detail = "The specified dataset does not exist or is not accessible.";
        return problem(req, StatusCode::NOT_FOUND, "NOT_FOUND", detail);
    }
    let bad = |status, code: &str, detail: &str| problem(req, status, code, detail);
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(req.body) else {
        return bad(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "The body must be a JSON object.",
        );
    };
    let fields: Vec<String> = match body.get("fields").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => {
            return bad(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "fields is required.",
            );
        }
    };
    if let Some(unknown) = fields.iter().find(|f| dataset_field_type(f).is_none()) {
        let detail = format!("Unknown field `{unknown}` for dataset employee.");
        return bad(StatusCode::BAD_REQUEST, "INVALID_FIELD", &detail);
    }
    let filter = match body.get("filter") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => match filter::parse(s) {
            Ok(f) => Some(f),
            Err(e) => return bad(StatusCode::UNPROCESSABLE_ENTITY, "INVALID_FILTER", &e),
        },
        Some(_) => {
            return bad(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_FILTER",
                "filter must be a string.",
            );
        }
    };
    let rules = match body.get("orderBy").and_then(Value::as_str) {
        None => Vec::new(),
        Some(raw) => match order_by(raw, &fields) {
            Ok(r) => r,
            Err((status, code, detail)) => return bad(status, code, &detail),
        },
    };
    let (Some(page), Some(size)) = (
        number(&body, "page", 1),
        number(&body, "pageSize", DEFAULT_PAGE_SIZE).filter(|s| *s <= MAX_PAGE_SIZE),
    ) else {
        let detail = "page must be at least 1 and pageSize between 1 and 1000.";
        return bad(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_PAGINATION",
            detail,
        );
    };
    let all = &st.employees;
    let mut rows: Vec<&Employee> = all
        .values()
        .filter(|e| filter.as_ref().is_none_or(|f| f.matches(e, all)))
        .collect();
    rows.sort_by(|a, b| {
        rules
            .iter()
            .map(|(field, desc)| {
                let o = a
                    .dataset_sort_key(field, all)
                    .cmp(&b.dataset_sort_key(field, all));
                if *desc { o.reverse() } else { o }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let total = rows.len() as u64;
    let pages = total.div_ceil(size);
    let data: Vec<Value> = rows
        .iter()
        .skip(((page - 1) * size) as usize)
        .take(size as usize)
        .map(|e| {
            let values: Map<String, Value> = fields
                .iter()
                .map(|f| (f.clone(), e.dataset_field(f, all).unwrap_or(Value::Null)))
                .collect();
            json!({"fields": values, "_restrictedFields": []})
        })
        .collect();
    let mut links = Map::new();
    if page < pages {
        links.insert("next".into(), json!(link(req, page + 1, size)));
    }
    if page > 1 {
        links.insert("prev".into(), json!(link(req, page - 1, size)));
    }
    let mut resp = json(
        StatusCode::OK,
        &json!({
            "data": data,
            "links": links,
            "meta": {"page": page, "pageSize": size, "totalPages": pages, "totalItems": total},
        }),
    );
    super::http::set_header(&mut resp, "x-request-id", &request_id(req));
    resp
}
