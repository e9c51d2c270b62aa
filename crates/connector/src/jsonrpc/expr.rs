//! Expressions inside a `${...}` placeholder, for values built from
//! several parts, such as a session header:
//! `'Session ' + base64(vars.login + ':' + session.0 + ':' + session.1)`.
//! Terms are variables (as in plain placeholders), quoted text (`'...'`
//! or `"..."`, without `}`) and `base64(...)`; a plus sign joins them as
//! text. No arithmetic, no other functions: a manifest states a value, it
//! does not compute one.

use base64::Engine as _;
use serde_json::Value;

use super::template::{Scope, Var, value_of};

#[derive(Debug, Clone)]
enum Term {
    Var(Var),
    Text(String),
    Base64(Expr),
}

/// Terms joined with `+`.
#[derive(Debug, Clone)]
pub struct Expr(Vec<Term>);

/// Whether a placeholder's content is an expression rather than a name.
pub fn is_expr(content: &str) -> bool {
    content.contains(['+', '(', '\'', '"'])
}

impl Expr {
    /// Parse `content`; `var` checks each variable name where it is used.
    pub fn parse(content: &str, var: &dyn Fn(&str) -> Result<Var, String>) -> Result<Self, String> {
        let mut p = Parser {
            text: content,
            at: 0,
            var,
        };
        let e = p.expr()?;
        p.skip_space();
        if p.at < content.len() {
            return Err(format!(
                "`${{{content}}}`: unexpected `{}`; join values with `+`",
                &content[p.at..]
            ));
        }
        Ok(e)
    }

    /// The text; with `scope.redact`, `***` when any part is a secret (a
    /// var from `env:`/`file:`, a session token), so no part of it shows.
    pub fn eval(&self, scope: &Scope) -> Result<String, String> {
        let plain = Scope {
            redact: false,
            ..*scope
        };
        if scope.redact && self.has_secret(&plain) {
            return Ok("***".into());
        }
        let mut out = String::new();
        for t in &self.0 {
            match t {
                Term::Text(s) => out.push_str(s),
                Term::Var(v) => match value_of(v, &plain)? {
                    Value::String(s) => out.push_str(&s),
                    Value::Null => {}
                    other => out.push_str(&other.to_string()),
                },
                Term::Base64(inner) => out.push_str(
                    &base64::engine::general_purpose::STANDARD.encode(inner.eval(&plain)?),
                ),
            }
        }
        Ok(out)
    }

    fn has_secret(&self, scope: &Scope) -> bool {
        self.0.iter().any(|t| match t {
            Term::Text(_) => false,
            Term::Base64(e) => e.has_secret(scope),
            Term::Var(Var::Vars(name)) => scope
                .vars
                .and_then(|v| v.get(name))
                .is_none_or(|r| r.secret),
            // A token is text; a user id (a number) is not a credential.
            Term::Var(v @ Var::Session(_)) => value_of(v, scope).map_or(true, |v| v.is_string()),
            Term::Var(_) => false,
        })
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    var: &'a dyn Fn(&str) -> Result<Var, String>,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.term()?];
        loop {
            self.skip_space();
            if !self.text[self.at..].starts_with('+') {
                return Ok(Expr(terms));
            }
            self.at += 1;
            terms.push(self.term()?);
        }
    }

    fn term(&mut self) -> Result<Term, String> {
        self.skip_space();
        let rest = &self.text[self.at..];
        if let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let end = rest[1..].find(q).ok_or_else(|| {
                format!("`${{{}}}`: text opened with {q} is not closed", self.text)
            })?;
            self.at += end + 2;
            return Ok(Term::Text(rest[1..end + 1].to_string()));
        }
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '+' | '(' | ')'))
            .unwrap_or(rest.len());
        let name = &rest[..len];
        if name.is_empty() {
            return Err(format!("`${{{}}}`: a value is missing", self.text));
        }
        self.at += len;
        self.skip_space();
        if self.text[self.at..].starts_with('(') {
            if name != "base64" {
                return Err(format!(
                    "`${{{}}}`: no function `{name}`; the only one is `base64(...)`",
                    self.text
                ));
            }
            self.at += 1;
            let inner = self.expr()?;
            self.skip_space();
            if !self.text[self.at..].starts_with(')') {
                return Err(format!("`${{{}}}`: `base64(` without `)`", self.text));
            }
            self.at += 1;
            return Ok(Term::Base64(inner));
        }
        Ok(Term::Var((self.var)(name)?))
    }
}
