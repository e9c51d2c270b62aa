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
use crate::diag::{Diagnostic, SourceFile, suggest};

/// Keys every manifest may carry, whatever its kind.
pub const HEADER_KEYS: &[&str] = &[
    "version",
    "system",
    "kind",
    "department",
    "description",
    "schedule",
    "enabled",
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

impl Manifest {
    pub fn load(path: &Path) -> Result<Self, Diagnostic> {
        Self::from_source(&SourceFile::read(path)?)
    }

    /// Parse and validate; no IO.
    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostic> {
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
        let mut header: ManifestHeader =
            source.deserialize_table(Spanned::new(span.clone(), header_table), &[])?;
        if header.system.is_empty() {
            header.system = source
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        if let Some(schedule) = &header.schedule {
            parse_schedule(schedule).map_err(|e| source.error_at_key("schedule", e))?;
        }
        let Some(kind) = KINDS.iter().find(|k| k.name == header.kind) else {
            let names: Vec<String> = KINDS.iter().map(|k| k.name.to_string()).collect();
            let mut d =
                source.error_at_key("kind", format!("unknown connector kind `{}`", header.kind));
            d.hint = suggest(&header.kind, &names)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("kinds are: {}", names.join(", "))));
            return Err(d);
        };
        let config = (kind.parse)(source, Spanned::new(span, kind_table))?;
        Ok(Manifest {
            file: source.path.clone(),
            header,
            config,
        })
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
    cron::Schedule::from_str(&full).map_err(|e| {
        // The cron crate's message repeats the expression over several lines; keep one.
        let reason = e.to_string();
        let reason = reason.lines().next().filter(|l| l.trim() != full.trim()).unwrap_or("");
        let detail = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
        format!(
            "invalid cron expression `{expr}`{detail}; use 5 fields `minute hour day month weekday` \
             (e.g. `*/5 * * * *`, every five minutes) or 6 with seconds first"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_field_schedules_parse() {
        assert!(parse_schedule("*/5 * * * *").is_ok());
        assert!(parse_schedule("30 */5 * * * *").is_ok());
        assert!(parse_schedule("every five minutes").is_err());
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
    fn bad_schedule_is_located() {
        let src = SourceFile::new(
            "connectors/x.toml",
            "version = 1\nkind = \"rest\"\ndepartment = \"it\"\nschedule = \"nope\"\n",
        );
        let err = Manifest::from_source(&src).unwrap_err();
        assert_eq!((err.line, err.col), (4, 1));
        assert!(err.message.contains("invalid cron expression"), "{err}");
    }
}
