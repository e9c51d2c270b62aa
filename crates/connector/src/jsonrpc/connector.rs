//! The `jsonrpc` connector at run time: one login shared by every call and
//! renewed once when refused, calls rendered from their templates, errors
//! read by name, pages with one record of overlap, write-back calls.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use super::config::{DetailsConfig, StreamConfig};
use super::template::{Resolved, Scope, Template};
use super::{split_path_or_root, stream_spec};
use crate::http::{Exchange, HttpClient, HttpRequest};
use crate::rest::scalar_string;
use crate::{
    ActionInput, ActionOutcome, Connector, ConnectorError, CursorSpec, Page, PageToken,
    SourceRecord, StreamSpec, lookup, shown_url, split_path,
};

#[derive(Debug)]
pub(super) struct Session {
    pub(super) method: String,
    pub(super) params: Template,
    pub(super) result: Vec<String>,
    /// Sent with every call after the login, rendered from its result.
    pub(super) headers: Vec<(String, Template)>,
    pub(super) cookies: Vec<(String, Template)>,
    pub(super) query: Vec<(String, Template)>,
}

/// The login's result: a credential, so `Debug` never shows it.
#[derive(Default)]
pub(super) struct Hidden(pub(super) Option<Value>);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "[redacted]"
        } else {
            "None"
        })
    }
}

#[derive(Debug)]
pub(super) struct Call {
    pub(super) method: String,
    pub(super) params: Template,
    /// Where the affected id is in the result; `None`: the target's id.
    pub(super) id: Option<Vec<String>>,
}

#[derive(Debug)]
pub(super) struct Errors {
    pub(super) name: Vec<String>,
    pub(super) auth: Vec<String>,
    pub(super) transient: Vec<String>,
}

pub struct JsonRpcConnector {
    pub(super) system: String,
    pub(super) url: String,
    pub(super) v2: bool,
    pub(super) client: HttpClient,
    pub(super) vars: BTreeMap<String, Resolved>,
    /// Sent with every call, the login's too.
    pub(super) headers: Vec<(String, Template)>,
    pub(super) session: Option<Session>,
    pub(super) session_value: tokio::sync::Mutex<Hidden>,
    pub(super) errors: Errors,
    pub(super) streams: Vec<(StreamConfig, Template)>,
    /// Per stream with `[[streams.details]]`: each call, compiled.
    pub(super) details: BTreeMap<String, Vec<(DetailsConfig, Template)>>,
    pub(super) actions: BTreeMap<String, Call>,
    pub(super) next_id: AtomicU64,
}

/// The URL shown masked (it may carry a password), templates by name.
impl std::fmt::Debug for JsonRpcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streams: Vec<&str> = self.streams.iter().map(|(s, _)| s.name.as_str()).collect();
        f.debug_struct("JsonRpcConnector")
            .field("system", &self.system)
            .field("url", &shown_url(&self.url, &[]))
            .field("v2", &self.v2)
            .field("client", &self.client)
            .field("vars", &self.vars)
            .field("session", &self.session.as_ref().map(|s| &s.method))
            .field("session_value", &self.session_value)
            .field("streams", &streams)
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
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
        if let Some(v) = slot.0.as_ref() {
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
        slot.0 = Some(value.clone());
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
    pub(super) async fn call(
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
                    // Expired or revoked: log in again, once, with no
                    // cookie of the old session.
                    self.session_value.lock().await.0 = None;
                    self.client.clear_cookies();
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
        self.add_headers(&mut req, scope).map_err(action_error)?;
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
                    url: shown_url(&self.url, &[]),
                    status: resp.status,
                    body: summary,
                }));
            }
            return Err(RpcFailure::Other(ConnectorError::Rejected {
                system: self.system.clone(),
                exchange: Box::new(Exchange {
                    method: format!("POST {method}"),
                    url: shown_url(&self.url, &[]),
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
                url: shown_url(&self.url, &[]),
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
        // Stored in the cursor's format; written in its `write_format`, or
        // as parts (`${cursor.year}`) for an API that takes an object.
        let spec = stream_spec(s).cursor;
        let written = spec.as_ref().zip(from).map(|(c, f)| c.written(f));
        let parts = spec.as_ref().zip(from).and_then(|(c, f)| c.parts(f));
        let scope = Scope {
            cursor: written.as_deref(),
            cursor_parts: parts.as_ref(),
            offset,
            limit: page_size,
            page: at / page_size + 1,
            ..Scope::default()
        };
        let result = self.call(&s.method, params, scope, true).await?;
        let mut records = self.records(s, spec.as_ref(), &result)?;
        let received = records.len() as u64;
        let shifted = crate::drop_overlap(&mut records, overlap);
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

    fn rate_limit_per_sec(&self) -> Option<u32> {
        self.client.rate_per_sec()
    }

    fn has_details(&self, stream: &str) -> bool {
        self.details.contains_key(stream)
    }

    async fn fetch_details(
        &self,
        stream: &str,
        record: &Value,
    ) -> Result<Vec<(String, Value)>, ConnectorError> {
        match self.details.get(stream) {
            Some(calls) => self.details_of(calls, record).await,
            None => Ok(Vec::new()),
        }
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
    /// The manifest's headers, and after the login (when `scope` has a
    /// session) the session's headers, cookies and query parameters.
    fn add_headers(&self, req: &mut HttpRequest, scope: &Scope<'_>) -> Result<(), String> {
        let text = |t: &Template| -> Result<String, String> {
            Ok(match t.render(scope)? {
                Value::String(s) => s,
                other => other.to_string(),
            })
        };
        for (name, t) in &self.headers {
            req.headers.push((name.clone(), text(t)?));
        }
        let Some(session) = self.session.as_ref().filter(|_| scope.session.is_some()) else {
            return Ok(());
        };
        for (name, t) in &session.headers {
            req.headers.push((name.clone(), text(t)?));
        }
        let cookies = session
            .cookies
            .iter()
            .map(|(name, t)| Ok(format!("{name}={}", text(t)?)))
            .collect::<Result<Vec<_>, String>>()?;
        if !cookies.is_empty() {
            req.headers.push(("Cookie".into(), cookies.join("; ")));
        }
        for (name, t) in &session.query {
            req.query.push((name.clone(), text(t)?));
            req.secret_query.push(name.clone());
        }
        Ok(())
    }

    fn records(
        &self,
        s: &StreamConfig,
        cursor: Option<&CursorSpec>,
        result: &Value,
    ) -> Result<Vec<SourceRecord>, ConnectorError> {
        let path = split_path_or_root(&s.records);
        let Some(Value::Array(items)) = lookup(result, &path) else {
            return Err(ConnectorError::Shape {
                system: self.system.clone(),
                url: shown_url(&self.url, &[]),
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
                    cursor: cursor.and_then(|c| c.value_of(&payload)),
                    payload,
                }
            })
            .collect())
    }
}
