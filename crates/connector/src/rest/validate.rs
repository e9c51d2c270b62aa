//! Validation of a `rest` manifest's own keys, after parsing and before
//! anything is built: pure, every problem named at its key.

use super::actions::{self, PathTemplate};
use super::config::{ActionConfig, AuthConfig, HttpOptions, Pagination, RestConfig};
use super::request::check_body;
use super::{deletions, details, login};
use crate::diag::{Diagnostic, SourceFile};

/// `base_url` and `[http]`, the keys every HTTP kind (REST, JSON-RPC)
/// shares. A URL with a password is named without its line quoted.
pub(crate) fn check_http(
    source: &SourceFile,
    base_url: &str,
    http: &HttpOptions,
) -> Result<(), Diagnostic> {
    crate::check_base_url(base_url).map_err(|e| {
        let mut d = source.error_at_key("base_url", e);
        if crate::url_has_password(base_url) {
            d.snippet = None;
        }
        d
    })?;
    http.check()
        .map_err(|(key, e)| source.error_at_key(&format!("http.{key}"), e))
}

pub(super) fn validate(source: &SourceFile, cfg: &RestConfig) -> Result<(), Diagnostic> {
    check_http(source, &cfg.base_url, &cfg.http)?;
    if let Some(AuthConfig::Login(login)) = &cfg.auth {
        login::validate(login).map_err(|(key, e)| source.error_at_key(&key, e))?;
    }
    if cfg.streams.is_empty() {
        return Err(source.error_at_key("streams", "at least one `[[streams]]` is needed"));
    }
    // A set, not a scan of the streams before: manifests can have thousands.
    let mut names = std::collections::HashSet::new();
    for (i, s) in cfg.streams.iter().enumerate() {
        let at = |k: &str| format!("streams.{i}.{k}");
        if !names.insert(s.name.as_str()) {
            return Err(source.error_at_key(&at("name"), format!("duplicate stream `{}`", s.name)));
        }
        if !["GET", "POST"].contains(&s.method.as_str()) {
            return Err(source.error_at_key(
                &at("method"),
                format!("`{}`: a stream reads with `GET` or `POST`", s.method),
            ));
        }
        match (&s.body, s.method.as_str()) {
            (Some(body), "POST") => {
                check_body(body).map_err(|e| source.error_at_key(&at("body"), e))?
            }
            (Some(_), _) => {
                return Err(source.error_at_key(&at("body"), "a `body` needs `method = \"POST\"`"));
            }
            (None, _) => {}
        }
        let body_has = |p: &str| s.body.as_deref().is_some_and(|b| b.contains(p));
        let page_size = match &s.pagination {
            Pagination::Offset { page_size, .. }
            | Pagination::PageNumber { page_size, .. }
            | Pagination::Range { page_size, .. } => Some(*page_size),
            Pagination::CursorToken { page_size, .. } => *page_size,
            Pagination::NextLink { .. } => None,
        };
        if let Some(path) = s.ignore_fields.iter().find(|p| {
            **p == s.key
                || s.cursor
                    .as_ref()
                    .is_some_and(|c| c.field == **p || c.fields.contains(p))
        }) {
            return Err(source.error_at_key(
                &at("ignore_fields"),
                format!("`{path}` is the stream's key or cursor field; it cannot be ignored"),
            ));
        }
        if page_size == Some(0) {
            return Err(source.error_at_key(&at("pagination"), "`page_size` must be at least 1"));
        }
        let mut intos = std::collections::HashSet::new();
        for (j, d) in s.details.iter().enumerate() {
            let at_d = |k: &str| at(&format!("details.{j}.{k}"));
            details::check(d).map_err(|(key, e)| source.error_at_key(&at_d(key), e))?;
            if d.into.trim().is_empty() || d.into.contains('.') {
                return Err(source.error_at_key(
                    &at_d("into"),
                    "`into` is one key of the record, such as `comments`",
                ));
            }
            if !intos.insert(d.into.as_str()) {
                return Err(source.error_at_key(
                    &at_d("into"),
                    format!("two details go `into = \"{}\"`", d.into),
                ));
            }
            if d.max_pages == 0 {
                return Err(
                    source.error_at_key(&at_d("max_pages"), "`max_pages` must be at least 1")
                );
            }
        }
        if let Some(d) = &s.deletions {
            deletions::check(d).map_err(|(key, e)| {
                let key = if key.is_empty() {
                    "deletions".to_string()
                } else {
                    format!("deletions.{key}")
                };
                source.error_at_key(&at(&key), e)
            })?;
        }
        if let Some(c) = &s.cursor {
            c.keys()
                .spec()
                .map_err(|(key, e)| source.error_at_key(&at(&format!("cursor.{key}")), e))?;
            if !c.template.contains("{cursor}") {
                return Err(source.error_at_key(
                    &at("cursor.template"),
                    "the template must contain `{cursor}`",
                ));
            }
            match &c.param {
                Some(param) if s.query.contains_key(param) => {
                    return Err(source.error_at_key(
                        &at("cursor.param"),
                        format!(
                            "`{param}` is also set in `query`; put the whole value in `cursor.template`"
                        ),
                    ));
                }
                None if !body_has("{cursor}") => {
                    return Err(source.error_at_key(
                        &at("cursor"),
                        "set `param` (the query parameter for the lower bound), or put `{cursor}` in the stream's `body`",
                    ));
                }
                _ => {}
            }
        }
    }
    for (name, action) in &cfg.actions {
        validate_action(source, name, action)?;
    }
    Ok(())
}

fn validate_action(source: &SourceFile, name: &str, a: &ActionConfig) -> Result<(), Diagnostic> {
    let at = |k: &str| format!("actions.{name}.{k}");
    if !actions::METHODS.contains(&a.method.as_str()) {
        return Err(source.error_at_key(
            &at("method"),
            format!(
                "`{}`: an action writes with one of {}",
                a.method,
                actions::METHODS.join(", ")
            ),
        ));
    }
    PathTemplate::parse(&a.path).map_err(|e| source.error_at_key(&at("path"), e))?;
    if a.id.is_some() && a.id_header.is_some() {
        return Err(source.error_at_key(
            &at("id_header"),
            "set `id` (a path in the response body) or `id_header`, not both",
        ));
    }
    Ok(())
}
