//! The simulator's wire behaviour: routing under
//! `/api/gateway.php/{companyDomain}/`, Basic auth with the API key as the
//! user name, injected faults, the request log and list-request hooks, and
//! the two error styles: v1 answers carry the reason in the
//! `X-BambooHR-Error-Message` header (with an empty body), v2 datasets
//! answer RFC 7807 `application/problem+json` with an `X-Request-ID`.
//!
//! Routing is done by hand in one fallback handler so that every path,
//! unknown ones included, answers as BambooHR does rather than as axum does.
//!
//! Assumed where the docs are silent: an unknown company domain and an
//! unknown path answer 404 with an empty body; a 401 (key missing or not
//! recognised) has an empty body, the reason in `X-BambooHR-Error-Message`
//! and a `WWW-Authenticate: Basic` challenge; the problem bodies' `type`
//! and wording.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::{Fault, RequestLog, State, datasets, read, writes};
use crate::controls::HttpSim;
use crate::request::Req;

/// The header v1 errors explain themselves in.
pub(super) const ERROR_HEADER: &str = "x-bamboohr-error-message";

impl HttpSim for State {
    const NAME: &'static str = "bamboohr";

    fn process(&mut self, req: &Req) -> (Response, bool) {
        process(self, req)
    }

    fn log_entry(req: &Req, status: u16) -> RequestLog {
        RequestLog {
            method: req.method.to_string(),
            path: req.path().to_string(),
            query: req.params.to_vec(),
            body: serde_json::from_slice(req.body).ok(),
            status,
        }
    }
}

// Free functions rather than `impl Req` methods: every simulator extends
// the shared `Req`, and method names would collide.

/// Whether the client asked for JSON; BambooHR answers XML otherwise.
pub(super) fn wants_json(req: &Req) -> bool {
    req.headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The request's `Content-Type`, or "".
pub(super) fn content_type<'r>(req: &'r Req) -> &'r str {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The Basic user name, which is where the API key goes.
fn api_key(req: &Req) -> Option<String> {
    let value = req.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_string())
}

/// The correlation id v2 answers carry: the client's, or a new one.
pub(super) fn request_id(req: &Req) -> String {
    req.headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub(super) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

pub(super) fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(super) fn json(status: StatusCode, body: &Value) -> Response {
    respond(status, "application/json", body.to_string())
}

pub(super) fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// A v1 error: an empty body and the reason in `X-BambooHR-Error-Message`.
pub(super) fn error(status: StatusCode, message: &str) -> Response {
    let mut resp = empty(status);
    set_header(&mut resp, ERROR_HEADER, message);
    resp
}

/// A v2 error: RFC 7807 problem details, with the request's correlation id.
pub(super) fn problem(req: &Req, status: StatusCode, code: &str, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = json!({
        "type": format!("https://documentation.bamboohr.com/docs/api-details#{}", status.as_u16()),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
    });
    let mut resp = respond(status, "application/problem+json", body.to_string());
    set_header(&mut resp, "x-request-id", &request_id(req));
    resp
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::Throttled { retry_after_secs } => {
            let mut resp = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable. Please try again later.",
            );
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        Fault::TooManyRequests { retry_after_secs } => {
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        Fault::ServerError => empty(StatusCode::INTERNAL_SERVER_ERROR),
        Fault::BadGateway => respond(
            StatusCode::BAD_GATEWAY,
            "text/html",
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
                .into(),
        ),
    }
}

/// The answer, and whether it served a list (for the hooks).
fn process(st: &mut State, req: &Req) -> (Response, bool) {
    let path = req.path().trim_matches('/').to_string();
    let segs: Vec<&str> = path.split('/').collect();
    let (domain, rest) = match segs.as_slice() {
        ["api", "gateway.php", domain, rest @ ..] => (*domain, rest),
        _ => return (empty(StatusCode::NOT_FOUND), false),
    };
    if domain != st.config.company_domain {
        return (empty(StatusCode::NOT_FOUND), false);
    }
    let v2 = rest.first() == Some(&"v2");
    match api_key(req) {
        Some(key) if key == st.config.api_key => {}
        // The docs' one line on 401: "Your API key is missing." A key the
        // company does not know is refused the same way.
        presented => {
            let message = if presented.is_some() {
                "Invalid API key"
            } else {
                "API key is missing"
            };
            let mut resp = if v2 {
                problem(req, StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
            } else {
                error(StatusCode::UNAUTHORIZED, message)
            };
            set_header(
                &mut resp,
                "www-authenticate",
                "Basic realm=\"BambooHR API\"",
            );
            return (resp, false);
        }
    }
    if let Some(fault) = st.controls.take_fault() {
        return (fault_response(&fault), false);
    }
    let m = req.method;
    match rest {
        ["v1", "employees", "directory"] if m == Method::GET => (read::directory(st, req), true),
        ["v1", "employees", "changed"] if m == Method::GET => (read::changed(st, req), true),
        ["v1", "employees", "changed", "tables", table] if m == Method::GET => {
            (read::changed_table(st, req, table), true)
        }
        ["v1", "employees"] if m == Method::POST => (writes::create(st, req), false),
        ["v1", "employees", id] => match id.parse::<u64>() {
            Ok(id) if m == Method::GET => (read::employee(st, req, id), false),
            Ok(id) if m == Method::POST => (writes::update(st, req, id), false),
            Ok(_) => (not_found(), false),
            Err(_) => (error(StatusCode::BAD_REQUEST, "Invalid employee id"), false),
        },
        ["v1", "reports", "custom"] if m == Method::POST => (read::custom_report(st, req), true),
        ["v2", "datasets", name, "data"] if m == Method::POST => {
            (datasets::query(st, req, name), true)
        }
        ["v2", ..] => (
            problem(req, StatusCode::NOT_FOUND, "NOT_FOUND", "No such resource."),
            false,
        ),
        // The help page: a 404 "can also be that the method (GET, POST,
        // PUT, DELETE) is unavailable".
        _ => (not_found(), false),
    }
}

pub(super) fn not_found() -> Response {
    empty(StatusCode::NOT_FOUND)
}
