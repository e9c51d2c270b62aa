//! The FIQL filter language of TOPdesk's `query` parameter: parsing, and
//! evaluating a parsed query against an incident.
//!
//! Follows the TOPdesk API documentation's "FIQL query" section:
//! `==`, `!=` (with `null`), `=gt=`, `=ge=`, `=lt=`, `=le=` (numbers and
//! dates only), `=sw=` (text), `=in=(a,b)` and `=out=(a,b)`; `;` is and, `,`
//! is or, and takes precedence, brackets group. Values are unquoted unless
//! they hold white space or a reserved character (`' " ( ) ; , = ! ~ < >`),
//! else quoted with `'` or `"` (backslash escapes inside quotes). Dates are
//! ISO 8601, `yyyy-MM-ddTHH:mm:ssZ`, the zone `Z` or an offset like `+0100`
//! or `+01:00`; fractional seconds are accepted too (the docs do not say).
//! Selectors are field paths such as `caller.email` or `processingStatus.name`.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::seed::parse_time;

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    StartsWith,
    In,
    Out,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    And(Vec<Query>),
    Or(Vec<Query>),
    Constraint {
        selector: String,
        op: Op,
        args: Vec<String>,
    },
}

/// Why a query cannot be parsed or applied; the text is what the API's
/// error body says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

const RESERVED: &[char] = &['\'', '"', '(', ')', ';', ',', '=', '!', '~', '<', '>'];

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

pub fn parse(text: &str) -> Result<Query, QueryError> {
    let mut p = Parser { text, pos: 0 };
    let q = p.or()?;
    if p.pos < text.len() {
        return Err(p.error("unexpected character"));
    }
    Ok(q)
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn error(&self, what: &str) -> QueryError {
        QueryError(format!(
            "Error parsing query '{}': {what} at position {}",
            self.text, self.pos
        ))
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(',') {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.primary()?];
        while self.peek() == Some(';') {
            self.pos += 1;
            parts.push(self.primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::And(parts)
        })
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        if self.peek() == Some('(') {
            self.pos += 1;
            let q = self.or()?;
            if self.peek() != Some(')') {
                return Err(self.error("missing ')'"));
            }
            self.pos += 1;
            return Ok(q);
        }
        let selector = self.take_while(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if selector.is_empty() {
            return Err(self.error("expected a field name"));
        }
        let op = self.op()?;
        let args = if self.peek() == Some('(') {
            self.pos += 1;
            let mut args = vec![self.value()?];
            while self.peek() == Some(',') {
                self.pos += 1;
                args.push(self.value()?);
            }
            if self.peek() != Some(')') {
                return Err(self.error("missing ')' after the list of values"));
            }
            self.pos += 1;
            args
        } else {
            vec![self.value()?]
        };
        let listy = matches!(op, Op::In | Op::Out);
        if !listy && args.len() != 1 {
            return Err(self.error("only =in= and =out= take a list of values"));
        }
        Ok(Query::Constraint { selector, op, args })
    }

    fn op(&mut self) -> Result<Op, QueryError> {
        let rest = &self.text[self.pos..];
        for (lit, op) in [("==", Op::Eq), ("!=", Op::Ne)] {
            if rest.starts_with(lit) {
                self.pos += 2;
                return Ok(op);
            }
        }
        if let Some(named) = rest.strip_prefix('=')
            && let Some(end) = named.find('=')
        {
            let op = match &named[..end] {
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                "sw" => Op::StartsWith,
                "in" => Op::In,
                "out" => Op::Out,
                _ => return Err(self.error("unknown operator")),
            };
            self.pos += end + 2;
            return Ok(op);
        }
        Err(self.error("expected an operator"))
    }

    fn value(&mut self) -> Result<String, QueryError> {
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            let v = self.take_while(|c| !c.is_whitespace() && !RESERVED.contains(&c));
            if v.is_empty() {
                return Err(self.error("expected a value"));
            }
            return Ok(v);
        };
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        out.push(next);
                    }
                }
                c if c == quote => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(self.error("unterminated quoted value"))
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let rest = &self.text[self.pos..];
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        self.pos += end;
        rest[..end].to_string()
    }
}

/// The value at a dotted path; `None` when a step is missing.
pub fn lookup<'v>(record: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(record, |v, step| v.get(step))
}

fn as_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(parse_time)
}

/// Compares a record value with a query value for the ordering operators:
/// dates as instants, numbers as numbers; anything else cannot be ordered.
fn order(field: &Value, arg: &str) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (as_time(field), parse_time(arg)) {
        return Some(a.cmp(&b));
    }
    let b: f64 = arg.parse().ok()?;
    field.as_f64()?.partial_cmp(&b)
}

fn equals(field: &Value, arg: &str) -> bool {
    match field {
        Value::Null => arg == "null",
        Value::Bool(b) => arg.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Number(n) => arg.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => match (parse_time(s), parse_time(arg)) {
            (Some(a), Some(b)) => a == b,
            _ => s == arg,
        },
        // An object compared by value is compared by its id (`caller==<id>`).
        Value::Object(o) => o.get("id").and_then(Value::as_str) == Some(arg),
        Value::Array(_) => false,
    }
}

/// Whether `record` satisfies `q`. A selector that names no field of the
/// record is an error, as the API refuses to filter on unknown fields.
pub fn matches(q: &Query, record: &Value) -> Result<bool, QueryError> {
    match q {
        Query::And(parts) => {
            for p in parts {
                if !matches(p, record)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Query::Or(parts) => {
            for p in parts {
                if matches(p, record)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Query::Constraint { selector, op, args } => {
            let top = selector.split('.').next().unwrap_or_default();
            if record.get(top).is_none() {
                return Err(QueryError(format!(
                    "Error parsing query: the field '{selector}' is not supported"
                )));
            }
            let field = lookup(record, selector).unwrap_or(&Value::Null);
            let arg = args.first().map(String::as_str).unwrap_or_default();
            let ordered = |want: &[Ordering]| -> Result<bool, QueryError> {
                if field.is_null() {
                    return Ok(false);
                }
                order(field, arg).map(|o| want.contains(&o)).ok_or_else(|| {
                    QueryError(format!(
                        "Error parsing query: '{arg}' cannot be compared with the field '{selector}'; only numeric and date fields can be"
                    ))
                })
            };
            Ok(match op {
                Op::Eq => equals(field, arg),
                Op::Ne => !equals(field, arg),
                Op::Gt => ordered(&[Ordering::Greater])?,
                Op::Ge => ordered(&[Ordering::Greater, Ordering::Equal])?,
                Op::Lt => ordered(&[Ordering::Less])?,
                Op::Le => ordered(&[Ordering::Less, Ordering::Equal])?,
                Op::StartsWith => field
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().starts_with(&arg.to_lowercase())),
                Op::In => args.iter().any(|a| equals(field, a)),
                Op::Out => !args.iter().any(|a| equals(field, a)),
            })
        }
    }
}
