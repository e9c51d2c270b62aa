//! What one HTTP request is, and what a refused one keeps: the request as
//! errors show it (credentials masked, header values never).

use reqwest::Method;
use serde_json::Value;

use crate::{looks_secret, shown_url};

/// A request for [`HttpClient::call`]. Auth is the client's; `Accept:
/// application/json` is added unless `headers` names another. `Debug`
/// shows header names only: their values carry sessions and keys.
#[derive(Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Query parameters whose values are credentials whatever their name
    /// (built from a login's result): masked wherever the request shows.
    pub secret_query: Vec<String>,
    read_only: bool,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &shown_url(&self.url, &self.shown_query()))
            .field("headers", &headers)
            .finish_non_exhaustive()
    }
}

impl HttpRequest {
    pub fn new(method: Method, url: &str) -> Self {
        Self {
            method,
            url: url.to_string(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            secret_query: Vec::new(),
            read_only: false,
        }
    }

    pub fn get(url: &str, query: Vec<(String, String)>) -> Self {
        Self {
            query,
            ..Self::new(Method::GET, url)
        }
    }

    /// The query as errors show it: `secret_query` values masked (those
    /// named like credentials are masked later, by name).
    pub(super) fn shown_query(&self) -> Vec<(String, String)> {
        self.query
            .iter()
            .map(|(k, v)| match self.secret_query.contains(k) {
                true => (k.clone(), "***".to_string()),
                false => (k.clone(), v.clone()),
            })
            .collect()
    }

    /// Whether sending it twice does no more than sending it once. A
    /// read-only POST (a search, a report) opts in with `read_only`.
    pub(super) fn idempotent(&self) -> bool {
        self.method.is_idempotent() || self.read_only
    }

    /// Mark a POST that only reads (a search, a report, a JSON-RPC read),
    /// so it is retried like a GET.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// The request and response of a refused call, kept whole (up to a cap) for
/// quarantine and the dead-letter queue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exchange {
    pub method: String,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub request_body: Option<Value>,
    pub status: u16,
    pub response_body: String,
}

/// Query parameters with the values of credentials masked, for an
/// [`Exchange`] kept in quarantine or a dead letter.
pub(super) fn masked_query(query: &[(String, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(k, v)| match looks_secret(k) {
            true => (k.clone(), "***".to_string()),
            false => (k.clone(), v.clone()),
        })
        .collect()
}
