//! Odoo search domains: prefix `&`, `|`, `!` over `[field, operator,
//! value]` leaves, compiled against a model and evaluated per record.
//!
//! Compilation runs the phases `BaseModel._search` runs, in its order, so a
//! bad domain fails with the exception Odoo raises for it:
//! `normalize_domain` (arity: "Domain … is syntactically not correct."),
//! `is_false` (an `in []` short-circuits before any field is checked),
//! `_where_calc` (the implicit `('active', '=', 1)` unless the domain names
//! `active` or the context says `active_test: false`), `_anyfy_leaves`
//! (unpacking and "Invalid field …"), `normalize_leaf`/`check_leaf`
//! ("Invalid leaf …"), then each leaf's value against its field's type
//! (PostgreSQL's own errors for text it cannot cast).
//!
//! Semantics follow the SQL Odoo generates: negative operators (`!=`, `not
//! in`, `not like`, `not ilike`) also match NULL, `= False` means "not
//! set", a many2one compares by id or, given text, by name (`name_search`),
//! a dotted path or `any` tests the related records, `like`/`ilike` wrap the
//! value in `%…%` while `=like`/`=ilike` take it as the pattern, and a
//! date-only value against a datetime means the start of that day (the end
//! of it for `>` and `<=`).

use std::collections::BTreeSet;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use super::error::{OdooError, py_repr, py_tuple, py_type};
use super::schema::{Field, Kind, ModelDef, model};
use super::store::Store;

mod compile;
mod eval;

pub use eval::like;

/// A compiled domain.
#[derive(Debug, Clone)]
pub enum Node {
    Const(bool),
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
    Leaf(&'static Field, Test),
}

/// What a leaf checks about its field's value. Negative operators compile
/// to `Not` around the positive test, which gives SQL's "or NULL".
#[derive(Debug, Clone)]
pub enum Test {
    /// `= False`: null, false, empty text, no related records.
    Empty,
    Eq(Value),
    Cmp(Cmp, Value),
    /// Values, and whether "not set" also matches (`False` in the list).
    In(Vec<Value>, bool),
    Like {
        pattern: String,
        ci: bool,
    },
    /// Related ids (a name search or hierarchy resolved at compile time).
    Ids(BTreeSet<i64>, bool),
    /// Some related record of the comodel matches the subdomain.
    Any(&'static ModelDef, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

const DOMAIN_OPERATORS: [&str; 3] = ["!", "&", "|"];
const TERM_OPERATORS: [&str; 20] = [
    "=",
    "!=",
    "<=",
    "<",
    ">",
    ">=",
    "=?",
    "=like",
    "=ilike",
    "like",
    "not like",
    "ilike",
    "not ilike",
    "in",
    "not in",
    "child_of",
    "parent_of",
    "any",
    "not any",
    "<>",
];

pub(super) fn is_operator(v: &Value) -> bool {
    v.as_str().is_some_and(|s| DOMAIN_OPERATORS.contains(&s))
}

/// Python truthiness of a JSON value.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python `==` between a JSON value and a small integer (`True == 1`).
fn eq_int(v: &Value, n: i64) -> bool {
    match v {
        Value::Bool(b) => i64::from(*b) == n,
        Value::Number(x) => x.as_f64() == Some(n as f64),
        _ => false,
    }
}

/// `(1, '=', 1)` or `(0, '=', 1)`.
fn boolean_leaf(items: &[Value]) -> Option<bool> {
    match items {
        [l, op, r] if op == "=" && eq_int(r, 1) && (eq_int(l, 1) || eq_int(l, 0)) => {
            Some(eq_int(l, 1))
        }
        _ => None,
    }
}

/// Compiles `domain` (as sent: a list, or a falsy value meaning "all") for
/// model `m`. `active_test` is the context flag.
pub fn compile(
    store: &Store,
    m: &'static ModelDef,
    domain: Option<&Value>,
    active_test: bool,
) -> Result<Node, OdooError> {
    let items = as_list(domain)?;
    let normalized = normalize(&items, &Value::Array(items.clone()))?;
    if is_false(&normalized)? {
        return Ok(Node::Const(false));
    }
    let mentions_active = items.iter().any(|i| match i {
        Value::Array(a) => a.first().is_some_and(|f| f == "active"),
        _ => false,
    });
    let mut items = items;
    if active_test && m.has_active() && !mentions_active {
        items.insert(0, json!(["active", "=", 1]));
    }
    let tokens = normalize(&items, &Value::Array(items.clone()))?;
    compile::tokens(store, m, &tokens, active_test)
}

/// `domain or []`, and the assertion `normalize_domain` makes.
fn as_list(domain: Option<&Value>) -> Result<Vec<Value>, OdooError> {
    match domain {
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(v) if truthy(v) => Err(not_a_domain()),
        _ => Ok(Vec::new()),
    }
}

fn not_a_domain() -> OdooError {
    OdooError::new(
        "builtins.AssertionError",
        "Domains to normalize must have a 'domain' form: a list or tuple of domain components",
    )
}

/// `normalize_domain`: explicit `&`s, and `any` subdomains normalized.
fn normalize(domain: &[Value], whole: &Value) -> Result<Vec<Value>, OdooError> {
    if domain.is_empty() {
        return Ok(vec![json!([1, "=", 1])]);
    }
    let mut result: Vec<Value> = Vec::new();
    let mut expected: i64 = 1;
    for token in domain {
        if expected == 0 {
            result.insert(0, json!("&"));
            expected = 1;
        }
        match token {
            Value::Array(items) => {
                expected -= 1;
                if let [l, op, sub] = items.as_slice()
                    && (op == "any" || op == "not any")
                {
                    let Value::Array(sub_items) = sub else {
                        return Err(not_a_domain());
                    };
                    let sub = normalize(sub_items, sub)?;
                    result.push(json!([l, op, sub]));
                    continue;
                }
            }
            Value::Object(_) => return Err(OdooError::type_error("unhashable type: 'dict'")),
            Value::String(s) if s == "!" => {}
            Value::String(s) if s == "&" || s == "|" => expected += 1,
            _ => expected -= 1,
        }
        result.push(token.clone());
    }
    if expected != 0 {
        return Err(OdooError::value(format!(
            "Domain {} is syntactically not correct.",
            py_repr(whole)
        )));
    }
    Ok(result)
}

/// `expression.is_false`: three-valued, and the first place a short leaf
/// or a stray scalar fails (`token[1]`).
fn is_false(tokens: &[Value]) -> Result<bool, OdooError> {
    let index_error =
        |what: &str| OdooError::new("builtins.IndexError", format!("{what} index out of range"));
    let mut stack: Vec<i8> = Vec::new();
    for token in tokens.iter().rev() {
        let mut pop = || stack.pop().unwrap_or(0);
        let value = match token.as_str() {
            Some("&") => pop().min(pop()),
            Some("|") => pop().max(pop()),
            Some("!") => -pop(),
            _ => match token {
                Value::Array(items) => match boolean_leaf(items) {
                    Some(true) => 1,
                    Some(false) => -1,
                    None => {
                        let op = items.get(1).ok_or_else(|| index_error("tuple"))?;
                        if op == "in" || op == "not in" {
                            let right = items.get(2).ok_or_else(|| index_error("tuple"))?;
                            match (op == "in", truthy(right)) {
                                (true, false) => -1,
                                (false, false) => 1,
                                _ => 0,
                            }
                        } else {
                            0
                        }
                    }
                },
                Value::String(s) if s.chars().count() < 2 => return Err(index_error("string")),
                Value::String(_) => 0,
                other => {
                    return Err(OdooError::type_error(format!(
                        "'{}' object is not subscriptable",
                        py_type(other)
                    )));
                }
            },
        };
        stack.push(value);
    }
    Ok(stack.pop() == Some(-1))
}

/// `tuple(item)` unpacked into three, as `_anyfy_leaves` does.
fn unpack(token: &Value) -> Result<Vec<Value>, OdooError> {
    let items: Vec<Value> = match token {
        Value::Array(a) => a.clone(),
        Value::String(s) => s.chars().map(|c| json!(c.to_string())).collect(),
        other => {
            return Err(OdooError::type_error(format!(
                "'{}' object is not iterable",
                py_type(other)
            )));
        }
    };
    match items.len() {
        3 => Ok(items),
        n if n < 3 => Err(OdooError::value(format!(
            "not enough values to unpack (expected 3, got {n})"
        ))),
        _ => Err(OdooError::value("too many values to unpack (expected 3)")),
    }
}

/// Segments a dotted path may have. Odoo walks one Python frame per segment
/// and fails past its recursion limit; this stops earlier, well inside the
/// stack a request is served on.
const MAX_PATH: usize = 200;

/// The field a leaf's left side names on `m`, checked as `_anyfy_leaves`
/// checks it; dotted paths through relational fields are checked on the
/// comodel, recursively.
fn check_path(m: &'static ModelDef, items: &[Value]) -> Result<(), OdooError> {
    if boolean_leaf(items).is_some() {
        return Ok(());
    }
    let left = match &items[0] {
        Value::String(s) => s.as_str(),
        other => {
            return Err(OdooError::new(
                "builtins.AttributeError",
                format!("'{}' object has no attribute 'split'", py_type(other)),
            ));
        }
    };
    if left.matches('.').count() > MAX_PATH {
        return Err(OdooError::new(
            "builtins.RecursionError",
            "maximum recursion depth exceeded",
        ));
    }
    let (head, rest) = match left.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (left, None),
    };
    let field = m.field(head).ok_or_else(|| {
        OdooError::value(format!(
            "Invalid field {}.{head} in leaf {}",
            m.name,
            py_tuple(items)
        ))
    })?;
    let comodel = field.kind.comodel().and_then(model);
    match (rest, comodel) {
        (Some(rest), Some(cm)) => {
            check_path(cm, &[json!(rest), items[1].clone(), items[2].clone()])
        }
        (None, _) if items[1] == "any" || items[1] == "not any" => {
            let cm = comodel.ok_or_else(|| OdooError::key(&Value::Null))?;
            for token in items[2].as_array().into_iter().flatten() {
                if !is_operator(token) {
                    check_path(cm, &unpack(token)?)?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `normalize_leaf` then `check_leaf`: the operator lower-cased, `<>` as
/// `!=`, `=`/`!=` with a list as `in`/`not in` and `in`/`not in` with a
/// boolean as `=`/`!=`.
fn normalize_leaf(items: &[Value]) -> Result<(String, Value), OdooError> {
    let op = match &items[1] {
        Value::String(s) => s.to_lowercase(),
        other => {
            return Err(OdooError::new(
                "builtins.AttributeError",
                format!("'{}' object has no attribute 'lower'", py_type(other)),
            ));
        }
    };
    let right = &items[2];
    let op = match op.as_str() {
        "<>" => "!=".to_string(),
        "in" | "not in" if right.is_boolean() => (if op == "in" { "=" } else { "!=" }).to_string(),
        "=" | "!=" if right.is_array() => (if op == "=" { "in" } else { "not in" }).to_string(),
        _ => op,
    };
    let left_ok = items[0].as_str().is_some_and(|s| !s.is_empty()) || boolean_leaf(items).is_some();
    if !TERM_OPERATORS.contains(&op.as_str()) || !left_ok {
        let shown = [items[0].clone(), json!(op), right.clone()];
        return Err(OdooError::value(format!(
            "Invalid leaf {}",
            py_tuple(&shown)
        )));
    }
    Ok((op, right.clone()))
}

/// A value compared against a field, converted as PostgreSQL would cast
/// the parameter to the column's type.
fn cast(field: &Field, op: &str, v: &Value) -> Result<Value, OdooError> {
    let text = match v {
        Value::String(s) => s.trim(),
        _ if field.kind.is_numeric() => {
            return Ok(match v {
                Value::Bool(b) => json!(i64::from(*b)),
                other => other.clone(),
            });
        }
        other => return Ok(other.clone()),
    };
    let invalid = |class: &str, ty: &str| {
        OdooError::postgres(
            class,
            format!("invalid input syntax for type {ty}: \"{text}\"\n"),
        )
    };
    match field.kind {
        Kind::Integer | Kind::Many2oneReference => text
            .parse::<i64>()
            .map(|n| json!(n))
            .map_err(|_| invalid("InvalidTextRepresentation", "integer")),
        Kind::Float | Kind::Monetary => text
            .parse::<f64>()
            .map(|n| json!(n))
            .map_err(|_| invalid("InvalidTextRepresentation", "double precision")),
        Kind::Date => parse_date(text)
            .map(|d| json!(d.format("%Y-%m-%d").to_string()))
            .ok_or_else(|| invalid("InvalidDatetimeFormat", "date")),
        Kind::Datetime => {
            let with_time = if text.len() == 10 && parse_date(text).is_some() {
                let time = if op == ">" || op == "<=" {
                    "23:59:59"
                } else {
                    "00:00:00"
                };
                format!("{text} {time}")
            } else {
                text.to_string()
            };
            parse_datetime(&with_time)
                .map(|t| json!(format_datetime(t)))
                .ok_or_else(|| invalid("InvalidDatetimeFormat", "timestamp"))
        }
        _ => Ok(v.clone()),
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

/// A timestamp as PostgreSQL reads one into a column without time zone:
/// `T` or a space between date and time, and any zone ignored.
fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.replacen('T', " ", 1);
    let s = s.trim_end_matches('Z');
    let base = match s.get(19..) {
        Some(rest) if rest.starts_with('+') || rest.starts_with('-') => &s[..19],
        _ => s,
    };
    NaiveDateTime::parse_from_str(base, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(base, "%Y-%m-%d %H:%M"))
        .ok()
}

fn format_datetime(t: NaiveDateTime) -> String {
    let micros = t.and_utc().timestamp_subsec_micros();
    let secs = t.format("%Y-%m-%d %H:%M:%S");
    if micros == 0 {
        secs.to_string()
    } else {
        format!("{secs}.{micros:06}")
    }
}
