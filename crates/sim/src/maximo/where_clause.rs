//! The `oslc.where` language as Maximo's REST API reads it: terms joined by
//! `and` (`or` is a syntax error; `opmodeor=1` makes every `and` an or),
//! each term `attr op value` with `=`, `!=`, `>`, `>=`, `<`, `<=`, or
//! `attr in [v1, v2]`. Text and dates are double-quoted (dates in ISO 8601),
//! numbers and booleans are bare. In text, `%` makes `=` a LIKE, and `"*"`
//! tests for a value: `attr="*"` is not null, `attr!="*"` is null.
//!
//! Parsing is pure and knows no attributes; `matches` checks them against
//! the record, so a misspelled attribute is an error, not an empty result.
//! A clause that does not parse answers BMXAA8744E with the parser's
//! "Encountered … at line 1, column N" detail, as the server does.

use std::cmp::Ordering;

use chrono_tz::Tz;
use serde_json::{Map, Value};

use super::model::{Kind, kind_of, parse_time};

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Compare {
        attr: String,
        op: Op,
        value: Literal,
    },
    In {
        attr: String,
        values: Vec<Literal>,
    },
}

/// A clause that does not parse: the detail after BMXAA8744E's sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

/// A clause that parses but cannot be applied to work orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// Not an attribute of WORKORDER.
    UnknownAttribute(String),
    /// A literal of the wrong type for the attribute (a number for text, an
    /// unquoted date, a date that is not ISO 8601).
    BadValue { attr: String, value: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Number(f64),
    Op(Op),
    Open,
    Close,
    Comma,
}

impl Token {
    /// How JavaCC names the token kind in its messages.
    fn describe(&self) -> String {
        match self {
            Token::Ident(s) => format!("\" <IDENTIFIER> \"{s} \"\""),
            Token::Text(s) => format!("\" <STRING_LITERAL> \"\\\"{s}\\\" \"\""),
            Token::Number(n) => format!("\" <NUMBER> \"{n} \"\""),
            Token::Op(_) => "\" <COMPARISON_OP> \"".into(),
            Token::Open => "\"[\"".into(),
            Token::Close => "\"]\"".into(),
            Token::Comma => "\",\"".into(),
        }
    }
}

fn encountered(what: &str, column: usize, expected: &str) -> SyntaxError {
    SyntaxError(format!(
        "Encountered {what} at line 1, column {column}.\r\nWas expecting:\r\n    {expected} ...\r\n"
    ))
}

/// Splits the clause into tokens, each with its 1-based column.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = match c {
            '[' => Token::Open,
            ']' => Token::Close,
            ',' => Token::Comma,
            '"' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(SyntaxError(format!(
                                "Lexical error at line 1, column {}.  Encountered: <EOF> after : \"\\\"{s}\"",
                                chars.len() + 1
                            )));
                        }
                        Some('\\') if chars.get(i + 1) == Some(&'"') => {
                            s.push('"');
                            i += 2;
                        }
                        Some('"') => break,
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                Token::Text(s)
            }
            '=' => Token::Op(Op::Eq),
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 1;
                Token::Op(Op::Ne)
            }
            '>' | '<' => {
                let or_equal = chars.get(i + 1) == Some(&'=');
                if or_equal {
                    i += 1;
                }
                Token::Op(match (c, or_equal) {
                    ('>', true) => Op::Ge,
                    ('>', false) => Op::Gt,
                    ('<', true) => Op::Le,
                    _ => Op::Lt,
                })
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.')
                {
                    i += 1;
                }
                let raw: String = chars[start..i].iter().collect();
                let n = raw.parse::<f64>().map_err(|_| {
                    encountered(&format!("\" <NUMBER> \"{raw} \"\""), column, "<NUMBER>")
                })?;
                out.push((Token::Number(n), column));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|d| d.is_ascii_alphanumeric() || matches!(d, '_' | '.'))
                {
                    i += 1;
                }
                out.push((Token::Ident(chars[start..i].iter().collect()), column));
                continue;
            }
            other => {
                return Err(SyntaxError(format!(
                    "Lexical error at line 1, column {column}.  Encountered: \"{other}\" ({}), after : \"\"",
                    other as u32
                )));
            }
        };
        out.push((token, column));
        i += 1;
    }
    Ok(out)
}

fn literal(token: &Token) -> Option<Literal> {
    match token {
        Token::Text(s) => Some(Literal::Text(s.clone())),
        Token::Number(n) => Some(Literal::Number(*n)),
        Token::Ident(s) if s.eq_ignore_ascii_case("true") => Some(Literal::Bool(true)),
        Token::Ident(s) if s.eq_ignore_ascii_case("false") => Some(Literal::Bool(false)),
        _ => None,
    }
}

/// Parses a clause into its terms, which are all joined by the same boolean operator.
pub fn parse(text: &str) -> Result<Vec<Term>, SyntaxError> {
    let tokens = tokenize(text)?;
    let end = text.chars().count() + 1;
    let mut pos = 0;
    let mut terms = Vec::new();
    let at = |pos: usize| tokens.get(pos).map(|(_, c)| *c).unwrap_or(end);
    let got = |pos: usize| {
        tokens
            .get(pos)
            .map(|(t, _)| t.describe())
            .unwrap_or_else(|| "<EOF>".into())
    };
    loop {
        let attr = match tokens.get(pos) {
            Some((Token::Ident(name), _)) => name.to_ascii_lowercase(),
            _ => return Err(encountered(&got(pos), at(pos), "<IDENTIFIER>")),
        };
        pos += 1;
        match tokens.get(pos) {
            Some((Token::Op(op), _)) => {
                pos += 1;
                let value = tokens
                    .get(pos)
                    .and_then(|(t, _)| literal(t))
                    .ok_or_else(|| encountered(&got(pos), at(pos), "<STRING_LITERAL>"))?;
                pos += 1;
                terms.push(Term::Compare {
                    attr,
                    op: *op,
                    value,
                });
            }
            Some((Token::Ident(word), _)) if word.eq_ignore_ascii_case("in") => {
                pos += 1;
                if tokens.get(pos).map(|(t, _)| t) != Some(&Token::Open) {
                    return Err(encountered(&got(pos), at(pos), "\"[\""));
                }
                pos += 1;
                let mut values = Vec::new();
                loop {
                    let value = tokens
                        .get(pos)
                        .and_then(|(t, _)| literal(t))
                        .ok_or_else(|| encountered(&got(pos), at(pos), "<STRING_LITERAL>"))?;
                    values.push(value);
                    pos += 1;
                    match tokens.get(pos).map(|(t, _)| t) {
                        Some(Token::Comma) => pos += 1,
                        Some(Token::Close) => break,
                        _ => return Err(encountered(&got(pos), at(pos), "\"]\"")),
                    }
                }
                pos += 1;
                terms.push(Term::In { attr, values });
            }
            _ => return Err(encountered(&got(pos), at(pos), "<COMPARISON_OP>")),
        }
        match tokens.get(pos) {
            None => return Ok(terms),
            Some((Token::Ident(word), _)) if word.eq_ignore_ascii_case("and") => pos += 1,
            Some(_) => return Err(encountered(&got(pos), at(pos), "<BOOLEAN_OP>")),
        }
    }
}

/// Whether `rec` satisfies every term (any term, with `opmodeor`).
pub fn matches(
    terms: &[Term],
    rec: &Map<String, Value>,
    any: bool,
    tz: Tz,
) -> Result<bool, EvalError> {
    let mut results = Vec::with_capacity(terms.len());
    for term in terms {
        results.push(term_holds(term, rec, tz)?);
    }
    Ok(if any {
        results.iter().any(|r| *r)
    } else {
        results.iter().all(|r| *r)
    })
}

fn term_holds(term: &Term, rec: &Map<String, Value>, tz: Tz) -> Result<bool, EvalError> {
    let (attr, values, op) = match term {
        Term::Compare { attr, op, value } => (attr, std::slice::from_ref(value), *op),
        Term::In { attr, values } => (attr, values.as_slice(), Op::Eq),
    };
    let Some(kind) = kind_of(attr) else {
        return Err(EvalError::UnknownAttribute(attr.clone()));
    };
    let field = rec.get(attr.as_str()).filter(|v| !v.is_null());
    let mut any = false;
    for value in values {
        if let Literal::Text(t) = value
            && t == "*"
        {
            // The star tests for a value, whatever the type.
            let present = field.is_some();
            any |= match op {
                Op::Eq => present,
                Op::Ne => !present,
                _ => false,
            };
            continue;
        }
        let Some(field) = field else {
            continue;
        };
        any |= compare(kind, field, op, value, attr, tz)?;
    }
    Ok(any)
}

fn type_error(attr: &str, value: &Literal) -> EvalError {
    let shown = match value {
        Literal::Text(s) => format!("\"{s}\""),
        Literal::Number(n) => n.to_string(),
        Literal::Bool(b) => b.to_string(),
    };
    EvalError::BadValue {
        attr: attr.to_string(),
        value: shown,
    }
}

fn compare(
    kind: Kind,
    field: &Value,
    op: Op,
    value: &Literal,
    attr: &str,
    tz: Tz,
) -> Result<bool, EvalError> {
    let ordering = match (kind, value) {
        (Kind::Text, Literal::Text(pattern)) => {
            let have = field.as_str().unwrap_or_default();
            if pattern.contains('%') && matches!(op, Op::Eq | Op::Ne) {
                let like = like(have, pattern);
                return Ok(if op == Op::Eq { like } else { !like });
            }
            have.cmp(pattern.as_str())
        }
        (Kind::Integer, Literal::Number(n)) => field
            .as_f64()
            .and_then(|f| f.partial_cmp(n))
            .unwrap_or(Ordering::Less),
        (Kind::Date, Literal::Text(s)) => {
            let want = parse_time(s, tz).ok_or_else(|| type_error(attr, value))?;
            let have = field.as_str().and_then(|f| parse_time(f, tz));
            match have {
                Some(h) => h.cmp(&want),
                None => return Ok(false),
            }
        }
        (Kind::Bool, Literal::Bool(b)) => field.as_bool().unwrap_or(false).cmp(b),
        (Kind::Bool, Literal::Number(n)) if *n == 0.0 || *n == 1.0 => {
            field.as_bool().unwrap_or(false).cmp(&(*n == 1.0))
        }
        _ => return Err(type_error(attr, value)),
    };
    Ok(match op {
        Op::Eq => ordering == Ordering::Equal,
        Op::Ne => ordering != Ordering::Equal,
        Op::Gt => ordering == Ordering::Greater,
        Op::Ge => ordering != Ordering::Less,
        Op::Lt => ordering == Ordering::Less,
        Op::Le => ordering != Ordering::Greater,
    })
}

/// SQL LIKE with `%` only, as the QBE framework passes it to the database.
fn like(have: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return have.is_empty(),
    };
    let Some(mut remaining) = have.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}
