//! A login request whose answer authenticates later requests: the `rest`
//! kind's `[auth] type = "login"`. The login is sent once with the
//! connector's username and password (a JSON body template), its answer's
//! session value is kept, and headers and query parameters are built from
//! it with the `jsonrpc` kind's templates (`${session.token}`,
//! `${'Session ' + base64(...)}`). Cookies the login sets go to the
//! connector's jar. A refused session is renewed once by the client.
//!
//! The session never leaves this module's `Mutex`; `Debug` hides it.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;

use super::cookies::CookieJar;
use super::jsonrpc::template::{Resolved, Scope, Template};
use super::{ConnectorError, lookup, shown_url};

pub struct LoginSource {
    pub(super) system: String,
    pub(super) method: Method,
    pub(super) url: String,
    pub(super) body: Template,
    /// `username` and `password`, as `${vars.username}` and `${vars.password}`.
    pub(super) vars: BTreeMap<String, Resolved>,
    pub(super) result: Vec<String>,
    pub(super) headers: Vec<(String, Template)>,
    pub(super) query: Vec<(String, Template)>,
    /// The body goes as a form, not JSON (`[auth] body_format = "form"`).
    form: bool,
    session: Mutex<Option<Value>>,
}

impl std::fmt::Debug for LoginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSource")
            .field("method", &self.method)
            .field("url", &shown_url(&self.url, &[]))
            .field("vars", &self.vars)
            .finish_non_exhaustive()
    }
}

/// What a login adds to a request.
#[derive(Default)]
pub struct Applied {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
}

pub enum LoginError {
    /// Worth trying again (the login endpoint was down or busy).
    Transient(ConnectorError),
    Final(ConnectorError),
}

impl LoginSource {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        system: &str,
        method: Method,
        url: String,
        body: Template,
        vars: BTreeMap<String, Resolved>,
        result: Vec<String>,
        headers: Vec<(String, Template)>,
        query: Vec<(String, Template)>,
    ) -> Self {
        Self {
            system: system.to_string(),
            method,
            url,
            body,
            vars,
            result,
            headers,
            query,
            form: false,
            session: Mutex::new(None),
        }
    }

    /// Send the body as a form (`application/x-www-form-urlencoded`)
    /// rather than JSON.
    pub fn sent_as_form(mut self, form: bool) -> Self {
        self.form = form;
        self
    }

    /// Forget the session: the next request logs in again.
    pub async fn invalidate(&self) {
        *self.session.lock().await = None;
    }

    /// The headers and parameters for the next request, logging in first
    /// when there is no session.
    pub async fn apply(
        &self,
        client: &reqwest::Client,
        jar: &CookieJar,
    ) -> Result<Applied, LoginError> {
        let mut slot = self.session.lock().await;
        if slot.is_none() {
            *slot = Some(self.login(client, jar).await?);
        }
        let session = slot.as_ref();
        let scope = Scope {
            vars: Some(&self.vars),
            session,
            ..Scope::default()
        };
        let text = |t: &Template| -> Result<String, LoginError> {
            match t.render(&scope) {
                Ok(Value::String(s)) => Ok(s),
                Ok(other) => Ok(other.to_string()),
                Err(message) => Err(LoginError::Final(ConnectorError::Build {
                    system: self.system.clone(),
                    message: format!("login: {message}"),
                })),
            }
        };
        let mut applied = Applied::default();
        for (name, t) in &self.headers {
            applied.headers.push((name.clone(), text(t)?));
        }
        for (name, t) in &self.query {
            applied.query.push((name.clone(), text(t)?));
        }
        Ok(applied)
    }

    async fn login(&self, client: &reqwest::Client, jar: &CookieJar) -> Result<Value, LoginError> {
        let auth = |body: String| {
            LoginError::Final(ConnectorError::Auth {
                system: self.system.clone(),
                status: 401,
                body,
            })
        };
        let scope = Scope {
            vars: Some(&self.vars),
            ..Scope::default()
        };
        let body = self.body.render(&scope).map_err(|message| {
            LoginError::Final(ConnectorError::Build {
                system: self.system.clone(),
                message: format!("login body: {message}"),
            })
        })?;
        let shown = shown_url(&self.url, &[]);
        let request = client.request(self.method.clone(), &self.url);
        let request = if self.form {
            // Validated flat when the manifest loaded.
            let pairs: Vec<(String, String)> = body
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect();
            request.form(&pairs)
        } else {
            request.json(&body)
        };
        let resp = request
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                LoginError::Transient(ConnectorError::Transport {
                    system: self.system.clone(),
                    url: shown.clone(),
                    message: format!("login: {}", e.without_url()),
                })
            })?;
        jar.store(resp.headers());
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(auth(format!(
                "the login at {shown} was refused: {}",
                super::http::excerpt(&text)
            )));
        }
        if !status.is_success() {
            let err = ConnectorError::Status {
                system: self.system.clone(),
                method: format!("{} (login)", self.method),
                url: shown,
                status: status.as_u16(),
                body: super::http::excerpt(&text),
            };
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                LoginError::Transient(err)
            } else {
                LoginError::Final(err)
            });
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match lookup(&body, &self.result).cloned() {
            Some(v) if !matches!(v, Value::Null | Value::Bool(false)) => Ok(v),
            _ => Err(auth(format!(
                "the login at {shown} answered no session value{}",
                if self.result.is_empty() {
                    String::new()
                } else {
                    format!(" at `{}`", self.result.join("."))
                }
            ))),
        }
    }
}
