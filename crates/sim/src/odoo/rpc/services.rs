//! `dispatch_rpc` and the three services behind `/jsonrpc`, with the
//! Python semantics of each step: `dict(params)` for the envelope, the
//! controller's `jsonrpc(service, method, args)` signature, the service
//! table lookup, `exp_<method>(*args)` in `common` and `db`, and in
//! `object` the `db, uid, password` unpacking, `security.check`, then
//! `execute_kw(db, uid, obj, method, args, kw=None)` or
//! `execute(db, uid, obj, method, *args)`.
//!
//! Credentials: the password or the API key, checked for the one API user;
//! a wrong database fails the way PostgreSQL refuses the connection, before
//! any credential is looked at. `common.login` and `common.authenticate`
//! answer `false` for bad credentials (Odoo 14+ catches `AccessDenied`
//! there); the object service raises `AccessDenied`.

use serde_json::{Map, Value, json};

use crate::odoo::convert::to_int;
use crate::odoo::domain::truthy;
use crate::odoo::error::{OdooError, py_names, py_repr, py_type};
use crate::odoo::{RequestLog, State, UID, orm};

/// Odoo 17.0's `common.version`.
fn version() -> Value {
    json!({
        "server_version": "17.0",
        "server_version_info": [17, 0, 0, "final", 0, ""],
        "server_serie": "17.0",
        "protocol_version": 1,
    })
}

/// Fills the log from a request body before it is served, so a faulted or
/// failing call is recorded with what it asked for.
pub(super) fn describe(request: &Map<String, Value>, log: &mut RequestLog) {
    log.id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(params) = request.get("params").and_then(Value::as_object) else {
        return;
    };
    log.service = params
        .get("service")
        .and_then(Value::as_str)
        .map(str::to_string);
    log.method = params
        .get("method")
        .and_then(Value::as_str)
        .map(str::to_string);
    let args: Vec<Value> = params
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match log.service.as_deref() {
        Some("object") => {
            log.db = args.first().and_then(Value::as_str).map(str::to_string);
            log.uid = args.get(1).cloned();
            log.model = args.get(3).and_then(Value::as_str).map(str::to_string);
            log.model_method = args.get(4).and_then(Value::as_str).map(str::to_string);
            if log.method.as_deref() == Some("execute_kw") {
                log.args = args
                    .get(5)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                log.kwargs = args
                    .get(6)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
            } else {
                log.args = args.get(5..).map(<[Value]>::to_vec).unwrap_or_default();
            }
        }
        _ => {
            log.db = args.first().and_then(Value::as_str).map(str::to_string);
            let mut shown = args;
            if let Some(password) = shown.get_mut(2)
                && matches!(log.method.as_deref(), Some("login" | "authenticate"))
            {
                *password = json!("[redacted]");
            }
            log.args = shown;
        }
    }
}

/// `dict(jsonrequest.get('params', {}))`: named parameters only.
fn params(v: Option<&Value>) -> Result<Map<String, Value>, OdooError> {
    let pairs: Vec<Value> = match v {
        None => return Ok(Map::new()),
        Some(Value::Object(map)) => return Ok(map.clone()),
        Some(Value::Array(items)) => items.clone(),
        Some(Value::String(s)) => s.chars().map(|c| json!(c.to_string())).collect(),
        Some(other) => {
            return Err(OdooError::type_error(format!(
                "'{}' object is not iterable",
                py_type(other)
            )));
        }
    };
    let mut map = Map::new();
    for (i, pair) in pairs.iter().enumerate() {
        let items: Vec<Value> = match pair {
            Value::Array(a) => a.clone(),
            Value::String(s) => s.chars().map(|c| json!(c.to_string())).collect(),
            Value::Object(o) => o.keys().map(|k| json!(k)).collect(),
            _ => {
                return Err(OdooError::type_error(format!(
                    "cannot convert dictionary update sequence element #{i} to a sequence"
                )));
            }
        };
        let [key, value] = items.as_slice() else {
            return Err(OdooError::value(format!(
                "dictionary update sequence element #{i} has length {}; 2 is required",
                items.len()
            )));
        };
        let Value::String(key) = key else {
            return Err(OdooError::type_error("keywords must be strings"));
        };
        map.insert(key.clone(), value.clone());
    }
    Ok(map)
}

/// `*args` of a Python call: a list as is, a string by characters, a dict by keys.
fn star_args(func: &str, v: &Value) -> Result<Vec<Value>, OdooError> {
    match v {
        Value::Array(items) => Ok(items.clone()),
        Value::String(s) => Ok(s.chars().map(|c| json!(c.to_string())).collect()),
        Value::Object(o) => Ok(o.keys().map(|k| json!(k)).collect()),
        other => Err(OdooError::type_error(format!(
            "{func}() argument after * must be an iterable, not {}",
            py_type(other)
        ))),
    }
}

/// Python's positional-arity check of a plain function.
fn arity(func: &str, names: &[&str], required: usize, given: usize) -> Result<(), OdooError> {
    if given > names.len() {
        let takes = if required == names.len() {
            format!(
                "{} positional argument{}",
                names.len(),
                if names.len() == 1 { "" } else { "s" }
            )
        } else {
            format!("from {required} to {} positional arguments", names.len())
        };
        let verb = if given == 1 { "was" } else { "were" };
        return Err(OdooError::type_error(format!(
            "{func}() takes {takes} but {given} {verb} given"
        )));
    }
    if given < required {
        let missing = &names[given..required];
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(OdooError::type_error(format!(
            "{func}() missing {} required positional argument{s}: {}",
            missing.len(),
            py_names(missing)
        )));
    }
    Ok(())
}

pub(super) fn dispatch(st: &mut State, request: &Map<String, Value>) -> Result<Value, OdooError> {
    let params = params(request.get("params"))?;
    let wanted = ["service", "method", "args"];
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|k| !params.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(OdooError::type_error(format!(
            "RPC.jsonrpc() missing {} required positional argument{s}: {}",
            missing.len(),
            py_names(&missing)
        )));
    }
    let service = &params["service"];
    let method = &params["method"];
    let args = &params["args"];
    if service.is_array() || service.is_object() {
        return Err(OdooError::type_error(format!(
            "unhashable type: '{}'",
            py_type(service)
        )));
    }
    match service.as_str() {
        Some("common") => common(st, method, args),
        Some("db") => db(st, method, args),
        Some("object") => object(st, method, args),
        _ => Err(OdooError::key(service)),
    }
}

fn method_name(method: &Value) -> Result<&str, OdooError> {
    method.as_str().ok_or_else(|| {
        OdooError::type_error(format!(
            "can only concatenate str (not \"{}\") to str",
            py_type(method)
        ))
    })
}

/// The database check `Registry(db)` makes by connecting to it.
fn check_db(st: &State, db: &Value) -> Result<(), OdooError> {
    if db.as_str() == Some(st.config.db.as_str()) {
        return Ok(());
    }
    let name = db.as_str().map_or_else(|| py_repr(db), str::to_string);
    Err(OdooError::new(
        "psycopg2.OperationalError",
        format!(
            "connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  database \"{name}\" does not exist\n"
        ),
    ))
}

fn credentials_ok(st: &State, password: &Value) -> bool {
    match password.as_str() {
        Some(p) if !p.is_empty() => p == st.config.password || p == st.config.api_key,
        _ => false,
    }
}

fn common(st: &mut State, method: &Value, args: &Value) -> Result<Value, OdooError> {
    let name = method_name(method)?;
    let func = format!("exp_{name}");
    let args = star_args(&func, args)?;
    let n = args.len();
    match name {
        "version" => arity(&func, &[], 0, n).map(|_| version()),
        "about" => {
            arity(&func, &["extended"], 0, n)?;
            let info = json!("See http://openerp.com");
            Ok(if args.first().is_some_and(truthy) {
                json!([info, "17.0"])
            } else {
                info
            })
        }
        "set_loglevel" => arity(&func, &["loglevel", "logger"], 1, n).map(|_| json!(true)),
        "login" | "authenticate" => {
            let names: &[&str] = if name == "login" {
                &["db", "login", "password"]
            } else {
                &["db", "login", "password", "user_agent_env"]
            };
            arity(&func, names, names.len(), n)?;
            check_db(st, &args[0])?;
            let ok =
                args[1].as_str() == Some(st.config.login.as_str()) && credentials_ok(st, &args[2]);
            Ok(if ok { json!(UID) } else { json!(false) })
        }
        _ => Err(OdooError::new(
            "builtins.Exception",
            format!("Method not found: {name}"),
        )),
    }
}

fn db(st: &mut State, method: &Value, args: &Value) -> Result<Value, OdooError> {
    let name = method_name(method)?;
    let func = format!("exp_{name}");
    let args = star_args(&func, args)?;
    match name {
        "list" => Ok(json!([st.config.db])),
        "db_exist" => {
            arity(&func, &["db_name"], 1, args.len())?;
            Ok(json!(args[0].as_str() == Some(st.config.db.as_str())))
        }
        "server_version" => Ok(json!("17.0")),
        "list_lang" => Ok(json!([["en_US", "English (US)"]])),
        // Everything else needs the master password, which this server has none of.
        "create_database"
        | "duplicate_database"
        | "drop"
        | "dump"
        | "restore"
        | "rename"
        | "change_admin_password"
        | "migrate_databases"
        | "list_countries" => Err(OdooError::access_denied()),
        _ => Err(OdooError::key(&json!(format!("Method not found: {name}")))),
    }
}

/// A Python subscriptable: lists by element, strings by character.
fn subscript(v: &Value) -> Result<Vec<Value>, OdooError> {
    match v {
        Value::Array(items) => Ok(items.clone()),
        Value::String(s) => Ok(s.chars().map(|c| json!(c.to_string())).collect()),
        Value::Object(_) => Err(OdooError::key(&json!(0))),
        other => Err(OdooError::type_error(format!(
            "'{}' object is not subscriptable",
            py_type(other)
        ))),
    }
}

fn object(st: &mut State, method: &Value, args: &Value) -> Result<Value, OdooError> {
    let params = subscript(args)?;
    if params.len() < 3 {
        return Err(OdooError::new(
            "builtins.IndexError",
            "list index out of range",
        ));
    }
    let uid = to_int(&params[1])?;
    check_db(st, &params[0])?;
    if uid != UID || !credentials_ok(st, &params[2]) {
        return Err(OdooError::access_denied());
    }
    let rest = &params[3..];
    let (model, model_method, call_args, kwargs) = match method.as_str() {
        Some("execute_kw") => {
            arity(
                "execute_kw",
                &["db", "uid", "obj", "method", "args", "kw"],
                5,
                rest.len() + 2,
            )?;
            let call_args = star_args("odoo.service.model.execute", &rest[2])?;
            let kwargs = match rest.get(3) {
                Some(Value::Object(map)) => map.clone(),
                Some(v) if truthy(v) => {
                    return Err(OdooError::type_error(format!(
                        "odoo.service.model.execute() argument after ** must be a mapping, not {}",
                        py_type(v)
                    )));
                }
                _ => Map::new(),
            };
            (&rest[0], &rest[1], call_args, kwargs)
        }
        Some("execute") => {
            if rest.len() < 2 {
                let missing = &["obj", "method"][rest.len()..];
                let s = if missing.len() == 1 { "" } else { "s" };
                return Err(OdooError::type_error(format!(
                    "execute() missing {} required positional argument{s}: {}",
                    missing.len(),
                    py_names(missing)
                )));
            }
            (&rest[0], &rest[1], rest[2..].to_vec(), Map::new())
        }
        _ => {
            let shown = method
                .as_str()
                .map_or_else(|| py_repr(method), str::to_string);
            return Err(OdooError::new(
                "builtins.NameError",
                format!("Method not available {shown}"),
            ));
        }
    };
    let Some(model_method) = model_method.as_str() else {
        return Err(OdooError::type_error(format!(
            "expected string or bytes-like object, got '{}'",
            py_type(model_method)
        )));
    };
    let model = model
        .as_str()
        .map_or_else(|| py_repr(model), str::to_string);
    orm::call(st, &model, model_method, &call_args, &kwargs)
}
