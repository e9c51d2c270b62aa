//! Record methods beyond plain writes: `message_post` on any `mail.thread`
//! model (a `mail.message` row a client reads back with `search_read` on
//! `mail.message`), the purchase workflow buttons, `action_archive` /
//! `action_unarchive`, and `unlink`.
//!
//! `message_post` follows Odoo 17's signature (keyword-only arguments): a
//! plain-text body is escaped and wrapped in `<p>` unless `body_is_html`,
//! the subtype comes from `subtype_id`, else `subtype_xmlid`, else
//! `mail.mt_note`; the author is the API user's partner. Followers,
//! notifications, attachments and the tracking messages Odoo writes on
//! field changes are not simulated.

use serde_json::{Map, Value, json};

use super::domain::truthy;
use super::error::OdooError;
use super::schema::{MESSAGE_TYPES, ModelDef, SUBTYPES, model};
use super::store::{seconds, stamp};
use super::write::{create_one, unlink, write_records};
use super::{State, UID, USER_PARTNER};

/// `model(1, 2)`, the repr of a recordset.
fn recordset(m: &ModelDef, ids: &[i64]) -> String {
    let inner: Vec<String> = ids.iter().map(i64::to_string).collect();
    match ids.len() {
        1 => format!("{}({},)", m.name, inner[0]),
        _ => format!("{}({})", m.name, inner.join(", ")),
    }
}

fn missing_record(m: &ModelDef, ids: &[i64]) -> OdooError {
    OdooError::missing(format!(
        "Record does not exist or has been deleted.\n(Record: {}, User: {UID})",
        recordset(m, ids)
    ))
}

fn ensure_exist(st: &State, m: &ModelDef, ids: &[i64]) -> Result<(), OdooError> {
    let gone: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !st.store.exists(m.name, *id))
        .collect();
    if gone.is_empty() {
        Ok(())
    } else {
        Err(missing_record(m, &gone))
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('\n', "<br>")
}

pub fn message_post(
    st: &mut State,
    m: &'static ModelDef,
    ids: &[i64],
    kw: &Map<String, Value>,
) -> Result<Value, OdooError> {
    if ids.len() != 1 {
        return Err(OdooError::value(format!(
            "Expected singleton: {}",
            recordset(m, ids)
        )));
    }
    let id = ids[0];
    ensure_exist(st, m, ids)?;
    let Some(messages) = model("mail.message") else {
        return Err(OdooError::user("Object mail.message doesn't exist"));
    };
    let get = |k: &str| kw.get(k).filter(|v| truthy(v));
    let message_type = kw
        .get("message_type")
        .cloned()
        .unwrap_or(json!("notification"));
    if !MESSAGE_TYPES.iter().any(|(k, _)| message_type == *k) {
        return Err(OdooError::value(format!(
            "Wrong value for mail.message.message_type: {}",
            super::error::py_repr(&message_type)
        )));
    }
    if message_type == "user_notification" {
        return Err(OdooError::value(
            "Posting a message should be done on a business document. Use message_notify to send a notification to an user.",
        ));
    }
    let subtype = match (get("subtype_id"), get("subtype_xmlid")) {
        (Some(sid), _) => sid.as_i64(),
        (None, Some(xmlid)) => {
            let xmlid = xmlid.as_str().unwrap_or_default();
            let found = SUBTYPES
                .iter()
                .find(|(_, x, _)| *x == xmlid)
                .map(|(id, ..)| *id);
            Some(found.ok_or_else(|| {
                OdooError::value(format!("External ID not found in the system: {xmlid}"))
            })?)
        }
        (None, None) => Some(2),
    };
    let body = match get("body") {
        Some(Value::String(b)) if kw.get("body_is_html").is_some_and(truthy) => json!(b),
        Some(Value::String(b)) => json!(format!("<p>{}</p>", escape_html(b))),
        Some(other) => json!(format!("<p>{}</p>", escape_html(&other.to_string()))),
        None => Value::Null,
    };
    let author = get("author_id").cloned().unwrap_or(json!(USER_PARTNER));
    let email_from = match get("email_from") {
        Some(v) => v.clone(),
        None => {
            let partner = author.as_i64().and_then(|p| st.store.row("res.partner", p));
            let name = partner
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let email = partner
                .and_then(|p| p.get("email"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            json!(format!("\"{name}\" <{email}>"))
        }
    };
    let mut vals = Map::new();
    vals.insert("body".into(), body);
    vals.insert("model".into(), json!(m.name));
    vals.insert("res_id".into(), json!(id));
    vals.insert(
        "record_name".into(),
        json!(st.store.display_name(m.name, id)),
    );
    vals.insert("message_type".into(), message_type);
    vals.insert("subtype_id".into(), json!(subtype));
    vals.insert("is_internal".into(), json!(subtype == Some(2)));
    vals.insert("author_id".into(), author);
    vals.insert("email_from".into(), email_from);
    vals.insert("date".into(), json!(seconds(st.now())));
    for k in ["subject", "parent_id", "partner_ids"] {
        if let Some(v) = get(k) {
            vals.insert(k.into(), v.clone());
        }
    }
    // Extra keywords end up as mail.message values, unknown names refused there.
    const SIGNATURE: [&str; 12] = [
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
    ];
    for (k, v) in kw.iter().filter(|(k, _)| !SIGNATURE.contains(&k.as_str())) {
        vals.insert(k.clone(), v.clone());
    }
    let message = create_one(st, messages, &vals)?;
    Ok(json!(message))
}

/// `button_confirm`, `button_cancel`, `action_archive`, `action_unarchive`, `unlink`.
pub fn run(
    st: &mut State,
    m: &'static ModelDef,
    method: &str,
    ids: &[i64],
) -> Result<Value, OdooError> {
    match method {
        "unlink" => return unlink(st, m, ids),
        "action_archive" | "action_unarchive" => {
            let archive = method == "action_archive";
            // Only the records whose state flips are written (and re-stamped).
            let flip: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|id| {
                    let active = st.store.row(m.name, *id).and_then(|r| r.get("active"))
                        == Some(&json!(true));
                    st.store.exists(m.name, *id) && active == archive
                })
                .collect();
            let mut vals = Map::new();
            vals.insert("active".into(), json!(!archive));
            write_records(st, m, &flip, &vals)?;
            // `toggle_active` returns None, which the JSON-RPC answer leaves out.
            return Ok(Value::Null);
        }
        _ => {}
    }
    ensure_exist(st, m, ids)?;
    let now = stamp(st.now());
    let approved = seconds(st.now());
    for id in ids {
        let state = st
            .store
            .row(m.name, *id)
            .and_then(|r| r.get("state"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let next = match (method, state.as_str()) {
            ("button_confirm", "draft" | "sent") => "purchase",
            ("button_confirm", _) => continue,
            ("button_cancel", "done") => {
                let name = st.store.display_name(m.name, *id).unwrap_or_default();
                return Err(OdooError::user(format!(
                    "Unable to cancel purchase order {name} as some receptions have already been done."
                )));
            }
            _ => "cancel",
        };
        let Some(row) = st.store.row_mut(m.name, *id) else {
            continue;
        };
        row.insert("state".into(), json!(next));
        if next == "purchase" {
            row.insert("date_approve".into(), json!(approved));
        }
        row.insert("write_date".into(), json!(now));
        row.insert("write_uid".into(), json!(UID));
    }
    Ok(json!(true))
}
