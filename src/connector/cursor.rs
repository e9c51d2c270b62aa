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
//! one way and filter another.

use std::cmp::Ordering;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, Timelike, Utc,
};
use serde_json::{Value, json};

use super::lookup;

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

/// How a record's cursor field becomes the cursor's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorRead {
    /// A string as it is; a number as epoch seconds for a time format (as
    /// itself for `integer`); an object of date parts as `parts`.
    Auto,
    /// A string or number exactly as sent.
    Text,
    /// Seconds since the epoch (a number or numeric text).
    Epoch,
    /// Milliseconds since the epoch.
    EpochMillis,
    /// An object with `year`, `month`, `day` and optionally `hour`,
    /// `minute`, `second`, `microsecond` (UTC), as Python-based APIs such
    /// as Tryton send a datetime.
    Parts,
}

impl CursorRead {
    pub fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw {
            "auto" => Self::Auto,
            "text" => Self::Text,
            "epoch" => Self::Epoch,
            "epoch_ms" => Self::EpochMillis,
            "parts" => Self::Parts,
            other => {
                return Err(format!(
                    "`{other}` is not a way to read a cursor: use `auto`, `text`, `epoch`, `epoch_ms` or `parts`"
                ));
            }
        })
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
                Ok(CursorFormat::DateTime(f)) => Ok(Self::DateTime(f)),
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

/// A `[streams.cursor]` table's keys common to the HTTP kinds, before
/// validation.
#[derive(Debug, Clone, Copy)]
pub struct CursorKeys<'a> {
    pub field: &'a str,
    pub fields: &'a [String],
    pub format: &'a str,
    pub read: Option<&'a str>,
    pub write_format: Option<&'a str>,
    pub initial: Option<&'a str>,
    pub overlap_secs: u64,
    pub ordered: bool,
}

impl CursorKeys<'_> {
    /// Validate (no IO): the key at fault (under `cursor.`) and why.
    pub fn spec(&self) -> Result<CursorSpec, (&'static str, String)> {
        let format = CursorFormat::parse(self.format).map_err(|e| ("format", e))?;
        let fields: Vec<Vec<String>> = match (self.field.is_empty(), self.fields.is_empty()) {
            (false, true) => vec![super::split_path(self.field)],
            (true, false) => self.fields.iter().map(|f| super::split_path(f)).collect(),
            (false, false) => {
                return Err((
                    "fields",
                    "set `field` (one change field) or `fields` (several), not both".into(),
                ));
            }
            (true, true) => {
                return Err((
                    "field",
                    "the cursor needs `field` (e.g. `updated_at`) or `fields` (e.g. [\"create_date\", \"write_date\"])".into(),
                ));
            }
        };
        let read = match self.read {
            Some(r) => CursorRead::parse(r).map_err(|e| ("read", e))?,
            None => CursorRead::Auto,
        };
        let timed = matches!(format, CursorFormat::Rfc3339 | CursorFormat::DateTime(_));
        if matches!(read, CursorRead::Parts) && !timed {
            return Err((
                "read",
                format!(
                    "`parts` reads a date and time, so `format` must be `rfc3339` or a chrono format, not `{}`",
                    self.format
                ),
            ));
        }
        let write = match self.write_format {
            Some(w) => Some(WriteFormat::parse(w).map_err(|e| ("write_format", e))?),
            None => None,
        };
        if write.is_some() && matches!(format, CursorFormat::Text) {
            return Err((
                "write_format",
                "a `string` cursor is opaque: it can only be written as read".into(),
            ));
        }
        let initial = self
            .initial
            .map(str::to_string)
            .unwrap_or_else(|| match &format {
                CursorFormat::DateTime(fmt) => DateTime::UNIX_EPOCH.format(fmt).to_string(),
                CursorFormat::Rfc3339 => "1970-01-01T00:00:00Z".into(),
                CursorFormat::Integer => "0".into(),
                CursorFormat::Text => String::new(),
            });
        let spec = CursorSpec {
            fields,
            format,
            read,
            write,
            overlap: Duration::from_secs(self.overlap_secs),
            initial,
            ordered: self.ordered,
        };
        if !spec.is_valid(&spec.initial) {
            return Err((
                "initial",
                format!(
                    "`{}` does not match the cursor format `{}`",
                    spec.initial, self.format
                ),
            ));
        }
        Ok(spec)
    }
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

    /// A record's cursor: the greatest readable value of its change
    /// fields. `None` when none is present and readable.
    pub fn value_of(&self, record: &Value) -> Option<String> {
        self.fields
            .iter()
            .filter_map(|path| lookup(record, path))
            .filter_map(|v| self.read_value(v))
            .max_by(|a, b| self.compare(a, b))
    }

    /// One field's value as the cursor's text, if it reads as one.
    fn read_value(&self, v: &Value) -> Option<String> {
        let timed = matches!(
            self.format,
            CursorFormat::Rfc3339 | CursorFormat::DateTime(_)
        );
        let text = match (self.read, v) {
            (_, Value::Null) => return None,
            (CursorRead::Auto | CursorRead::Text, Value::String(s)) => s.clone(),
            (CursorRead::Auto, Value::Number(n)) if timed => {
                self.time_text(epoch(n.as_f64()?, 1.0)?)
            }
            (CursorRead::Auto | CursorRead::Text, Value::Number(n)) => n.to_string(),
            (CursorRead::Auto | CursorRead::Parts, Value::Object(_)) => {
                self.time_text(from_parts(v)?)
            }
            (CursorRead::Epoch | CursorRead::EpochMillis, v) => {
                let n = match v {
                    Value::Number(n) => n.as_f64()?,
                    Value::String(s) => s.trim().parse().ok()?,
                    _ => return None,
                };
                let unit = if self.read == CursorRead::Epoch {
                    1.0
                } else {
                    1000.0
                };
                self.time_text(epoch(n, unit)?)
            }
            _ => return None,
        };
        (!text.is_empty() && self.is_valid(&text)).then_some(text)
    }

    /// A time as this cursor's text.
    fn time_text(&self, t: DateTime<Utc>) -> String {
        match &self.format {
            CursorFormat::DateTime(fmt) => t.format(fmt).to_string(),
            CursorFormat::Integer => t.timestamp().to_string(),
            CursorFormat::Rfc3339 | CursorFormat::Text => {
                t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            }
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

/// Seconds (unit 1) or milliseconds (unit 1000) since the epoch.
fn epoch(n: f64, unit: f64) -> Option<DateTime<Utc>> {
    let micros = (n / unit * 1e6).round();
    if !micros.is_finite() || micros.abs() > 1e17 {
        return None;
    }
    DateTime::from_timestamp_micros(micros as i64)
}

/// `{"year": 2026, "month": 12, "day": 5, "hour": 9, ...}` as a UTC time;
/// a date alone is its midnight.
fn from_parts(v: &Value) -> Option<DateTime<Utc>> {
    let n = |k: &str| v.get(k).and_then(Value::as_i64);
    let opt = |k: &str| match v.get(k) {
        None | Some(Value::Null) => Some(0),
        Some(x) => x.as_i64().and_then(|i| u32::try_from(i).ok()),
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(n("year")?).ok()?,
        u32::try_from(n("month")?).ok()?,
        u32::try_from(n("day")?).ok()?,
    )?;
    let time = date.and_hms_micro_opt(
        opt("hour")?,
        opt("minute")?,
        opt("second")?,
        opt("microsecond")?,
    )?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sn() -> CursorSpec {
        CursorSpec {
            fields: vec![vec!["sys_updated_on".into()]],
            read: CursorRead::Auto,
            write: None,
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

    fn keys<'a>(format: &'a str, fields: &'a [String]) -> CursorKeys<'a> {
        CursorKeys {
            field: "",
            fields,
            format,
            read: None,
            write_format: None,
            initial: None,
            overlap_secs: 60,
            ordered: true,
        }
    }

    #[test]
    fn an_object_cursor_is_read_as_a_time_and_written_as_parts() {
        let fields = ["create_date".to_string(), "write_date".to_string()];
        let spec = keys("rfc3339", &fields).spec().unwrap();
        let at = |h: u32| {
            serde_json::json!({"__class__": "datetime", "year": 2026, "month": 12, "day": 5,
                "hour": h, "minute": 30, "second": 0, "microsecond": 0})
        };
        // The greater of the two change fields; a null one is skipped.
        let record = serde_json::json!({"create_date": at(9), "write_date": at(11)});
        assert_eq!(
            spec.value_of(&record).as_deref(),
            Some("2026-12-05T11:30:00Z")
        );
        let created = serde_json::json!({"create_date": at(9), "write_date": null});
        assert_eq!(
            spec.value_of(&created).as_deref(),
            Some("2026-12-05T09:30:00Z")
        );
        assert_eq!(
            spec.value_of(&serde_json::json!({"write_date": "soon"})),
            None
        );
        let from = spec.rewind("2026-12-05T11:30:00Z");
        assert_eq!(from, "2026-12-05T11:29:00Z", "written back with `Z`");
        let parts = spec.parts(&from).unwrap();
        assert_eq!(
            (parts["hour"].clone(), parts["minute"].clone()),
            (11.into(), 29.into())
        );
    }

    #[test]
    fn read_epoch_write_iso_and_keep_z() {
        let fields = ["updated".to_string()];
        let spec = CursorKeys {
            read: Some("epoch"),
            write_format: Some("rfc3339"),
            ..keys("integer", &fields)
        }
        .spec()
        .unwrap();
        let v = spec
            .value_of(&serde_json::json!({"updated": 1_796_463_000}))
            .unwrap();
        assert_eq!(v, "1796463000");
        assert_eq!(spec.written(&v), "2026-12-05T09:30:00Z");
        // An `rfc3339` cursor read with `+00:00` keeps it; with `Z`, `Z`.
        let iso = keys("rfc3339", &fields).spec().unwrap();
        assert_eq!(
            iso.rewind("2026-12-05T09:31:00+00:00"),
            "2026-12-05T09:30:00+00:00"
        );
        assert_eq!(
            iso.rewind("2026-12-05T09:31:00.250Z"),
            "2026-12-05T09:30:00.250Z"
        );
    }

    #[test]
    fn cursor_keys_are_checked_at_their_key() {
        let fields = ["a".to_string()];
        let bad = |k: CursorKeys| k.spec().unwrap_err().0;
        assert_eq!(
            bad(CursorKeys {
                field: "b",
                ..keys("rfc3339", &fields)
            }),
            "fields"
        );
        assert_eq!(bad(keys("rfc3339", &[])), "field");
        assert_eq!(
            bad(CursorKeys {
                read: Some("obj"),
                ..keys("rfc3339", &fields)
            }),
            "read"
        );
        assert_eq!(
            bad(CursorKeys {
                read: Some("parts"),
                ..keys("integer", &fields)
            }),
            "read"
        );
        assert_eq!(
            bad(CursorKeys {
                write_format: Some("iso"),
                ..keys("rfc3339", &fields)
            }),
            "write_format"
        );
    }
}
