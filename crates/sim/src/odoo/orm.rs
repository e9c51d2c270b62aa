//! The model methods the object service calls, as `odoo.api.call_kw` calls
//! them: private names refused, the model looked up, `context` taken out of
//! the keyword arguments, the record ids split off for record methods, and
//! the rest bound to the method's Python signature (positional, keyword or
//! both, with Python's own `TypeError`s). This module owns the read side
//! (`search_read`, `search`, `search_count`, `read`, `fields_get`); `write`
//! owns what changes data.

use serde_json::{Map, Value, json};

use super::domain::{self, truthy};
use super::error::{OdooError, py_names, py_type};
use super::order;
use super::schema::{Field, Kind, ModelDef, model};
use super::store::Store;
use super::{State, actions, write};

/// A method's Python signature after `self` (and the ids, for record methods).
struct Sig<'a> {
    qual: &'a str,
    params: &'static [&'static str],
    required: usize,
    kwonly: &'static [&'static str],
    /// Takes `**kwargs`.
    var_kw: bool,
}

const fn sig<'a>(qual: &'a str, params: &'static [&'static str], required: usize) -> Sig<'a> {
    Sig {
        qual,
        params,
        required,
        kwonly: &[],
        var_kw: false,
    }
}

const SEARCH_READ: Sig<'static> = Sig {
    var_kw: true,
    ..sig(
        "BaseModel.search_read",
        &["domain", "fields", "offset", "limit", "order"],
        0,
    )
};
const SEARCH: Sig<'static> = sig(
    "BaseModel.search",
    &["domain", "offset", "limit", "order"],
    1,
);
const SEARCH_COUNT: Sig<'static> = sig("BaseModel.search_count", &["domain", "limit"], 1);
const READ: Sig<'static> = sig("BaseModel.read", &["fields", "load"], 0);
const FIELDS_GET: Sig<'static> = sig("BaseModel.fields_get", &["allfields", "attributes"], 0);
const CREATE: Sig<'static> = sig("BaseModel.create", &["vals_list"], 1);
const WRITE: Sig<'static> = sig("BaseModel.write", &["vals"], 1);
const MESSAGE_POST: Sig<'static> = Sig {
    kwonly: &[
        "body",
        "subject",
        "message_type",
        "email_from",
        "author_id",
        "parent_id",
        "subtype_xmlid",
        "subtype_id",
        "partner_ids",
        "attachments",
        "attachment_ids",
        "body_is_html",
    ],
    var_kw: true,
    ..sig("MailThread.message_post", &[], 0)
};

/// The names of a model method's arguments, in position order, the record
/// ids first for record methods (for reading a logged call back).
pub fn param_names(method: &str) -> &'static [&'static str] {
    match method {
        "search_read" => &["domain", "fields", "offset", "limit", "order"],
        "search" => &["domain", "offset", "limit", "order"],
        "search_count" => &["domain", "limit"],
        "read" => &["ids", "fields", "load"],
        "fields_get" => &["allfields", "attributes"],
        "create" => &["vals_list"],
        "write" => &["ids", "vals"],
        _ => &["ids"],
    }
}

/// Arguments bound to a signature: one slot per parameter, then the
/// keyword-only and extra keyword arguments.
struct Bound {
    slots: Vec<Option<Value>>,
    keywords: Map<String, Value>,
}

impl Bound {
    fn get(&self, i: usize) -> Option<&Value> {
        self.slots.get(i).and_then(Option::as_ref)
    }
}

fn bind(sig: &Sig, args: &[Value], kwargs: &Map<String, Value>) -> Result<Bound, OdooError> {
    let q = sig.qual;
    let n = sig.params.len();
    if args.len() > n {
        let given = args.len() + 1;
        let takes = if sig.required == n {
            let s = if n == 0 { "" } else { "s" };
            format!("{} positional argument{s}", n + 1)
        } else {
            format!(
                "from {} to {} positional arguments",
                sig.required + 1,
                n + 1
            )
        };
        return Err(OdooError::type_error(format!(
            "{q}() takes {takes} but {given} were given"
        )));
    }
    let mut slots: Vec<Option<Value>> = (0..n).map(|i| args.get(i).cloned()).collect();
    let mut keywords = Map::new();
    for (k, v) in kwargs {
        if let Some(i) = sig.params.iter().position(|p| p == k) {
            if slots[i].is_some() {
                return Err(OdooError::type_error(format!(
                    "{q}() got multiple values for argument '{k}'"
                )));
            }
            slots[i] = Some(v.clone());
        } else if sig.kwonly.contains(&k.as_str()) || sig.var_kw {
            keywords.insert(k.clone(), v.clone());
        } else {
            return Err(OdooError::type_error(format!(
                "{q}() got an unexpected keyword argument '{k}'"
            )));
        }
    }
    let missing: Vec<&str> = sig.params[..sig.required]
        .iter()
        .zip(&slots)
        .filter(|(_, v)| v.is_none())
        .map(|(p, _)| *p)
        .collect();
    if !missing.is_empty() {
        let s = if missing.len() == 1 { "" } else { "s" };
        return Err(OdooError::type_error(format!(
            "{q}() missing {} required positional argument{s}: {}",
            missing.len(),
            py_names(&missing)
        )));
    }
    Ok(Bound { slots, keywords })
}

/// `model.method(*args, **kwargs)` as the object service runs it for the
/// API user, in one transaction: a call that fails changes nothing (a list
/// given to `create` is created whole or not at all).
pub fn call(
    st: &mut State,
    model_name: &str,
    method: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, OdooError> {
    let reads = matches!(
        method,
        "search_read" | "search" | "search_count" | "read" | "fields_get"
    );
    let before = (!reads).then(|| st.store.clone());
    let outcome = call_in_transaction(st, model_name, method, args, kwargs);
    if let (Err(_), Some(before)) = (&outcome, before) {
        st.store = before;
    }
    outcome
}

fn call_in_transaction(
    st: &mut State,
    model_name: &str,
    method: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, OdooError> {
    if method.starts_with('_') {
        return Err(OdooError::access(format!(
            "Private methods (such as {method}) cannot be called remotely."
        )));
    }
    let m = model(model_name)
        .ok_or_else(|| OdooError::user(format!("Object {model_name} doesn't exist")))?;
    let mut kwargs = kwargs.clone();
    let context = kwargs.remove("context");
    let active_test = context
        .as_ref()
        .and_then(|c| c.get("active_test"))
        .is_none_or(truthy);
    let store = &st.store;
    match method {
        "search_read" => {
            let b = bind(&SEARCH_READ, args, &kwargs)?;
            let classic = read_load(&b.keywords, "BaseModel._read_format")?;
            let fields = resolve_fields(m, b.get(1))?;
            let ids = search(store, m, &b, [0, 2, 3, 4], active_test)?;
            Ok(render(store, m, &ids, &fields, classic))
        }
        "search" => {
            let b = bind(&SEARCH, args, &kwargs)?;
            Ok(json!(search(store, m, &b, [0, 1, 2, 3], active_test)?))
        }
        "search_count" => {
            let b = bind(&SEARCH_COUNT, args, &kwargs)?;
            let everything = Bound {
                slots: vec![b.get(0).cloned()],
                keywords: Map::new(),
            };
            // Only the domain: slots past the end read as "not given".
            let ids = search(store, m, &everything, [0, 1, 1, 1], active_test)?;
            let cap = int_arg(b.get(1), "LIMIT")?.filter(|l| *l > 0);
            Ok(json!(cap.map_or(ids.len(), |c| ids.len().min(c as usize))))
        }
        "fields_get" => {
            let b = bind(&FIELDS_GET, args, &kwargs)?;
            Ok(fields_get(m, b.get(0), b.get(1)))
        }
        "create" => {
            let b = bind(&CREATE, args, &kwargs)?;
            write::create(st, m, b.get(0).unwrap_or(&Value::Null))
        }
        _ => record_method(st, m, method, args, &kwargs),
    }
}

fn record_method(
    st: &mut State,
    m: &'static ModelDef,
    method: &str,
    args: &[Value],
    kwargs: &Map<String, Value>,
) -> Result<Value, OdooError> {
    let exists = match method {
        "read" | "write" | "unlink" => true,
        "message_post" => m.thread,
        "button_confirm" | "button_cancel" => m.name == "purchase.order",
        "action_archive" | "action_unarchive" => m.has_active(),
        _ => false,
    };
    if !exists {
        return Err(OdooError::new(
            "builtins.AttributeError",
            format!(
                "The method '{method}' does not exist on the model '{}'",
                m.name
            ),
        ));
    }
    let Some((ids, rest)) = args.split_first() else {
        return Err(OdooError::new(
            "builtins.IndexError",
            "tuple index out of range",
        ));
    };
    let ids = record_ids(ids)?;
    match method {
        "read" => {
            let b = bind(&READ, rest, kwargs)?;
            let classic = b.get(1).is_none_or(truthy);
            let fields = resolve_fields(m, b.get(0))?;
            let ids: Vec<i64> = ids
                .into_iter()
                .filter(|id| st.store.exists(m.name, *id))
                .collect();
            Ok(render(&st.store, m, &ids, &fields, classic))
        }
        "write" => {
            let b = bind(&WRITE, rest, kwargs)?;
            write::write(st, m, &ids, b.get(0).unwrap_or(&Value::Null))
        }
        "message_post" => {
            let b = bind(&MESSAGE_POST, rest, kwargs)?;
            actions::message_post(st, m, &ids, &b.keywords)
        }
        _ => {
            let qual = match method {
                "unlink" | "action_archive" | "action_unarchive" => "BaseModel",
                _ => "PurchaseOrder",
            };
            let qual = format!("{qual}.{method}");
            bind(&sig(&qual, &[], 0), rest, kwargs)?;
            actions::run(st, m, method, &ids)
        }
    }
}

/// `browse(ids)`: one id or a list; `False` is no record.
fn record_ids(v: &Value) -> Result<Vec<i64>, OdooError> {
    let invalid = |v: &Value| {
        let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        OdooError::postgres(
            "InvalidTextRepresentation",
            format!("invalid input syntax for type integer: \"{text}\"\n"),
        )
    };
    match v {
        Value::Null | Value::Bool(false) => Ok(Vec::new()),
        Value::Number(n) => n.as_i64().map(|i| vec![i]).ok_or_else(|| invalid(v)),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_i64().ok_or_else(|| invalid(i)))
            .collect(),
        other => Err(invalid(other)),
    }
}

/// `load` of `read`/`_read_format`; any other extra keyword is refused by it.
fn read_load(keywords: &Map<String, Value>, qual: &str) -> Result<bool, OdooError> {
    if let Some(k) = keywords.keys().find(|k| *k != "load") {
        return Err(OdooError::type_error(format!(
            "{qual}() got an unexpected keyword argument '{k}'"
        )));
    }
    Ok(keywords.get("load").is_none_or(truthy))
}

/// The fields to read: all when none are named; an unknown name fails
/// as `_determine_fields_to_fetch` fails. A string is iterated, as Python does.
fn resolve_fields(m: &ModelDef, fields: Option<&Value>) -> Result<Vec<&'static Field>, OdooError> {
    let names: Vec<Value> = match fields {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => s.chars().map(|c| json!(c.to_string())).collect(),
        Some(v) if truthy(v) => {
            return Err(OdooError::type_error(format!(
                "'{}' object is not iterable",
                py_type(v)
            )));
        }
        _ => Vec::new(),
    };
    if names.is_empty() {
        return Ok(m.all_fields().filter(|f| f.name != "id").collect());
    }
    names
        .iter()
        .filter(|n| *n != "id")
        .map(|n| {
            n.as_str().and_then(|s| m.field(s)).ok_or_else(|| {
                let shown = n
                    .as_str()
                    .map_or_else(|| n.to_string(), |s| format!("'{s}'"));
                OdooError::value(format!("Invalid field {shown} on model '{}'", m.name))
            })
        })
        .collect()
}

/// A bound `offset`/`limit`: PostgreSQL casts text, refuses negatives.
fn int_arg(v: Option<&Value>, clause: &str) -> Result<Option<i64>, OdooError> {
    let n = match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Bool(true)) => 1,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0).round() as i64,
        Some(Value::String(s)) => s.trim().parse::<i64>().map_err(|_| {
            OdooError::postgres(
                "InvalidTextRepresentation",
                format!("invalid input syntax for type bigint: \"{s}\"\n"),
            )
        })?,
        Some(other) => {
            return Err(OdooError::new(
                "psycopg2.ProgrammingError",
                format!("can't adapt type '{}'", py_type(other)),
            ));
        }
    };
    if n < 0 {
        let class = if clause == "LIMIT" {
            "InvalidRowCountInLimitClause"
        } else {
            "InvalidRowCountInResultOffsetClause"
        };
        return Err(OdooError::postgres(
            class,
            format!("{clause} must not be negative\n"),
        ));
    }
    Ok(Some(n))
}

/// `_search`: the domain, then the order, then `OFFSET` and `LIMIT` (a
/// zero limit is no limit, as in Odoo's query builder). `at` gives the
/// slots of domain, offset, limit and order in `b`.
fn search(
    store: &Store,
    m: &'static ModelDef,
    b: &Bound,
    at: [usize; 4],
    active_test: bool,
) -> Result<Vec<i64>, OdooError> {
    let node = domain::compile(store, m, b.get(at[0]), active_test)?;
    let terms = order::parse(m, b.get(at[3]))?;
    let offset = int_arg(b.get(at[1]), "OFFSET")?.unwrap_or(0);
    let limit = int_arg(b.get(at[2]), "LIMIT")?.filter(|l| *l > 0);
    let mut ids = node.filter(store, m);
    order::sort(store, m, &mut ids, &terms);
    let page = ids.into_iter().skip(offset as usize);
    Ok(match limit {
        Some(l) => page.take(l as usize).collect(),
        None => page.collect(),
    })
}

fn render(store: &Store, m: &ModelDef, ids: &[i64], fields: &[&Field], classic: bool) -> Value {
    Value::Array(
        ids.iter()
            .filter_map(|id| store.render(m, *id, fields, classic))
            .collect(),
    )
}

/// Records of `model_name` with every field, as `read` with no `fields`.
pub fn read_all(store: &Store, model_name: &str, ids: &[i64]) -> Vec<Value> {
    let Some(m) = model(model_name) else {
        return Vec::new();
    };
    let fields: Vec<&Field> = m.all_fields().filter(|f| f.name != "id").collect();
    ids.iter()
        .filter_map(|id| store.render(m, *id, &fields, true))
        .collect()
}

/// `fields_get`: each field's description, limited to `allfields` and to
/// the `attributes` asked for.
fn fields_get(m: &ModelDef, allfields: Option<&Value>, attributes: Option<&Value>) -> Value {
    let wanted = |list: Option<&Value>, name: &str| match list.and_then(Value::as_array) {
        Some(names) if !names.is_empty() => names.iter().any(|n| n == name),
        _ => true,
    };
    let mut out = Map::new();
    for f in m.all_fields().filter(|f| wanted(allfields, f.name)) {
        let mut d = Map::new();
        d.insert("name".into(), json!(f.name));
        d.insert("type".into(), json!(f.kind.type_name()));
        d.insert("string".into(), json!(f.string));
        d.insert("required".into(), json!(f.required));
        d.insert("readonly".into(), json!(f.readonly));
        d.insert("store".into(), json!(f.store));
        d.insert(
            "searchable".into(),
            json!(f.store || f.name == "display_name"),
        );
        d.insert("sortable".into(), json!(f.store));
        d.insert("groupable".into(), json!(f.store));
        d.insert("manual".into(), json!(false));
        d.insert("company_dependent".into(), json!(false));
        d.insert("exportable".into(), json!(true));
        if let Some(comodel) = f.kind.comodel() {
            d.insert("relation".into(), json!(comodel));
        }
        if let Kind::One2many(_, inverse) = f.kind {
            d.insert("relation_field".into(), json!(inverse));
        }
        if let Kind::Selection(options) = f.kind {
            let pairs: Vec<Value> = options.iter().map(|(k, l)| json!([k, l])).collect();
            d.insert("selection".into(), Value::Array(pairs));
        }
        if f.name == "res_id" {
            d.insert("model_field".into(), json!("model"));
        }
        d.retain(|k, _| wanted(attributes, k));
        out.insert(f.name.to_string(), Value::Object(d));
    }
    Value::Object(out)
}
