//! JSON templates for JSON-RPC params: `"${cursor}"` and friends inside a
//! JSON value. A string that is exactly one placeholder takes the value's
//! own JSON type (a number stays a number, `${body}` an object); inside
//! longer text it is interpolated. Parsed once, when the manifest loads.
//! A placeholder may also be an expression (`expr`): quoted text,
//! `base64(...)` and `+` for concatenation, always giving text.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{lookup, split_path};

/// What a placeholder names.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// `${vars.db}`: a manifest value.
    Vars(String),
    /// `${session}` or `${session.uid}`: the login call's result.
    Session(Vec<String>),
    /// `${cursor}`: the lower bound as text; `${cursor.year}` (month,
    /// day, hour, minute, second, microsecond, epoch, epoch_ms): one of
    /// its parts as a number, to write the bound as an object.
    Cursor(Vec<String>),
    Offset,
    Limit,
    Page,
    /// `${body}` or `${body.partner_id}`: the outbound mapping's output.
    Body(Vec<String>),
    /// `${id}`: the target record's id.
    Id,
    /// `${record.id}`: a field of the record whose details are asked.
    Record(Vec<String>),
}

/// The parts `${cursor.<part>}` may name (see `CursorSpec::parts`).
pub const CURSOR_PARTS: [&str; 9] = [
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "microsecond",
    "epoch",
    "epoch_ms",
];

/// Which placeholders a template may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Context {
    Session,
    /// Headers, cookies and query parameters sent after the login.
    Headers,
    Stream,
    Action,
    /// A stream's per-record call (`[[streams.details]]`).
    Details,
}

impl Var {
    fn parse(name: &str) -> Option<Self> {
        let (head, rest) = match name.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (name, None),
        };
        let path = |r: Option<&str>| r.map(split_path).unwrap_or_default();
        Some(match (head, rest) {
            ("vars", Some(v)) if !v.is_empty() => Self::Vars(v.to_string()),
            ("session", r) => Self::Session(path(r)),
            ("cursor", r) => Self::Cursor(path(r)),
            ("offset", None) => Self::Offset,
            ("limit", None) => Self::Limit,
            ("page", None) => Self::Page,
            ("body", r) => Self::Body(path(r)),
            ("id", None) => Self::Id,
            ("record", Some(r)) if !r.is_empty() => Self::Record(path(Some(r))),
            _ => return None,
        })
    }

    fn allowed_in(&self, context: Context) -> bool {
        match self {
            Self::Vars(_) => true,
            Self::Session(_) => context != Context::Session,
            Self::Cursor(_) | Self::Offset | Self::Limit | Self::Page => context == Context::Stream,
            Self::Body(_) | Self::Id => context == Context::Action,
            Self::Record(_) => context == Context::Details,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum Piece {
    Text(String),
    Var(Var),
    /// `${base64(vars.login + ':' + session.0)}`: always text.
    Expr(super::expr::Expr),
}

#[derive(Debug, Clone)]
enum Node {
    Literal(Value),
    /// A string that is exactly one placeholder.
    Slot(Var),
    Text(Vec<Piece>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

#[derive(Debug, Clone)]
pub struct Template(Node);

/// A manifest value, resolved at build time.
#[derive(Clone)]
pub struct Resolved {
    pub value: String,
    /// From `env:` or `file:`: masked wherever a request is shown.
    pub secret: bool,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.secret {
            f.write_str("Resolved(***)")
        } else {
            write!(f, "Resolved({:?})", self.value)
        }
    }
}

/// The values one render may read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scope<'a> {
    pub vars: Option<&'a BTreeMap<String, Resolved>>,
    pub session: Option<&'a Value>,
    pub cursor: Option<&'a str>,
    /// The bound's parts, for `${cursor.<part>}`.
    pub cursor_parts: Option<&'a Value>,
    pub offset: u64,
    pub limit: u64,
    pub page: u64,
    pub body: Option<&'a Value>,
    pub id: Option<&'a str>,
    /// The record whose details are asked, for `${record.<field>}`.
    pub record: Option<&'a Value>,
    /// Mask secrets: for the copy of a request kept in an error.
    pub redact: bool,
}

impl Template {
    /// Compile `value`, refusing placeholders `context` cannot fill and
    /// `${vars.x}` the manifest does not define.
    pub fn compile(value: &Value, context: Context, vars: &[String]) -> Result<Self, String> {
        compile(value, context, vars).map(Self)
    }

    /// Fill the template. Fails naming a placeholder that has no value.
    pub fn render(&self, scope: &Scope) -> Result<Value, String> {
        render(&self.0, scope)
    }
}

fn compile(value: &Value, context: Context, vars: &[String]) -> Result<Node, String> {
    Ok(match value {
        Value::String(s) => {
            let pieces = pieces(s, context, vars)?;
            match pieces.as_slice() {
                [] => Node::Literal(value.clone()),
                [Piece::Var(v)] => Node::Slot(v.clone()),
                _ if pieces.iter().all(|p| matches!(p, Piece::Text(_))) => {
                    Node::Literal(value.clone())
                }
                _ => Node::Text(pieces),
            }
        }
        Value::Array(items) => Node::Array(
            items
                .iter()
                .map(|v| compile(v, context, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Node::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), compile(v, context, vars)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => Node::Literal(other.clone()),
    })
}

fn pieces(s: &str, context: Context, vars: &[String]) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("${") {
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or_else(|| format!("`{s}`: `${{` without `}}`"))?;
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let name = rest[open + 2..close].trim();
        if super::expr::is_expr(name) {
            let expr = super::expr::Expr::parse(name, &|v| check_var(v, context, vars))?;
            out.push(Piece::Expr(expr));
            rest = &rest[close + 1..];
            continue;
        }
        let var = check_var(name, context, vars)?;
        out.push(Piece::Var(var));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
}

/// A placeholder's name as a variable this context can fill.
pub(super) fn check_var(name: &str, context: Context, vars: &[String]) -> Result<Var, String> {
    let var = Var::parse(name).ok_or_else(|| {
            format!(
                "`${{{name}}}` is not a placeholder; use vars.<name>, session, cursor, offset, limit, page, body, id or record.<field>"
            )
        })?;
    if !var.allowed_in(context) {
        return Err(format!(
            "`${{{name}}}` has no value here ({})",
            match context {
                Context::Session => "a login call has only `vars`",
                Context::Headers => "a session header, cookie or parameter has vars and session",
                Context::Stream =>
                    "a stream call has vars, session, cursor, offset, limit and page",
                Context::Action => "an action call has vars, session, body and id",
                Context::Details => "a details call has vars, session and record.<field>",
            }
        ));
    }
    if let Var::Cursor(path) = &var
        && !path.is_empty()
        && !(path.len() == 1 && CURSOR_PARTS.contains(&path[0].as_str()))
    {
        return Err(format!(
            "`${{{name}}}` is not a part of the cursor; use one of {}",
            CURSOR_PARTS.join(", ")
        ));
    }
    if let Var::Vars(v) = &var
        && !vars.contains(v)
    {
        return Err(format!(
            "`${{{name}}}`: no `{v}` in `[vars]` (it has: {})",
            vars.join(", ")
        ));
    }
    Ok(var)
}

fn render(node: &Node, scope: &Scope) -> Result<Value, String> {
    Ok(match node {
        Node::Literal(v) => v.clone(),
        Node::Slot(var) => value_of(var, scope)?,
        Node::Text(pieces) => {
            let mut s = String::new();
            for p in pieces {
                match p {
                    Piece::Text(t) => s.push_str(t),
                    Piece::Var(v) => match value_of(v, scope)? {
                        Value::String(text) => s.push_str(&text),
                        other => s.push_str(&other.to_string()),
                    },
                    Piece::Expr(e) => s.push_str(&e.eval(scope)?),
                }
            }
            Value::String(s)
        }
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|n| render(n, scope))
                .collect::<Result<_, _>>()?,
        ),
        Node::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, n)| Ok((k.clone(), render(n, scope)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
    })
}

pub(super) fn value_of(var: &Var, scope: &Scope) -> Result<Value, String> {
    let missing = |what: &str| format!("`${{{what}}}` has no value");
    Ok(match var {
        Var::Vars(name) => {
            let v = scope
                .vars
                .and_then(|vars| vars.get(name))
                .ok_or_else(|| missing(&format!("vars.{name}")))?;
            if scope.redact && v.secret {
                Value::String("***".into())
            } else {
                Value::String(v.value.clone())
            }
        }
        Var::Session(path) => {
            let v = scope
                .session
                .and_then(|s| lookup(s, path))
                .cloned()
                .ok_or_else(|| missing("session"))?;
            // A session token is a credential; a user id is not.
            if scope.redact && v.is_string() {
                Value::String("***".into())
            } else {
                v
            }
        }
        Var::Cursor(path) if path.is_empty() => {
            Value::String(scope.cursor.unwrap_or_default().to_string())
        }
        Var::Cursor(path) => scope
            .cursor_parts
            .and_then(|p| lookup(p, path))
            .cloned()
            .ok_or_else(|| missing(&format!("cursor.{}", path.join("."))))?,
        Var::Offset => Value::from(scope.offset),
        Var::Limit => Value::from(scope.limit),
        Var::Page => Value::from(scope.page),
        Var::Body(path) => scope
            .body
            .and_then(|b| lookup(b, path))
            .cloned()
            .ok_or_else(|| missing(&format!("body.{}", path.join("."))))?,
        Var::Record(path) => scope
            .record
            .and_then(|r| lookup(r, path))
            .filter(|v| !v.is_null())
            .cloned()
            .ok_or_else(|| missing(&format!("record.{}", path.join("."))))?,
        Var::Id => {
            let id = scope.id.ok_or_else(|| missing("id"))?;
            // JSON-RPC systems number their records: a plain integer goes
            // as a number, anything else (`00123`, `SO-1`) as text.
            match id.parse::<i64>() {
                Ok(n) if n.to_string() == id => Value::from(n),
                _ => Value::String(id.to_string()),
            }
        }
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod expr_tests;
