//! Values in `switchboard.toml` (or its environment overrides) that parse but
//! can never work: refused when the config loads, so `check` and every
//! command say so at once, naming the file's `line:col` and key, or the
//! environment variable that set it.
//!
//! `max_connections = 4294967295` aborted the process with an allocation
//! failure; an `ftp://` base URL or a `mysql://` store passed `check` and
//! failed at the first request.

use std::collections::HashMap;

use super::{ConfigError, ENV_PREFIX, SecretRef, Settings};
use crate::diag::SourceFile;

/// The largest pool: PostgreSQL's own default limit is 100 connections for
/// the whole server.
pub const MAX_POOL: u32 = 1000;

/// Check loaded settings. `file` is the file they were read from, if any;
/// `env` the overriding variables.
pub(super) fn validate(
    settings: &Settings,
    file: Option<&SourceFile>,
    env: &HashMap<String, String>,
) -> Result<(), ConfigError> {
    match first_problem(settings) {
        None => Ok(()),
        Some((key, message)) => Err(locate(&key, message, file, env)),
    }
}

/// The first value that cannot work: its dotted key and why.
fn first_problem(s: &Settings) -> Option<(String, String)> {
    let problem = |key: &str, message: String| Some((key.to_string(), message));
    if !(1..=MAX_POOL).contains(&s.store.max_connections) {
        return problem(
            "store.max_connections",
            format!(
                "{} is out of range: 1 to {MAX_POOL}",
                s.store.max_connections
            ),
        );
    }
    if let SecretRef::Literal(url) = &s.store.url
        && let Err(e) = store_scheme(url)
    {
        return problem("store.url", e);
    }
    if let Some(broker) = &s.broker
        && let SecretRef::Literal(url) = &broker.url
        && let Err(e) = broker_scheme(url)
    {
        return problem("broker.url", e);
    }
    if s.delivery.outage_budget_secs > 30 * 86_400 {
        return problem(
            "delivery.outage_budget_secs",
            format!(
                "{} is out of range: 0 to 2592000 seconds (30 days)",
                s.delivery.outage_budget_secs
            ),
        );
    }
    let d = &s.daemon;
    if !super::daemon::LEASE_SECS.contains(&d.lease_secs) {
        return problem(
            "daemon.lease_secs",
            format!("{} is out of range: 3 to 3600 seconds", d.lease_secs),
        );
    }
    if !super::daemon::SHUTDOWN_GRACE_SECS.contains(&d.shutdown_grace_secs) {
        return problem(
            "daemon.shutdown_grace_secs",
            format!(
                "{} is out of range: 1 to 3600 seconds",
                d.shutdown_grace_secs
            ),
        );
    }
    if d.max_streams_at_once > super::daemon::MAX_STREAMS_AT_ONCE {
        return problem(
            "daemon.max_streams_at_once",
            format!(
                "{} is out of range: 0 (no limit) to 10000",
                d.max_streams_at_once
            ),
        );
    }
    if !super::daemon::OUTBOX_POLL_SECS.contains(&d.outbox_poll_secs) {
        return problem(
            "daemon.outbox_poll_secs",
            format!("{} is out of range: 1 to 3600 seconds", d.outbox_poll_secs),
        );
    }
    if s.paths.reload_secs > 86_400 {
        return problem(
            "paths.reload_secs",
            format!(
                "{} is out of range: 0 (off) to 86400 seconds",
                s.paths.reload_secs
            ),
        );
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&s.log.level) {
        return problem(
            "log.level",
            format!(
                "`{}` is not a log filter ({e}); e.g. `info` or `switchboard=debug,sqlx=warn`",
                s.log.level
            ),
        );
    }
    for (i, t) in s.api.tokens.iter().enumerate() {
        let key = |k: &str| format!("api.tokens.{i}.{k}");
        if let Err(e) = crate::api::auth::check_token(t) {
            let (field, message) = e;
            return problem(&key(field), message);
        }
        if s.api.tokens[..i].iter().any(|o| o.name == t.name) {
            return problem(
                &key("name"),
                format!("a token named `{}` comes earlier", t.name),
            );
        }
    }
    if s.api.rate_limit_per_minute > 1_000_000 {
        return problem(
            "api.rate_limit_per_minute",
            format!(
                "{} is out of range: 0 (off) to 1000000 calls a minute",
                s.api.rate_limit_per_minute
            ),
        );
    }
    for (i, origin) in s.api.cors_origins.iter().enumerate() {
        if let Err(e) = crate::api::check_origin(origin) {
            return problem(&format!("api.cors_origins.{i}"), e);
        }
    }
    if let Some(h) = &s.web.trusted_user_header
        && axum::http::HeaderName::from_bytes(h.as_bytes()).is_err()
    {
        return problem(
            "web.trusted_user_header",
            format!("`{h}` is not an HTTP header name, such as `X-Forwarded-Email`"),
        );
    }
    if let Some(prefix) = s.broker.as_ref().map(|b| &b.prefix) {
        let fits = !prefix.is_empty()
            && prefix.len() <= 100
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !fits {
            return problem(
                "broker.prefix",
                format!(
                    "`{prefix}` cannot start queue names: use 1 to 100 letters, digits, `-`, `_` or `.`, such as `switchboard-staging`"
                ),
            );
        }
    }
    if let Some(jwt) = &s.api.jwt
        && let Some((key, message)) = jwt_problem(jwt)
    {
        return problem(&format!("api.jwt.{key}"), message);
    }
    for (name, over) in &s.connectors {
        if let Some(url) = &over.base_url
            && let Err(e) = crate::connector::check_base_url(url)
        {
            return problem(&format!("connectors.{name}.base_url"), e);
        }
        if let Some(schedule) = &over.schedule
            && let Err(e) = crate::connector::manifest::parse_schedule(schedule)
        {
            return problem(&format!("connectors.{name}.schedule"), e);
        }
        if let Some(rate) = over.rate_limit_per_sec
            && rate > 100_000
        {
            return problem(
                &format!("connectors.{name}.rate_limit_per_sec"),
                format!("{rate} is out of range: 0 to 100000 (0 is unlimited)"),
            );
        }
    }
    None
}

/// `[api.jwt]` settings that would refuse every token, or accept any.
/// The key files themselves are read by `check` and at start
/// (`api::jwt`), not here: loading settings does no IO beyond the file.
fn jwt_problem(jwt: &super::JwtSettings) -> Option<(&'static str, String)> {
    if jwt.issuer.trim().is_empty() {
        return Some((
            "issuer",
            "the issuer is the `iss` the identity provider puts in its tokens".into(),
        ));
    }
    if jwt.audience.trim().is_empty() {
        return Some((
            "audience",
            "the audience is the `aud` the identity provider gives Switchboard's tokens".into(),
        ));
    }
    if jwt.public_keys.is_empty() && jwt.jwks_url.is_none() {
        return Some((
            "public_keys",
            "no keys: give the identity provider's `jwks_url`, or the PEM files of its signing keys"
                .into(),
        ));
    }
    if let Some(url) = &jwt.jwks_url {
        let parsed = url::Url::parse(url);
        let web = parsed
            .as_ref()
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some());
        if !web {
            return Some((
                "jwks_url",
                format!(
                    "`{url}` is not an http(s) URL: give the provider's `jwks_uri`, such as \
                     `https://login.example.com/.well-known/jwks.json`"
                ),
            ));
        }
    }
    if !(60..=86_400).contains(&jwt.jwks_refresh_secs) {
        return Some((
            "jwks_refresh_secs",
            format!(
                "{} is out of range: 60 to 86400 seconds between fetches of the provider's keys",
                jwt.jwks_refresh_secs
            ),
        ));
    }
    if jwt.algorithms.is_empty() {
        return Some((
            "algorithms",
            "no algorithms: give some of RS256, RS384, RS512, PS256, ES256, ES384, EdDSA".into(),
        ));
    }
    if jwt.email_claim.trim().is_empty() {
        return Some((
            "email_claim",
            "the claim that holds the employee's e-mail address, such as `email`".into(),
        ));
    }
    if jwt.leeway_seconds > 3600 {
        return Some((
            "leeway_seconds",
            format!(
                "{} is out of range: 0 to 3600 seconds of clock skew",
                jwt.leeway_seconds
            ),
        ));
    }
    None
}

fn store_scheme(url: &str) -> Result<(), String> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" | "postgres" | "postgresql" => Ok(()),
        _ => Err(format!(
            "the store is `sqlite://FILE` (embedded) or `postgres://USER@HOST/DB`, not `{scheme}:`"
        )),
    }
}

fn broker_scheme(url: &str) -> Result<(), String> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "amqp" | "amqps" => Ok(()),
        // The URL may hold a password: name the scheme only.
        _ => Err(format!(
            "the broker is `amqp://…` or `amqps://…`, not `{scheme}:`"
        )),
    }
}

/// Where the admin fixes it: the environment variable if one set the key,
/// else the key in the file.
fn locate(
    key: &str,
    message: String,
    file: Option<&SourceFile>,
    env: &HashMap<String, String>,
) -> ConfigError {
    let var = format!("{ENV_PREFIX}__{}", key.replace('.', "__").to_uppercase());
    // Variables are matched without regard to case, as the `config` crate does.
    if env.keys().any(|k| k.eq_ignore_ascii_case(&var)) {
        return ConfigError::Env(format!("{var}: {message}"));
    }
    match file {
        Some(source) => {
            let mut diagnostic = source.error_at_key(key, message);
            // A store or broker URL may hold a password: the snippet would
            // print it, so the location and key have to do.
            if matches!(key, "store.url" | "broker.url") || key.ends_with(".base_url") {
                diagnostic.snippet = None;
            }
            ConfigError::File(diagnostic)
        }
        None => ConfigError::Env(format!("{key} (default): {message}")),
    }
}
