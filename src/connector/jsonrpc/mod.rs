//! The `jsonrpc` kind: JSON-RPC 2.0 and 1.0 over HTTP, declared in a
//! manifest. Every call's params are a JSON template, so Odoo's
//! `execute_kw` / `search_read`, with a domain filter on the cursor field,
//! is a manifest and not code. An optional login call runs once; its
//! result feeds later calls as `${session}` and is renewed once when the
//! server refuses it.

pub mod config;
pub mod template;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use toml::Spanned;
use toml::de::DeTable;

use super::http::{Auth, Exchange, HttpClient, HttpRequest, RetryPolicy};
use super::rest::scalar_string;
use super::{
    ActionInput, ActionOutcome, ActionSpec, Connector, ConnectorConfig, ConnectorError,
    CursorFormat, CursorSpec, ManifestHeader, Page, PageToken, SourceRecord, StreamSpec, lookup,
    split_path,
};
use crate::config::ConnectorOverride;
use crate::diag::{Diagnostic, SourceFile};
use config::{CursorConfig, JsonRpcConfig, StreamConfig};
use template::{Context, Resolved, Scope, Template};

/// Parse and validate a `jsonrpc` manifest's own keys.
pub fn parse(
    source: &SourceFile,
    table: Spanned<DeTable<'_>>,
) -> Result<Box<dyn ConnectorConfig>, Diagnostic> {
    let cfg: JsonRpcConfig = source.deserialize_table(table, super::manifest::HEADER_KEYS)?;
    validate(source, &cfg)?;
    Ok(Box::new(cfg))
}

fn validate(source: &SourceFile, cfg: &JsonRpcConfig) -> Result<(), Diagnostic> {
    url::Url::parse(&cfg.base_url)
        .map_err(|e| source.error_at_key("base_url", format!("not a URL: {e}")))?;
    if !cfg.endpoint.starts_with('/') {
        return Err(source.error_at_key("endpoint", "a path under `base_url`, starting with `/`"));
    }
    if !["1.0", "2.0"].contains(&cfg.protocol.as_str()) {
        return Err(source.error_at_key("protocol", "`1.0` or `2.0`"));
    }
    let vars: Vec<String> = cfg.vars.keys().cloned().collect();
    if let Some(s) = &cfg.session {
        Template::compile(&s.params, Context::Session, &vars)
            .map_err(|e| source.error_at_key("session.params", e))?;
    }
    if cfg.streams.is_empty() {
        return Err(source.error_at_key("streams", "at least one `[[streams]]` is needed"));
    }
    for (i, s) in cfg.streams.iter().enumerate() {
        let at = |k: &str| format!("streams.{i}.{k}");
        if cfg.streams[..i].iter().any(|o| o.name == s.name) {
            return Err(source.error_at_key(&at("name"), format!("duplicate stream `{}`", s.name)));
        }
        if s.page_size == 0 {
            return Err(source.error_at_key(&at("page_size"), "at least 1"));
        }
        Template::compile(&s.params, Context::Stream, &vars)
            .map_err(|e| source.error_at_key(&at("params"), e))?;
        let text = s.params.to_string();
        if !(text.contains("${offset}") || text.contains("${page}")) {
            return Err(source.error_at_key(
                &at("params"),
                "the params must page: use `${offset}` (with `${limit}`) or `${page}`",
            ));
        }
        if let Some(c) = &s.cursor {
            let format = CursorFormat::parse(&c.format)
                .map_err(|e| source.error_at_key(&at("cursor.format"), e))?;
            if !text.contains("${cursor}") {
                return Err(source.error_at_key(
                    &at("params"),
                    "the stream has a cursor, so its params must filter on `${cursor}` (e.g. a domain `[\"write_date\", \">=\", \"${cursor}\"]`)",
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
    for (name, a) in &cfg.actions {
        Template::compile(&a.params, Context::Action, &vars)
            .map_err(|e| source.error_at_key(&format!("actions.{name}.params"), e))?;
    }
    Ok(())
}

fn cursor_spec(c: &CursorConfig, format: CursorFormat) -> CursorSpec {
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
        // The params order by the cursor field (`order` in Odoo); a stream
        // that cannot should not have a cursor.
        ordered: true,
    }
}

fn stream_spec(s: &StreamConfig) -> StreamSpec {
    StreamSpec {
        name: s.name.clone(),
        cursor: s.cursor.as_ref().and_then(|c| {
            CursorFormat::parse(&c.format)
                .ok()
                .map(|f| cursor_spec(c, f))
        }),
    }
}

impl ConnectorConfig for JsonRpcConfig {
    fn streams(&self) -> Vec<StreamSpec> {
        self.streams.iter().map(stream_spec).collect()
    }

    fn actions(&self) -> Vec<ActionSpec> {
        self.actions
            .keys()
            .map(|name| ActionSpec {
                name: name.clone(),
                body: true,
            })
            .collect()
    }

    /// `vars` override the manifest's vars by name; `username` and
    /// `password` override `vars.login` and `vars.password` when the
    /// manifest has them, and `token` `vars.api_key`.
    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String> {
        if let Some(url) = &over.base_url {
            url::Url::parse(url).map_err(|e| format!("base_url `{url}` is not a URL: {e}"))?;
            self.base_url = url.clone();
        }
        for (name, value) in &over.vars {
            let Some(slot) = self.vars.get_mut(name) else {
                let known: Vec<&str> = self.vars.keys().map(String::as_str).collect();
                return Err(format!(
                    "vars.{name}: the manifest has no such var (it has: {})",
                    known.join(", ")
                ));
            };
            *slot = value.clone();
        }
        for (name, value) in [
            ("login", &over.username),
            ("password", &over.password),
            ("api_key", &over.token),
        ] {
            if let (Some(v), Some(slot)) = (value, self.vars.get_mut(name)) {
                *slot = v.clone();
                self.overridden.push(name.to_string());
            }
        }
        Ok(())
    }

    fn build(&self, header: &ManifestHeader) -> Result<Arc<dyn Connector>, ConnectorError> {
        let system = header.system.clone();
        let mut vars = BTreeMap::new();
        for (name, r) in &self.vars {
            let value = r.resolve().map_err(|source| ConnectorError::Secret {
                system: system.clone(),
                source,
            })?;
            let secret = !matches!(r, crate::config::SecretRef::Literal(_))
                || self.overridden.contains(name)
                || looks_secret(name);
            vars.insert(
                name.clone(),
                Resolved {
                    value: value.expose().to_string(),
                    secret,
                },
            );
        }
        let names: Vec<String> = self.vars.keys().cloned().collect();
        let compile = |v: &Value, c: Context| {
            Template::compile(v, c, &names).map_err(|message| ConnectorError::Build {
                system: system.clone(),
                message,
            })
        };
        let session = match &self.session {
            Some(s) => Some(Session {
                method: s.method.clone(),
                params: compile(&s.params, Context::Session)?,
                result: split_path_or_root(&s.result),
            }),
            None => None,
        };
        let streams = self
            .streams
            .iter()
            .map(|s| Ok((s.clone(), compile(&s.params, Context::Stream)?)))
            .collect::<Result<_, ConnectorError>>()?;
        let actions = self
            .actions
            .iter()
            .map(|(n, a)| {
                Ok((
                    n.clone(),
                    Call {
                        method: a.method.clone(),
                        params: compile(&a.params, Context::Action)?,
                        id: a.id.as_deref().map(split_path_or_root),
                    },
                ))
            })
            .collect::<Result<_, ConnectorError>>()?;
        let h = &self.http;
        let client = HttpClient::new(
            &system,
            Duration::from_secs(h.timeout_secs),
            Duration::from_secs(h.connect_timeout_secs),
            Some(h.rate_limit_per_sec),
            Auth::None,
            RetryPolicy {
                max_attempts: h.max_attempts.max(1),
                initial_backoff: Duration::from_millis(h.initial_backoff_ms),
                max_backoff: Duration::from_secs(30),
                max_retry_after: Duration::from_secs(h.max_retry_after_secs),
            },
        )?;
        Ok(Arc::new(JsonRpcConnector {
            system,
            url: format!("{}{}", self.base_url.trim_end_matches('/'), self.endpoint),
            v2: self.protocol == "2.0",
            client,
            vars,
            session,
            session_value: tokio::sync::Mutex::new(None),
            errors: Errors {
                name: split_path(&self.errors.name),
                auth: self.errors.auth.clone(),
                transient: self.errors.transient.clone(),
            },
            streams,
            actions,
            next_id: AtomicU64::new(1),
        }))
    }
}

/// A var named like a credential is masked even when written in the
/// manifest itself.
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "token", "key"]
        .iter()
        .any(|w| name.contains(w))
}

fn split_path_or_root(p: &str) -> Vec<String> {
    if p.is_empty() {
        Vec::new()
    } else {
        split_path(p)
    }
}

#[derive(Debug)]
struct Session {
    method: String,
    params: Template,
    result: Vec<String>,
}

#[derive(Debug)]
struct Call {
    method: String,
    params: Template,
    /// Where the affected id is in the result; `None`: the target's id.
    id: Option<Vec<String>>,
}

#[derive(Debug)]
struct Errors {
    name: Vec<String>,
    auth: Vec<String>,
    transient: Vec<String>,
}

#[derive(Debug)]
pub struct JsonRpcConnector {
    system: String,
    url: String,
    v2: bool,
    client: HttpClient,
    vars: BTreeMap<String, Resolved>,
    session: Option<Session>,
    session_value: tokio::sync::Mutex<Option<Value>>,
    errors: Errors,
    streams: Vec<(StreamConfig, Template)>,
    actions: BTreeMap<String, Call>,
    next_id: AtomicU64,
}

/// How a JSON-RPC error reads.
enum RpcFailure {
    Auth(String),
    Other(ConnectorError),
}

impl JsonRpcConnector {
    /// The session value, logging in first when there is none.
    async fn session(&self) -> Result<Option<Value>, ConnectorError> {
        let Some(session) = &self.session else {
            return Ok(None);
        };
        let mut slot = self.session_value.lock().await;
        if let Some(v) = slot.as_ref() {
            return Ok(Some(v.clone()));
        }
        let scope = Scope {
            vars: Some(&self.vars),
            ..Scope::default()
        };
        let result = match self
            .send(&session.method, &session.params, &scope, true)
            .await
        {
            Ok(r) => r,
            Err(RpcFailure::Auth(body)) => return Err(self.auth_error(body)),
            Err(RpcFailure::Other(e)) => return Err(e),
        };
        let value = lookup(&result, &session.result)
            .cloned()
            .unwrap_or(Value::Null);
        // Odoo's `common.login` answers `false` to bad credentials.
        if matches!(value, Value::Null | Value::Bool(false)) {
            return Err(self.auth_error(format!(
                "the login call `{}` returned {}",
                session.method,
                if value.is_null() { "nothing" } else { "false" }
            )));
        }
        *slot = Some(value.clone());
        Ok(Some(value))
    }

    fn auth_error(&self, body: String) -> ConnectorError {
        ConnectorError::Auth {
            system: self.system.clone(),
            status: 401,
            body,
        }
    }

    /// One call with the session, logging in again once if it was refused.
    async fn call(
        &self,
        method: &str,
        params: &Template,
        scope: Scope<'_>,
        read_only: bool,
    ) -> Result<Value, ConnectorError> {
        let mut renewed = false;
        loop {
            let session = self.session().await?;
            let scope = Scope {
                vars: Some(&self.vars),
                session: session.as_ref(),
                ..scope
            };
            match self.send(method, params, &scope, read_only).await {
                Ok(result) => return Ok(result),
                Err(RpcFailure::Auth(_)) if self.session.is_some() && !renewed => {
                    *self.session_value.lock().await = None;
                    renewed = true;
                }
                Err(RpcFailure::Auth(body)) => return Err(self.auth_error(body)),
                Err(RpcFailure::Other(e)) => return Err(e),
            }
        }
    }

    async fn send(
        &self,
        method: &str,
        params: &Template,
        scope: &Scope<'_>,
        read_only: bool,
    ) -> Result<Value, RpcFailure> {
        let action_error = |message: String| {
            RpcFailure::Other(ConnectorError::Action {
                system: self.system.clone(),
                action: method.to_string(),
                message,
            })
        };
        let rendered = params.render(scope).map_err(action_error)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let envelope = |params: Value| {
            let mut e = json!({"method": method, "params": params, "id": id});
            if self.v2 {
                e["jsonrpc"] = json!("2.0");
            }
            e
        };
        // The copy an error keeps has its secrets masked.
        let shown = || {
            params
                .render(&Scope {
                    redact: true,
                    ..*scope
                })
                .ok()
        };
        let mut req = HttpRequest::new(Method::POST, &self.url);
        req.body = Some(envelope(rendered));
        if read_only {
            req = req.read_only();
        }
        let resp = match self.client.call(&req).await {
            Ok(r) => r,
            Err(ConnectorError::Rejected {
                system,
                mut exchange,
            }) => {
                exchange.request_body = shown().map(envelope);
                return Err(RpcFailure::Other(ConnectorError::Rejected {
                    system,
                    exchange,
                }));
            }
            Err(ConnectorError::Auth { body, .. }) => return Err(RpcFailure::Auth(body)),
            Err(e) => return Err(RpcFailure::Other(e)),
        };
        let body = resp.body;
        if let Some(err) = body.get("error").filter(|e| !e.is_null()) {
            let name = lookup(err, &self.errors.name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let detail = lookup(err, &["data".into(), "message".into()])
                .and_then(Value::as_str)
                .unwrap_or(message);
            let summary = if name.is_empty() {
                detail.to_string()
            } else {
                format!("{name}: {detail}")
            };
            if self.errors.auth.contains(&name) {
                return Err(RpcFailure::Auth(summary));
            }
            if self.errors.transient.contains(&name) {
                return Err(RpcFailure::Other(ConnectorError::Status {
                    system: self.system.clone(),
                    method: method.to_string(),
                    url: self.url.clone(),
                    status: resp.status,
                    body: summary,
                }));
            }
            return Err(RpcFailure::Other(ConnectorError::Rejected {
                system: self.system.clone(),
                exchange: Box::new(Exchange {
                    method: format!("POST {method}"),
                    url: self.url.clone(),
                    query: Vec::new(),
                    request_body: shown().map(envelope),
                    status: resp.status,
                    response_body: body.to_string(),
                }),
            }));
        }
        match body.get("result") {
            Some(result) => Ok(result.clone()),
            None => Err(RpcFailure::Other(ConnectorError::Shape {
                system: self.system.clone(),
                url: self.url.clone(),
                message: format!("neither `result` nor `error` in the response to `{method}`"),
            })),
        }
    }
}

#[async_trait::async_trait]
impl Connector for JsonRpcConnector {
    fn system(&self) -> &str {
        &self.system
    }

    fn streams(&self) -> Vec<StreamSpec> {
        self.streams.iter().map(|(s, _)| stream_spec(s)).collect()
    }

    async fn fetch_page(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        let (s, params) = self
            .streams
            .iter()
            .find(|(s, _)| s.name == stream)
            .ok_or_else(|| ConnectorError::UnknownStream {
                system: self.system.clone(),
                stream: stream.to_string(),
            })?;
        let page_size = u64::from(s.page_size);
        let (at, last_key) = match token {
            Some(PageToken::Offset { at, last_key }) => (*at, last_key.as_deref()),
            _ => (0, None),
        };
        // Re-read the previous page's last record: if it moved, the result
        // set shifted under the run (as in the `rest` kind's offset paging).
        let overlap = last_key.filter(|_| at > 0 && page_size >= 2);
        let offset = if overlap.is_some() { at - 1 } else { at };
        let scope = Scope {
            cursor: from,
            offset,
            limit: page_size,
            page: at / page_size + 1,
            ..Scope::default()
        };
        let result = self.call(&s.method, params, scope, true).await?;
        let mut records = self.records(s, &result)?;
        let received = records.len() as u64;
        let shifted = match overlap {
            Some(expected) => match records.first() {
                Some(first) if first.key.as_deref() == Some(expected) => {
                    records.remove(0);
                    false
                }
                _ => true,
            },
            None => false,
        };
        let next = (received >= page_size).then(|| PageToken::Offset {
            at: offset + received,
            last_key: records.last().and_then(|r| r.key.clone()),
        });
        Ok(Page {
            records,
            next,
            shifted,
        })
    }

    fn actions(&self) -> Vec<String> {
        self.actions.keys().cloned().collect()
    }

    async fn perform(
        &self,
        name: &str,
        input: &ActionInput,
    ) -> Result<ActionOutcome, ConnectorError> {
        let Some(call) = self.actions.get(name) else {
            return Err(ConnectorError::UnknownAction {
                system: self.system.clone(),
                action: name.to_string(),
                known: Connector::actions(self).join(", "),
            });
        };
        let scope = Scope {
            body: Some(&input.body),
            id: input.target_id.as_deref(),
            ..Scope::default()
        };
        let result = self
            .call(&call.method, &call.params, scope, false)
            .await
            .map_err(|e| match e {
                ConnectorError::Action {
                    system, message, ..
                } => ConnectorError::Action {
                    system,
                    action: name.to_string(),
                    message,
                },
                other => other,
            })?;
        let id = match &call.id {
            Some(path) => lookup(&result, path).and_then(scalar_string),
            None => input.target_id.clone(),
        };
        Ok(ActionOutcome {
            id,
            status: 200,
            response: result,
        })
    }
}

impl JsonRpcConnector {
    fn records(
        &self,
        s: &StreamConfig,
        result: &Value,
    ) -> Result<Vec<SourceRecord>, ConnectorError> {
        let path = split_path_or_root(&s.records);
        let Some(Value::Array(items)) = lookup(result, &path) else {
            return Err(ConnectorError::Shape {
                system: self.system.clone(),
                url: self.url.clone(),
                message: format!(
                    "`{}` in the result of `{}` is not an array",
                    if s.records.is_empty() {
                        "the result"
                    } else {
                        &s.records
                    },
                    s.name
                ),
            });
        };
        let key = split_path(&s.key);
        let cursor = s.cursor.as_ref().map(|c| split_path(&c.field));
        Ok(items
            .iter()
            .map(|payload| {
                let mut payload = payload.clone();
                if s.false_is_null
                    && let Value::Object(fields) = &mut payload
                {
                    for (name, value) in fields.iter_mut() {
                        if *value == Value::Bool(false) && !s.keep_false.contains(name) {
                            *value = Value::Null;
                        }
                    }
                }
                SourceRecord {
                    key: lookup(&payload, &key).and_then(scalar_string),
                    cursor: cursor
                        .as_ref()
                        .and_then(|p| lookup(&payload, p))
                        .and_then(scalar_string),
                    payload,
                }
            })
            .collect())
    }
}
