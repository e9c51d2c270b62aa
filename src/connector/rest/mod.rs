//! The `rest` kind: a declarative HTTP connector for JSON APIs.
//!
//! A manifest names the base URL, auth, and per stream the path, record
//! array, key, paging style and incremental cursor. This kind turns that into
//! requests; it knows nothing of any one vendor.

pub mod config;
mod paging;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use toml::Spanned;
use toml::de::DeTable;

use super::http::{Auth, HttpClient, JsonResponse, RetryPolicy};
use super::oauth2::TokenSource;
use super::{
    Connector, ConnectorConfig, ConnectorError, CursorFormat, CursorSpec, ManifestHeader, Page,
    PageToken, SourceRecord, StreamSpec,
};
use super::{lookup, split_path};
use crate::config::{ConnectorOverride, SecretRef};
use crate::diag::{Diagnostic, SourceFile};
use config::{AuthConfig, Pagination, RestConfig, StreamConfig};
pub use paging::link_next;
use paging::{current_page, next_token, overlap_key, request_offset};

/// Parse and validate a `rest` manifest's own keys.
pub fn parse(
    source: &SourceFile,
    table: Spanned<DeTable<'_>>,
) -> Result<Box<dyn ConnectorConfig>, Diagnostic> {
    let cfg: RestConfig = source.deserialize_table(table, super::manifest::HEADER_KEYS)?;
    validate(source, &cfg)?;
    Ok(Box::new(cfg))
}

fn validate(source: &SourceFile, cfg: &RestConfig) -> Result<(), Diagnostic> {
    url::Url::parse(&cfg.base_url)
        .map_err(|e| source.error_at_key("base_url", format!("not a URL: {e}")))?;
    if cfg.streams.is_empty() {
        return Err(source.error_at_key("streams", "at least one `[[streams]]` is needed"));
    }
    for (i, s) in cfg.streams.iter().enumerate() {
        let at = |k: &str| format!("streams.{i}.{k}");
        if cfg.streams[..i].iter().any(|o| o.name == s.name) {
            return Err(source.error_at_key(&at("name"), format!("duplicate stream `{}`", s.name)));
        }
        let page_size = match &s.pagination {
            Pagination::Offset { page_size, .. } | Pagination::PageNumber { page_size, .. } => {
                Some(*page_size)
            }
            Pagination::CursorToken { page_size, .. } => *page_size,
            Pagination::NextLink { .. } => None,
        };
        if let Some(path) = s
            .ignore_fields
            .iter()
            .find(|p| **p == s.key || s.cursor.as_ref().is_some_and(|c| c.field == **p))
        {
            return Err(source.error_at_key(
                &at("ignore_fields"),
                format!("`{path}` is the stream's key or cursor field; it cannot be ignored"),
            ));
        }
        if page_size == Some(0) {
            return Err(source.error_at_key(&at("pagination"), "`page_size` must be at least 1"));
        }
        if let Some(c) = &s.cursor {
            let format = CursorFormat::parse(&c.format)
                .map_err(|e| source.error_at_key(&at("cursor.format"), e))?;
            if !c.template.contains("{cursor}") {
                return Err(source.error_at_key(
                    &at("cursor.template"),
                    "the template must contain `{cursor}`",
                ));
            }
            if s.query.contains_key(&c.param) {
                return Err(source.error_at_key(
                    &at("cursor.param"),
                    format!(
                        "`{}` is also set in `query`; put the whole value in `cursor.template`",
                        c.param
                    ),
                ));
            }
            let spec = cursor_spec(c, format);
            if !spec.is_valid(&spec.initial) {
                return Err(source.error_at_key(
                    &at("cursor.initial"),
                    format!(
                        "`{}` does not match the cursor format `{}`",
                        spec.initial, c.format
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn cursor_spec(c: &config::CursorConfig, format: CursorFormat) -> CursorSpec {
    let initial = c.initial.clone().unwrap_or_else(|| match &format {
        CursorFormat::DateTime(fmt) => chrono::DateTime::UNIX_EPOCH.format(fmt).to_string(),
        CursorFormat::Rfc3339 => "1970-01-01T00:00:00Z".into(),
        CursorFormat::Integer => "0".into(),
        CursorFormat::Text => String::new(),
    });
    CursorSpec {
        field: split_path(&c.field),
        format,
        overlap: Duration::from_secs(c.overlap_secs),
        initial,
        ordered: c.ordered,
    }
}

fn stream_spec(s: &StreamConfig) -> StreamSpec {
    StreamSpec {
        name: s.name.clone(),
        // Validated in parse(), so the format is known good here.
        cursor: s.cursor.as_ref().and_then(|c| {
            CursorFormat::parse(&c.format)
                .ok()
                .map(|f| cursor_spec(c, f))
        }),
    }
}

impl ConnectorConfig for RestConfig {
    fn streams(&self) -> Vec<StreamSpec> {
        self.streams.iter().map(stream_spec).collect()
    }

    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String> {
        if let Some(url) = &over.base_url {
            url::Url::parse(url).map_err(|e| format!("base_url `{url}` is not a URL: {e}"))?;
            self.base_url = url.clone();
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
        Ok(Arc::new(RestConnector {
            system,
            base_url: self.base_url.trim_end_matches('/').to_string(),
            client,
            streams: self.streams.clone(),
        }))
    }
}

#[derive(Debug)]
pub struct RestConnector {
    system: String,
    base_url: String,
    client: HttpClient,
    streams: Vec<StreamConfig>,
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
        let (url, query) = self.request(s, from, token);
        let resp = self.client.get_json(&url, &query).await?;
        let mut records = self.records(s, &url, &resp)?;
        let received = records.len();
        let shifted = match overlap_key(s, token) {
            // We asked again for the last record of the previous page: if it
            // is still there, the positions after it have not moved.
            Some(expected) => match records.first() {
                Some(first) if first.key.as_deref() == Some(expected) => {
                    records.remove(0);
                    false
                }
                _ => true,
            },
            None => false,
        };
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
}

impl RestConnector {
    /// The URL and query of a page request.
    fn request(
        &self,
        s: &StreamConfig,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> (String, Vec<(String, String)>) {
        // A next link (made absolute by `resolve_next`) already carries
        // every parameter the server wants back.
        if let Some(PageToken::Url(next)) = token {
            return (next.clone(), Vec::new());
        }
        let mut query: Vec<(String, String)> = s
            .query
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let (Some(c), Some(from)) = (&s.cursor, from) {
            query.push((c.param.clone(), c.template.replace("{cursor}", from)));
        }
        match &s.pagination {
            Pagination::Offset {
                limit_param,
                offset_param,
                page_size,
                ..
            } => {
                let offset = request_offset(s, token);
                query.push((limit_param.clone(), page_size.to_string()));
                query.push((offset_param.clone(), offset.to_string()));
            }
            Pagination::PageNumber {
                page_param,
                size_param,
                page_size,
                first_page,
            } => {
                let page = current_page(token, *first_page);
                query.push((page_param.clone(), page.to_string()));
                query.push((size_param.clone(), page_size.to_string()));
            }
            Pagination::CursorToken {
                token_param,
                size_param,
                page_size,
                ..
            } => {
                if let Some(PageToken::Token(t)) = token {
                    query.push((token_param.clone(), t.clone()));
                }
                if let (Some(p), Some(n)) = (size_param, page_size) {
                    query.push((p.clone(), n.to_string()));
                }
            }
            Pagination::NextLink { .. } => {}
        }
        (format!("{}{}", self.base_url, s.path), query)
    }

    /// Make a next link absolute against the request that returned it, and
    /// refuse one that leaves the configured origin: we would send it our
    /// credentials.
    fn resolve_next(&self, request_url: &str, next: &str) -> Result<String, ConnectorError> {
        let shape = |message: String| ConnectorError::Shape {
            system: self.system.clone(),
            url: request_url.to_string(),
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

    fn records(
        &self,
        s: &StreamConfig,
        url: &str,
        resp: &JsonResponse,
    ) -> Result<Vec<SourceRecord>, ConnectorError> {
        if resp.status == 204 {
            return Ok(Vec::new());
        }
        let path = if s.records.is_empty() {
            Vec::new()
        } else {
            split_path(&s.records)
        };
        let shape = |message: String| ConnectorError::Shape {
            system: self.system.clone(),
            url: url.to_string(),
            message,
        };
        let array = match lookup(&resp.body, &path) {
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(shape(format!(
                    "`{}` is not an array but {}",
                    s.records,
                    type_name(other)
                )));
            }
            None => return Err(shape(format!("no `{}` in the response body", s.records))),
        };
        let key_path = split_path(&s.key);
        let cursor_path = s.cursor.as_ref().map(|c| split_path(&c.field));
        let ignored: Vec<Vec<String>> = s.ignore_fields.iter().map(|p| split_path(p)).collect();
        Ok(array
            .iter()
            .map(|payload| {
                let mut payload = payload.clone();
                for path in &ignored {
                    remove_path(&mut payload, path);
                }
                SourceRecord {
                    key: lookup(&payload, &key_path).and_then(scalar_string),
                    cursor: cursor_path
                        .as_ref()
                        .and_then(|p| lookup(&payload, p))
                        .and_then(scalar_string),
                    payload,
                }
            })
            .collect())
    }
}

/// Remove the value at `path`; `*` walks every element of an array.
fn remove_path(value: &mut Value, path: &[String]) {
    match (path, value) {
        ([last], Value::Object(m)) => {
            m.remove(last);
        }
        ([star, rest @ ..], Value::Array(items)) if star == "*" => {
            for item in items {
                remove_path(item, rest);
            }
        }
        ([head, rest @ ..], Value::Object(m)) => {
            if let Some(next) = m.get_mut(head) {
                remove_path(next, rest);
            }
        }
        _ => {}
    }
}

pub(super) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
