//! The two ways to get a bearer token, both accepted on the v1 resources.
//!
//! - `POST /v1/auth` (Personnel Data API v1, `personio-auth-api.yaml`):
//!   `client_id` and `client_secret` as query parameters (the original
//!   spec), a JSON body or a form body (the changelog added both); answers
//!   `{"success": true, "data": {"token": "papi-…"}}`. The token is stable:
//!   the same one comes back for 24 hours.
//! - `POST /v2/auth/token` (v2 "Obtain Access Token"): the OAuth 2.0 client
//!   credentials grant, form-encoded only; answers `{access_token,
//!   token_type, expires_in, scope}`.
//!
//! Assumed where the docs are silent: v1's wrong-credentials answer (401
//! with the v1 error body, wording as users quote it), and v2's error bodies.
//! The v2 reference lists its error cases as "Bad Request - Invalid Client",
//! "- Invalid Credentials", "- Invalid Grant", "- Unsupported Grant Type" and
//! "- Invalid Scope"; we answer each with 400 and RFC 6749 §5.2's
//! `{"error", "error_description"}`.

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::State;
use super::http::{error, respond, set_header};
use crate::request::Req;

pub(super) fn v1_auth(st: &mut State, req: &Req) -> Response {
    let body = form_or_json(req);
    let field = |name: &str| {
        req.param(name)
            .map(str::to_string)
            .or_else(|| body.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    };
    let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return error(
            StatusCode::BAD_REQUEST,
            0,
            "The client_id and client_secret fields are required.",
        );
    };
    if id != st.config.client_id || secret != st.config.client_secret {
        return error(
            StatusCode::UNAUTHORIZED,
            0,
            "You could not be authenticated with those credentials.",
        );
    }
    let (token, _) = st.issue_token(true);
    respond(
        StatusCode::OK,
        &json!({"success": true, "data": {"token": token}}),
    )
}

pub(super) fn v2_token(st: &mut State, req: &Req) -> Response {
    if !req
        .content_type()
        .starts_with("application/x-www-form-urlencoded")
    {
        return oauth_error(
            "invalid_request",
            "The request must be formatted using the application/x-www-form-urlencoded media type.",
        );
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(req.body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    // RFC 6749 §2.3.1 also lets a client authenticate with HTTP Basic.
    let (id, secret) = match basic(req) {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (field("client_id"), field("client_secret")),
    };
    let Some(grant) = field("grant_type") else {
        return oauth_error(
            "invalid_request",
            "Required parameter grant_type is missing.",
        );
    };
    let (Some(id), Some(secret)) = (id, secret) else {
        return oauth_error(
            "invalid_request",
            "Required parameters client_id and client_secret are missing.",
        );
    };
    if grant != "client_credentials" {
        return oauth_error(
            "unsupported_grant_type",
            &format!("Grant type {grant} is not supported; use client_credentials."),
        );
    }
    if id != st.config.client_id {
        return oauth_error(
            "invalid_client",
            "Client authentication failed: unknown client.",
        );
    }
    if secret != st.config.client_secret {
        return oauth_error(
            "unauthorized_client",
            "Client authentication failed: invalid client credentials.",
        );
    }
    let scope = field("scope");
    if let Some(bad) = scope
        .as_deref()
        .and_then(|s| s.split_whitespace().find(|s| !s.starts_with("personio:")))
    {
        return oauth_error("invalid_scope", &format!("Scope {bad} is not valid."));
    }
    let (token, ttl) = st.issue_token(false);
    let mut resp = respond(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope.unwrap_or_else(|| "personio:persons:read personio:persons:write".into()),
        }),
    );
    set_header(&mut resp, "cache-control", "no-store");
    resp
}

fn oauth_error(code: &str, description: &str) -> Response {
    respond(
        StatusCode::BAD_REQUEST,
        &json!({"error": code, "error_description": description}),
    )
}

fn basic(req: &Req) -> Option<(String, String)> {
    let value = req
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let (id, secret) = String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))?;
    Some((id, secret))
}

/// The body's fields, whether sent as JSON or as a form.
fn form_or_json(req: &Req) -> Vec<(String, String)> {
    if req.content_type().starts_with("application/json") {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(req.body) else {
            return Vec::new();
        };
        return map
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect();
    }
    url::form_urlencoded::parse(req.body).into_owned().collect()
}
