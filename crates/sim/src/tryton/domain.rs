//! The search side of `party.party`: Tryton's domain language over the
//! records as JSON, with datetime objects compared as times, and
//! `search_read`'s order, offset and limit.
//!
//! A domain is a list of clauses, joined by `AND` unless its first element
//! is `"OR"`; a clause is `[field, operator, value]` or a nested domain
//! (trytond `model/modelstorage.py`, `tools/domain_inversion.py`). A null
//! field matches no comparison, as in SQL. Operators served: `=`, `!=`,
//! `<`, `<=`, `>`, `>=`, `in`, `not in`, `like`, `ilike`.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde_json::{Value, json};

/// A time as trytond's JSON encoder writes a `datetime.datetime`.
pub fn datetime_object(t: DateTime<Utc>) -> Value {
    json!({
        "__class__": "datetime",
        "year": t.year(), "month": t.month(), "day": t.day(),
        "hour": t.hour(), "minute": t.minute(), "second": t.second(),
        "microsecond": t.timestamp_subsec_micros(),
    })
}

/// A `datetime` or `date` object as a time (a date is its midnight).
pub fn from_datetime_object(v: &Value) -> Option<DateTime<Utc>> {
    let class = v.get("__class__")?.as_str()?;
    if class != "datetime" && class != "date" {
        return None;
    }
    let n = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|x| u32::try_from(x).ok())
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(v.get("year")?.as_i64()?).ok()?,
        n("month")?,
        n("day")?,
    )?;
    let t = date.and_hms_micro_opt(
        n("hour").unwrap_or(0),
        n("minute").unwrap_or(0),
        n("second").unwrap_or(0),
        n("microsecond").unwrap_or(0),
    )?;
    Some(t.and_utc())
}

/// Why a domain cannot be evaluated: trytond answers a `DomainValidationError`.
pub type DomainError = String;

/// Whether `record` matches `domain`.
pub fn matches(record: &Value, domain: &Value) -> Result<bool, DomainError> {
    let Value::Array(items) = domain else {
        return Err(format!("a domain is a list, not {domain}"));
    };
    let (or, clauses) = match items.first().and_then(Value::as_str) {
        Some("OR") => (true, &items[1..]),
        Some("AND") => (false, &items[1..]),
        _ => (false, &items[..]),
    };
    let mut results = Vec::with_capacity(clauses.len());
    for clause in clauses {
        results.push(clause_matches(record, clause)?);
    }
    Ok(if or {
        results.iter().any(|r| *r)
    } else {
        results.iter().all(|r| *r)
    })
}

fn clause_matches(record: &Value, clause: &Value) -> Result<bool, DomainError> {
    let Value::Array(parts) = clause else {
        return Err(format!("invalid domain clause {clause}"));
    };
    let leaf = parts
        .first()
        .and_then(Value::as_str)
        .is_some_and(|f| f != "OR" && f != "AND")
        && parts.len() >= 3
        && parts[1].is_string();
    if !leaf {
        return matches(record, clause);
    }
    let field = parts[0].as_str().unwrap_or_default();
    let op = parts[1].as_str().unwrap_or_default();
    let value = &parts[2];
    let Some(actual) = record.get(field) else {
        return Err(format!("\"{field}\" is not a field of party.party"));
    };
    Ok(match op {
        "=" => {
            compare(actual, value) == Some(Ordering::Equal) || (actual.is_null() && value.is_null())
        }
        "!=" => {
            !(compare(actual, value) == Some(Ordering::Equal)
                || (actual.is_null() && value.is_null()))
        }
        "<" => compare(actual, value) == Some(Ordering::Less),
        "<=" => matches!(
            compare(actual, value),
            Some(Ordering::Less | Ordering::Equal)
        ),
        ">" => compare(actual, value) == Some(Ordering::Greater),
        ">=" => matches!(
            compare(actual, value),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        "in" | "not in" => {
            let Value::Array(options) = value else {
                return Err(format!("`{op}` needs a list, not {value}"));
            };
            let found = options
                .iter()
                .any(|o| compare(actual, o) == Some(Ordering::Equal));
            found == (op == "in")
        }
        "like" | "ilike" => {
            let (Some(a), Some(pattern)) = (actual.as_str(), value.as_str()) else {
                return Ok(false);
            };
            like(a, pattern, op == "ilike")
        }
        other => return Err(format!("unknown operator \"{other}\"")),
    })
}

/// Compare two JSON values as Tryton compares Python ones: datetimes as
/// times, numbers as numbers, text as text; `None` when either is null or
/// they are of different kinds.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (from_datetime_object(a), from_datetime_object(b)) {
        return Some(x.cmp(&y));
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// SQL `LIKE`: `%` any run, `_` one character.
fn like(text: &str, pattern: &str, fold: bool) -> bool {
    let (text, pattern) = if fold {
        (text.to_lowercase(), pattern.to_lowercase())
    } else {
        (text.to_string(), pattern.to_string())
    };
    fn go(t: &[char], p: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('%', rest)) => (0..=t.len()).any(|i| go(&t[i..], rest)),
            Some(('_', rest)) => !t.is_empty() && go(&t[1..], rest),
            Some((c, rest)) => t.first() == Some(c) && go(&t[1..], rest),
        }
    }
    let t: Vec<char> = text.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&t, &p)
}

/// Sort by `order` (`[["write_date", "ASC"], ["id", "DESC"]]`). A null
/// sorts after every value, as PostgreSQL's default `NULLS LAST` for an
/// ascending order (and first for a descending one).
pub fn sort(records: &mut [Value], order: &Value) -> Result<(), DomainError> {
    let keys: Vec<(String, bool)> = match order {
        Value::Null => vec![("id".into(), true)],
        Value::Array(items) => items
            .iter()
            .map(|item| {
                let field = item.get(0).and_then(Value::as_str);
                let dir = item.get(1).and_then(Value::as_str).unwrap_or("ASC");
                match field {
                    Some(f) => Ok((f.to_string(), !dir.eq_ignore_ascii_case("DESC"))),
                    None => Err(format!("invalid order {item}")),
                }
            })
            .collect::<Result<_, _>>()?,
        other => return Err(format!("invalid order {other}")),
    };
    records.sort_by(|a, b| {
        for (field, asc) in &keys {
            let (x, y) = (&a[field.as_str()], &b[field.as_str()]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => compare(x, y).unwrap_or(Ordering::Equal),
            };
            let o = if *asc { o } else { o.reverse() };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
    Ok(())
}
