//! OAuth 2.0 client credentials (RFC 6749 §4.4): a token fetched from the
//! token endpoint with the connector's own id and secret, cached until it
//! expires, and fetched again once if the API refuses it before then.
//!
//! Shared by HTTP-based kinds. The token never leaves [`Secret`], so it does
//! not reach logs or `Debug` output.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::ConnectorError;
use crate::Secret;

/// Tokens are renewed this long before the server says they expire, so a
/// request never leaves with a token that lapses on the way.
const EARLY: Duration = Duration::from_secs(30);
/// When the server gives no `expires_in`: keep the token until refused.
const NO_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// How the client proves who it is to the token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` as form fields (most APIs).
    #[default]
    Body,
    /// HTTP Basic with the id and secret (RFC 6749 §2.3.1's preference).
    Basic,
}

#[derive(Debug)]
pub struct TokenSource {
    system: String,
    token_url: String,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    client_auth: ClientAuth,
    cached: Mutex<Option<(Secret, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    pub fn new(
        system: &str,
        token_url: String,
        client_id: String,
        client_secret: Secret,
        scope: Option<String>,
        client_auth: ClientAuth,
    ) -> Self {
        TokenSource {
            system: system.to_string(),
            token_url,
            client_id,
            client_secret,
            scope,
            client_auth,
            cached: Mutex::new(None),
        }
    }

    /// A valid token: the cached one, or a new one from the token endpoint.
    /// Concurrent callers wait for one fetch rather than each making one.
    pub async fn token(&self, http: &reqwest::Client) -> Result<Secret, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.fetch(http).await?;
        *cached = Some((token.clone(), Instant::now() + lifetime));
        Ok(token)
    }

    /// Forget the cached token, after the API refused it.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<(Secret, Duration), TokenError> {
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let mut req = http.post(&self.token_url);
        match self.client_auth {
            ClientAuth::Body => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", self.client_secret.expose()));
            }
            ClientAuth::Basic => {
                req = req.basic_auth(&self.client_id, Some(self.client_secret.expose()));
            }
        }
        let transport = |e: reqwest::Error| {
            TokenError::Transient(ConnectorError::Transport {
                system: self.system.clone(),
                url: self.token_url.clone(),
                message: format!("token request failed: {e}"),
            })
        };
        let resp = req.form(&form).send().await.map_err(transport)?;
        let status = resp.status();
        let text = resp.text().await.map_err(transport)?;
        if status.is_success() {
            let body: TokenResponse = serde_json::from_str(&text).map_err(|e| {
                TokenError::Final(ConnectorError::Shape {
                    system: self.system.clone(),
                    url: self.token_url.clone(),
                    message: format!("token response has no `access_token` ({e})"),
                })
            })?;
            let lifetime = body
                .expires_in
                .map(|s| {
                    Duration::from_secs(s)
                        .saturating_sub(EARLY)
                        .max(Duration::from_secs(1))
                })
                .unwrap_or(NO_EXPIRY);
            return Ok((Secret::new(body.access_token), lifetime));
        }
        // The token endpoint answers a wrong id or secret with 400
        // `invalid_client` as often as with 401.
        let body: String = text.chars().take(500).collect();
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenError::Final(ConnectorError::Auth {
                system: self.system.clone(),
                status: status.as_u16(),
                body: format!(
                    "token endpoint {} refused the client credentials: {body}",
                    self.token_url
                ),
            }));
        }
        Err(TokenError::Transient(ConnectorError::Status {
            system: self.system.clone(),
            method: "POST".into(),
            url: self.token_url.clone(),
            status: status.as_u16(),
            body,
        }))
    }
}

/// Why no token: worth retrying (5xx, 429, network) or not.
#[derive(Debug)]
pub enum TokenError {
    Transient(ConnectorError),
    Final(ConnectorError),
}
