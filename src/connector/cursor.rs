//! Incremental cursors: how a stream's cursor values compare and rewind.
//!
//! Sources stamp changes with a time (or a sequence) whose order we follow.
//! Records that share the last value, or that commit late on the source side,
//! are caught by reading again from a little before the committed cursor:
//! the overlap window. Idempotent upserts make the re-read harmless.

use std::cmp::Ordering;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

/// How cursor values are written by the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorFormat {
    /// A timestamp in a chrono format, read as UTC (`%Y-%m-%d %H:%M:%S`).
    DateTime(String),
    /// An RFC 3339 timestamp.
    Rfc3339,
    /// A monotonically increasing integer (a change sequence).
    Integer,
    /// An opaque string compared as text; no overlap arithmetic.
    Text,
}

impl CursorFormat {
    /// `rfc3339`, `integer`, `string`, or a chrono format.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "rfc3339" => Ok(CursorFormat::Rfc3339),
            "integer" => Ok(CursorFormat::Integer),
            "string" => Ok(CursorFormat::Text),
            fmt => {
                use chrono::format::{Item, StrftimeItems};
                let valid =
                    fmt.contains('%') && StrftimeItems::new(fmt).all(|i| !matches!(i, Item::Error));
                if valid {
                    Ok(CursorFormat::DateTime(fmt.to_string()))
                } else {
                    Err(format!(
                        "`{fmt}` is not a cursor format: use `rfc3339`, `integer`, `string` or a chrono format like `%Y-%m-%d %H:%M:%S`"
                    ))
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct CursorSpec {
    /// Path of the cursor field in a record.
    pub field: Vec<String>,
    pub format: CursorFormat,
    /// How far before the committed cursor the next run starts.
    pub overlap: Duration,
    /// The first run's lower bound.
    pub initial: String,
    /// Whether the source returns records in cursor order, so the cursor can
    /// be committed after every page rather than only at the end of a run.
    pub ordered: bool,
}

impl CursorSpec {
    /// Order two cursor values; unparseable values sort first so they never
    /// advance the cursor past good ones.
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        match &self.format {
            CursorFormat::Integer => a.trim().parse::<i128>().ok().cmp(&b.trim().parse().ok()),
            CursorFormat::Text => a.cmp(b),
            _ => self.parse_time(a).cmp(&self.parse_time(b)),
        }
    }

    /// The lower bound for the run after one that ended at `committed`.
    pub fn rewind(&self, committed: &str) -> String {
        let overlap = TimeDelta::from_std(self.overlap).unwrap_or(TimeDelta::zero());
        match &self.format {
            CursorFormat::Integer => committed.to_string(),
            CursorFormat::Text => committed.to_string(),
            CursorFormat::Rfc3339 => match self.parse_time(committed) {
                Some(t) => (t - overlap).to_rfc3339(),
                None => committed.to_string(),
            },
            CursorFormat::DateTime(fmt) => match self.parse_time(committed) {
                Some(t) => (t - overlap).format(fmt).to_string(),
                None => committed.to_string(),
            },
        }
    }

    pub fn is_valid(&self, value: &str) -> bool {
        match &self.format {
            CursorFormat::Integer => value.trim().parse::<i128>().is_ok(),
            CursorFormat::Text => true,
            _ => self.parse_time(value).is_some(),
        }
    }

    fn parse_time(&self, value: &str) -> Option<DateTime<Utc>> {
        match &self.format {
            CursorFormat::Rfc3339 => DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            // A format with an offset (`%z`) is read with it; one without,
            // as UTC.
            CursorFormat::DateTime(fmt) => DateTime::parse_from_str(value, fmt)
                .map(|t| t.with_timezone(&Utc))
                .or_else(|_| NaiveDateTime::parse_from_str(value, fmt).map(|t| t.and_utc()))
                .ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sn() -> CursorSpec {
        CursorSpec {
            field: vec!["sys_updated_on".into()],
            format: CursorFormat::parse("%Y-%m-%d %H:%M:%S").unwrap(),
            overlap: Duration::from_secs(60),
            initial: "1970-01-01 00:00:00".into(),
            ordered: true,
        }
    }

    #[test]
    fn offsets_in_the_format_are_honoured() {
        let spec = CursorSpec {
            format: CursorFormat::parse("%Y-%m-%dT%H:%M:%S%.f%z").unwrap(),
            ..sn()
        };
        // 10:00 in Amsterdam is before 09:30 UTC.
        assert_eq!(
            spec.compare(
                "2026-01-01T10:00:00.000+0100",
                "2026-01-01T09:30:00.000+0000"
            ),
            Ordering::Less
        );
        assert_eq!(
            spec.rewind("2026-01-01T10:00:30.000+0100"),
            "2026-01-01T08:59:30+0000"
        );
    }

    #[test]
    fn rewinds_by_the_overlap_in_the_source_format() {
        assert_eq!(sn().rewind("2026-01-01 00:00:30"), "2025-12-31 23:59:30");
    }

    #[test]
    fn compares_as_times_not_text() {
        let c = CursorSpec {
            format: CursorFormat::Rfc3339,
            ..sn()
        };
        // Same instant in two offsets, then a later one written "smaller".
        assert_eq!(
            c.compare("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"),
            Ordering::Equal
        );
        assert_eq!(
            c.compare("2026-01-01T00:30:00+01:00", "2026-01-01T00:00:00Z"),
            Ordering::Less
        );
    }

    #[test]
    fn integers_compare_numerically() {
        let c = CursorSpec {
            format: CursorFormat::Integer,
            ..sn()
        };
        assert_eq!(c.compare("9", "10"), Ordering::Less);
    }

    #[test]
    fn rejects_bad_formats() {
        assert!(CursorFormat::parse("YYYY-MM-DD").is_err());
        assert!(CursorFormat::parse("%Y-%Q").is_err());
    }
}
