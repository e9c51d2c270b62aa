//! The `filter` expressions of Get Data from Dataset (v2): OData-style
//! comparisons `field eq|ne|lt|le|gt|ge literal` and `field in (…)`, joined
//! by `and` or by `or` but never both (422 `INVALID_FILTER`). String
//! literals are single-quoted (`''` is a quote), numbers bare.
//!
//! Type rules as the reference states them: ordering operators only on
//! numeric and date fields; a multi-value `in` only on options fields.
//! Dates compare as instants: a literal may be a date (`2026-03-01`, at
//! midnight UTC) or a date and time with `Z` or an offset.
//!
//! Assumed: a comparison with an empty value is false, except `ne`, which
//! is true; an unknown field is a 422 like any other invalid filter.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::model::{Employee, FieldType, SortKey, dataset_field_type};
use super::read::parse_since;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
}

#[derive(Debug)]
struct Cond {
    field: String,
    op: Op,
    values: Vec<SortKey>,
}

/// A parsed filter, ready to test employees against.
#[derive(Debug)]
pub(super) struct Filter {
    all: bool,
    conds: Vec<Cond>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Open,
    Close,
    Comma,
}

fn tokens(expr: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => s.push(c),
                        None => return Err("unterminated string literal".into()),
                    }
                }
                out.push(Token::Text(s));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | ',' | '\'') {
                        break;
                    }
                    w.push(c);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(out)
}

fn op(word: &str) -> Option<Op> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "lt" => Op::Lt,
        "le" => Op::Le,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "in" => Op::In,
        _ => return None,
    })
}

/// A literal as the field's kind of value.
fn literal(kind: FieldType, token: &Token, field: &str) -> Result<SortKey, String> {
    let raw = match token {
        Token::Text(s) | Token::Word(s) => s.as_str(),
        _ => return Err(format!("expected a value for `{field}`")),
    };
    match kind {
        FieldType::Date => parse_since(raw)
            .or_else(|| {
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            })
            .map(|t| SortKey::Time(Some(t)))
            .ok_or_else(|| format!("`{raw}` is not a date for `{field}`")),
        FieldType::Int => raw
            .parse::<u64>()
            .map(|n| SortKey::Num(Some(n)))
            .map_err(|_| format!("`{raw}` is not a number for `{field}`")),
        FieldType::Text | FieldType::Options => Ok(SortKey::Text(Some(raw.to_string()))),
    }
}

pub(super) fn parse(expr: &str) -> Result<Filter, String> {
    let toks = tokens(expr)?;
    let mut i = 0;
    let mut conds = Vec::new();
    let mut joins: Vec<bool> = Vec::new();
    loop {
        let Some(Token::Word(field)) = toks.get(i) else {
            return Err("expected a field name".into());
        };
        let kind = dataset_field_type(field).ok_or_else(|| format!("unknown field `{field}`"))?;
        let Some(o) = toks.get(i + 1).and_then(|t| match t {
            Token::Word(w) => op(w),
            _ => None,
        }) else {
            return Err(format!("expected an operator after `{field}`"));
        };
        i += 2;
        let values = if o == Op::In {
            if toks.get(i) != Some(&Token::Open) {
                return Err("`in` needs a parenthesised list".into());
            }
            i += 1;
            let mut values = Vec::new();
            loop {
                let t = toks.get(i).ok_or("unterminated `in` list")?;
                values.push(literal(kind, t, field)?);
                i += 1;
                match toks.get(i) {
                    Some(Token::Comma) => i += 1,
                    Some(Token::Close) => {
                        i += 1;
                        break;
                    }
                    _ => return Err("unterminated `in` list".into()),
                }
            }
            if values.len() > 1 && kind != FieldType::Options {
                return Err(format!(
                    "`in` with several values needs an options field, not `{field}`"
                ));
            }
            values
        } else {
            let t = toks
                .get(i)
                .ok_or_else(|| format!("expected a value for `{field}`"))?;
            i += 1;
            vec![literal(kind, t, field)?]
        };
        let ordering = matches!(o, Op::Lt | Op::Le | Op::Gt | Op::Ge);
        if ordering && !matches!(kind, FieldType::Date | FieldType::Int) {
            return Err(format!("ordering operators are not supported on `{field}`"));
        }
        conds.push(Cond {
            field: field.clone(),
            op: o,
            values,
        });
        match toks.get(i) {
            None => break,
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => joins.push(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("or") => joins.push(false),
            Some(_) => return Err("expected `and` or `or`".into()),
        }
        i += 1;
    }
    if joins.windows(2).any(|w| w[0] != w[1]) {
        return Err("a filter may use `and` or `or`, but not both".into());
    }
    Ok(Filter {
        all: joins.first().copied().unwrap_or(true),
        conds,
    })
}

fn empty(k: &SortKey) -> bool {
    matches!(
        k,
        SortKey::Time(None) | SortKey::Num(None) | SortKey::Text(None)
    )
}

impl Cond {
    fn holds(&self, e: &Employee, all: &BTreeMap<u64, Employee>) -> bool {
        let value = e.dataset_sort_key(&self.field, all);
        if empty(&value) {
            return self.op == Op::Ne;
        }
        let first = &self.values[0];
        match self.op {
            Op::Eq => value == *first,
            Op::Ne => value != *first,
            Op::Lt => value < *first,
            Op::Le => value <= *first,
            Op::Gt => value > *first,
            Op::Ge => value >= *first,
            Op::In => self.values.contains(&value),
        }
    }
}

impl Filter {
    pub(super) fn matches(&self, e: &Employee, all: &BTreeMap<u64, Employee>) -> bool {
        if self.all {
            self.conds.iter().all(|c| c.holds(e, all))
        } else {
            self.conds.iter().any(|c| c.holds(e, all))
        }
    }
}
