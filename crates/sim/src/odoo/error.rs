//! Odoo's error body: an exception as `JsonRPCDispatcher.handle_error`
//! serialises it (`odoo/http.py`, `serialize_exception`), and the Python
//! `repr` that Odoo's messages embed (`Invalid field hr.employee.foo in leaf
//! ('foo', '=', 1)`), so messages read as the server's own.
//!
//! Every exception reaches the client as HTTP 200 with
//! `{"code": 200, "message": "Odoo Server Error", "data": {name, debug,
//! message, arguments, context}}`; `name` is `module.Class` (builtins
//! included, as Odoo formats `type(exc).__module__`).

use serde_json::{Map, Value, json};

/// A Python exception raised while serving a call.
#[derive(Debug, Clone, PartialEq)]
pub struct OdooError {
    /// `module.Class`, e.g. `odoo.exceptions.AccessDenied`, `builtins.ValueError`.
    pub name: String,
    /// `str(exception)`.
    pub message: String,
    /// `exception.args`.
    pub arguments: Vec<Value>,
}

impl OdooError {
    /// An exception constructed with its message as the only argument, as
    /// Odoo's and most builtin exceptions are.
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        OdooError {
            name: name.to_string(),
            arguments: vec![Value::String(message.clone())],
            message,
        }
    }

    /// `odoo.exceptions.AccessDenied()`: bad db credentials or API key.
    pub fn access_denied() -> Self {
        Self::new("odoo.exceptions.AccessDenied", "Access Denied")
    }

    pub fn access(message: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.AccessError", message)
    }

    pub fn user(message: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.UserError", message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.ValidationError", message)
    }

    pub fn missing(message: impl Into<String>) -> Self {
        Self::new("odoo.exceptions.MissingError", message)
    }

    pub fn value(message: impl Into<String>) -> Self {
        Self::new("builtins.ValueError", message)
    }

    pub fn type_error(message: impl Into<String>) -> Self {
        Self::new("builtins.TypeError", message)
    }

    /// `KeyError(key)`: Python's `str()` of it is the key's repr.
    pub fn key(key: &Value) -> Self {
        OdooError {
            name: "builtins.KeyError".into(),
            message: py_repr(key),
            arguments: vec![key.clone()],
        }
    }

    /// An error PostgreSQL raised, as psycopg2 names it (`psycopg2.errors.X`).
    pub fn postgres(class: &str, message: impl Into<String>) -> Self {
        Self::new(&format!("psycopg2.errors.{class}"), message)
    }

    /// The `error` member of the JSON-RPC response.
    pub fn body(&self) -> Value {
        json!({
            "code": 200,
            "message": "Odoo Server Error",
            "data": {
                "name": self.name,
                "debug": self.debug(),
                "message": self.message,
                "arguments": self.arguments,
                "context": Value::Object(Map::new()),
            }
        })
    }

    /// `traceback.format_exc()`. The frames are the path every RPC call
    /// takes through Odoo 17; line numbers are illustrative, and no client
    /// should parse them.
    fn debug(&self) -> String {
        let short = self.name.strip_prefix("builtins.").unwrap_or(&self.name);
        format!(
            "Traceback (most recent call last):\n  \
             File \"/usr/lib/python3/dist-packages/odoo/http.py\", line 1788, in _serve_db\n    \
             return service_model.retrying(self._serve_ir_http, self.env)\n  \
             File \"/usr/lib/python3/dist-packages/odoo/http.py\", line 2177, in dispatch\n    \
             result = self.request.registry['ir.http']._dispatch(endpoint)\n  \
             File \"/usr/lib/python3/dist-packages/odoo/addons/base/controllers/rpc.py\", line 166, in jsonrpc\n    \
             return dispatch_rpc(service, method, args)\n\
             {short}: {}\n",
            self.message
        )
    }
}

/// Python's type name for a JSON value once `json.loads` has read it.
pub fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `repr()` of a JSON value as `json.loads` builds it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => py_float(f),
            _ => n.to_string(),
        },
        Value::String(s) => py_str(s),
        Value::Array(items) => format!("[{}]", join(items)),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// `repr(tuple(items))`, the form Odoo prints a domain leaf in.
pub fn py_tuple(items: &[Value]) -> String {
    if items.len() == 1 {
        return format!("({},)", py_repr(&items[0]));
    }
    format!("({})", join(items))
}

fn join(items: &[Value]) -> String {
    items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
}

fn py_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Single quotes unless the text holds one and no double quote, as Python does.
pub fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's wording for missing positional arguments:
/// `'a'`, `'a' and 'b'`, `'a', 'b', and 'c'`.
pub fn py_names(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        2 => format!("{} and {}", quoted[0], quoted[1]),
        n => format!("{}, and {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}
