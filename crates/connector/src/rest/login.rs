//! `[auth] type = "login"` for the `rest` kind: validated (no IO) and
//! built into a [`LoginSource`], with the `jsonrpc` kind's templates.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use super::config::{BodyFormat, LoginConfig};
use crate::jsonrpc::template::{Context, Resolved, Template};
use crate::login::LoginSource;
use crate::{ConnectorError, split_path};

const VARS: [&str; 2] = ["username", "password"];

fn names() -> Vec<String> {
    VARS.iter().map(|v| v.to_string()).collect()
}

fn body(cfg: &LoginConfig) -> Value {
    cfg.body
        .clone()
        .unwrap_or_else(|| json!({"username": "${vars.username}", "password": "${vars.password}"}))
}

/// The key under `auth.` at fault, and why.
pub(super) fn validate(cfg: &LoginConfig) -> Result<(), (String, String)> {
    let at = |k: &str| format!("auth.{k}");
    if !["POST", "PUT"].contains(&cfg.method.as_str()) {
        return Err((
            at("method"),
            format!("`{}`: a login is a `POST` or a `PUT`", cfg.method),
        ));
    }
    if !(cfg.path.starts_with('/') || cfg.path.starts_with("http")) {
        return Err((
            at("path"),
            "a path under `base_url` starting with `/`, or a URL".into(),
        ));
    }
    Template::compile(&body(cfg), Context::Session, &names()).map_err(|e| (at("body"), e))?;
    if cfg.body_format == BodyFormat::Form {
        let flat = body(cfg)
            .as_object()
            .is_some_and(|m| m.values().all(|v| !v.is_object() && !v.is_array()));
        if !flat {
            return Err((
                at("body"),
                "a form body is a table of plain values (`{ user = \"${vars.username}\" }`), \
                 with no nested tables or arrays"
                    .into(),
            ));
        }
    }
    if cfg.headers.is_empty() && cfg.query.is_empty() {
        return Err((
            at("headers"),
            "the session must go somewhere: set `headers` (e.g. `Authorization = \"Bearer ${session}\"`) or `query`".into(),
        ));
    }
    for (table, entries) in [("headers", &cfg.headers), ("query", &cfg.query)] {
        for (name, value) in entries {
            Template::compile(&Value::String(value.clone()), Context::Headers, &names())
                .map_err(|e| (at(&format!("{table}.{name}")), e))?;
        }
    }
    Ok(())
}

pub(super) fn build(
    system: &str,
    base_url: &str,
    cfg: &LoginConfig,
) -> Result<Arc<LoginSource>, ConnectorError> {
    let err = |message: String| ConnectorError::Build {
        system: system.to_string(),
        message,
    };
    let mut vars = BTreeMap::new();
    for (name, r) in [("username", &cfg.username), ("password", &cfg.password)] {
        let value = r.resolve().map_err(|source| ConnectorError::Secret {
            system: system.to_string(),
            source,
        })?;
        vars.insert(
            name.to_string(),
            Resolved {
                value: value.expose().to_string(),
                // A user name is shown; a password never.
                secret: name == "password" || !matches!(r, crate::SecretRef::Literal(_)),
            },
        );
    }
    let compile = |v: &Value, c: Context| Template::compile(v, c, &names()).map_err(err);
    let named = |entries: &BTreeMap<String, String>| {
        entries
            .iter()
            .map(|(n, v)| {
                Ok((
                    n.clone(),
                    compile(&Value::String(v.clone()), Context::Headers)?,
                ))
            })
            .collect::<Result<Vec<_>, ConnectorError>>()
    };
    let url = match cfg.path.strip_prefix('/') {
        Some(path) => format!("{}/{path}", base_url.trim_end_matches('/')),
        None => cfg.path.clone(),
    };
    let method = Method::from_bytes(cfg.method.as_bytes()).map_err(|e| err(e.to_string()))?;
    Ok(Arc::new(
        LoginSource::new(
            system,
            method,
            url,
            compile(&body(cfg), Context::Session)?,
            vars,
            if cfg.result.is_empty() {
                Vec::new()
            } else {
                split_path(&cfg.result)
            },
            named(&cfg.headers)?,
            named(&cfg.query)?,
        )
        .sent_as_form(cfg.body_format == BodyFormat::Form),
    ))
}
