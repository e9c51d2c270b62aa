//! The wire: `POST /<database>/` as trytond's JSON-RPC dispatcher serves
//! it. `common.db.login` needs no authorization; every model call needs a
//! `Session` authorization naming a live session, else HTTP 401 (an
//! expired session included, so a client's renewal is exercised). Answers
//! are `{"id", "result"}`, or `{"id", "error": [name, args]}` for a
//! refused call (trytond `protocols/jsonrpc.py`, `JSONRequest`/`JSONResponse`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

use super::domain::{matches, sort};
use super::{Fault, RequestLog, State, TrytonSim, USER_ID};

pub(super) fn router(sim: TrytonSim) -> Router {
    Router::new().fallback(handle).with_state(sim)
}

async fn handle(
    AxumState(sim): AxumState<TrytonSim>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.answer(|st| {
        let mut log = RequestLog {
            path: uri.path().to_string(),
            status: 200,
            method: None,
            auth_scheme: None,
            session_valid: false,
            params: Vec::new(),
            returned: 0,
            error: None,
        };
        let response = process(st, uri.path(), &headers, &body, &mut log);
        log.status = response.status().as_u16();
        let list_served = log
            .method
            .as_deref()
            .is_some_and(|m| m.ends_with(".search_read"))
            && log.error.is_none()
            && response.status().is_success();
        (response, log, list_served)
    })
    .await
}

fn process(
    st: &mut State,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    log: &mut RequestLog,
) -> Response {
    if let Some(fault) = st.controls.take_fault() {
        return match fault {
            Fault::TooManyRequests => {
                (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response()
            }
            Fault::Unavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
            }
        };
    }
    // The URL ends with the database name and a trailing `/`.
    if path.trim_matches('/') != st.config.db || !path.ends_with('/') {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return (StatusCode::BAD_REQUEST, "Bad Request").into_response();
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = match request.get("params") {
        Some(Value::Array(p)) => p.clone(),
        _ => Vec::new(),
    };
    log.method = Some(method.to_string());
    log.params = params.clone();
    let reply = |result: Value| axum::Json(json!({"id": id, "result": result})).into_response();
    if method == "common.db.login" {
        return reply(login(st, &params));
    }
    let user = check_session(st, headers, log);
    let Some(login) = user else {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    };
    match method.strip_prefix("model.party.party.") {
        Some("search_read") => match search_read(st, &params) {
            Ok(records) => {
                log.returned = records.len();
                reply(Value::Array(records))
            }
            Err(message) => {
                log.error = Some("DomainValidationError".into());
                let error = json!(["DomainValidationError", [message, ""]]);
                axum::Json(json!({"id": id, "error": error})).into_response()
            }
        },
        _ => {
            log.error = Some("UserError".into());
            let message = format!("Calling method {method} is not allowed for {login}");
            axum::Json(json!({"id": id, "error": ["UserError", [message, ""]]})).into_response()
        }
    }
}

/// `[login, {"password": ...}, language]`: `[user_id, session]`, or null.
fn login(st: &mut State, params: &[Value]) -> Value {
    let login = params.first().and_then(Value::as_str).unwrap_or_default();
    let password = params
        .get(1)
        .and_then(|p| p.get("password"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if login != st.config.login || password != st.config.password {
        return Value::Null;
    }
    let session = format!("{:032x}", 0x5e55_1000_u64 + st.next_session);
    st.next_session += 1;
    st.sessions
        .insert(session.clone(), (login.to_string(), USER_ID));
    json!([USER_ID, session])
}

/// The login whose `Session` authorization names a live session.
fn check_session(st: &State, headers: &HeaderMap, log: &mut RequestLog) -> Option<String> {
    let raw = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = raw.split_once(' ')?;
    log.auth_scheme = Some(scheme.to_string());
    if scheme != "Session" {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let mut parts = decoded.splitn(3, ':');
    let (login, user_id, session) = (parts.next()?, parts.next()?, parts.next()?);
    let (owner, uid) = st.sessions.get(session)?;
    let valid = owner == login && uid.to_string() == user_id;
    log.session_valid = valid;
    valid.then(|| login.to_string())
}

/// `[domain, offset, limit, order, fields_names, context]`.
pub(super) fn search_read(st: &State, params: &[Value]) -> Result<Vec<Value>, String> {
    let domain = params.first().cloned().unwrap_or_else(|| json!([]));
    let offset = params.get(1).and_then(Value::as_u64).unwrap_or(0) as usize;
    let limit = params.get(2).and_then(Value::as_u64).map(|l| l as usize);
    let order = params.get(3).cloned().unwrap_or(Value::Null);
    let fields: Option<Vec<String>> = params.get(4).and_then(Value::as_array).map(|f| {
        f.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    });
    let mut found = Vec::new();
    for row in st.parties.values() {
        let record = row.to_json();
        if matches(&record, &domain)? {
            found.push(record);
        }
    }
    sort(&mut found, &order)?;
    let page = found
        .into_iter()
        .skip(offset)
        .take(limit.unwrap_or(usize::MAX));
    Ok(page
        .map(|mut r| {
            if let (Some(fields), Value::Object(m)) = (&fields, &mut r) {
                m.retain(|k, _| k == "id" || fields.contains(k));
            }
            r
        })
        .collect())
}
