//! Values on their way into the canonical model: checked against the target
//! field's type, timestamps parsed into UTC, and set on the entity.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value;

use super::rule::{TimeFormat, scalar_key};
use super::target::FieldType;

/// A converted field value.
pub(super) enum Typed {
    Text(String),
    Int(i16),
    Time(DateTime<Utc>),
    Bool(bool),
    Raw(Value),
}

/// Check a value against a target type and convert it.
pub(super) fn convert(value: &Value, ty: FieldType) -> Result<Typed, String> {
    match ty {
        FieldType::Text => Ok(Typed::Text(scalar_key(value))),
        FieldType::OneOf(allowed) => {
            let s = scalar_key(value);
            if allowed.contains(&s.as_str()) {
                Ok(Typed::Text(s))
            } else {
                Err(format!("`{s}` is not one of: {}", allowed.join(", ")))
            }
        }
        FieldType::Priority => {
            let n = match value {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                Some(n @ 1..=4) => Ok(Typed::Int(n as i16)),
                _ => Err(format!("priority must be 1 to 4, got {value}")),
            }
        }
        FieldType::Bool => match value {
            Value::Bool(b) => Ok(Typed::Bool(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "1" | "yes") => Ok(Typed::Bool(true)),
            Value::String(s) if matches!(s.as_str(), "false" | "0" | "no") => {
                Ok(Typed::Bool(false))
            }
            _ => Err(format!("expected a boolean, got {value}")),
        },
        FieldType::Timestamp => Err("a timestamp field needs a `timestamp` format".into()),
    }
}

pub(super) fn parse_time(value: &Value, fmt: &TimeFormat) -> Result<DateTime<Utc>, String> {
    let Some(s) = value.as_str() else {
        return Err(format!("expected a timestamp string, got {value}"));
    };
    match fmt {
        TimeFormat::Rfc3339 => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("not an RFC 3339 timestamp: {e}")),
        // The pattern carries its own offset: honour it, then convert.
        TimeFormat::Pattern {
            pattern,
            offset: true,
            ..
        } => DateTime::parse_from_str(s, pattern)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("does not match timestamp format `{pattern}`: {e}")),
        TimeFormat::Pattern {
            pattern,
            date_only,
            zone,
            ..
        } => {
            let local = if *date_only {
                NaiveDate::parse_from_str(s, pattern)
                    .map(|d| d.and_time(NaiveTime::MIN))
                    .map_err(|e| format!("does not match date format `{pattern}`: {e}"))?
            } else {
                NaiveDateTime::parse_from_str(s, pattern)
                    .map_err(|e| format!("does not match timestamp format `{pattern}`: {e}"))?
            };
            use chrono::TimeZone;
            match zone.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
                // The hour repeated when clocks go back: the earlier reading
                // is as good a guess as the later, and a stable one.
                chrono::LocalResult::Ambiguous(earlier, _) => Ok(earlier.with_timezone(&Utc)),
                chrono::LocalResult::None => Err(format!(
                    "`{s}` does not exist in {zone} (clocks went forward then)"
                )),
            }
        }
    }
}

/// A canonical time (RFC 3339) written in a native format and zone.
pub(super) fn render_time(value: &Value, fmt: &TimeFormat) -> Result<String, String> {
    let Some(s) = value.as_str() else {
        return Err(format!("expected a timestamp string, got {value}"));
    };
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("not an RFC 3339 timestamp: {e}"))?
        .with_timezone(&Utc);
    Ok(match fmt {
        TimeFormat::Rfc3339 => t.to_rfc3339(),
        TimeFormat::Pattern { pattern, zone, .. } => {
            t.with_timezone(zone).format(pattern).to_string()
        }
    })
}

pub(super) fn typed_to_json(value: Typed) -> Value {
    match value {
        Typed::Raw(v) => v,
        Typed::Text(s) => Value::String(s),
        Typed::Int(i) => Value::from(i),
        Typed::Bool(b) => Value::Bool(b),
        Typed::Time(t) => Value::String(t.to_rfc3339()),
    }
}
