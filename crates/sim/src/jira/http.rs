//! The simulator's wire behaviour: routing under `/rest/servicedeskapi`,
//! Basic auth with account email and API token, injected faults, the error
//! bodies, and `GET /request/{issueIdOrKey}`. `read` holds the paged lists
//! (requests, comments and a service desk's request types), `writes` the
//! endpoints that change data.
//!
//! Routing is done by hand in one fallback handler so that every path,
//! including unknown ones, gets an answer shaped like the real API's.

use crate::controls::HttpSim;
use crate::request::Req;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use chrono::Duration;
use serde_json::{Value, json};

use super::render::{self, Ctx, Expand};
use super::{Fault, RequestLog, State};

mod read;
mod writes;

use read::{comments, list, request_types};

impl HttpSim for State {
    const NAME: &'static str = "jira";

    fn process(&mut self, req: &Req) -> (Response, bool) {
        process(self, req)
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
    /// Every value of a multi-value parameter: repeated, comma-separated, or both.
    fn values(&self, name: &str) -> Vec<String> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    fn expand(&self) -> Expand {
        Expand::parse(
            self.params
                .iter()
                .filter(|(k, _)| k == "expand")
                .map(|(_, v)| v.as_str()),
        )
    }

    /// Links point back at whatever host the client used, as the site's do.
    fn site(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }
}

fn ctx<'a>(st: &State, site: &'a str) -> Ctx<'a> {
    Ctx {
        site,
        tz: st.config.time_zone,
        now: st.now(),
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

fn respond_text(status: StatusCode, content_type: &'static str, text: &'static str) -> Response {
    let mut resp = Response::new(Body::from(text));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// The servicedeskapi's `ErrorResponse`. The documented shape is
/// `{errorMessage, i18nErrorMessage: {i18nKey, parameters}}`; the messages
/// and keys are assumed, the docs list none.
fn error(status: StatusCode, message: &str, key: &str) -> Response {
    respond(
        status,
        &json!({
            "errorMessage": message,
            "i18nErrorMessage": {"i18nKey": key, "parameters": []},
        }),
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
        "Request does not exist or you do not have permission to see it.",
        "sd.request.error.not.found",
    )
}

/// Jira Cloud takes Basic auth as `email:api-token`.
fn authenticated(st: &State, headers: &HeaderMap) -> bool {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    credentials
        .as_deref()
        .and_then(|c| c.split_once(':'))
        .is_some_and(|(user, token)| {
            user.eq_ignore_ascii_case(&st.config.email) && token == st.config.api_token
        })
}

fn fault_response(st: &State, fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            // Headers per the "Rate limiting" page; its numbers are not
            // published, so the limit shown is assumed. The body is undocumented:
            // the platform's error collection is assumed.
            let mut resp = respond(
                StatusCode::TOO_MANY_REQUESTS,
                &json!({"errorMessages": ["Rate limit exceeded."], "errors": {}}),
            );
            let reset = st.now() + Duration::seconds(*retry_after_secs as i64);
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            set_header(
                &mut resp,
                "x-ratelimit-reset",
                &reset.format("%Y-%m-%dT%H:%MZ").to_string(),
            );
            set_header(&mut resp, "x-ratelimit-limit", "100");
            set_header(&mut resp, "x-ratelimit-remaining", "0");
            set_header(&mut resp, "ratelimit-reason", "jira-burst-based");
            resp
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "An internal error occurred. Please try again later.",
            "sd.internal.server.error",
        ),
        Fault::Unavailable { retry_after_secs } => {
            // From Atlassian's edge rather than the REST layer, so not JSON (assumed).
            let mut resp = respond_text(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/html;charset=UTF-8",
                "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>",
            );
            if let Some(secs) = retry_after_secs {
                set_header(&mut resp, "retry-after", &secs.to_string());
            }
            resp
        }
    }
}

/// The resources this simulator serves.
enum Route<'p> {
    Requests,
    Request(&'p str),
    Comments(&'p str),
    Transitions(&'p str),
    /// `GET /servicedesk/{serviceDeskId}/requesttype`.
    RequestTypes(&'p str),
}

fn route(path: &str) -> Option<Route<'_>> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["rest", "servicedeskapi", "request"] => Some(Route::Requests),
        ["rest", "servicedeskapi", "request", id] if !id.is_empty() => Some(Route::Request(id)),
        ["rest", "servicedeskapi", "request", id, "comment"] => Some(Route::Comments(id)),
        ["rest", "servicedeskapi", "request", id, "transition"] => Some(Route::Transitions(id)),
        ["rest", "servicedeskapi", "servicedesk", desk, "requesttype"] if !desk.is_empty() => {
            Some(Route::RequestTypes(desk))
        }
        _ => None,
    }
}

/// Returns the response and whether it was a served list request.
fn process(st: &mut State, req: &Req) -> (Response, bool) {
    if !authenticated(st, req.headers) {
        // What Jira Cloud answers for missing or rejected credentials.
        let resp = respond_text(
            StatusCode::UNAUTHORIZED,
            "text/html;charset=UTF-8",
            "Client must be authenticated to access this resource.",
        );
        return (resp, false);
    }
    let Some(route) = route(req.uri.path()) else {
        return (empty(StatusCode::NOT_FOUND), false);
    };
    if let Some(fault) = st.controls.take_fault() {
        return (fault_response(st, &fault), false);
    }
    let (m, site) = (req.method, req.site());
    let resp = match route {
        Route::Requests if m == Method::GET => return (list(st, req, &site), true),
        Route::Requests if m == Method::POST => writes::create(st, req, &site),
        Route::Request(id) if m == Method::GET => match st.find(id) {
            Some(r) => respond(
                StatusCode::OK,
                &render::request(r, &req.expand(), &ctx(st, &site)),
            ),
            None => not_found(),
        },
        Route::Comments(id) if m == Method::GET => comments(st, req, id, &site),
        Route::Comments(id) if m == Method::POST => writes::comment(st, req, id, &site),
        Route::Transitions(id) if m == Method::GET => writes::transitions(st, req, id, &site),
        Route::Transitions(id) if m == Method::POST => writes::transition(st, req, id),
        Route::RequestTypes(desk) if m == Method::GET => {
            return (request_types(st, req, desk, &site), true);
        }
        _ => empty(StatusCode::METHOD_NOT_ALLOWED),
    };
    (resp, false)
}
