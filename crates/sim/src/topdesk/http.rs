//! The simulator's wire behaviour: routing under `/tas/api`, Basic auth with
//! application passwords, injected faults, the incident list (`pageStart`,
//! `pageSize`, `query`, `sort`, `fields`, `all`; 206 while more follow, 200
//! on the last page, 204 when nothing matches), single incidents by id or
//! number, their actions and progress trail, the incident lookup lists, and
//! the API's `[{"message": …}]` error bodies. `list` owns the lists' paging,
//! filtering and sorting, `writes` create and update, `rules` what TOPdesk
//! derives on write.
//!
//! Routing is done by hand in one fallback handler so that every path gets
//! the API's own answers rather than axum's.

use crate::controls::HttpSim;
use crate::request::Req;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::{Fault, RequestLog, State};

mod list;
mod rules;
mod writes;

use list::{list, trail_list};

pub(crate) use writes::apply_update;

/// The version `GET /tas/api/version` reports.
const API_VERSION: &str = "3.9.1";

impl HttpSim for State {
    const NAME: &'static str = "topdesk";

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

const JSON_CT: &str = "application/json";

pub(super) fn respond(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CT));
    resp
}

/// The API's error body: an array of messages.
pub(super) fn error(status: StatusCode, message: &str) -> Response {
    respond(status, &json!([{ "message": message }]))
}

pub(super) fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

fn html(status: StatusCode, page: String) -> Response {
    let mut resp = Response::new(Body::from(page));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    resp
}

/// A 401 is the servlet container's HTML error page, as clients of real
/// environments report it ("The request has not been applied … because it
/// lacks valid authentication credentials"); the docs show no body.
fn unauthorized() -> Response {
    html(
        StatusCode::UNAUTHORIZED,
        "<!doctype html><html lang=\"en\"><head><title>HTTP Status 401 – Unauthorized</title></head>\
         <body><h1>HTTP Status 401 – Unauthorized</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p>\
         <p><b>Description</b> The request has not been applied to the target resource because it lacks \
         valid authentication credentials for the target resource.</p><hr class=\"line\" /></body></html>"
            .to_string(),
    )
}

fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Basic auth: the operator's login name and one of its application passwords.
fn authenticated(st: &State, headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|d| String::from_utf8(d).ok());
    decoded
        .as_deref()
        .and_then(|t| t.split_once(':'))
        .is_some_and(|(user, pass)| user == st.config.username && pass == st.config.password)
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            // Body wording assumed; TOPdesk documents throttling only as a right it reserves.
            let mut resp = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests. Please try again later.",
            );
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An internal error occurred. Please contact your TOPdesk application manager.",
        ),
        Fault::Unavailable => html(
            StatusCode::SERVICE_UNAVAILABLE,
            "<!doctype html><html><head><title>TOPdesk is temporarily unavailable</title></head>\
             <body><h1>TOPdesk is temporarily unavailable</h1><p>TOPdesk is being updated or \
             maintained. Please try again in a few minutes.</p></body></html>"
                .to_string(),
        ),
    }
}

fn not_found(message: &str) -> Response {
    error(StatusCode::NOT_FOUND, message)
}

fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    )
}

/// The incident lookup lists the API serves, by path segment.
fn lookup_list_field(segment: &str) -> Option<&'static str> {
    Some(match segment {
        "statuses" => "processingStatus",
        "priorities" => "priority",
        "impacts" => "impact",
        "urgencies" => "urgency",
        "call_types" => "callType",
        "entry_types" => "entryType",
        "closure_codes" => "closureCode",
        "categories" => "category",
        "subcategories" => "subcategory",
        _ => return None,
    })
}

/// Returns the response and whether it was a served incident list request.
fn process(st: &mut State, req: &Req) -> (Response, bool) {
    if !authenticated(st, req.headers) {
        return (unauthorized(), false);
    }
    let decoded: Vec<String> = req
        .path()
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let Some(rest) = segs.strip_prefix(&["tas", "api"]) else {
        return (not_found("HTTP 404 Not Found"), false);
    };
    if let Some(fault) = st.controls.take_fault() {
        return (fault_response(&fault), false);
    }
    let m = req.method;
    let resp = match rest {
        ["version"] if m == Method::GET => {
            respond(StatusCode::OK, &json!({"version": API_VERSION}))
        }
        ["incidents"] if m == Method::GET => {
            let resp = list(st, req);
            let served = resp.status().is_success();
            return (resp, served);
        }
        ["incidents"] if m == Method::POST => writes::create(st, req),
        ["incidents", by @ ("id" | "number"), key] => {
            let found = match *by {
                "id" => st.position(key),
                _ => st
                    .incidents
                    .iter()
                    .position(|r| r.get("number").and_then(Value::as_str) == Some(*key)),
            };
            let Some(i) = found else {
                return (
                    not_found(&format!("No incident found with {by} '{key}'.")),
                    false,
                );
            };
            if m == Method::GET {
                respond(StatusCode::OK, &Value::Object(st.incidents[i].clone()))
            } else if m == Method::PATCH || m == Method::PUT {
                let id = st.incidents[i]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                writes::update(st, req, &id)
            } else {
                method_not_allowed()
            }
        }
        [
            "incidents",
            "id",
            key,
            sub @ ("actions" | "requests" | "progresstrail"),
        ] => {
            if m != Method::GET {
                return (method_not_allowed(), false);
            }
            match st.trails.get(*key) {
                Some(trail) => trail_list(req, trail, sub),
                None => not_found(&format!("No incident found with id '{key}'.")),
            }
        }
        ["incidents", segment] if lookup_list_field(segment).is_some() => {
            if m != Method::GET {
                return (method_not_allowed(), false);
            }
            let field = lookup_list_field(segment).unwrap_or_default();
            let items = st.catalog.lists.get(field).cloned().unwrap_or_default();
            respond(StatusCode::OK, &Value::Array(items))
        }
        _ => not_found("HTTP 404 Not Found"),
    };
    (resp, false)
}

/// A path segment with its `%XX` escapes decoded (incident numbers hold spaces).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%')
            .then(|| segment.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, &message.into())
}
