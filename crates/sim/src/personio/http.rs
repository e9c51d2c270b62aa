//! The simulator's wire behaviour: routing, the bearer check on the v1
//! resource paths, injected faults, and the v1 error body
//! `{"success": false, "error": {"code", "message"}}` (the spec's
//! `ErrorResponse`).
//!
//! Routing is done by hand in one fallback handler so that every path,
//! including unknown ones, answers in Personio's shape rather than axum's.
//!
//! Assumed where the docs are silent: the 401 messages (taken from what
//! users report on the developer hub: "Authorization is not provided" without
//! a header, "Unauthenticated" for a bad or lapsed token), the 429 body, and
//! `Retry-After` on a 429 (the changelog only says to wait at least a
//! second; no rate-limit headers are documented, so none are sent).

use crate::controls::HttpSim;
use crate::request::Req;

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Fault, RequestLog, State, auth, employees};

impl HttpSim for State {
    const NAME: &'static str = "personio";

    fn process(&mut self, req: &Req) -> (Response, bool) {
        let response = process(self, req);
        // A list request: the employee list answered with a success.
        let list_served = *req.method == Method::GET
            && req.path().trim_matches('/') == "v1/company/employees"
            && response.status().is_success();
        (response, list_served)
    }

    fn log_entry(req: &Req, status: u16) -> RequestLog {
        RequestLog {
            method: req.method.to_string(),
            path: req.path().to_string(),
            query: req.params.to_vec(),
            status,
        }
    }
}

impl Req<'_> {
    /// Every value of a repeated parameter such as `attributes[]`.
    pub(super) fn params_named(&self, name: &str) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(super) fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub(super) fn bearer(&self) -> Option<&str> {
        let value = self.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

pub(super) fn respond(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// The v1 error body. `code` is 0 in most of the spec's examples.
pub(super) fn error(status: StatusCode, code: u16, message: &str) -> Response {
    respond(
        status,
        &json!({"success": false, "error": {"code": code, "message": message}}),
    )
}

pub(super) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, 429, "Too Many Requests");
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        // The spec's `ErrorResponse` example.
        Fault::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, 0, "Something went wrong"),
        Fault::Unavailable => {
            let mut resp = Response::new(Body::from(
                "<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
            ));
            *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            resp
        }
    }
}

fn process(st: &mut State, req: &Req) -> Response {
    let segs: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    let m = req.method;
    match segs.as_slice() {
        ["v1", "auth"] if m == Method::POST => return auth::v1_auth(st, req),
        ["v2", "auth", "token"] if m == Method::POST => return auth::v2_token(st, req),
        ["v1", "auth"] | ["v2", "auth", "token"] => return method_not_allowed(),
        ["v1", "company", "employees", ..] => {}
        _ => return error(StatusCode::NOT_FOUND, 0, "Not found"),
    }
    let Some(token) = req.bearer() else {
        return error(StatusCode::UNAUTHORIZED, 0, "Authorization is not provided");
    };
    if !st.token_valid(token) {
        return error(StatusCode::UNAUTHORIZED, 0, "Unauthenticated");
    }
    let token = token.to_string();
    if let Some(fault) = st.controls.take_fault() {
        return fault_response(&fault);
    }
    let mut resp = match &segs[3..] {
        [] if m == Method::GET => employees::list(st, req),
        [] if m == Method::POST => employees::create(st, req),
        [id] => match id.parse::<u64>() {
            Ok(id) if m == Method::GET => employees::show(st, req, id),
            Ok(id) if m == Method::PATCH => employees::update(st, req, id),
            Ok(_) => method_not_allowed(),
            Err(_) => error(
                StatusCode::BAD_REQUEST,
                0,
                "The employee id must be an integer.",
            ),
        },
        [] => method_not_allowed(),
        _ => error(StatusCode::NOT_FOUND, 0, "Not found"),
    };
    // Documented: a successful call echoes the (stable) token in its
    // `Authorization` header, for clients that rotate tokens.
    if resp.status().is_success() {
        set_header(&mut resp, "authorization", &format!("Bearer {token}"));
    }
    resp
}

fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        0,
        "The HTTP method is not supported by this resource",
    )
}
