//! The `order` argument of `search` and `search_read`: checked against the
//! pattern `BaseModel._check_qorder` uses, each term resolved to a stored
//! field, and records sorted as PostgreSQL would sort them.
//!
//! As in PostgreSQL, NULLs sort last ascending and first descending unless
//! `nulls first`/`nulls last` says otherwise, and a many2one sorts by the
//! comodel's `_order` (one level deep; below that by id). Text compares
//! case-insensitively first, a stand-in for the `en_US.UTF-8` collation of
//! a typical database. Where PostgreSQL leaves ties in no particular order,
//! the simulator breaks them by id, so paging is repeatable; clients must
//! not rely on that against a real server.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::error::{OdooError, py_type};
use super::schema::{Field, Kind, ModelDef, model};
use super::store::Store;

#[derive(Debug, Clone, Copy)]
pub struct Term {
    pub field: &'static Field,
    pub desc: bool,
    pub nulls_first: bool,
}

static TERM: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)^\s*(?:([a-z0-9_]+)|"([a-z0-9_]+)")(\.[a-z0-9_]+)?(:[a-z_]+)?(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?\s*$"#,
    )
    .ok()
});

fn invalid_order(spec: &str) -> OdooError {
    OdooError::user(format!(
        "Invalid \"order\" specified ({spec}). A valid \"order\" specification is a \
         comma-separated list of valid field names (optionally followed by asc/desc for the \
         direction)"
    ))
}

/// The model's `_order`.
pub fn default_terms(m: &ModelDef) -> Vec<Term> {
    parse_str(m, m.order).unwrap_or_default()
}

/// The `order` argument as a client sent it; `None`, `false` and `""`
/// mean the model's `_order`, as in Odoo.
pub fn parse(m: &ModelDef, order: Option<&Value>) -> Result<Vec<Term>, OdooError> {
    match order {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(default_terms(m)),
        Some(Value::String(s)) if s.is_empty() => Ok(default_terms(m)),
        Some(Value::String(s)) => parse_str(m, s),
        Some(other) => Err(OdooError::type_error(format!(
            "expected string or bytes-like object, got '{}'",
            py_type(other)
        ))),
    }
}

fn parse_str(m: &ModelDef, spec: &str) -> Result<Vec<Term>, OdooError> {
    let Some(re) = TERM.as_ref() else {
        return Err(invalid_order(spec));
    };
    let mut terms = Vec::new();
    for part in spec.split(',') {
        let caps = re.captures(part).ok_or_else(|| invalid_order(spec))?;
        let name = caps
            .get(1)
            .or_else(|| caps.get(2))
            .map(|c| c.as_str())
            .unwrap_or_default();
        let suffix = caps.get(3).or_else(|| caps.get(4)).map(|c| c.as_str());
        let full = format!("{name}{}", suffix.unwrap_or_default());
        let field = m.field(name).filter(|_| suffix.is_none()).ok_or_else(|| {
            OdooError::value(format!("Invalid field '{full}' on model '{}'", m.name))
        })?;
        if !field.store {
            return Err(OdooError::value(format!(
                "Cannot convert {}.{} to SQL because it is not stored",
                m.name, field.name
            )));
        }
        let desc = caps
            .get(5)
            .is_some_and(|d| d.as_str().eq_ignore_ascii_case("desc"));
        let nulls_first = match caps.get(6) {
            Some(n) => n.as_str().eq_ignore_ascii_case("first"),
            None => desc,
        };
        terms.push(Term {
            field,
            desc,
            nulls_first,
        });
    }
    Ok(terms)
}

/// Sorts `ids` of model `m` by `terms`, ties by id.
pub fn sort(store: &Store, m: &ModelDef, ids: &mut [i64], terms: &[Term]) {
    ids.sort_by(|a, b| compare(store, m, *a, *b, terms, 0).then(a.cmp(b)));
}

fn compare(store: &Store, m: &ModelDef, a: i64, b: i64, terms: &[Term], depth: u8) -> Ordering {
    for t in terms {
        let va = store.value(m, a, t.field);
        let vb = store.value(m, b, t.field);
        let ord = match (is_null(&va), is_null(&vb)) {
            (true, true) => Ordering::Equal,
            (true, false) if t.nulls_first => Ordering::Less,
            (true, false) => Ordering::Greater,
            (false, true) if t.nulls_first => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                let ord = compare_values(store, t.field, &va, &vb, depth);
                if t.desc { ord.reverse() } else { ord }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

fn is_null(v: &Value) -> bool {
    v.is_null()
}

fn compare_values(store: &Store, field: &Field, a: &Value, b: &Value, depth: u8) -> Ordering {
    if let (Kind::Many2one(comodel), Some(x), Some(y)) = (field.kind, a.as_i64(), b.as_i64()) {
        let Some(cm) = model(comodel).filter(|_| depth == 0) else {
            return x.cmp(&y);
        };
        return compare(store, cm, x, y, &default_terms(cm), depth + 1).then(x.cmp(&y));
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => {
            x.to_lowercase().cmp(&y.to_lowercase()).then(x.cmp(y))
        }
        _ => a.to_string().cmp(&b.to_string()),
    }
}
