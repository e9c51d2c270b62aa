//! Incremental cursors: how a stream's cursor values are read from a
//! record, compared, rewound and written into the next request.
//!
//! Sources stamp changes with a time (or a sequence) whose order we follow.
//! Records that share the last value, or that commit late on the source side,
//! are caught by reading again from a little before the committed cursor:
//! the overlap window. Idempotent upserts make the re-read harmless.
//!
//! A cursor is kept as text in its `format` (what the store holds and
//! compares). How a record's value becomes that text (`read`: a string, a
//! number of epoch seconds, an object of date parts) and how the bound goes
//! into a request (`write_format`) are separate, because real APIs read
//! one way and filter another. `read` owns reading a record's value,
//! `keys` the validation of a `[streams.cursor]` table.

mod keys;
mod read;

pub use keys::CursorKeys;
pub use read::CursorRead;

use std::cmp::Ordering;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDateTime, SecondsFormat, TimeDelta, Timelike, Utc};
use serde_json::{Value, json};

/// How cursor values are written by the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorFormat {
    /// A timestamp in a chrono format, read as UTC (`%Y-%m-%d %H:%M:%S`).
    DateTime(TimePattern),
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
                let pattern = fmt.contains('%').then(|| TimePattern::new(fmt)).flatten();
                if let Some(pattern) = pattern {
                    Ok(CursorFormat::DateTime(pattern))
                } else {
                    Err(format!(
                        "`{fmt}` is not a cursor format: use `rfc3339`, `integer`, `string` or a chrono format like `%Y-%m-%d %H:%M:%S`"
                    ))
                }
            }
        }
    }
}

/// A chrono format, checked and taken apart once: a run compares the
/// cursor of every record it reads, and parsing the format text each time
/// was a measurable part of a bulk load's CPU.
#[derive(Debug, Clone)]
pub struct TimePattern {
    text: String,
    items: Vec<chrono::format::Item<'static>>,
}

impl TimePattern {
    /// `None` when chrono does not accept `fmt`.
    pub fn new(fmt: &str) -> Option<Self> {
        let items = chrono::format::StrftimeItems::new(fmt)
            .parse_to_owned()
            .ok()?;
        Some(Self {
            text: fmt.to_string(),
            items,
        })
    }

    /// `value` read with the pattern: with its offset if the pattern has
    /// one (`%z`), otherwise as UTC. What `DateTime::parse_from_str`, then
    /// `NaiveDateTime::parse_from_str`, give, in one pass.
    pub fn parse_utc(&self, value: &str) -> Option<DateTime<Utc>> {
        if let Some(t) = crate::mapping::iso_fast_path(&self.text, value) {
            return Some(t.and_utc());
        }
        let mut parsed = chrono::format::Parsed::new();
        chrono::format::parse(&mut parsed, value, self.items.iter()).ok()?;
        match parsed.to_datetime() {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => parsed
                .to_naive_datetime_with_offset(0)
                .ok()
                .map(|t: NaiveDateTime| t.and_utc()),
        }
    }
}

impl PartialEq for TimePattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for TimePattern {}

impl std::ops::Deref for TimePattern {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for TimePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// How the lower bound is written into a request, when not as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteFormat {
    /// RFC 3339 in UTC with `Z` (some APIs refuse `+00:00`).
    Rfc3339Z,
    Epoch,
    EpochMillis,
    /// A chrono format, in UTC.
    DateTime(String),
}

impl WriteFormat {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "rfc3339" => Ok(Self::Rfc3339Z),
            "epoch" => Ok(Self::Epoch),
            "epoch_ms" => Ok(Self::EpochMillis),
            fmt => match CursorFormat::parse(fmt) {
                Ok(CursorFormat::DateTime(f)) => Ok(Self::DateTime(f.to_string())),
                _ => Err(format!(
                    "`{fmt}` is not a write format: use `rfc3339`, `epoch`, `epoch_ms` or a chrono format like `%Y-%m-%dT%H:%M:%SZ`"
                )),
            },
        }
    }

    fn render(&self, t: DateTime<Utc>) -> String {
        match self {
            Self::Rfc3339Z => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Self::Epoch => t.timestamp().to_string(),
            Self::EpochMillis => t.timestamp_millis().to_string(),
            Self::DateTime(fmt) => t.format(fmt).to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CursorSpec {
    /// Paths of the fields that say when a record changed (one, or two
    /// such as `create_date` and `write_date`): the record's cursor is the
    /// greatest of those present.
    pub fields: Vec<Vec<String>>,
    pub format: CursorFormat,
    /// How a field's value is read into `format`.
    pub read: CursorRead,
    /// How the bound is written into requests; `None`: as stored.
    pub write: Option<WriteFormat>,
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
            // Written back as read: an API that sent `Z` may accept only
            // `Z`, and refuse `+00:00` on the second run.
            CursorFormat::Rfc3339 => match self.parse_time(committed) {
                Some(t) => {
                    let zulu = committed.ends_with(['Z', 'z']);
                    (t - overlap).to_rfc3339_opts(SecondsFormat::AutoSi, zulu)
                }
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

    /// The stored text as a time: a time format parsed, an integer as
    /// epoch seconds.
    fn to_time(&self, stored: &str) -> Option<DateTime<Utc>> {
        match &self.format {
            CursorFormat::Integer => DateTime::from_timestamp(stored.trim().parse().ok()?, 0),
            CursorFormat::Text => None,
            _ => self.parse_time(stored),
        }
    }

    /// The lower bound as it goes into a request (`write_format`).
    pub fn written(&self, bound: &str) -> String {
        match &self.write {
            Some(w) => self
                .to_time(bound)
                .map_or_else(|| bound.to_string(), |t| w.render(t)),
            None => bound.to_string(),
        }
    }

    /// The lower bound's parts, for templates that write it as an object
    /// (`${cursor.year}`): year, month, day, hour, minute, second,
    /// microsecond, epoch and epoch_ms, all numbers.
    pub fn parts(&self, bound: &str) -> Option<Value> {
        let t = self.to_time(bound)?;
        Some(json!({
            "year": t.year(), "month": t.month(), "day": t.day(),
            "hour": t.hour(), "minute": t.minute(), "second": t.second(),
            "microsecond": t.timestamp_subsec_micros(),
            "epoch": t.timestamp(), "epoch_ms": t.timestamp_millis(),
        }))
    }

    pub fn parse_time(&self, value: &str) -> Option<DateTime<Utc>> {
        match &self.format {
            CursorFormat::Rfc3339 => DateTime::parse_from_rfc3339(value)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            // A format with an offset (`%z`) is read with it; one without,
            // as UTC.
            CursorFormat::DateTime(fmt) => fmt.parse_utc(value),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
