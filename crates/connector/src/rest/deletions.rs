//! `[streams.deletions]` for the `rest` kind: how a stream sees records
//! deleted at the source, which a list query no longer returns. Three ways,
//! any of them together (docs/CONNECTORS.md, "Deletions"):
//!
//! - a status value: a listed record whose `field` equals `equals` is a
//!   tombstone (an archived flag, a `deleted` state);
//! - a deleted-records endpoint (`path`), read after each run from its own
//!   cursor, whose rows name the deleted record by `key`: ServiceNow's
//!   `sys_audit_delete` table;
//! - a reconciliation: at most every `every`, the stream's keys listed
//!   (cheaply: `query` asks for the key field only) and the stored records
//!   not listed tombstoned, within `max_fraction`.
//!
//! This file parses and checks the keys (no IO) and builds the requests
//! with the stream's own paging and record reading; the sync engine
//! (`sync/deletions.rs`) decides what is tombstoned and commits it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::RestConnector;
use super::config::{CursorConfig, Pagination, QueryValue, StreamConfig};
use crate::{ConnectorError, DeletionSpec, Page, PageToken, Reconcile, StatusMark};

/// `[streams.deletions]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletionsConfig {
    /// A status value: dotted path of the field of a listed record that
    /// says it is deleted or archived, e.g. `archived`.
    #[serde(default)]
    pub field: Option<String>,
    /// The value at `field` that means deleted: any TOML value (`true`,
    /// `"deleted"`, `7`).
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// A deleted-records endpoint: its path under `base_url`, e.g.
    /// `/api/now/table/sys_audit_delete`.
    #[serde(default)]
    pub path: Option<String>,
    /// Dotted path of the rows in the endpoint's response body; "" for the
    /// body itself.
    #[serde(default)]
    pub records: String,
    /// Dotted path of the deleted record's external id in each row
    /// (ServiceNow: `documentkey`).
    #[serde(default)]
    pub key: Option<String>,
    /// Fixed query parameters of the endpoint.
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
    /// Fixed headers of the endpoint's requests.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How the endpoint pages, as a stream's `pagination`; absent: one
    /// request (or a `Link: rel="next"` header when the server sends one).
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// The endpoint's own cursor on a field of its rows (when the deletion
    /// was recorded), kept as the stream `<stream>#deletions`; absent: the
    /// whole endpoint is read after every run.
    #[serde(default)]
    pub cursor: Option<CursorConfig>,
    /// `[streams.deletions.reconcile]`: list the source's keys now and then.
    #[serde(default)]
    pub reconcile: Option<ReconcileConfig>,
}

/// `[streams.deletions.reconcile]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    /// The least time between two reconciliations: `24h` (the default),
    /// `30m`, `7d`, `1h30m`.
    #[serde(default = "daily")]
    pub every: String,
    /// The largest share of the stream's live stored records one
    /// reconciliation may tombstone; more is refused as a broken listing.
    /// `1.0` also lets an empty listing tombstone everything.
    #[serde(default = "half")]
    pub max_fraction: f64,
    /// Query parameters for the key listing, over the stream's own: ask
    /// for the key only (`sysparm_fields = "sys_id"`).
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
}

fn daily() -> String {
    "24h".into()
}

fn half() -> f64 {
    0.5
}

/// `24h`, `30m`, `7d`, `90s`, `1h30m`: a whole number before each unit
/// (`s`, `m`, `h`, `d`, `w`), as humantime writes them.
pub fn parse_every(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration such as `24h`, `30m` or `7d`");
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

/// Check `[streams.deletions]` (no IO): the key at fault, relative to
/// `deletions.`, and why.
pub(super) fn check(d: &DeletionsConfig) -> Result<(), (String, String)> {
    let err = |k: &str, m: String| Err((k.to_string(), m));
    match (&d.field, &d.equals) {
        (Some(f), _) if f.trim().is_empty() => return err("field", "`field` is empty".into()),
        (Some(_), None) => {
            return err(
                "field",
                "`field` needs `equals`, the value that means deleted".into(),
            );
        }
        (None, Some(_)) => {
            return err("equals", "`equals` needs `field`, the field it is".into());
        }
        _ => {}
    }
    if d.field.is_none() && d.path.is_none() && d.reconcile.is_none() {
        return Err((
            String::new(),
            "say how deletions are seen: `field` with `equals` (a status value), `path` (a \
             deleted-records endpoint) or `[streams.deletions.reconcile]`"
                .into(),
        ));
    }
    if d.path.is_none() {
        let endpoint_only = [
            ("key", d.key.is_some()),
            ("records", !d.records.is_empty()),
            ("query", !d.query.is_empty()),
            ("headers", !d.headers.is_empty()),
            ("pagination", d.pagination.is_some()),
            ("cursor", d.cursor.is_some()),
        ];
        if let Some((k, _)) = endpoint_only.iter().find(|(_, set)| *set) {
            return err(
                k,
                format!("`{k}` belongs to a deleted-records endpoint: set `path` too"),
            );
        }
    }
    if let Some(path) = &d.path {
        if !path.starts_with('/') {
            return err(
                "path",
                format!("`{path}`: a path under `base_url` starts with `/`"),
            );
        }
        if d.key.as_deref().is_none_or(|k| k.trim().is_empty()) {
            return err(
                "path",
                "a deleted-records endpoint needs `key`, the field holding the deleted \
                 record's id (ServiceNow: `documentkey`)"
                    .into(),
            );
        }
    }
    if let Some(
        Pagination::Offset { page_size: 0, .. } | Pagination::PageNumber { page_size: 0, .. },
    ) = &d.pagination
    {
        return err("pagination", "`page_size` must be at least 1".into());
    }
    if let Some(c) = &d.cursor {
        c.keys()
            .spec()
            .map_err(|(key, e)| (format!("cursor.{key}"), e))?;
        if !c.template.contains("{cursor}") {
            return err(
                "cursor.template",
                "the template must contain `{cursor}`".into(),
            );
        }
        match &c.param {
            None => {
                return err(
                    "cursor",
                    "set `param`, the query parameter for the lower bound".into(),
                );
            }
            Some(p) if d.query.contains_key(p) => {
                return err(
                    "cursor.param",
                    format!(
                        "`{p}` is also set in `query`; put the whole value in `cursor.template`"
                    ),
                );
            }
            Some(_) => {}
        }
    }
    if let Some(r) = &d.reconcile {
        parse_every(&r.every).map_err(|e| ("reconcile.every".to_string(), e))?;
        if !(r.max_fraction > 0.0 && r.max_fraction <= 1.0) {
            return err(
                "reconcile.max_fraction",
                format!(
                    "{} is out of range: above 0 and at most 1.0 (1.0 lets an empty listing \
                     tombstone everything)",
                    r.max_fraction
                ),
            );
        }
    }
    Ok(())
}

/// What the sync engine needs to know of a stream's deletions.
pub(super) fn spec(d: &DeletionsConfig) -> DeletionSpec {
    DeletionSpec {
        status: d
            .field
            .as_ref()
            .zip(d.equals.as_ref())
            .map(|(f, v)| StatusMark {
                path: crate::split_path(f),
                equals: v.clone(),
            }),
        endpoint: d.path.is_some(),
        // Checked in parse().
        endpoint_cursor: d.cursor.as_ref().and_then(|c| c.keys().spec().ok()),
        reconcile: d.reconcile.as_ref().map(|r| Reconcile {
            every: parse_every(&r.every).unwrap_or(Duration::from_secs(86_400)),
            max_fraction: r.max_fraction,
        }),
    }
}

impl RestConnector {
    fn deletions_of(
        &self,
        stream: &str,
    ) -> Result<(&StreamConfig, &DeletionsConfig), ConnectorError> {
        self.streams
            .iter()
            .find(|s| s.name == stream)
            .and_then(|s| s.deletions.as_ref().map(|d| (s, d)))
            .ok_or_else(|| ConnectorError::UnknownStream {
                system: self.system.clone(),
                stream: format!("{stream} (with [streams.deletions])"),
            })
    }

    /// One page of the deleted-records endpoint, from `from`: each record's
    /// key is a deleted record's id, its cursor when it was deleted.
    pub(super) async fn deleted_page(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        let (s, d) = self.deletions_of(stream)?;
        let sub = StreamConfig {
            name: format!("{}#deletions", s.name),
            path: d.path.clone().unwrap_or_default(),
            records: d.records.clone(),
            key: d.key.clone().unwrap_or_default(),
            method: "GET".into(),
            body: None,
            query: d.query.clone(),
            headers: d.headers.clone(),
            ignore_fields: Vec::new(),
            pagination: d
                .pagination
                .clone()
                .unwrap_or(Pagination::NextLink { next_path: None }),
            cursor: d.cursor.clone(),
            details: Vec::new(),
            deletions: None,
        };
        self.fetch_with(&sub, from, token).await
    }

    /// One page of the stream's keys for a reconciliation: the stream's own
    /// request without its cursor or details, with `reconcile.query` over
    /// its query.
    pub(super) async fn key_page(
        &self,
        stream: &str,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        let (s, d) = self.deletions_of(stream)?;
        let mut sub = s.clone();
        sub.cursor = None;
        sub.details = Vec::new();
        sub.deletions = None;
        if let Some(r) = &d.reconcile {
            for (k, v) in &r.query {
                sub.query.insert(k.clone(), v.clone());
            }
        }
        self.fetch_with(&sub, None, token).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(), (String, String)> {
        let d: DeletionsConfig =
            toml::from_str(text).map_err(|e| (String::new(), e.to_string()))?;
        check(&d)
    }

    #[test]
    fn durations_read_as_humantime_writes_them() {
        assert_eq!(parse_every("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_every("1h30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_every("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "24", "h", "0s", "3 parsecs", "-1h"] {
            assert!(parse_every(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_mode_checks_its_keys() {
        assert!(parse("field = \"archived\"\nequals = true").is_ok());
        assert!(parse("path = \"/x\"\nkey = \"documentkey\"\nrecords = \"result\"").is_ok());
        assert!(parse("[reconcile]\nevery = \"12h\"\nmax_fraction = 0.2").is_ok());
        assert_eq!(parse("").unwrap_err().0, "");
        assert_eq!(parse("field = \"archived\"").unwrap_err().0, "field");
        assert_eq!(parse("equals = 1").unwrap_err().0, "equals");
        assert_eq!(parse("path = \"/x\"").unwrap_err().0, "path");
        assert_eq!(
            parse("field = \"a\"\nequals = 1\nkey = \"k\"")
                .unwrap_err()
                .0,
            "key"
        );
        assert_eq!(
            parse("[reconcile]\nmax_fraction = 0.0").unwrap_err().0,
            "reconcile.max_fraction"
        );
        assert_eq!(
            parse("[reconcile]\nevery = \"daily\"").unwrap_err().0,
            "reconcile.every"
        );
        let cursor = "path = \"/x\"\nkey = \"k\"\n[cursor]\nfield = \"at\"\nformat = \"rfc3339\"";
        assert_eq!(parse(cursor).unwrap_err().0, "cursor");
        assert!(
            parse(&format!(
                "{cursor}\nparam = \"q\"\ntemplate = \"at>={{cursor}}\""
            ))
            .is_ok()
        );
        assert!(parse("bogus = 1").unwrap_err().1.contains("bogus"));
    }

    #[test]
    fn a_status_mark_compares_the_whole_value() {
        let d: DeletionsConfig =
            toml::from_str("field = \"state.name\"\nequals = \"gone\"").unwrap();
        let mark = spec(&d).status.unwrap();
        assert!(mark.says_deleted(&serde_json::json!({"state": {"name": "gone"}})));
        assert!(!mark.says_deleted(&serde_json::json!({"state": {"name": "open"}})));
        assert!(!mark.says_deleted(&serde_json::json!({})));
    }
}
