//! Evaluating a compiled domain against stored records, with SQL's NULL
//! behaviour (a comparison with NULL is false; the negative operators were
//! compiled as `Not`, so they match NULL as Odoo's `… OR col IS NULL` does)
//! and PostgreSQL's `LIKE` (`%`, `_`, backslash escapes).

use std::cmp::Ordering;

use serde_json::Value;

use super::{Cmp, Node, Test};
use crate::odoo::schema::{Field, ModelDef};
use crate::odoo::store::Store;

impl Node {
    pub fn matches(&self, store: &Store, m: &ModelDef, id: i64) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::Not(n) => !n.matches(store, m, id),
            Node::And(nodes) => nodes.iter().all(|n| n.matches(store, m, id)),
            Node::Or(nodes) => nodes.iter().any(|n| n.matches(store, m, id)),
            Node::Leaf(field, test) => leaf(store, m, id, field, test),
        }
    }

    /// Every id of `m` the domain matches, ascending.
    pub fn filter(&self, store: &Store, m: &ModelDef) -> Vec<i64> {
        store
            .ids(m.name)
            .into_iter()
            .filter(|id| self.matches(store, m, *id))
            .collect()
    }
}

fn leaf(store: &Store, m: &ModelDef, id: i64, field: &Field, test: &Test) -> bool {
    let value = store.value(m, id, field);
    // An x2many matches when one of its ids does; empty is "not set".
    let values: Vec<Value> = match &value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        v => vec![v.clone()],
    };
    let is_set = !values.is_empty() && !matches!(value, Value::Bool(false)) && value != "";
    match test {
        Test::Empty => !is_set,
        Test::Eq(want) => values.iter().any(|v| equal(v, want)),
        Test::Cmp(cmp, bound) => values
            .iter()
            .any(|v| compare(v, bound).is_some_and(|o| holds(*cmp, o))),
        Test::In(wanted, null_ok) => {
            (!is_set && *null_ok) || values.iter().any(|v| wanted.iter().any(|w| equal(v, w)))
        }
        Test::Like { pattern, ci } => values.iter().any(|v| like(pattern, &text(v), *ci)),
        Test::Ids(ids, null_ok) => {
            (values.is_empty() && *null_ok)
                || values
                    .iter()
                    .any(|v| v.as_i64().is_some_and(|i| ids.contains(&i)))
        }
        Test::Any(cm, sub) => values
            .iter()
            .filter_map(Value::as_i64)
            .any(|rid| store.exists(cm.name, rid) && sub.matches(store, cm, rid)),
    }
}

fn holds(cmp: Cmp, o: Ordering) -> bool {
    match cmp {
        Cmp::Lt => o == Ordering::Less,
        Cmp::Le => o != Ordering::Greater,
        Cmp::Gt => o == Ordering::Greater,
        Cmp::Ge => o != Ordering::Less,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// SQL equality after the cast: numbers by value (booleans as 0 and 1, as
/// `active = 1` works), text exactly.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => None,
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => number(a)?.partial_cmp(&number(b)?),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Many,
    One,
    Lit(char),
}

/// PostgreSQL `LIKE` (or `ILIKE` when `ci`): `%` any run, `_` one
/// character, `\` escapes the next one.
pub fn like(pattern: &str, text: &str, ci: bool) -> bool {
    let fold = |s: &str| if ci { s.to_lowercase() } else { s.to_string() };
    let mut toks = Vec::new();
    let mut chars = fold(pattern).chars().collect::<Vec<_>>().into_iter();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Many,
            '_' => Tok::One,
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = fold(text).chars().collect();
    // reach[j]: the pattern so far matches the first j characters.
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for tok in toks {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            match tok {
                Tok::Many => next[j] = reach[j] || (j > 0 && next[j - 1]),
                Tok::One => next[j] = j > 0 && reach[j - 1],
                Tok::Lit(c) => next[j] = j > 0 && reach[j - 1] && text[j - 1] == c,
            }
        }
        reach = next;
    }
    reach[text.len()]
}
