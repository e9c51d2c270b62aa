//! The simulator's wire behaviour: routing under `/maximo/oslc` and its MAS
//! alias `/maximo/api`, authentication (an `apikey` header or query
//! parameter, or native `maxauth`), injected faults, and Maximo's JSON
//! error bodies. `list` owns the reads (the collection query and single
//! resources), `writes` the creates, updates and the changeStatus action.
//!
//! Routing is done by hand in one fallback handler so that every path gets
//! the server's own answers rather than axum's.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use serde_json::Value;

use super::errors::{self, MaximoError};
use super::{Fault, RequestLog, State};
use crate::controls::HttpSim;
use crate::request::Req;

mod list;
mod writes;

pub(crate) use writes::apply_update;

#[cfg(test)]
pub(super) use list::parse_order as parse_order_for_tests;

/// Where a request came in: the URLs the answer writes (`href`,
/// `nextPage`, `Location`) point back through the same host and context.
pub(super) struct Context {
    /// `http://host:port`, from the request's `Host`.
    pub origin: String,
    /// `http://host/maximo/oslc` or `http://host/maximo/api`.
    pub base: String,
    /// `http://host/maximo/oslc`: where error messages are described.
    pub oslc: String,
}

impl Context {
    pub fn collection(&self) -> String {
        format!("{}/os/mxwo", self.base)
    }
}

/// As in any servlet container, a literal `+` in a query decodes to a
/// space: clients must send `+changedate` and `-05:00` offsets as `%2B`.
impl HttpSim for State {
    const NAME: &'static str = "maximo";

    fn process(&mut self, req: &Req) -> (Response, bool) {
        process(self, req)
    }

    fn log_entry(req: &Req, status: u16) -> RequestLog {
        RequestLog {
            method: req.method.to_string(),
            path: req.path().to_string(),
            query: req.params.iter().cloned().collect(),
            headers: req
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(req.body).into_owned(),
            status,
        }
    }
}

pub(super) fn respond(status: StatusCode, body: &Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    resp
}

pub(super) fn error(e: &MaximoError, ctx: &Context) -> Response {
    respond(e.status, &e.body(&ctx.oslc))
}

pub(super) fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

pub(super) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

// Free functions rather than `impl Req` methods: the request view is shared
// with the other simulators, whose method names must not collide with ours.
pub(super) fn header<'r>(req: &'r Req, name: &str) -> Option<&'r str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A boolean parameter as the API reads them: `1`/`true`.
pub(super) fn flag(req: &Req, name: &str) -> bool {
    req.param(name)
        .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// An API key (header or parameter), or `maxauth`/Basic with the native user.
fn authenticated(st: &State, req: &Req) -> bool {
    let key = header(req, "apikey").or_else(|| req.param("apikey"));
    if let Some(key) = key {
        return key == st.config.api_key;
    }
    let encoded = header(req, "maxauth").or_else(|| {
        header(req, "authorization").and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
                .map(|(_, creds)| creds)
        })
    });
    let decoded = encoded
        .and_then(|e| {
            base64::engine::general_purpose::STANDARD
                .decode(e.trim())
                .ok()
        })
        .and_then(|d| String::from_utf8(d).ok());
    decoded
        .as_deref()
        .and_then(|t| t.split_once(':'))
        .is_some_and(|(user, pass)| {
            user.eq_ignore_ascii_case(&st.config.username) && pass == st.config.password
        })
}

fn fault_response(fault: &Fault, ctx: &Context) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            let mut resp = error(&errors::too_many_requests(), ctx);
            set_header(&mut resp, "retry-after", &retry_after_secs.to_string());
            resp
        }
        Fault::ServerError => error(&errors::server_error(), ctx),
        Fault::Unavailable => {
            let mut resp = Response::new(Body::from(
                "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>\
                 <body><h1>Service Unavailable</h1><p>The server is temporarily unable to \
                 service your request. Please try again later.</p></body></html>",
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

/// Returns the response and whether it was a served collection query.
fn process(st: &mut State, req: &Req) -> (Response, bool) {
    let host = header(req, "host").unwrap_or("localhost").to_string();
    let segs: Vec<&str> = req.path().trim_matches('/').split('/').collect();
    let context = match segs.as_slice() {
        ["maximo", c @ ("oslc" | "api"), ..] => *c,
        _ => "oslc",
    };
    let origin = format!("http://{host}");
    let ctx = Context {
        base: format!("{origin}/maximo/{context}"),
        oslc: format!("{origin}/maximo/oslc"),
        origin,
    };
    if !authenticated(st, req) {
        return (error(&errors::not_authenticated(), &ctx), false);
    }
    let rest = match segs.as_slice() {
        ["maximo", "oslc" | "api", "os", os, rest @ ..] if os.eq_ignore_ascii_case("mxwo") => rest,
        _ => return (error(&errors::unknown_path(req.path()), &ctx), false),
    };
    if let Some(fault) = st.controls.take_fault() {
        return (fault_response(&fault, &ctx), false);
    }
    let override_method = header(req, "x-method-override").map(str::to_ascii_uppercase);
    let m = req.method;
    let resp = match (rest, override_method.as_deref()) {
        ([], None) if m == Method::GET => {
            let resp = list::collection(st, req, &ctx);
            let served = resp.status().is_success();
            return (resp, served);
        }
        ([], None) if m == Method::POST => writes::create(st, req, &ctx),
        ([], Some("SYNC")) if m == Method::POST => writes::sync(st, req, &ctx),
        ([id], None) if m == Method::GET => list::member(st, req, &ctx, id),
        ([id], Some("PATCH")) if m == Method::POST => writes::update(st, req, &ctx, id),
        ([_], None) if m == Method::POST => error(
            &errors::unsupported(
                "A POST on a resource needs the x-method-override header (PATCH to update it).",
            ),
            &ctx,
        ),
        (_, Some(other)) => error(
            &errors::unsupported(&format!(
                "The method override {other} is not supported here."
            )),
            &ctx,
        ),
        _ => error(&errors::unknown_path(req.path()), &ctx),
    };
    (resp, false)
}
