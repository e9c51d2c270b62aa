//! Errors as RFC 9457 problem details (`application/problem+json`): a
//! status, a title that names the kind of problem, and a detail about this
//! occurrence. No custom `type` URIs yet, so `type` is `about:blank` and the
//! title is the status's reason, as the RFC asks for that case.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem detail.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The status's reason phrase, e.g. `Forbidden`.
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for a person to read.
    pub detail: String,
    /// For a form: each answer refused, as `{"field", "detail"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<serde_json::Value>>,
    /// Seconds until a 429's caller may try again (sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            retry_after: None,
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "send `Authorization: Bearer <token>` with a token from `[api] tokens`",
        )
    }

    /// A bearer that looked like an employee's JWT and failed `why`.
    pub fn unauthorized_because(why: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            format!("{why}; sign in again with the identity provider"),
        )
    }

    pub fn forbidden(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("this token lacks the `{scope}` scope"),
        )
    }

    /// The token called too often: try again after `wait`.
    pub fn too_many(wait: std::time::Duration) -> Self {
        let mut p = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this token's calls a minute are spent (`[api] rate_limit_per_minute`); try again in {} s",
                wait.as_secs().max(1)
            ),
        );
        p.retry_after = Some(wait.as_secs().max(1));
        p
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, what)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// The store failed: logged in full, answered without internals.
    pub fn unavailable(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %error, "API request failed on the store");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store did not answer; try again",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"switchboard\""),
            );
        }
        response
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Self {
        Self::unavailable(&e)
    }
}
