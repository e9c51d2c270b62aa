//! What changes records: `create` (one dict, or a list of them as Odoo 12+
//! takes) and `write` (`x2many` runs the commands inside them, `unlink`
//! deletes), with the defaults Odoo fills in and the constraint errors
//! PostgreSQL raises and `service/model.py::_as_validation_error` rewords
//! (a NOT NULL column, a foreign key, a unique constraint). `create_date`, `write_date` and their
//! users are stamped by the store, never by the client: Odoo drops those
//! keys from `write`. A change to a line re-stamps its order (the totals are
//! stored computed fields), and renaming or moving a department re-stamps
//! the departments below it (their `complete_name` changes).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

mod unlink;
mod x2many;

pub use unlink::{delete, unlink};

use super::convert::{Command, Converted, convert};
use super::error::{OdooError, py_repr, py_type};
use super::schema::{Field, Kind, ModelDef};
use super::store::{Row, seconds, stamp};
use super::{COMPANY, State, UID};
use x2many::run_commands;

fn not_null(m: &ModelDef, f: &Field) -> OdooError {
    let (description, name, label) = f.owner.unwrap_or((m.description, m.name, f.string));
    OdooError::validation(format!(
        "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- \
         Delete: another model requires the record being deleted. If possible, archive it \
         instead.\n\nModel: {description} ({name})\nField: {label} ({})\n",
        f.name
    ))
}

fn foreign_key(m: &ModelDef, f: &Field) -> OdooError {
    OdooError::validation(format!(
        "The operation cannot be completed: another model requires the record being deleted. \
         If possible, archive it instead.\n\nModel: {} ({})\nConstraint: {}_{}_fkey\n",
        m.description,
        m.name,
        m.table(),
        f.name
    ))
}

fn unique(message: &str) -> OdooError {
    OdooError::validation(format!("The operation cannot be completed: {message}"))
}

/// Refuses names the model does not have, before anything is written.
fn check_names(m: &ModelDef, vals: &Map<String, Value>) -> Result<(), OdooError> {
    match vals.keys().find(|k| m.field(k).is_none()) {
        Some(k) => Err(OdooError::value(format!(
            "Invalid field '{k}' on model '{}'",
            m.name
        ))),
        None => Ok(()),
    }
}

type Pending = Vec<(&'static Field, Vec<Command>)>;

/// Converts `vals` into `row`; x2many commands are returned to run once the
/// record exists. Magic and computed fields are skipped, as Odoo skips them.
fn apply_vals(
    m: &ModelDef,
    vals: &Map<String, Value>,
    row: &mut Row,
) -> Result<Pending, OdooError> {
    let mut pending = Vec::new();
    for (k, v) in vals {
        let Some(f) = m.field(k) else { continue };
        if f.is_magic() || (f.computed && !f.kind.is_x2many()) {
            continue;
        }
        match convert(m, f, v)? {
            Converted::Column(c) => {
                row.insert(k.clone(), c);
            }
            Converted::Commands(c) => pending.push((f, c)),
        }
    }
    Ok(pending)
}

pub fn create(st: &mut State, m: &'static ModelDef, vals: &Value) -> Result<Value, OdooError> {
    let no_items = |t: &Value| {
        OdooError::new(
            "builtins.AttributeError",
            format!("'{}' object has no attribute 'items'", py_type(t)),
        )
    };
    match vals {
        Value::Object(v) => Ok(json!(create_one(st, m, v)?)),
        Value::Array(list) => {
            let mut ids = Vec::new();
            for item in list {
                let Value::Object(v) = item else {
                    return Err(no_items(item));
                };
                ids.push(create_one(st, m, v)?);
            }
            Ok(json!(ids))
        }
        Value::String(_) => Err(no_items(vals)),
        other => Err(OdooError::type_error(format!(
            "'{}' object is not iterable",
            py_type(other)
        ))),
    }
}

pub(super) fn create_one(
    st: &mut State,
    m: &'static ModelDef,
    vals: &Map<String, Value>,
) -> Result<i64, OdooError> {
    check_names(m, vals)?;
    let now = st.now();
    let mut row = defaults(st, m, now);
    let pending = apply_vals(m, vals, &mut row)?;
    fill_in(st, m, &mut row, now);
    check_row(st, m, None, &row)?;
    let stamp = stamp(now);
    for k in ["create_date", "write_date"] {
        row.insert(k.into(), json!(stamp));
    }
    for k in ["create_uid", "write_uid"] {
        row.insert(k.into(), json!(UID));
    }
    let id = st.store.insert(m.name, row);
    for (f, commands) in pending {
        run_commands(st, f, id, commands)?;
    }
    let changed: Vec<&str> = vals.keys().map(String::as_str).collect();
    after_change(st, m, id, &changed);
    Ok(id)
}

pub fn write(
    st: &mut State,
    m: &'static ModelDef,
    ids: &[i64],
    vals: &Value,
) -> Result<Value, OdooError> {
    if ids.is_empty() {
        return Ok(json!(true));
    }
    let Value::Object(vals) = vals else {
        return Err(OdooError::new(
            "builtins.AttributeError",
            format!("'{}' object has no attribute 'keys'", py_type(vals)),
        ));
    };
    write_records(st, m, ids, vals)?;
    Ok(json!(true))
}

pub(super) fn write_records(
    st: &mut State,
    m: &'static ModelDef,
    ids: &[i64],
    vals: &Map<String, Value>,
) -> Result<(), OdooError> {
    check_names(m, vals)?;
    let mut changes = Row::new();
    let pending = apply_vals(m, vals, &mut changes)?;
    let missing: Vec<Value> = ids
        .iter()
        .filter(|id| !st.store.exists(m.name, **id))
        .map(|id| json!(id))
        .collect();
    if !missing.is_empty() {
        return Err(OdooError::missing(format!(
            "One of the records you are trying to modify has already been deleted (Document \
             type: {}).\n\n(Records: {}, User: {UID})",
            m.description,
            py_repr(&Value::Array(missing))
        )));
    }
    let now = stamp(st.now());
    for id in ids {
        let mut row = st.store.row(m.name, *id).cloned().unwrap_or_default();
        row.extend(changes.clone());
        check_row(st, m, Some(*id), &row)?;
        row.insert("write_date".into(), json!(now));
        row.insert("write_uid".into(), json!(UID));
        if let Some(slot) = st.store.row_mut(m.name, *id) {
            *slot = row;
        }
        for (f, commands) in pending.clone() {
            run_commands(st, f, *id, commands)?;
        }
        let changed: Vec<&str> = vals.keys().map(String::as_str).collect();
        after_change(st, m, *id, &changed);
    }
    Ok(())
}

/// NOT NULL, then CHECK, then UNIQUE, then FOREIGN KEY, the order
/// PostgreSQL checks a row in.
fn check_row(st: &State, m: &ModelDef, id: Option<i64>, row: &Row) -> Result<(), OdooError> {
    let unset = |f: &Field| row.get(f.name).is_none_or(Value::is_null);
    if let Some(f) = m
        .fields
        .iter()
        .find(|f| f.required && !f.computed && f.store && unset(f))
    {
        return Err(not_null(m, f));
    }
    if m.name == "res.partner"
        && row
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(|t| t == "contact")
        && row.get("name").is_none_or(Value::is_null)
    {
        return Err(unique("Contacts require a name"));
    }
    if m.name == "hr.employee"
        && let Some(badge) = row.get("barcode").filter(|b| !b.is_null())
    {
        let taken = st.store.ids(m.name).into_iter().any(|other| {
            Some(other) != id
                && st.store.row(m.name, other).and_then(|r| r.get("barcode")) == Some(badge)
        });
        if taken {
            return Err(unique(
                "The Badge ID must be unique, this one is already assigned to another employee.",
            ));
        }
    }
    for f in m.fields.iter().filter(|f| !f.computed) {
        if let (Kind::Many2one(comodel), Some(target)) =
            (f.kind, row.get(f.name).and_then(Value::as_i64))
            && !st.store.exists(comodel, target)
        {
            return Err(foreign_key(m, f));
        }
    }
    Ok(())
}

fn defaults(st: &State, m: &ModelDef, now: DateTime<Utc>) -> Row {
    let mut row = Row::new();
    if m.has_active() {
        row.insert("active".into(), json!(true));
    }
    let company_currency = st
        .store
        .row("res.company", COMPANY)
        .and_then(|c| c.get("currency_id"))
        .cloned()
        .unwrap_or(Value::Null);
    let pairs: Vec<(&str, Value)> = match m.name {
        "hr.department" => vec![("company_id", json!(COMPANY))],
        "hr.employee" => vec![
            ("company_id", json!(COMPANY)),
            ("employee_type", json!("employee")),
        ],
        "purchase.order" => vec![
            ("name", json!("New")),
            ("state", json!("draft")),
            ("priority", json!("0")),
            ("date_order", json!(seconds(now))),
            ("currency_id", company_currency),
            ("user_id", json!(UID)),
            ("company_id", json!(COMPANY)),
            ("invoice_status", json!("no")),
        ],
        "purchase.order.line" => vec![("sequence", json!(10)), ("qty_received", json!(0.0))],
        "res.partner" => vec![
            ("type", json!("contact")),
            ("is_company", json!(false)),
            ("supplier_rank", json!(0)),
            ("customer_rank", json!(0)),
        ],
        "product.product" => vec![
            ("type", json!("consu")),
            ("list_price", json!(1.0)),
            ("standard_price", json!(0.0)),
            ("uom_name", json!("Units")),
        ],
        "res.users" => vec![("company_id", json!(COMPANY))],
        "res.currency" => vec![("rounding", json!(0.01)), ("position", json!("after"))],
        "mail.message" => vec![
            ("message_type", json!("comment")),
            ("date", json!(seconds(now))),
        ],
        _ => Vec::new(),
    };
    for (k, v) in pairs {
        row.insert(k.into(), v);
    }
    row
}

/// What Odoo computes on create when the client leaves it out: the order
/// reference from the `purchase.order` sequence, a line's description,
/// price and quantity from its product.
fn fill_in(st: &State, m: &ModelDef, row: &mut Row, now: DateTime<Utc>) {
    match m.name {
        "purchase.order" if row.get("name") == Some(&json!("New")) => {
            let last = st
                .store
                .ids(m.name)
                .into_iter()
                .filter_map(|id| {
                    st.store
                        .row(m.name, id)?
                        .get("name")?
                        .as_str()?
                        .strip_prefix('P')?
                        .parse::<u32>()
                        .ok()
                })
                .max()
                .unwrap_or(0);
            row.insert("name".into(), json!(format!("P{:05}", last + 1)));
        }
        "purchase.order.line" => {
            let product = row.get("product_id").and_then(Value::as_i64);
            let from_product = |field: &str| {
                product
                    .and_then(|p| st.store.row("product.product", p))
                    .and_then(|r| r.get(field))
                    .cloned()
            };
            if !row.contains_key("name")
                && let Some(name) =
                    product.and_then(|p| st.store.display_name("product.product", p))
            {
                let text = match from_product("description_purchase")
                    .as_ref()
                    .and_then(Value::as_str)
                {
                    Some(extra) => format!("{name}\n{extra}"),
                    None => name,
                };
                row.insert("name".into(), json!(text));
            }
            if !row.contains_key("price_unit") {
                row.insert(
                    "price_unit".into(),
                    from_product("standard_price").unwrap_or(json!(0.0)),
                );
            }
            if !row.contains_key("product_qty") {
                row.insert("product_qty".into(), json!(1.0));
            }
            if !row.contains_key("date_planned") {
                row.insert("date_planned".into(), json!(seconds(now)));
            }
        }
        _ => {}
    }
}

/// Re-stamps records whose stored computed values a change altered.
fn after_change(st: &mut State, m: &ModelDef, id: i64, changed: &[&str]) {
    let now = json!(stamp(st.now()));
    let bump = |st: &mut State, model: &str, id: i64| {
        if let Some(row) = st.store.row_mut(model, id) {
            row.insert("write_date".into(), now.clone());
        }
    };
    match m.name {
        "purchase.order.line" => {
            if let Some(order) = st
                .store
                .row(m.name, id)
                .and_then(|r| r.get("order_id"))
                .and_then(Value::as_i64)
            {
                bump(st, "purchase.order", order);
            }
        }
        "hr.department" if changed.iter().any(|c| *c == "name" || *c == "parent_id") => {
            let mut frontier = vec![id];
            while let Some(parent) = frontier.pop() {
                for child in st.store.children("hr.department", "parent_id", parent) {
                    bump(st, "hr.department", child);
                    frontier.push(child);
                }
            }
        }
        _ => {}
    }
}
