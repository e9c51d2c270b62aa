//! The wire: `POST /jsonrpc` as Odoo's `JsonRPCDispatcher` serves it, the
//! three RPC services behind it, injected faults, and the request log.
//!
//! Odoo ignores the request's `jsonrpc` and `method` members, so a JSON-RPC
//! 1.0-style object (no `jsonrpc`, named `params`) is served exactly like a
//! 2.0 one and answered with `"jsonrpc": "2.0"`. What it refuses is 1.0's
//! positional `params` array: `dict(params)` raises ValueError ("dictionary
//! update sequence element #0 has length 6; 2 is required"), which comes
//! back as the usual error body. Everything that gets as far as dispatch
//! answers HTTP 200, errors included (`{"jsonrpc", "id", "error"}`, see
//! `error`); only what fails before dispatch is a 400 with a plain body: a
//! non-JSON `Content-Type` (werkzeug's HTML "Bad Request" page, naming the
//! route's type), a body that is not JSON ("Invalid JSON data"), or JSON
//! that is not an object ("Invalid JSON-RPC data"). Other paths get
//! werkzeug's 404 page.

mod services;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::error::OdooError;
use super::{Fault, OdooSim, RequestLog, State};

pub(super) fn router(sim: OdooSim) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

async fn handle(
    AxumState(sim): AxumState<OdooSim>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.answer(|st| {
        let mut log = RequestLog {
            http_method: method.to_string(),
            path: uri.path().to_string(),
            status: 0,
            id: Value::Null,
            service: None,
            method: None,
            db: None,
            uid: None,
            model: None,
            model_method: None,
            args: Vec::new(),
            kwargs: Map::new(),
            error: None,
        };
        let (response, list_served) = process(st, uri.path(), &headers, &body, &mut log);
        log.status = response.status().as_u16();
        (response, log, list_served)
    })
    .await
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

const HTML: &str = "text/html; charset=utf-8";

/// A werkzeug `HTTPException` page.
fn werkzeug_page(status: StatusCode, description: &str) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or_default();
    let page = format!(
        "<!doctype html>\n<html lang=en>\n<title>{code} {reason}</title>\n<h1>{reason}</h1>\n<p>{description}</p>\n"
    );
    respond(status, HTML, page)
}

/// markupsafe's escaping, as werkzeug applies it to a description.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The page nginx writes for an error status it produces itself.
fn nginx_page(status: StatusCode, title: &str) -> Response {
    let page = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    respond(status, "text/html", page)
}

fn fault_response(fault: &Fault, id: &Value) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            let mut resp = nginx_page(StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests");
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Fault::ServerError => werkzeug_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server encountered an internal error and was unable to complete your request. \
             Either the server is overloaded or there is an error in the application.",
        ),
        Fault::Unavailable => nginx_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Temporarily Unavailable",
        ),
        Fault::SerializationFailure => answer(
            id,
            Err(OdooError::postgres(
                "SerializationFailure",
                "could not serialize access due to concurrent update\n",
            )),
        ),
    }
}

/// The JSON-RPC answer: `result` left out when the method returned None.
fn answer(id: &Value, outcome: Result<Value, OdooError>) -> Response {
    let mut body = Map::new();
    body.insert("jsonrpc".into(), json!("2.0"));
    body.insert("id".into(), id.clone());
    match outcome {
        Ok(Value::Null) => {}
        Ok(result) => {
            body.insert("result".into(), result);
        }
        Err(e) => {
            body.insert("error".into(), e.body());
        }
    }
    respond(
        StatusCode::OK,
        "application/json; charset=utf-8",
        Value::Object(body).to_string(),
    )
}

fn is_json(headers: &HeaderMap) -> bool {
    let mimetype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    mimetype == "application/json" || mimetype == "application/json-rpc"
}

/// Returns the response and whether it served a `search_read` or `search`.
fn process(
    st: &mut State,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
    log: &mut RequestLog,
) -> (Response, bool) {
    if path != "/jsonrpc" {
        let resp = werkzeug_page(
            StatusCode::NOT_FOUND,
            "The requested URL was not found on the server. If you entered the URL manually \
             please check your spelling and try again.",
        );
        return (resp, false);
    }
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    if let Some(request) = &parsed {
        services::describe(request, log);
    }
    if let Some(fault) = st.controls.take_fault() {
        return (fault_response(&fault, &log.id), false);
    }
    if !is_json(headers) {
        let description = escape(
            "Request inferred type is compatible with ['http'] but '/jsonrpc' is type='json'.",
        );
        return (werkzeug_page(StatusCode::BAD_REQUEST, &description), false);
    }
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (
            respond(StatusCode::BAD_REQUEST, HTML, "Invalid JSON data".into()),
            false,
        );
    };
    let Value::Object(request) = value else {
        return (
            respond(
                StatusCode::BAD_REQUEST,
                HTML,
                "Invalid JSON-RPC data".into(),
            ),
            false,
        );
    };
    let outcome = services::dispatch(st, &request);
    log.error = outcome.as_ref().err().map(|e| e.name.clone());
    let listed = outcome.is_ok()
        && log.service.as_deref() == Some("object")
        && matches!(log.model_method.as_deref(), Some("search_read" | "search"));
    (answer(&log.id, outcome), listed)
}
