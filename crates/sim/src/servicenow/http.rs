//! The simulator's wire behaviour: routing `/api/now[/v1|/v2]/table/...`,
//! Basic auth, injected faults, the Table API's parameters (`sysparm_query`,
//! `_limit`, `_offset`, `_fields`, `_display_value`,
//! `_exclude_reference_link`, `_no_count`, `_suppress_pagination_header`),
//! its `Link`/`X-Total-Count`/`Location` headers and its
//! `{"error":{"message","detail"},"status":"failure"}` error bodies.
//!
//! Routing is done by hand in one fallback handler so that every path,
//! including unknown ones, gets the platform's own error shape rather than
//! axum's.

use crate::controls::HttpSim;
use crate::request::Req;

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Map, Value, json};

use super::query::{self, Condition, Op};
use super::{Fault, ListCache, RequestLog, State};

mod records;

use records::{create, known_fields, modify, render};

/// The Table API's default page size.
const DEFAULT_LIMIT: usize = 10_000;

impl HttpSim for State {
    const NAME: &'static str = "servicenow";

    fn process(&mut self, req: &Req) -> (Response, bool) {
        process(self, req)
    }

    fn log_entry(req: &Req, status: u16) -> RequestLog {
        RequestLog {
            method: req.method.to_string(),
            path: req.path().to_string(),
            query: req.params.iter().cloned().collect(),
            status,
        }
    }
}

impl Req<'_> {
    fn flag(&self, name: &str) -> bool {
        self.param(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    fn flag_header(&self, name: &str) -> bool {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// Links point back at whatever host the client used, as the instance's do.
    fn base(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

const JSON_CT: &str = "application/json;charset=UTF-8";

fn respond(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CT));
    resp
}

fn error(status: StatusCode, message: &str, detail: Option<&str>) -> Response {
    respond(
        status,
        &json!({"error": {"message": message, "detail": detail}, "status": "failure"}),
    )
}

fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "No Record found",
        Some("Record doesn't exist or ACL restricts the record retrieval"),
    )
}

fn authenticated(st: &State, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    (user == st.config.username && pass == st.config.password).then(|| user.to_string())
}

fn fault_response(st: &State, fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            // Body, headers and wording follow "Inbound REST API rate limiting".
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                Some("Rate limit of 100 requests per hour for Table API exceeded"),
            );
            let reset = st.now().timestamp() + *retry_after_secs as i64;
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            set_header(&mut resp, "x-ratelimit-limit", "100");
            set_header(&mut resp, "x-ratelimit-reset", &reset.to_string());
            set_header(
                &mut resp,
                "x-ratelimit-rule",
                "4f4ab5d1db7330104a1f7dc2ca9619c4",
            );
            resp
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            Some("An unexpected error occurred while processing the request"),
        ),
        Fault::Unavailable => {
            // A 503 comes from the instance's front end, not the REST layer, so it is HTML.
            let mut resp = Response::new(Body::from(
                "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The instance is temporarily unavailable. Please try again later.</p></body></html>",
            ));
            *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html;charset=UTF-8"),
            );
            resp
        }
    }
}

/// Returns the response and whether it was a served GET list request.
fn process(st: &mut State, req: &Req) -> (Response, bool) {
    let path = req.uri.path().trim_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    let Some(user) = authenticated(st, req.headers) else {
        let mut resp = error(
            StatusCode::UNAUTHORIZED,
            "User Not Authenticated",
            Some("Required to provide Auth information"),
        );
        set_header(&mut resp, "www-authenticate", "BASIC realm=\"Service-now\"");
        return (resp, false);
    };
    let no_resource = || {
        let body = error(
            StatusCode::BAD_REQUEST,
            "Requested URI does not represent any resource",
            None,
        );
        (body, false)
    };
    let (version, rest) = match segs.as_slice() {
        ["api", "now", v @ ("v1" | "v2"), "table", rest @ ..] => (*v, rest),
        ["api", "now", "table", rest @ ..] => ("v2", rest),
        _ => {
            return no_resource();
        }
    };
    let (table, sys_id) = match rest {
        [t] if !t.is_empty() => (*t, None),
        [t, id] if !t.is_empty() && !id.is_empty() => (*t, Some(*id)),
        _ => {
            return no_resource();
        }
    };
    if let Some(fault) = st.controls.take_fault() {
        return (fault_response(st, &fault), false);
    }
    if !st.tables.contains_key(table) {
        return (
            error(
                StatusCode::BAD_REQUEST,
                &format!("Invalid table {table}"),
                None,
            ),
            false,
        );
    }
    let m = req.method;
    match sys_id {
        None if m == Method::GET => (list(st, req, table, version), true),
        None if m == Method::POST => (create(st, req, table, &user), false),
        Some(id) if m == Method::GET => {
            let resp = match st.find(table, id) {
                Some(rec) => respond(
                    StatusCode::OK,
                    &json!({"result": render(st, req, table, rec, &known_fields(st, table))}),
                ),
                None => not_found(),
            };
            (resp, false)
        }
        Some(id) if m == Method::PUT || m == Method::PATCH => {
            (modify(st, req, table, id, &user), false)
        }
        Some(id) if m == Method::DELETE => {
            let resp = if st.delete(table, id, &user) {
                respond_empty(StatusCode::NO_CONTENT)
            } else {
                not_found()
            };
            (resp, false)
        }
        _ => (
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not Supported",
                Some("The HTTP method is not supported by this resource"),
            ),
            false,
        ),
    }
}

fn respond_empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

fn list(st: &mut State, req: &Req, table: &str, version: &str) -> Response {
    let columns = known_fields(st, table);
    let column_set: HashSet<&str> = columns.iter().map(String::as_str).collect();
    let is_field = |f: &str| column_set.contains(f);
    let q = match req.param("sysparm_query") {
        Some(text) => query::parse(text),
        // Without sysparm_query, plain `field=value` parameters filter (documented; mutually exclusive).
        None => {
            let conds = req
                .params
                .iter()
                .filter(|(k, _)| !k.starts_with("sysparm_"));
            query::Query {
                blocks: vec![
                    conds
                        .map(|(k, v)| {
                            vec![Condition {
                                field: k.clone(),
                                op: Op::Eq,
                                value: v.clone(),
                            }]
                        })
                        .collect(),
                ],
                order: Vec::new(),
            }
        }
    };
    // A database answers the next page of the same query from an index; the
    // simulator keeps the last query's ordered row numbers until a write, so
    // paging through a large table is not quadratic.
    let mut cache_key = table.to_string();
    for (k, v) in req
        .params
        .iter()
        .filter(|(k, _)| k != "sysparm_offset" && k != "sysparm_limit")
    {
        cache_key.push_str(&format!("\u{0}{k}={v}"));
    }
    let cached = st
        .list_cache
        .as_ref()
        .filter(|c| c.key == cache_key && c.generation == st.generation)
        .map(|c| c.rows.clone());
    let order = match cached {
        Some(order) => order,
        None => {
            let all = st.tables.get(table).map(Vec::as_slice).unwrap_or_default();
            let index = q.select(all, &is_field);
            st.list_cache = Some(ListCache {
                key: cache_key,
                generation: st.generation,
                rows: index.clone(),
            });
            index
        }
    };
    let all = st.tables.get(table).map(Vec::as_slice).unwrap_or_default();
    let rows: Vec<&Map<String, Value>> = order.iter().filter_map(|i| all.get(*i)).collect();
    let total = rows.len();
    let limit = req
        .param("sysparm_limit")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_LIMIT);
    let offset = req
        .param("sysparm_offset")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    let page = &rows[offset.min(total)..offset.saturating_add(limit).min(total)];
    if page.is_empty() && version == "v1" {
        // Documented: version 1 answers an empty result with 404, version 2 with [].
        return error(
            StatusCode::NOT_FOUND,
            "No Record found",
            Some("Records matching query not found. Check query parameter or offset parameter"),
        );
    }
    let result: Vec<Value> = page
        .iter()
        .map(|r| render(st, req, table, r, &columns))
        .collect();
    let mut resp = respond(StatusCode::OK, &json!({ "result": result }));
    if !req.flag("sysparm_no_count") {
        set_header(&mut resp, "x-total-count", &total.to_string());
    }
    if !req.flag("sysparm_suppress_pagination_header") {
        set_header(&mut resp, "link", &link_header(req, total, offset, limit));
    }
    resp
}

/// `<url>;rel="first",<url>;rel="prev",<url>;rel="next",<url>;rel="last"`,
/// each URL the request's own with its other parameters kept in order and
/// `sysparm_limit`/`sysparm_offset` appended, as captured from real instances.
/// `prev` only when not on the first page, `next` only when more rows follow.
fn link_header(req: &Req, total: usize, offset: usize, limit: usize) -> String {
    let url_at = |off: usize| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in req
            .params
            .iter()
            .filter(|(k, _)| k != "sysparm_limit" && k != "sysparm_offset")
        {
            ser.append_pair(k, v);
        }
        ser.append_pair("sysparm_limit", &limit.to_string());
        ser.append_pair("sysparm_offset", &off.to_string());
        format!("<{}{}?{}>", req.base(), req.uri.path(), ser.finish())
    };
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    let mut links = vec![format!("{};rel=\"first\"", url_at(0))];
    if offset > 0 {
        links.push(format!(
            "{};rel=\"prev\"",
            url_at(offset.saturating_sub(limit))
        ));
    }
    if offset.saturating_add(limit) < total {
        links.push(format!("{};rel=\"next\"", url_at(offset + limit)));
    }
    links.push(format!("{};rel=\"last\"", url_at(last)));
    links.join(",")
}
