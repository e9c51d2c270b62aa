//! Values on their way into the canonical model: checked against the target
//! field's type, timestamps parsed into UTC, and set on the entity.

use std::borrow::Cow;

use chrono::format::Parsed;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::Value;

use super::rule::{TimeFormat, scalar_key};
use super::target::FieldType;

/// A converted field value.
pub(super) enum Typed {
    Text(String),
    Int(i16),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    Bool(bool),
    Raw(Value),
}

/// Check a value against a target type and convert it; on failure, the
/// reason and the value. Text is taken over, not copied, when owned.
pub(super) fn convert(value: Cow<'_, Value>, ty: FieldType) -> Result<Typed, (String, Value)> {
    let text = |value: Cow<'_, Value>| match value {
        Cow::Owned(Value::String(s)) => s,
        other => scalar_key(&other),
    };
    match ty {
        FieldType::Text => Ok(Typed::Text(text(value))),
        FieldType::OneOf(allowed) => {
            let fits = match value.as_ref() {
                Value::String(s) => allowed.contains(&s.as_str()),
                other => allowed.contains(&scalar_key(other).as_str()),
            };
            if fits {
                Ok(Typed::Text(text(value)))
            } else {
                let shown = scalar_key(&value);
                Err((
                    format!("`{shown}` is not one of: {}", allowed.join(", ")),
                    value.into_owned(),
                ))
            }
        }
        FieldType::Priority => {
            let n = match value.as_ref() {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            match n {
                Some(n @ 1..=4) => Ok(Typed::Int(n as i16)),
                _ => Err((
                    format!("priority must be 1 to 4, got {value}"),
                    value.into_owned(),
                )),
            }
        }
        FieldType::Bool => match value.as_ref() {
            Value::Bool(b) => Ok(Typed::Bool(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "1" | "yes") => Ok(Typed::Bool(true)),
            Value::String(s) if matches!(s.as_str(), "false" | "0" | "no") => {
                Ok(Typed::Bool(false))
            }
            _ => Err((
                format!("expected a boolean, got {value}"),
                value.into_owned(),
            )),
        },
        FieldType::Date => match parse_date(&value, None) {
            Ok(d) => Ok(Typed::Date(d)),
            Err(m) => Err((m, value.into_owned())),
        },
        FieldType::Timestamp => Err((
            "a timestamp field needs a `timestamp` format".into(),
            value.into_owned(),
        )),
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
        // The pattern carries its own offset: honour it, then convert.
        TimeFormat::Pattern {
            pattern,
            items,
            offset: true,
            ..
        } => parsed(s, items)
            .and_then(|p| p.to_datetime())
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("does not match timestamp format `{pattern}`: {e}")),
        TimeFormat::Pattern {
            pattern,
            items,
            date_only,
            zone,
            ..
        } => {
            let local = if *date_only {
                parsed(s, items)
                    .and_then(|p| p.to_naive_date())
                    .map(|d| d.and_time(NaiveTime::MIN))
                    .map_err(|e| format!("does not match date format `{pattern}`: {e}"))?
            } else if let Some(t) = iso_fast_path(pattern, s) {
                t
            } else {
                parsed(s, items)
                    .and_then(|p| p.to_naive_datetime_with_offset(0))
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

/// A calendar date: `YYYY-MM-DD`, or the date part of an RFC 3339
/// timestamp as written (`2024-05-01T00:00:00+02:00` is 1 May, not the 30
/// April its UTC instant falls on: HR means the day at the office), or,
/// with a `timestamp` format, what that format reads.
pub(super) fn parse_date(value: &Value, fmt: Option<&TimeFormat>) -> Result<NaiveDate, String> {
    let Some(s) = value.as_str() else {
        return Err(format!("expected a date string, got {value}"));
    };
    let s = s.trim();
    match fmt {
        Some(TimeFormat::Pattern { pattern, items, .. }) => parsed(s, items)
            .and_then(|p| p.to_naive_date())
            .map_err(|e| format!("does not match date format `{pattern}`: {e}")),
        Some(TimeFormat::Rfc3339) | None => {
            if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return Ok(d);
            }
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.naive_local().date())
                .map_err(|_| {
                    format!("`{s}` is not a date; expected `YYYY-MM-DD` or an RFC 3339 timestamp")
                })
        }
    }
}

/// `2024-05-30 08:15:03` read without chrono's general parser, for the
/// pattern most ITSM APIs use (ServiceNow's among them): five timestamps a
/// record make it the bulk of mapping time. Anything unusual (`None`) goes
/// the general way, which also words the errors.
pub fn iso_fast_path(pattern: &str, s: &str) -> Option<chrono::NaiveDateTime> {
    let sep = match pattern {
        "%Y-%m-%d %H:%M:%S" => b' ',
        "%Y-%m-%dT%H:%M:%S" => b'T',
        _ => return None,
    };
    let b = s.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != sep
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)
}

/// What `NaiveDateTime::parse_from_str` and friends do, with the pattern
/// parsed once at compile time instead of on every value.
fn parsed(s: &str, items: &[chrono::format::Item<'static>]) -> chrono::ParseResult<Parsed> {
    let mut p = Parsed::new();
    chrono::format::parse(&mut p, s, items.iter())?;
    Ok(p)
}

/// A canonical time (RFC 3339) written in a native format and zone.
pub(super) fn render_time(value: &Value, fmt: &TimeFormat) -> Result<String, String> {
    let Some(s) = value.as_str() else {
        return Err(format!("expected a timestamp string, got {value}"));
    };
    // A canonical date (`start_date`) is a day, not an instant: written as
    // it is, never shifted into another zone.
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(match fmt {
            TimeFormat::Rfc3339 => d.to_string(),
            TimeFormat::Pattern { items, .. } => d.format_with_items(items.iter()).to_string(),
        });
    }
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("not an RFC 3339 timestamp: {e}"))?
        .with_timezone(&Utc);
    Ok(match fmt {
        TimeFormat::Rfc3339 => t.to_rfc3339(),
        TimeFormat::Pattern { items, zone, .. } => t
            .with_timezone(zone)
            .format_with_items(items.iter())
            .to_string(),
    })
}

pub(super) fn typed_to_json(value: Typed) -> Value {
    match value {
        Typed::Raw(v) => v,
        Typed::Text(s) => Value::String(s),
        Typed::Int(i) => Value::from(i),
        Typed::Bool(b) => Value::Bool(b),
        Typed::Time(t) => Value::String(t.to_rfc3339()),
        Typed::Date(d) => Value::String(d.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDateTime;
    use proptest::prelude::*;

    const PATTERN: &str = "%Y-%m-%d %H:%M:%S";

    fn chrono_says(s: &str) -> Option<NaiveDateTime> {
        NaiveDateTime::parse_from_str(s, PATTERN).ok()
    }

    #[test]
    fn fast_path_agrees_with_chrono_on_edges() {
        for s in [
            "2024-05-30 08:15:03",
            "2024-02-29 23:59:59",
            "2023-02-29 00:00:00",
            "2024-13-01 00:00:00",
            "2024-12-31 24:00:00",
            "2024-12-31 23:60:00",
            "0000-01-01 00:00:00",
            "2024-05-30T08:15:03",
            "2024-05-3a 08:15:03",
            "2024-05-30 08:15:3",
        ] {
            if let Some(fast) = iso_fast_path(PATTERN, s) {
                assert_eq!(Some(fast), chrono_says(s), "{s}");
            }
        }
        assert!(iso_fast_path("%d/%m/%Y %H:%M:%S", "30/05/2024 08:15:03").is_none());
    }

    proptest! {
        #[test]
        fn fast_path_never_disagrees_with_chrono(
            y in 0u32..10000, mo in 0u32..14, d in 0u32..33, h in 0u32..26, mi in 0u32..62, sec in 0u32..62,
        ) {
            let s = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{sec:02}");
            // Whenever the fast path answers, chrono gives the same answer;
            // it answers for every valid time but leap seconds, which it
            // leaves to chrono.
            let fast = iso_fast_path(PATTERN, &s);
            if fast.is_some() {
                prop_assert_eq!(fast, chrono_says(&s));
            }
            if sec < 60 {
                prop_assert_eq!(fast, chrono_says(&s));
            }
        }
    }
}
