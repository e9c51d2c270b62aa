//! The `rest` kind: a declarative HTTP connector for JSON APIs.
//!
//! A manifest names the base URL, auth, and per stream the path, record
//! array, key, paging style and incremental cursor. This kind turns that into
//! requests; it knows nothing of any one vendor.

mod actions;
pub mod config;
pub mod deletions;
mod details;
mod login;
mod paging;
mod records;
mod request;
#[cfg(test)]
mod tests;
mod validate;

use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;
use toml::de::DeTable;

use super::http::{Auth, HttpClient, RetryPolicy};
use super::oauth2::TokenSource;
use super::{
    ActionInput, ActionOutcome, ActionSpec, Connector, ConnectorConfig, ConnectorError,
    ManifestHeader, Page, PageToken, StreamSpec,
};
use crate::diag::{Diagnostic, SourceFile};
use crate::{ConnectorOverride, SecretRef};
use actions::PathTemplate;
use config::{ActionConfig, AuthConfig, RestConfig, StreamConfig};
pub use paging::link_next;
use paging::{next_token, overlap_key};
pub(crate) use records::scalar_string;
use request::page_request;
pub(crate) use validate::check_http;
use validate::validate;

/// Parse and validate a `rest` manifest's own keys.
pub fn parse(
    source: &SourceFile,
    table: Spanned<DeTable<'_>>,
) -> Result<Box<dyn ConnectorConfig>, Diagnostic> {
    let cfg: RestConfig = source.deserialize_table(table, super::manifest::HEADER_KEYS)?;
    validate(source, &cfg)?;
    Ok(Box::new(cfg))
}

fn stream_spec(s: &StreamConfig) -> StreamSpec {
    StreamSpec {
        name: s.name.clone(),
        // Validated in parse(), so the format is known good here.
        cursor: s.cursor.as_ref().and_then(|c| c.keys().spec().ok()),
        max_pages: None,
    }
}

/// Names only: the base URL may carry a password, the static headers a key.
impl std::fmt::Debug for RestConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        let streams: Vec<&str> = self.streams.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("RestConnector")
            .field("system", &self.system)
            .field("base_url", &crate::shown_url(&self.base_url, &[]))
            .field("headers", &headers)
            .field("client", &self.client)
            .field("streams", &streams)
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConnectorConfig for RestConfig {
    fn streams(&self) -> Vec<StreamSpec> {
        self.streams.iter().map(stream_spec).collect()
    }

    fn actions(&self) -> Vec<ActionSpec> {
        self.actions
            .iter()
            .map(|(name, a)| ActionSpec {
                name: name.clone(),
                body: !a.no_body,
            })
            .collect()
    }

    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String> {
        if !over.vars.is_empty() {
            return Err("`vars` sets a jsonrpc manifest's [vars]; this connector has none".into());
        }
        if let Some(url) = &over.base_url {
            crate::check_base_url(url).map_err(|e| format!("base_url {e}"))?;
            self.base_url = url.clone();
        }
        if let Some(rate) = over.rate_limit_per_sec {
            self.http.rate_limit_per_sec = rate;
        }
        let set = |slot: &mut SecretRef, value: &Option<SecretRef>| {
            if let Some(v) = value {
                *slot = v.clone();
            }
        };
        match &mut self.auth {
            Some(AuthConfig::Basic { username, password }) => {
                set(username, &over.username);
                set(password, &over.password);
            }
            Some(AuthConfig::Bearer { token }) => set(token, &over.token),
            Some(AuthConfig::ApiKey { value, .. }) => set(value, &over.token),
            Some(AuthConfig::Oauth2ClientCredentials {
                client_id,
                client_secret,
                ..
            }) => {
                set(client_id, &over.username);
                set(client_secret, &over.password);
            }
            Some(AuthConfig::Login(login)) => {
                set(&mut login.username, &over.username);
                set(&mut login.password, &over.password);
            }
            None => {}
        }
        Ok(())
    }

    fn build(&self, header: &ManifestHeader) -> Result<Arc<dyn Connector>, ConnectorError> {
        let system = header.system.clone();
        let secret = |r: &SecretRef| {
            r.resolve().map_err(|source| ConnectorError::Secret {
                system: system.clone(),
                source,
            })
        };
        let auth = match &self.auth {
            None => Auth::None,
            Some(AuthConfig::Basic { username, password }) => Auth::Basic {
                username: secret(username)?.expose().to_string(),
                password: secret(password)?,
            },
            Some(AuthConfig::Bearer { token }) => Auth::Bearer(secret(token)?),
            Some(AuthConfig::ApiKey { header, value }) => Auth::Header {
                name: header.clone(),
                value: secret(value)?,
            },
            Some(AuthConfig::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                client_auth,
            }) => Auth::OAuth2(Arc::new(TokenSource::new(
                &system,
                // `/v2/auth/token` lives beside the API, so it follows a
                // `base_url` override (a sandbox, a simulator).
                match token_url.strip_prefix('/') {
                    Some(path) => format!("{}/{path}", self.base_url.trim_end_matches('/')),
                    None => token_url.clone(),
                },
                secret(client_id)?.expose().to_string(),
                secret(client_secret)?,
                scope.clone(),
                *client_auth,
            ))),
            Some(AuthConfig::Login(login)) => {
                Auth::Login(login::build(&system, &self.base_url, login)?)
            }
        };
        let h = &self.http;
        let client = HttpClient::new(
            &system,
            Duration::from_secs(h.timeout_secs),
            Duration::from_secs(h.connect_timeout_secs),
            Some(h.rate_limit_per_sec),
            auth,
            RetryPolicy {
                max_attempts: h.max_attempts.max(1),
                initial_backoff: Duration::from_millis(h.initial_backoff_ms),
                max_backoff: Duration::from_secs(30),
                max_retry_after: Duration::from_secs(h.max_retry_after_secs),
            },
        )?;
        let actions = self
            .actions
            .iter()
            .map(|(name, a)| {
                // Validated in parse().
                let path =
                    PathTemplate::parse(&a.path).map_err(|message| ConnectorError::Build {
                        system: system.clone(),
                        message,
                    })?;
                Ok((name.clone(), (a.clone(), path)))
            })
            .collect::<Result<_, ConnectorError>>()?;
        Ok(Arc::new(RestConnector {
            system,
            base_url: self.base_url.trim_end_matches('/').to_string(),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            client,
            streams: self.streams.clone(),
            actions,
        }))
    }
}

pub struct RestConnector {
    system: String,
    base_url: String,
    headers: Vec<(String, String)>,
    client: HttpClient,
    streams: Vec<StreamConfig>,
    actions: std::collections::BTreeMap<String, (ActionConfig, PathTemplate)>,
}

#[async_trait::async_trait]
impl Connector for RestConnector {
    fn system(&self) -> &str {
        &self.system
    }

    fn streams(&self) -> Vec<StreamSpec> {
        self.streams.iter().map(stream_spec).collect()
    }

    async fn fetch_page(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        let s = self
            .streams
            .iter()
            .find(|s| s.name == stream)
            .ok_or_else(|| ConnectorError::UnknownStream {
                system: self.system.clone(),
                stream: stream.to_string(),
            })?;
        self.fetch_with(s, from, token).await
    }

    fn deletions(&self, stream: &str) -> Option<super::DeletionSpec> {
        self.streams
            .iter()
            .find(|s| s.name == stream)
            .and_then(|s| s.deletions.as_ref())
            .map(deletions::spec)
    }

    async fn fetch_deleted(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        self.deleted_page(stream, from, token).await
    }

    async fn fetch_keys(
        &self,
        stream: &str,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        self.key_page(stream, token).await
    }

    fn has_details(&self, stream: &str) -> bool {
        self.streams
            .iter()
            .any(|s| s.name == stream && !s.details.is_empty())
    }

    async fn fetch_details(
        &self,
        stream: &str,
        record: &serde_json::Value,
    ) -> Result<Vec<(String, serde_json::Value)>, ConnectorError> {
        match self.streams.iter().find(|s| s.name == stream) {
            Some(s) if !s.details.is_empty() => self.details_of(s, record).await,
            _ => Ok(Vec::new()),
        }
    }

    fn rate_limit_per_sec(&self) -> Option<u32> {
        self.client.rate_per_sec()
    }

    fn actions(&self) -> Vec<String> {
        self.actions.keys().cloned().collect()
    }

    async fn perform(
        &self,
        name: &str,
        input: &ActionInput,
    ) -> Result<ActionOutcome, ConnectorError> {
        let Some((action, path)) = self.actions.get(name) else {
            return Err(ConnectorError::UnknownAction {
                system: self.system.clone(),
                action: name.to_string(),
                known: self.actions().join(", "),
            });
        };
        let request = actions::action_request(
            &self.system,
            &self.base_url,
            &self.headers,
            name,
            action,
            path,
            input,
        )?;
        let resp = self.client.call(&request).await?;
        Ok(actions::outcome(action, input, resp))
    }
}

impl RestConnector {
    /// One page of `s` (a stream, or a sub-request shaped as one: a
    /// deleted-records endpoint, a key listing) from the lower bound `from`.
    async fn fetch_with(
        &self,
        s: &StreamConfig,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        // A search body must say something for `{cursor}` even on a first
        // read without a bound (`check --connect`): the cursor's start.
        let spec = stream_spec(s).cursor;
        let initial = spec.as_ref().map(|c| c.initial.clone());
        let from = from.or(initial.as_deref().filter(|_| s.body.is_some()));
        // Stored in the cursor's format, sent in its `write_format`.
        let written = spec.as_ref().zip(from).map(|(c, f)| c.written(f));
        let request = page_request(&self.base_url, &self.headers, s, written.as_deref(), token);
        let url = request.url.clone();
        let mut resp = self.client.call(&request).await?;
        let shown = crate::shown_url(&url, &request.query);
        let mut records = records::records(&self.system, s, spec.as_ref(), &shown, &mut resp)?;
        let received = records.len();
        // We asked again for the last record of the previous page: if it is
        // still there, the positions after it have not moved.
        let shifted = crate::drop_overlap(&mut records, overlap_key(s, token));
        let next = match next_token(s, token, received, &records, &resp) {
            Some(PageToken::Url(next)) => Some(PageToken::Url(self.resolve_next(&url, &next)?)),
            other => other,
        };
        Ok(Page {
            records,
            next,
            shifted,
        })
    }

    /// Make a next link absolute against the request that returned it, and
    /// refuse one that leaves the configured origin: we would send it our
    /// credentials.
    fn resolve_next(&self, request_url: &str, next: &str) -> Result<String, ConnectorError> {
        let shape = |message: String| ConnectorError::Shape {
            system: self.system.clone(),
            url: crate::shown_url(request_url, &[]),
            message,
        };
        let base =
            url::Url::parse(request_url).map_err(|e| shape(format!("bad request URL: {e}")))?;
        let resolved = base
            .join(next)
            .map_err(|e| shape(format!("next link `{next}` is not a URL: {e}")))?;
        let origin = url::Url::parse(&self.base_url)
            .map(|u| u.origin())
            .map_err(|e| shape(format!("bad base_url: {e}")))?;
        if resolved.origin() != origin {
            return Err(shape(format!(
                "next link `{resolved}` leaves {}; not following it with this connector's credentials",
                origin.ascii_serialization()
            )));
        }
        Ok(resolved.to_string())
    }
}
