//! Encoded-query support for the ServiceNow simulator: parsing `sysparm_query`
//! strings (`active=true^priority<=2^ORpriority=5^NQ...^ORDERBYDESCnumber`) into
//! a [`Query`], and evaluating that query against records whose values are all
//! strings, as the Table API stores and returns them.
//!
//! Parsing is total: any input yields a `Query`. A condition the parser cannot
//! read, or one naming a field the table does not have, is dropped at evaluation
//! time and the rest of the query still applies. That is the Table API's
//! documented default ("if part of a query is invalid, such as an invalid field
//! name, the instance ignores the invalid part"); the opposite behaviour needs
//! the instance property `glide.invalid_query.returns_no_rows=true`, which the
//! simulator does not model.

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// One comparison operator of the encoded-query grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    StartsWith,
    EndsWith,
    Like,
    NotLike,
    In,
    NotIn,
    IsEmpty,
    IsNotEmpty,
}

/// `field <op> value`; `value` is empty for the unary operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: String,
    pub op: Op,
    pub value: String,
}

/// One `ORDERBY`/`ORDERBYDESC` clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    pub field: String,
    pub descending: bool,
}

/// A parsed encoded query.
///
/// `blocks` are the `^NQ`-separated sub-queries (a record matches if any block
/// matches); each block is a list of AND-ed terms, and each term is a list of
/// `^OR`-ed alternatives, because in the encoded form `^OR` binds to the
/// condition just before it: `a^b^ORc` means `a AND (b OR c)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub blocks: Vec<Vec<Vec<Condition>>>,
    pub order: Vec<OrderBy>,
}

// Longest spellings first so that `>=` is not read as `>` and `NOT LIKE` not
// as a field ending in "NOT". Both `NOT LIKE` (what the platform's filters emit)
// and `NOTLIKE` (common in hand-written queries) are accepted.
const OPERATORS: &[(&str, Op)] = &[
    ("ISNOTEMPTY", Op::IsNotEmpty),
    ("ISEMPTY", Op::IsEmpty),
    ("STARTSWITH", Op::StartsWith),
    ("ENDSWITH", Op::EndsWith),
    ("NOT LIKE", Op::NotLike),
    ("NOTLIKE", Op::NotLike),
    ("NOT IN", Op::NotIn),
    ("NOTIN", Op::NotIn),
    ("LIKE", Op::Like),
    ("IN", Op::In),
    ("!=", Op::Ne),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=", Op::Eq),
    (">", Op::Gt),
    ("<", Op::Lt),
];

/// Splits on `^`, treating `^^` as an escaped literal caret inside a value.
fn split_terms(input: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            if chars.peek() == Some(&'^') {
                chars.next();
                cur.push('^');
            } else {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Parses one `field<op>value` term; `None` when it cannot be read.
pub fn parse_condition(term: &str) -> Option<Condition> {
    // Field names are lower-case identifiers (dot-walks allowed); the operator
    // starts at the first character that cannot belong to one.
    let end = term
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(term.len());
    let (field, rest) = term.split_at(end);
    if field.is_empty() {
        return None;
    }
    let (spelling, op) = OPERATORS.iter().find(|(s, _)| rest.starts_with(s))?;
    let value = &rest[spelling.len()..];
    if matches!(op, Op::IsEmpty | Op::IsNotEmpty) && !value.is_empty() {
        return None;
    }
    Some(Condition {
        field: field.to_string(),
        op: *op,
        value: normalise_value(value),
    })
}

/// Clients commonly send `javascript:gs.dateGenerate('2024-01-15','12:00:00')`
/// for datetime bounds; the platform evaluates it to `2024-01-15 12:00:00`.
fn normalise_value(value: &str) -> String {
    let Some(args) = value
        .strip_prefix("javascript:gs.dateGenerate(")
        .and_then(|v| v.strip_suffix(')'))
    else {
        return value.to_string();
    };
    let parts: Vec<&str> = args
        .split(',')
        .map(|p| p.trim().trim_matches(|c| c == '\'' || c == '"'))
        .collect();
    match parts.as_slice() {
        [date, "start"] => format!("{date} 00:00:00"),
        [date, "end"] => format!("{date} 23:59:59"),
        [date, time] => format!("{date} {time}"),
        _ => value.to_string(),
    }
}

/// Parses an encoded query. Never fails; unreadable terms are skipped.
pub fn parse(input: &str) -> Query {
    let mut query = Query::default();
    let mut block: Vec<Vec<Condition>> = Vec::new();
    for term in split_terms(input) {
        if term.is_empty() || term == "EQ" {
            continue;
        }
        if let Some(field) = term.strip_prefix("ORDERBYDESC") {
            if !field.is_empty() {
                query.order.push(OrderBy {
                    field: field.to_string(),
                    descending: true,
                });
            }
        } else if let Some(field) = term.strip_prefix("ORDERBY") {
            if !field.is_empty() {
                query.order.push(OrderBy {
                    field: field.to_string(),
                    descending: false,
                });
            }
        } else if let Some(rest) = term.strip_prefix("NQ") {
            if !block.is_empty() {
                query.blocks.push(std::mem::take(&mut block));
            }
            if let Some(c) = parse_condition(rest) {
                block.push(vec![c]);
            }
        } else if let Some(rest) = term.strip_prefix("OR") {
            let Some(c) = parse_condition(rest) else {
                continue;
            };
            match block.last_mut() {
                Some(alternatives) => alternatives.push(c),
                None => block.push(vec![c]),
            }
        } else if let Some(c) = parse_condition(&term) {
            block.push(vec![c]);
        }
    }
    if !block.is_empty() {
        query.blocks.push(block);
    }
    query
}

fn as_number(s: &str) -> Option<f64> {
    let n: f64 = s.trim().parse().ok()?;
    n.is_finite().then_some(n)
}

/// Numbers compare numerically when both sides parse; everything else,
/// including `YYYY-MM-DD HH:MM:SS` datetimes, compares as strings.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (as_number(a), as_number(b)) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

/// A total order for sorting (so `sort_by` can never see an inconsistent
/// comparator): empty values first, as NULLs sort first ascending in the
/// platform's database, then numbers by value, then other strings.
pub fn sort_key_cmp(a: &str, b: &str) -> Ordering {
    let class = |s: &str| match (s.is_empty(), as_number(s)) {
        (true, _) => 0,
        (false, Some(_)) => 1,
        (false, None) => 2,
    };
    class(a)
        .cmp(&class(b))
        .then_with(|| match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => a.cmp(b),
        })
}

fn field_str<'a>(record: &'a Map<String, Value>, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

impl Condition {
    /// Whether `record` satisfies this condition. String matching operators
    /// are case-insensitive, as on the platform's default collation.
    pub fn matches(&self, record: &Map<String, Value>) -> bool {
        let actual = field_str(record, &self.field);
        let lower = || (actual.to_lowercase(), self.value.to_lowercase());
        let ordered =
            |f: fn(Ordering) -> bool| !actual.is_empty() && f(compare_values(actual, &self.value));
        match self.op {
            Op::Eq => compare_values(actual, &self.value) == Ordering::Equal,
            Op::Ne => compare_values(actual, &self.value) != Ordering::Equal,
            Op::Gt => ordered(|o| o == Ordering::Greater),
            Op::Ge => ordered(|o| o != Ordering::Less),
            Op::Lt => ordered(|o| o == Ordering::Less),
            Op::Le => ordered(|o| o != Ordering::Greater),
            Op::StartsWith => lower().0.starts_with(&lower().1),
            Op::EndsWith => lower().0.ends_with(&lower().1),
            Op::Like => lower().0.contains(&lower().1),
            Op::NotLike => !lower().0.contains(&lower().1),
            Op::In => self.value.split(',').any(|v| v == actual),
            Op::NotIn => !self.value.split(',').any(|v| v == actual),
            Op::IsEmpty => actual.is_empty(),
            Op::IsNotEmpty => !actual.is_empty(),
        }
    }
}

impl Query {
    /// Whether `record` matches, ignoring conditions on fields for which
    /// `is_field` says no (the documented default for invalid queries).
    pub fn matches(&self, record: &Map<String, Value>, is_field: &dyn Fn(&str) -> bool) -> bool {
        self.blocks.is_empty()
            || self.blocks.iter().any(|block| {
                block.iter().all(|term| {
                    let mut valid = term.iter().filter(|c| is_field(&c.field)).peekable();
                    valid.peek().is_none() || valid.any(|c| c.matches(record))
                })
            })
    }

    /// Positions in `rows` of the records that match, in ORDERBY order.
    pub fn select(
        &self,
        rows: &[Map<String, Value>],
        is_field: &dyn Fn(&str) -> bool,
    ) -> Vec<usize> {
        let mut matching: Vec<&Map<String, Value>> = Vec::new();
        let mut positions: Vec<usize> = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            if self.matches(r, is_field) {
                matching.push(r);
                positions.push(i);
            }
        }
        let mut order: Vec<usize> = (0..matching.len()).collect();
        self.sort_by_rows(&mut order, &matching, is_field);
        order.into_iter().map(|i| positions[i]).collect()
    }

    /// Sorts `rows` stably by the ORDERBY clauses, in order; rows that tie on
    /// every clause keep their incoming (insertion) order. Keys are extracted
    /// once per row, not per comparison: big tables are sorted on every page.
    pub fn sort(&self, rows: &mut [&Map<String, Value>], is_field: &dyn Fn(&str) -> bool) {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        self.sort_by_rows(&mut order, rows, is_field);
        let sorted: Vec<&Map<String, Value>> = order.iter().map(|&i| rows[i]).collect();
        rows.copy_from_slice(&sorted);
    }

    /// Sort `order` (positions in `rows`) by the ORDERBY clauses, stably.
    fn sort_by_rows(
        &self,
        order: &mut [usize],
        rows: &[&Map<String, Value>],
        is_field: &dyn Fn(&str) -> bool,
    ) {
        let keys: Vec<&OrderBy> = self.order.iter().filter(|o| is_field(&o.field)).collect();
        if keys.is_empty() {
            return;
        }
        let mut keyed: Vec<(Vec<SortKey<'_>>, usize)> = order
            .iter()
            .map(|&i| {
                let k = keys
                    .iter()
                    .map(|o| SortKey::of(field_str(rows[i], &o.field)))
                    .collect();
                (k, i)
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            keys.iter()
                .zip(a.iter().zip(b.iter()))
                .map(|(o, (x, y))| {
                    let ord = x.cmp(y);
                    if o.descending { ord.reverse() } else { ord }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        for (slot, (_, i)) in order.iter_mut().zip(keyed) {
            *slot = i;
        }
    }
}

/// A value's place in [`sort_key_cmp`]'s order, computed once.
enum SortKey<'a> {
    Empty,
    Number(f64),
    Text(&'a str),
}

impl<'a> SortKey<'a> {
    fn of(s: &'a str) -> Self {
        match (s.is_empty(), as_number(s)) {
            (true, _) => SortKey::Empty,
            (false, Some(n)) => SortKey::Number(n),
            (false, None) => SortKey::Text(s),
        }
    }

    fn cmp(&self, other: &Self) -> Ordering {
        use SortKey::*;
        match (self, other) {
            (Empty, Empty) => Ordering::Equal,
            (Empty, _) => Ordering::Less,
            (_, Empty) => Ordering::Greater,
            (Number(x), Number(y)) => x.total_cmp(y),
            (Number(_), Text(_)) => Ordering::Less,
            (Text(_), Number(_)) => Ordering::Greater,
            (Text(x), Text(y)) => x.cmp(y),
        }
    }
}
