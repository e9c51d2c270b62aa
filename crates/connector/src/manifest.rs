//! Connector manifests: `connectors/<system>.toml`.
//!
//! A manifest is flat: the keys every connector has (`system`, `kind`,
//! `department`, `schedule`, …) sit beside its kind's own keys. The common
//! keys are split off and parsed here; the rest go, with their spans intact,
//! to the kind named by `kind`, so errors anywhere point into the file.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;
use toml::Spanned;
use toml::de::DeTable;

use super::{ConnectorConfig, KINDS};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};

/// Keys every manifest may carry, whatever its kind.
pub const HEADER_KEYS: &[&str] = &[
    "version",
    "system",
    "kind",
    "department",
    "description",
    "schedule",
    "enabled",
    "max_pages",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestHeader {
    /// File format version; this build reads 1.
    pub version: u32,
    /// The system's name, used in the store and in mapping files. Defaults to the file name.
    #[serde(default)]
    pub system: String,
    /// Connector kind, e.g. `rest`.
    pub kind: String,
    /// Which department's system this is (`it`, `hr`, `finance`, `facilities`).
    pub department: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Cron expression: 5 fields (minute precision) or 6 (with seconds).
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Stop a run of any stream after this many pages, with an error: a
    /// guard against a source that never says it is done. No limit when absent.
    #[serde(default)]
    pub max_pages: Option<std::num::NonZeroU64>,
}

fn yes() -> bool {
    true
}

/// A parsed, validated manifest: header plus its kind's settings.
#[derive(Debug)]
pub struct Manifest {
    pub file: PathBuf,
    pub header: ManifestHeader,
    pub config: Box<dyn ConnectorConfig>,
}

/// Routing checks its targets against what each manifest declares.
impl crate::routing::TargetSystem for Manifest {
    fn system(&self) -> &str {
        &self.header.system
    }
    fn department(&self) -> &str {
        &self.header.department
    }
    fn action_names(&self) -> Vec<String> {
        self.config.actions().into_iter().map(|a| a.name).collect()
    }
}

impl Manifest {
    /// Read, parse and validate; every problem of the file at once.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        Self::check(&SourceFile::read(path)?)
    }

    /// Parse and validate; no IO. The first problem only (see [`Manifest::check`]).
    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostic> {
        Self::check(source).map_err(|mut d| d.0.swap_remove(0))
    }

    /// Parse and validate; no IO. The common keys and the kind's keys are
    /// checked independently, so an admin sees every problem in one pass.
    pub fn check(source: &SourceFile) -> Result<Self, Diagnostics> {
        let doc = source.parse_document()?;
        let span = doc.span();
        let (mut header_table, mut kind_table) = (DeTable::default(), DeTable::default());
        for (key, value) in doc.into_inner() {
            if HEADER_KEYS.contains(&key.get_ref().as_ref()) {
                header_table.insert(key, value);
            } else {
                kind_table.insert(key, value);
            }
        }
        let kind_name = header_table
            .get("kind")
            .and_then(|v| v.get_ref().as_str())
            .map(str::to_string);
        let mut errors = Vec::new();
        let header = source
            .deserialize_table::<ManifestHeader>(Spanned::new(span.clone(), header_table), &[])
            .map_err(|d| errors.push(d))
            .ok()
            .map(|mut h| {
                if h.system.is_empty() {
                    h.system = source
                        .path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                }
                h
            });
        if let Some(Err(e)) = header
            .as_ref()
            .and_then(|h| h.schedule.as_deref())
            .map(parse_schedule)
        {
            errors.push(source.error_at_key("schedule", e));
        }
        if let Some(Err((message, hint))) = header.as_ref().map(|h| check_system_name(&h.system)) {
            let message = match source.key_span("system") {
                Some(_) => message,
                None => format!("{message} (the name is the file's, as `system` is not set)"),
            };
            let mut d = source.error_at_key("system", message);
            d.hint = Some(hint);
            errors.push(d);
        }
        let kind = kind_name
            .as_deref()
            .and_then(|k| KINDS.iter().find(|kind| kind.name == k));
        let config = match (kind, kind_name) {
            (Some(kind), _) => (kind.parse)(source, Spanned::new(span, kind_table))
                .map_err(|d| errors.push(d))
                .ok(),
            (None, Some(name)) => {
                let names: Vec<String> = KINDS.iter().map(|k| k.name.to_string()).collect();
                let mut d = source.error_at_key("kind", format!("unknown connector kind `{name}`"));
                d.hint = suggest(&name, &names)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("kinds are: {}", names.join(", "))));
                errors.push(d);
                None
            }
            // A missing `kind` is reported by the header's own parse.
            (None, None) => None,
        };
        match (header, config) {
            (Some(header), Some(config)) if errors.is_empty() => Ok(Manifest {
                file: source.path.clone(),
                header,
                config,
            }),
            _ => Err(Diagnostics(errors)),
        }
    }
}

/// Parse a cron expression, accepting the common 5-field form by adding a
/// seconds field: admins know `*/5 * * * *`, the `cron` crate wants seconds.
pub fn parse_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    let full = if fields == 5 {
        format!("0 {expr}")
    } else {
        expr.to_string()
    };
    let schedule = cron::Schedule::from_str(&full).map_err(|e| {
        // The cron crate's message repeats the expression over several lines; keep one.
        let reason = e.to_string();
        let reason = reason.lines().next().filter(|l| l.trim() != full.trim()).unwrap_or("");
        let detail = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
        format!(
            "invalid cron expression `{expr}`{detail}; use 5 fields `minute hour day month weekday` \
             (e.g. `*/5 * * * *`, every five minutes) or 6 with seconds first"
        )
    })?;
    // `0 0 30 2 *` (30 February) parses, and never fires: the connector
    // would never sync, and nothing would say why.
    if schedule.upcoming(chrono::Utc).next().is_none() {
        return Err(format!(
            "cron expression `{expr}` never fires (no such date, e.g. 30 February)"
        ));
    }
    Ok(schedule)
}

/// The environment variable segment that names `system` in
/// `SWITCHBOARD__CONNECTORS__<SEGMENT>__BASE_URL`: a variable name cannot
/// hold `-`, so `hr-csv` is `HR_CSV` (the configuration reads variable
/// names in lower case, so this is the key an override arrives under).
pub fn env_key(system: &str) -> String {
    system.replace('-', "_")
}

/// A system name every place it goes can hold: the store, mapping file
/// names, metrics labels and environment variables. Lower-case ASCII
/// letters and digits, starting with a letter, with single `-` or `_`
/// between them (`hr-csv`, `erp_tasks`). Upper case could not be
/// overridden from the environment (variable names are read in lower
/// case) and `__` is the variables' separator.
pub fn check_system_name(system: &str) -> Result<(), (String, String)> {
    let valid = system.starts_with(|c: char| c.is_ascii_lowercase())
        && !system.ends_with(['-', '_'])
        && !system.contains("--")
        && !system.contains("__")
        && !system.contains("-_")
        && !system.contains("_-")
        && system
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        return Ok(());
    }
    let suggestion: String = system
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let hint = match suggestion.starts_with(|c: char| c.is_ascii_lowercase()) {
        true => format!("such as `{suggestion}`"),
        false => "such as `erp-tasks`".to_string(),
    };
    Err((
        format!(
            "system name `{system}` cannot be overridden from the environment: use lower-case \
             letters and digits, starting with a letter, with single `-` or `_` between them"
        ),
        hint,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_field_schedules_parse() {
        assert!(parse_schedule("*/5 * * * *").is_ok());
        assert!(parse_schedule("30 */5 * * * *").is_ok());
        assert!(parse_schedule("every five minutes").is_err());
        let err = parse_schedule("0 0 30 2 *").unwrap_err();
        assert!(err.contains("never fires"), "{err}");
        assert!(parse_schedule("0 0 29 2 *").is_ok(), "leap years come");
    }

    #[test]
    fn values_that_cannot_work_are_refused_at_their_key() {
        let rest = |base: &str, http: &str, header: &str| {
            format!(
                "version = 1\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"{base}\"\n{header}\n[http]\n{http}\n\n\
                 [[streams]]\nname = \"s\"\npath = \"/s\"\nrecords = \"r\"\nkey = \"id\"\n\
                 [streams.pagination]\ntype = \"next_link\"\n"
            )
        };
        let ok = "https://x.example";
        let cases = [
            (
                rest("ftp://x.example", "", ""),
                "base_url",
                "`http` or `https`",
            ),
            (rest("x.example", "", ""), "base_url", "not a URL"),
            (
                rest(ok, "timeout_secs = 0", ""),
                "timeout_secs",
                "1 to 3600",
            ),
            (
                rest(ok, "connect_timeout_secs = 0", ""),
                "connect_timeout_secs",
                "out of range",
            ),
            (rest(ok, "max_attempts = 0", ""), "max_attempts", "1 to 100"),
            (
                rest(ok, "initial_backoff_ms = 0", ""),
                "initial_backoff_ms",
                "out of range",
            ),
            (rest(ok, "", "max_pages = 0"), "max_pages", "nonzero"),
            (
                rest(ok, "", "schedule = \"0 0 31 4 *\""),
                "schedule",
                "never fires",
            ),
        ];
        for (text, key, needle) in cases {
            let src = SourceFile::new("connectors/x.toml", text.as_str());
            let err = Manifest::from_source(&src).unwrap_err();
            let line = text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
            assert_eq!(err.line, line, "{key}: {err}");
            assert!(err.to_string().contains(needle), "{key}: {err}");
        }
    }

    #[test]
    fn unknown_kind_suggests_a_known_one() {
        let src = SourceFile::new(
            "connectors/x.toml",
            "version = 1\nkind = \"rets\"\ndepartment = \"it\"\n",
        );
        let err = Manifest::from_source(&src).unwrap_err();
        assert_eq!(err.line, 2);
        assert_eq!(err.hint.as_deref(), Some("did you mean `rest`?"));
    }

    #[test]
    fn header_and_kind_problems_are_reported_together() {
        let src = SourceFile::new(
            "connectors/x.toml",
            "version = 1\nkind = \"rest\"\ndepartment = \"it\"\nschedule = \"nope\"\nbase_ulr = \"http://x\"\n",
        );
        let errors = Manifest::check(&src).unwrap_err().0;
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|d| d.message.contains("invalid cron expression"))
        );
        assert!(
            errors
                .iter()
                .any(|d| d.hint.as_deref() == Some("did you mean `base_url`?"))
        );
    }

    #[test]
    fn bad_schedule_is_located() {
        let src = SourceFile::new(
            "connectors/x.toml",
            "version = 1\nkind = \"rest\"\ndepartment = \"it\"\nschedule = \"nope\"\n",
        );
        let err = Manifest::from_source(&src).unwrap_err();
        assert_eq!((err.line, err.col), (4, 1));
        assert!(err.message.contains("invalid cron expression"), "{err}");
    }

    #[test]
    fn lookup_indexes_arrays_and_stops_at_scalars() {
        use crate::{lookup, split_path};
        use serde_json::json;
        let v = json!({"a": [{"b": 1}, {"b": 2}], "s": "text"});
        assert_eq!(lookup(&v, &split_path("a.1.b")), Some(&json!(2)));
        assert_eq!(lookup(&v, &split_path("a.2.b")), None);
        assert_eq!(lookup(&v, &split_path("s.0")), None);
        assert_eq!(lookup(&v, &[]), Some(&v));
    }
}
