//! The rules TOPdesk runs after a write has been applied: priority from
//! the impact x urgency matrix, and processing status and flags
//! (completed, closed, on hold) kept in step, with their dates.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::super::State;
use super::super::seed::{StatusFlags, fmt_time};

/// The environment's priority matrix: impact and urgency (each widest or
/// most urgent first) give the priority, unless one is given explicitly.
pub(super) fn priority_from_matrix(
    st: &State,
    inc: &mut Map<String, Value>,
    body: &Map<String, Value>,
) {
    let touched = body.contains_key("impact") || body.contains_key("urgency");
    if !touched || body.contains_key("priority") {
        return;
    }
    let index = |field: &str| {
        let id = inc.get(field)?.get("id")?.as_str()?;
        st.catalog
            .lists
            .get(field)?
            .iter()
            .position(|e| e["id"].as_str() == Some(id))
    };
    if let (Some(i), Some(u)) = (index("impact"), index("urgency"))
        && let Some(p) = st
            .catalog
            .lists
            .get("priority")
            .and_then(|l| l.get((i + u).min(l.len().saturating_sub(1))))
    {
        inc.insert("priority".into(), p.clone());
    }
}

/// Keeps processing status and flags in step: a given status sets the flags;
/// given flags pick a status that has them; dates are stamped and cleared.
pub(super) fn follow_status(
    st: &State,
    inc: &mut Map<String, Value>,
    body: &Map<String, Value>,
    now: DateTime<Utc>,
) {
    let flag =
        |inc: &Map<String, Value>, k: &str| inc.get(k).and_then(Value::as_bool) == Some(true);
    if body.contains_key("processingStatus") {
        let flags = inc
            .get("processingStatus")
            .and_then(|s| s["id"].as_str())
            .and_then(|id| st.catalog.status_flags.get(id).copied());
        if let Some(f) = flags {
            inc.insert("completed".into(), json!(f.completed));
            inc.insert("closed".into(), json!(f.closed));
            inc.insert("onHold".into(), json!(f.on_hold));
        }
    } else if body.contains_key("completed") || body.contains_key("closed") {
        let closed = flag(inc, "closed");
        let want = StatusFlags {
            completed: closed || flag(inc, "completed"),
            closed,
            on_hold: false,
        };
        if let Some(status) = st
            .catalog
            .lists
            .get("processingStatus")
            .into_iter()
            .flatten()
            .skip(usize::from(!want.completed))
            .find(|s| {
                s["id"]
                    .as_str()
                    .and_then(|id| st.catalog.status_flags.get(id))
                    == Some(&want)
            })
        {
            inc.insert("processingStatus".into(), status.clone());
            inc.insert("completed".into(), json!(want.completed));
            inc.insert("onHold".into(), json!(false));
        }
    }
    for (flag_key, date_key) in [
        ("completed", "completedDate"),
        ("closed", "closedDate"),
        ("onHold", "onHoldDate"),
    ] {
        let set = flag(inc, flag_key);
        let dated = inc.get(date_key).is_some_and(|d| !d.is_null());
        if set && !dated {
            inc.insert(date_key.into(), json!(fmt_time(now)));
        } else if !set && dated && !body.contains_key(date_key) {
            inc.insert(date_key.into(), Value::Null);
        }
    }
}
