//! Reading a record's cursor: the greatest readable value of its change
//! fields, each read as text, epoch seconds or milliseconds, or an object
//! of date parts, and kept as text in the cursor's `format`; or whatever a
//! CEL expression over the record gives, read the same way.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

use super::{CursorFormat, CursorSpec};
use crate::lookup;

/// How a record's cursor field becomes the cursor's text.
#[derive(Debug, Clone)]
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
    /// A CEL expression over the whole record (`record.changed.date + "T"
    /// + record.changed.time + "Z"`), its result read as by `Auto`; it
    /// takes the place of `field`.
    Cel(crate::mapping::expr::Expr),
}

impl CursorRead {
    pub fn parse(raw: &str) -> Result<Self, String> {
        Ok(match raw {
            "auto" => Self::Auto,
            "text" => Self::Text,
            "epoch" => Self::Epoch,
            "epoch_ms" => Self::EpochMillis,
            "parts" => Self::Parts,
            cel if cel.contains("record") => Self::Cel(
                crate::mapping::expr::Expr::compile(cel)
                    .map_err(|e| format!("the CEL expression does not compile: {e}"))?,
            ),
            other => {
                return Err(format!(
                    "`{other}` is not a way to read a cursor: use `auto`, `text`, `epoch`, `epoch_ms`, `parts`, or a CEL expression over `record`"
                ));
            }
        })
    }
}

impl CursorSpec {
    /// Whether records carry the cursor (a field or an expression reads
    /// it), so a record without one is worth a warning. The `file` and
    /// `exec` kinds keep their own.
    pub fn reads_records(&self) -> bool {
        !self.fields.is_empty() || matches!(self.read, CursorRead::Cel(_))
    }

    /// What reads the cursor, for messages: the fields, or the expression.
    pub fn source(&self) -> String {
        match &self.read {
            CursorRead::Cel(e) => e.as_str().to_string(),
            _ => {
                let fields: Vec<String> = self.fields.iter().map(|f| f.join(".")).collect();
                fields.join(", ")
            }
        }
    }

    /// A record's cursor: the greatest readable value of its change
    /// fields. `None` when none is present and readable.
    pub fn value_of(&self, record: &Value) -> Option<String> {
        if let CursorRead::Cel(expr) = &self.read {
            let scope = crate::mapping::expr::Scope::new(record);
            return expr.eval(&scope).ok().and_then(|v| self.read_value(&v));
        }
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
        let text = match (&self.read, v) {
            (_, Value::Null) => return None,
            (CursorRead::Auto | CursorRead::Cel(_) | CursorRead::Text, Value::String(s)) => {
                s.clone()
            }
            (CursorRead::Auto | CursorRead::Cel(_), Value::Number(n)) if timed => {
                self.time_text(epoch(n.as_f64()?, 1.0)?)
            }
            (CursorRead::Auto | CursorRead::Cel(_) | CursorRead::Text, Value::Number(n)) => {
                n.to_string()
            }
            (CursorRead::Auto | CursorRead::Cel(_) | CursorRead::Parts, Value::Object(_)) => {
                self.time_text(from_parts(v)?)
            }
            (CursorRead::Epoch | CursorRead::EpochMillis, v) => {
                let n = match v {
                    Value::Number(n) => n.as_f64()?,
                    Value::String(s) => s.trim().parse().ok()?,
                    _ => return None,
                };
                let unit = if matches!(self.read, CursorRead::Epoch) {
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
