//! x2many commands run for a record that exists: on a one2many by writing
//! the inverse many2one of the lines (a line whose inverse is required, an
//! order's line, is deleted rather than orphaned, as Odoo does), on a
//! many2many by rewriting the stored id list.

use serde_json::{Map, Value, json};

use super::{create_one, delete, write_records};
use crate::odoo::State;
use crate::odoo::convert::Command;
use crate::odoo::error::OdooError;
use crate::odoo::schema::{Field, Kind, MODELS, model};

/// Runs x2many commands for the record `id` owning field `f`.
pub(super) fn run_commands(
    st: &mut State,
    f: &'static Field,
    id: i64,
    commands: Vec<Command>,
) -> Result<(), OdooError> {
    let Some(cm) = f.kind.comodel().and_then(model) else {
        return Ok(());
    };
    if let Kind::One2many(_, inverse) = f.kind {
        let detach = |st: &mut State, child: i64| -> Result<(), OdooError> {
            // A required inverse (a line's order) cannot be emptied: Odoo deletes the line.
            if cm.field(inverse).is_some_and(|i| i.required) {
                delete(st, cm.name, child);
                Ok(())
            } else {
                write_records(st, cm, &[child], &one(inverse, Value::Null))
            }
        };
        for command in commands {
            match command {
                Command::Create(mut vals) => {
                    vals.insert(inverse.into(), json!(id));
                    create_one(st, cm, &vals)?;
                }
                Command::Update(child, vals) => write_records(st, cm, &[child], &vals)?,
                Command::Delete(child) => {
                    delete(st, cm.name, child);
                }
                Command::Unlink(child) => detach(st, child)?,
                Command::Link(child) => write_records(st, cm, &[child], &one(inverse, json!(id)))?,
                Command::Clear | Command::Set(_) => {
                    let keep = match &command {
                        Command::Set(ids) => ids.clone(),
                        _ => Vec::new(),
                    };
                    for child in st.store.children(cm.name, inverse, id) {
                        if !keep.contains(&child) {
                            detach(st, child)?;
                        }
                    }
                    for child in keep {
                        write_records(st, cm, &[child], &one(inverse, json!(id)))?;
                    }
                }
            }
        }
        return Ok(());
    }
    let owner = MODELS
        .iter()
        .find(|m| m.fields.iter().any(|x| std::ptr::eq(x, f)));
    let Some(owner) = owner else { return Ok(()) };
    let mut ids: Vec<i64> = st
        .store
        .row(owner.name, id)
        .and_then(|r| r.get(f.name))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default();
    for command in commands {
        match command {
            Command::Create(vals) => ids.push(create_one(st, cm, &vals)?),
            Command::Update(other, vals) => write_records(st, cm, &[other], &vals)?,
            Command::Delete(other) => {
                delete(st, cm.name, other);
                ids.retain(|i| *i != other);
            }
            Command::Unlink(other) => ids.retain(|i| *i != other),
            Command::Link(other) if !ids.contains(&other) => ids.push(other),
            Command::Link(_) => {}
            Command::Clear => ids.clear(),
            Command::Set(set) => ids = set,
        }
    }
    ids.retain(|i| st.store.exists(cm.name, *i));
    if let Some(row) = st.store.row_mut(owner.name, id) {
        row.insert(f.name.into(), json!(ids));
    }
    Ok(())
}

fn one(field: &str, value: Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(field.into(), value);
    map
}
