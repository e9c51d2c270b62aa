//! Deleting records: `unlink` as the API runs it, and the store-level
//! delete it and the test handle share.

use serde_json::{Value, json};

use super::foreign_key;
use crate::odoo::State;
use crate::odoo::error::OdooError;
use crate::odoo::schema::{Kind, MODELS, ModelDef};

/// `unlink` with Odoo's rules: a purchase order must be cancelled first,
/// and a record a required many2one elsewhere points at cannot go
/// (`ondelete='restrict'`), except an order's lines, which go with it.
/// Ids already gone are ignored, as Odoo ignores them.
pub fn unlink(st: &mut State, m: &ModelDef, ids: &[i64]) -> Result<Value, OdooError> {
    let ids: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| st.store.exists(m.name, *id))
        .collect();
    for id in &ids {
        if m.name == "purchase.order"
            && st.store.row(m.name, *id).and_then(|r| r.get("state")) != Some(&json!("cancel"))
        {
            return Err(OdooError::user(
                "In order to delete a purchase order, you must cancel it first.",
            ));
        }
        for other in MODELS {
            for f in other
                .fields
                .iter()
                .filter(|f| f.required && !f.computed && f.kind == Kind::Many2one(m.name))
            {
                if other.name == "purchase.order.line" && f.name == "order_id" {
                    continue;
                }
                let used = st.store.ids(other.name).into_iter().any(|o| {
                    st.store.row(other.name, o).and_then(|r| r.get(f.name)) == Some(&json!(id))
                });
                if used {
                    return Err(foreign_key(other, f));
                }
            }
        }
    }
    for id in ids {
        delete(st, m.name, id);
    }
    Ok(json!(true))
}

/// Removes a record: rows that require it go too, optional references are
/// emptied, many2many links dropped, and its chatter deleted.
pub fn delete(st: &mut State, model_name: &str, id: i64) -> bool {
    if st.store.remove(model_name, id).is_none() {
        return false;
    }
    for other in MODELS {
        for f in other.fields.iter().filter(|f| !f.computed) {
            for row_id in st.store.ids(other.name) {
                let points = st.store.row(other.name, row_id).and_then(|r| r.get(f.name))
                    == Some(&json!(id));
                match f.kind {
                    Kind::Many2one(target) if target == model_name && points && f.required => {
                        delete(st, other.name, row_id);
                    }
                    Kind::Many2one(target) if target == model_name && points => {
                        if let Some(row) = st.store.row_mut(other.name, row_id) {
                            row.insert(f.name.into(), Value::Null);
                        }
                    }
                    Kind::Many2many(target) if target == model_name => {
                        let links = st
                            .store
                            .row_mut(other.name, row_id)
                            .and_then(|r| r.get_mut(f.name));
                        if let Some(Value::Array(links)) = links {
                            links.retain(|l| l != &json!(id));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let messages: Vec<i64> = st
        .store
        .ids("mail.message")
        .into_iter()
        .filter(|mid| {
            st.store.row("mail.message", *mid).is_some_and(|r| {
                r.get("model") == Some(&json!(model_name)) && r.get("res_id") == Some(&json!(id))
            })
        })
        .collect();
    for mid in messages {
        st.store.remove("mail.message", mid);
    }
    true
}
