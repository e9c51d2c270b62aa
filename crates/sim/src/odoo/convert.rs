//! Values a client sends to `create` and `write`, converted per field type
//! the way Odoo's `convert_to_cache` converts them (`int(value or 0)`,
//! `fields.Datetime.to_datetime`, selection keys, ids), failing with the
//! Python error Odoo would raise; and the x2many command lists
//! (`[0, 0, vals]` create, `[1, id, vals]` update, `[2, id]` delete,
//! `[3, id]` unlink, `[4, id]` link, `[5]` clear, `[6, 0, ids]` set, or a
//! plain list of ids, read as set).

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};

use super::domain::truthy;
use super::error::{OdooError, py_repr, py_str, py_type};
use super::schema::{Field, Kind, ModelDef};

/// One x2many command.
#[derive(Debug, Clone)]
pub enum Command {
    Create(Map<String, Value>),
    Update(i64, Map<String, Value>),
    Delete(i64),
    Unlink(i64),
    Link(i64),
    Clear,
    Set(Vec<i64>),
}

/// A converted value: a column value, or commands for an x2many.
#[derive(Debug, Clone)]
pub enum Converted {
    Column(Value),
    Commands(Vec<Command>),
}

fn wrong(m: &ModelDef, f: &Field, v: &Value) -> OdooError {
    OdooError::value(format!(
        "Wrong value for {}.{}: {}",
        m.name,
        f.name,
        py_repr(v)
    ))
}

/// Python's `str(value)`, what a Char field stores for a non-string.
fn py_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

pub fn convert(m: &ModelDef, f: &Field, v: &Value) -> Result<Converted, OdooError> {
    let column = |v: Value| Ok(Converted::Column(v));
    match f.kind {
        Kind::One2many(..) | Kind::Many2many(_) => commands(m, f, v).map(Converted::Commands),
        _ if matches!(v, Value::Null | Value::Bool(false)) => match f.kind {
            Kind::Integer | Kind::Many2oneReference => column(json!(0)),
            Kind::Float | Kind::Monetary => column(json!(0.0)),
            Kind::Boolean => column(json!(false)),
            _ => column(Value::Null),
        },
        Kind::Char | Kind::Text | Kind::Html => column(json!(py_text(v))),
        Kind::Boolean => column(json!(truthy(v))),
        Kind::Integer | Kind::Many2oneReference => column(json!(to_int(v)?)),
        Kind::Float | Kind::Monetary => column(json!(to_float(v)?)),
        Kind::Date => {
            let text = as_text(v, "strptime() argument 1")?;
            let head: String = text.chars().take(10).collect();
            NaiveDate::parse_from_str(&head, "%Y-%m-%d")
                .map(|d| Converted::Column(json!(d.format("%Y-%m-%d").to_string())))
                .map_err(|_| time_data(&head, "%Y-%m-%d"))
        }
        Kind::Datetime => {
            let text = as_text(v, "strptime() argument 1")?;
            let mut head: String = text.chars().take(19).collect();
            if head.chars().count() == 10 {
                head.push_str(" 00:00:00");
            }
            NaiveDateTime::parse_from_str(&head, "%Y-%m-%d %H:%M:%S")
                .map(|t| Converted::Column(json!(t.format("%Y-%m-%d %H:%M:%S").to_string())))
                .map_err(|_| time_data(&head, "%Y-%m-%d %H:%M:%S"))
        }
        Kind::Selection(options) => match v.as_str() {
            Some(key) if options.iter().any(|(k, _)| *k == key) => column(v.clone()),
            _ => Err(wrong(m, f, v)),
        },
        Kind::Many2one(_) => match v.as_i64() {
            Some(id) if !v.is_boolean() => column(json!(id)),
            _ => Err(wrong(m, f, v)),
        },
    }
}

fn time_data(text: &str, format: &str) -> OdooError {
    OdooError::value(format!(
        "time data {} does not match format {}",
        py_str(text),
        py_str(format)
    ))
}

fn as_text<'a>(v: &'a Value, what: &str) -> Result<&'a str, OdooError> {
    v.as_str()
        .ok_or_else(|| OdooError::type_error(format!("{what} must be str, not {}", py_type(v))))
}

/// `int(value)`.
pub fn to_int(v: &Value) -> Result<i64, OdooError> {
    match v {
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::Number(n) => Ok(n
            .as_i64()
            .unwrap_or_else(|| n.as_f64().unwrap_or(0.0).trunc() as i64)),
        Value::String(s) => s.trim().parse().map_err(|_| {
            OdooError::value(format!(
                "invalid literal for int() with base 10: {}",
                py_str(s)
            ))
        }),
        other => Err(OdooError::type_error(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            py_type(other)
        ))),
    }
}

/// `float(value)`.
fn to_float(v: &Value) -> Result<f64, OdooError> {
    match v {
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.trim().parse().map_err(|_| {
            OdooError::value(format!("could not convert string to float: {}", py_str(s)))
        }),
        other => Err(OdooError::type_error(format!(
            "float() argument must be a string or a real number, not '{}'",
            py_type(other)
        ))),
    }
}

/// An x2many value: `False` clears, a list of ids sets, commands otherwise.
fn commands(m: &ModelDef, f: &Field, v: &Value) -> Result<Vec<Command>, OdooError> {
    let items = match v {
        Value::Null | Value::Bool(false) => return Ok(vec![Command::Clear]),
        Value::Array(items) => items,
        _ => return Err(wrong(m, f, v)),
    };
    if items.iter().all(|i| i.is_i64()) {
        return Ok(vec![Command::Set(
            items.iter().filter_map(Value::as_i64).collect(),
        )]);
    }
    items
        .iter()
        .map(|item| {
            let parts = item.as_array().ok_or_else(|| wrong(m, f, v))?;
            let code = parts.first().and_then(Value::as_i64);
            let id = || {
                parts
                    .get(1)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| wrong(m, f, v))
            };
            let vals = || match parts.get(2) {
                Some(Value::Object(o)) => Ok(o.clone()),
                _ => Err(wrong(m, f, v)),
            };
            Ok(match code {
                Some(0) => Command::Create(vals()?),
                Some(1) => Command::Update(id()?, vals()?),
                Some(2) => Command::Delete(id()?),
                Some(3) => Command::Unlink(id()?),
                Some(4) => Command::Link(id()?),
                Some(5) => Command::Clear,
                Some(6) => match parts.get(2) {
                    Some(Value::Array(ids)) => {
                        Command::Set(ids.iter().filter_map(Value::as_i64).collect())
                    }
                    _ => return Err(wrong(m, f, v)),
                },
                _ => return Err(wrong(m, f, v)),
            })
        })
        .collect()
}
