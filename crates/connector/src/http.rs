//! A polite HTTP client shared by HTTP-based connector kinds.
//!
//! It rate-limits every request (token bucket), retries transient failures
//! (connect errors, timeouts, 408, 429, 5xx) with jittered exponential
//! backoff (backon: the first wait is at least `initial_backoff`, each
//! next one doubles, up to `max_backoff`), and treats a `Retry-After`
//! header as the minimum wait. Data errors (other 4xx) are never retried:
//! retrying cannot fix them.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

mod request;
mod retry;

use request::masked_query;
pub use request::{Exchange, HttpRequest};
pub use retry::{RetryPolicy, backoff_waits, retry_after};

use super::login::LoginError;
use super::oauth2::{TokenError, TokenSource};
use super::{ConnectorError, shown_url};
use crate::Secret;

/// Longest response body excerpt kept in an error.
const BODY_EXCERPT: usize = 500;

#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic {
        username: String,
        password: Secret,
    },
    Bearer(Secret),
    Header {
        name: String,
        value: Secret,
    },
    /// A bearer token from an OAuth 2.0 token endpoint.
    OAuth2(std::sync::Arc<TokenSource>),
    /// Headers and parameters built from a login request's answer.
    Login(std::sync::Arc<super::login::LoginSource>),
}

#[derive(Debug)]
pub struct HttpClient {
    rate_per_sec: Option<u32>,
    system: String,
    client: reqwest::Client,
    auth: Auth,
    limiter: Option<DefaultDirectRateLimiter>,
    retry: RetryPolicy,
    /// Cookies the system set (a login's session), sent back.
    cookies: super::cookies::CookieJar,
}

/// A successful JSON response.
#[derive(Debug)]
pub struct JsonResponse {
    pub body: Value,
    pub headers: HeaderMap,
    /// A success status: some APIs page by it (206 Partial Content).
    pub status: u16,
}

impl HttpClient {
    pub fn new(
        system: &str,
        timeout: Duration,
        connect_timeout: Duration,
        rate_per_sec: Option<u32>,
        auth: Auth,
        retry: RetryPolicy,
    ) -> Result<Self, ConnectorError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Build {
                system: system.to_string(),
                message: format!("cannot build HTTP client: {e}"),
            })?;
        let limiter = rate_per_sec
            .and_then(NonZeroU32::new)
            .map(|n| RateLimiter::direct(Quota::per_second(n)));
        Ok(Self {
            system: system.to_string(),
            client,
            auth,
            limiter,
            rate_per_sec: rate_per_sec.filter(|n| *n > 0),
            retry,
            cookies: Default::default(),
        })
    }

    /// Forget the cookies the system set: a renewed login starts afresh.
    pub fn clear_cookies(&self) {
        self.cookies.clear();
    }

    /// Requests per second this client allows itself; `None`: unlimited.
    pub fn rate_per_sec(&self) -> Option<u32> {
        self.rate_per_sec
    }

    /// GET a URL with query parameters and decode a JSON body, retrying transient failures.
    pub async fn get_json(
        &self,
        url: &str,
        query: &[(String, String)],
    ) -> Result<JsonResponse, ConnectorError> {
        self.call(&HttpRequest::get(url, query.to_vec())).await
    }

    /// Send a request and decode its JSON body (an empty body reads as
    /// null). Transient failures are retried; for a request that is not
    /// idempotent only those the server cannot have acted on are (connect
    /// errors, 429, 503), so a timed-out create is never sent twice.
    pub async fn call(&self, request: &HttpRequest) -> Result<JsonResponse, ConnectorError> {
        let mut backoff = self.retry.waits();
        let mut attempt = 1;
        let mut token_renewed = false;
        loop {
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            let outcome = self.send(request).await;
            let (err, retry_after) = match outcome {
                Ok(resp) => return Ok(resp),
                // A token can be revoked or expire early: fetch a new one,
                // once, before calling it an auth failure.
                Err(Failure::Final(ConnectorError::Auth { .. }))
                    if !token_renewed && matches!(self.auth, Auth::OAuth2(_) | Auth::Login(_)) =>
                {
                    match &self.auth {
                        Auth::OAuth2(source) => source.invalidate().await,
                        Auth::Login(source) => {
                            source.invalidate().await;
                            self.cookies.clear();
                        }
                        _ => {}
                    }
                    token_renewed = true;
                    continue;
                }
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Transient(e, _)) if !request.idempotent() && !refused_unseen(&e) => {
                    return Err(e);
                }
                Err(Failure::Transient(e, retry_after) | Failure::Unsent(e, retry_after)) => {
                    (e, retry_after)
                }
            };
            if attempt >= self.retry.max_attempts {
                return Err(err);
            }
            let mut wait = backoff.next().unwrap_or(self.retry.max_backoff);
            if let Some(server_wait) = retry_after {
                if server_wait > self.retry.max_retry_after {
                    return Err(ConnectorError::RateLimited {
                        system: self.system.clone(),
                        wait_secs: server_wait.as_secs(),
                        max_secs: self.retry.max_retry_after.as_secs(),
                    });
                }
                wait = wait.max(server_wait);
            }
            retry::HttpRetry {
                connector: &self.system,
                attempt,
                wait,
                error: &err,
            }
            .emit();
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn send(&self, request: &HttpRequest) -> Result<JsonResponse, Failure> {
        let url = request.url.as_str();
        // What errors show: the query too, credentials masked.
        let shown_query = request.shown_query();
        let shown = || shown_url(url, &shown_query);
        let mut req = self
            .client
            .request(request.method.clone(), url)
            .query(&request.query);
        req = match &self.auth {
            Auth::None => req,
            Auth::Basic { username, password } => req.basic_auth(username, Some(password.expose())),
            Auth::Bearer(token) => req.bearer_auth(token.expose()),
            Auth::Header { name, value } => req.header(name.as_str(), value.expose()),
            Auth::OAuth2(source) => match source.token(&self.client).await {
                Ok(token) => req.bearer_auth(token.expose()),
                Err(TokenError::Transient(e)) => return Err(Failure::Transient(e, None)),
                Err(TokenError::Final(e)) => return Err(Failure::Final(e)),
            },
            Auth::Login(source) => match source.apply(&self.client, &self.cookies).await {
                Ok(applied) => req
                    .query(&applied.query)
                    .headers(header_map(&self.system, &applied.headers)?),
                Err(LoginError::Transient(e)) => return Err(Failure::Transient(e, None)),
                Err(LoginError::Final(e)) => return Err(Failure::Final(e)),
            },
        };
        let mut cookies = Vec::new();
        // Replacing, not adding: a session's `Authorization` wins over the
        // Basic credentials reqwest takes from a URL's user-info.
        let mut plain = Vec::new();
        for (name, value) in &request.headers {
            if name.eq_ignore_ascii_case("cookie") {
                cookies.extend(value.split(';').filter_map(|c| {
                    c.split_once('=')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                }));
            } else {
                plain.push((name.clone(), value.clone()));
            }
        }
        req = req.headers(header_map(&self.system, &plain)?);
        if let Some(cookie) = self.cookies.header(&cookies) {
            req = req.header(reqwest::header::COOKIE, cookie);
        }
        if let Some(body) = &request.body {
            req = req.json(body);
        }
        if !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
        {
            req = req.header(reqwest::header::ACCEPT, "application/json");
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                // reqwest's message names the URL as sent, password and
                // all: the error carries the masked one instead.
                let e = e.without_url();
                let (system, url, message) = (self.system.clone(), shown(), error_chain(&e));
                let err = if e.is_connect() {
                    ConnectorError::Unreachable {
                        system,
                        url,
                        message,
                    }
                } else {
                    ConnectorError::Transport {
                        system,
                        url,
                        message,
                    }
                };
                // Connect errors and timeouts are worth another try; a bad
                // URL is not, nor a redirect loop (reqwest gives up after 10
                // hops, and the server will send the same hops again).
                return Err(if e.is_builder() || e.is_redirect() {
                    Failure::Final(err)
                } else if e.is_connect() {
                    Failure::Unsent(err, None)
                } else {
                    Failure::Transient(err, None)
                });
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        self.cookies.store(&headers);
        let text = resp.text().await.map_err(|e| {
            Failure::Transient(
                ConnectorError::Transport {
                    system: self.system.clone(),
                    url: shown(),
                    message: error_chain(&e.without_url()),
                },
                None,
            )
        })?;
        // 204 No Content: nothing matched (TOPdesk answers an empty query so).
        if status == StatusCode::NO_CONTENT {
            return Ok(JsonResponse {
                body: Value::Null,
                headers,
                status: status.as_u16(),
            });
        }
        // An update answered 204, or a create answered 201 with only a
        // `Location`, has no body to decode.
        if status.is_success() && text.trim().is_empty() {
            return Ok(JsonResponse {
                body: Value::Null,
                headers,
                status: status.as_u16(),
            });
        }
        if status.is_success() {
            let body = crate::text::parse_json(&text).map_err(|e| {
                Failure::Final(ConnectorError::Shape {
                    system: self.system.clone(),
                    url: shown(),
                    message: format!("body is not JSON ({e}): {}", excerpt(&text)),
                })
            })?;
            return Ok(JsonResponse {
                body,
                headers,
                status: status.as_u16(),
            });
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Failure::Final(ConnectorError::Auth {
                system: self.system.clone(),
                status: status.as_u16(),
                body: excerpt(&text),
            }));
        }
        let transient = status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT;
        if transient {
            let err = ConnectorError::Status {
                system: self.system.clone(),
                method: request.method.to_string(),
                url: shown(),
                status: status.as_u16(),
                body: excerpt(&text),
            };
            return Err(Failure::Transient(err, retry_after(&headers)));
        }
        // A data error: retrying cannot fix it, and whoever handles it (an
        // admin reading the run's error, the dead-letter queue) needs the
        // whole exchange to see why.
        Err(Failure::Final(ConnectorError::Rejected {
            system: self.system.clone(),
            exchange: Box::new(Exchange {
                method: request.method.to_string(),
                url: shown_url(url, &[]),
                query: masked_query(&shown_query),
                request_body: request.body.clone(),
                status: status.as_u16(),
                response_body: capped(&explained(&text, &headers)),
            }),
        }))
    }
}

/// Headers to set on a request (replacing any of the same name), their
/// values marked sensitive: they carry sessions and keys.
fn header_map(system: &str, headers: &[(String, String)]) -> Result<HeaderMap, Failure> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let (Ok(name), Ok(mut value)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_str(value),
        ) else {
            return Err(Failure::Final(ConnectorError::Build {
                system: system.to_string(),
                message: format!("header `{name}` is not a valid HTTP header"),
            }));
        };
        value.set_sensitive(true);
        map.append(name, value);
    }
    Ok(map)
}

/// Did the server refuse this before acting on it? Only then may a
/// non-idempotent request go again (a connect error never reached it).
fn refused_unseen(err: &ConnectorError) -> bool {
    matches!(err, ConnectorError::Status { status, .. } if *status == 429 || *status == 503)
}

enum Failure {
    Transient(ConnectorError, Option<Duration>),
    /// The request never reached the server: safe to send again, whatever it is.
    Unsent(ConnectorError, Option<Duration>),
    Final(ConnectorError),
}

/// Some APIs answer errors with an empty body and the reason in a header
/// (BambooHR's `X-BambooHR-Error-Message`): keep that reason.
fn explained(text: &str, headers: &HeaderMap) -> String {
    if !text.trim().is_empty() {
        return text.to_string();
    }
    headers
        .iter()
        .filter(|(name, _)| name.as_str().contains("error"))
        .filter_map(|(name, value)| Some(format!("{name}: {}", value.to_str().ok()?)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Largest response body kept whole in a [`Exchange`].
const BODY_CAP: usize = 64 * 1024;

fn capped(text: &str) -> String {
    if text.len() <= BODY_CAP {
        return text.to_string();
    }
    let mut end = BODY_CAP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

pub(super) fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(BODY_EXCERPT).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// reqwest hides the useful part ("connection refused") in the source chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::retry::policy;

    /// The configured first backoff is what the client waits before its
    /// second try, not a library default (it once waited about 0.5 s
    /// whatever `initial_backoff_ms` said).
    #[tokio::test]
    async fn the_first_retry_waits_the_configured_initial_backoff() {
        let hits: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let log = hits.clone();
        let app = axum::Router::new().fallback(move || {
            let log = log.clone();
            async move {
                let mut hits = log.lock().unwrap();
                hits.push(Instant::now());
                if hits.len() == 1 {
                    (StatusCode::SERVICE_UNAVAILABLE, "restarting").into_response()
                } else {
                    axum::Json(serde_json::json!({"ok": true})).into_response()
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let initial = Duration::from_millis(1_500);
        let client = HttpClient::new(
            "sim",
            Duration::from_secs(5),
            Duration::from_secs(5),
            None,
            Auth::None,
            policy(initial.as_millis() as u64, 30_000),
        )
        .unwrap();
        let got = client.get_json(&format!("{base}/x"), &[]).await.unwrap();
        assert_eq!(got.body["ok"], true);
        let hits = hits.lock().unwrap().clone();
        assert_eq!(hits.len(), 2);
        let waited = hits[1] - hits[0];
        assert!(
            waited >= initial,
            "waited {waited:?}, configured {initial:?}"
        );
        assert!(
            waited < initial * 2 + Duration::from_millis(500),
            "{waited:?}"
        );
    }
}
