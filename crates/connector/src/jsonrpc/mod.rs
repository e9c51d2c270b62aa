//! The `jsonrpc` kind: JSON-RPC 2.0 and 1.0 over HTTP, declared in a
//! manifest. Every call's params are a JSON template, so Odoo's
//! `execute_kw` / `search_read`, with a domain filter on the cursor field,
//! is a manifest and not code. An optional login call runs once; its
//! result feeds later calls as `${session}` and is renewed once when the
//! server refuses it.

pub mod config;
mod connector;
mod details;
mod expr;
pub mod template;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde_json::Value;
use toml::Spanned;
use toml::de::DeTable;

use super::http::{Auth, HttpClient, RetryPolicy};
use super::{
    ActionSpec, Connector, ConnectorConfig, ConnectorError, ManifestHeader, StreamSpec,
    looks_secret, split_path,
};
use crate::ConnectorOverride;
use crate::diag::{Diagnostic, SourceFile};
use config::{JsonRpcConfig, StreamConfig};
pub use connector::JsonRpcConnector;
use connector::{Call, Errors, Session};
use template::{Context, Resolved, Template};

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
    crate::rest::check_http(source, &cfg.base_url, &cfg.http)?;
    if !cfg.endpoint.starts_with('/') {
        return Err(source.error_at_key("endpoint", "a path under `base_url`, starting with `/`"));
    }
    if !["1.0", "2.0"].contains(&cfg.protocol.as_str()) {
        return Err(source.error_at_key("protocol", "`1.0` or `2.0`"));
    }
    let vars: Vec<String> = cfg.vars.keys().cloned().collect();
    for (name, value) in &cfg.headers {
        Template::compile(&Value::String(value.clone()), Context::Session, &vars)
            .map_err(|e| source.error_at_key(&format!("headers.{name}"), e))?;
    }
    if let Some(s) = &cfg.session {
        Template::compile(&s.params, Context::Session, &vars)
            .map_err(|e| source.error_at_key("session.params", e))?;
        for (table, entries) in [
            ("headers", &s.headers),
            ("cookies", &s.cookies),
            ("query", &s.query),
        ] {
            for (name, value) in entries {
                Template::compile(&Value::String(value.clone()), Context::Headers, &vars)
                    .map_err(|e| source.error_at_key(&format!("session.{table}.{name}"), e))?;
            }
        }
    }
    if cfg.streams.is_empty() {
        return Err(source.error_at_key("streams", "at least one `[[streams]]` is needed"));
    }
    // A set, not a scan of the streams before: manifests can have thousands.
    let mut names = std::collections::HashSet::new();
    for (i, s) in cfg.streams.iter().enumerate() {
        let at = |k: &str| format!("streams.{i}.{k}");
        if s.deletions.is_some() {
            return Err(source.error_at_key(
                &at("deletions"),
                "deletions are not supported for kind `jsonrpc` yet (only `rest` reads \
                 `[streams.deletions]`); map a deleted status to `cancelled` instead \
                 (docs/CONNECTORS.md, \"Deletions\")",
            ));
        }
        if !names.insert(s.name.as_str()) {
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
        if s.cursor.is_none() && text.contains("${cursor.") {
            return Err(source.error_at_key(
                &at("params"),
                "`${cursor.<part>}` needs a `[streams.cursor]` to take the bound from",
            ));
        }
        for (d, details) in s.details.iter().enumerate() {
            let at = |k: &str| format!("streams.{i}.details.{d}.{k}");
            Template::compile(&details.params, Context::Details, &vars)
                .map_err(|e| source.error_at_key(&at("params"), e))?;
            if !details.params.to_string().contains("${record.") {
                return Err(source.error_at_key(
                    &at("params"),
                    "the params name no field of the record, so every record would get the same \
                     details; use one such as `${record.id}`",
                ));
            }
            if details.into.trim().is_empty() {
                return Err(source.error_at_key(&at("into"), "the key the details go under"));
            }
        }
        if let Some(c) = &s.cursor {
            c.keys()
                .spec()
                .map_err(|(key, e)| source.error_at_key(&at(&format!("cursor.{key}")), e))?;
            if !text.contains("${cursor") {
                return Err(source.error_at_key(
                    &at("params"),
                    "the stream has a cursor, so its params must filter on `${cursor}` (e.g. a domain `[\"write_date\", \">=\", \"${cursor}\"]`)",
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

pub(super) fn stream_spec(s: &StreamConfig) -> StreamSpec {
    StreamSpec {
        name: s.name.clone(),
        cursor: s.cursor.as_ref().and_then(|c| c.keys().spec().ok()),
        max_pages: None,
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
            crate::check_base_url(url).map_err(|e| format!("base_url {e}"))?;
            self.base_url = url.clone();
        }
        if let Some(rate) = over.rate_limit_per_sec {
            self.http.rate_limit_per_sec = rate;
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
            let secret = !matches!(r, crate::SecretRef::Literal(_))
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
        let named = |entries: &BTreeMap<String, String>, c: Context| {
            entries
                .iter()
                .map(|(n, v)| Ok((n.clone(), compile(&Value::String(v.clone()), c)?)))
                .collect::<Result<Vec<_>, ConnectorError>>()
        };
        let session = match &self.session {
            Some(s) => Some(Session {
                method: s.method.clone(),
                params: compile(&s.params, Context::Session)?,
                result: split_path_or_root(&s.result),
                headers: named(&s.headers, Context::Headers)?,
                cookies: named(&s.cookies, Context::Headers)?,
                query: named(&s.query, Context::Headers)?,
            }),
            None => None,
        };
        let streams = self
            .streams
            .iter()
            .map(|s| Ok((s.clone(), compile(&s.params, Context::Stream)?)))
            .collect::<Result<_, ConnectorError>>()?;
        let details = self
            .streams
            .iter()
            .filter(|s| !s.details.is_empty())
            .map(|s| {
                let calls = s
                    .details
                    .iter()
                    .map(|d| Ok((d.clone(), compile(&d.params, Context::Details)?)))
                    .collect::<Result<Vec<_>, ConnectorError>>()?;
                Ok((s.name.clone(), calls))
            })
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
        let headers = named(&self.headers, Context::Session)?;
        Ok(Arc::new(JsonRpcConnector {
            system,
            url: format!("{}{}", self.base_url.trim_end_matches('/'), self.endpoint),
            v2: self.protocol == "2.0",
            client,
            vars,
            headers,
            session,
            session_value: tokio::sync::Mutex::new(Default::default()),
            errors: Errors {
                name: split_path(&self.errors.name),
                auth: self.errors.auth.clone(),
                transient: self.errors.transient.clone(),
            },
            streams,
            details,
            actions,
            next_id: AtomicU64::new(1),
        }))
    }
}

pub(super) fn split_path_or_root(p: &str) -> Vec<String> {
    if p.is_empty() {
        Vec::new()
    } else {
        split_path(p)
    }
}
