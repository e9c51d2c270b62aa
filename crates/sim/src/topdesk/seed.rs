//! Deterministic seed data for the TOPdesk simulator: the environment's
//! lookup lists (processing statuses, priorities, categories, operator
//! groups, …), its persons and operators, and incidents shaped like those
//! `GET /tas/api/incidents` returns, with their progress trails.
//!
//! Everything is drawn from a SplitMix64 generator keyed by the config's
//! seed, so the same seed and clock give the same environment; timestamps are
//! offsets back from the clock, at least a minute before it, so data looks
//! recent. Dates are rendered as the API renders them,
//! `2024-02-23T14:35:00.000+0000` (UTC).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};

mod catalog;
mod data;

use catalog::build_catalog;
pub use catalog::{Catalog, StatusFlags};

pub use crate::servicenow::seed::Rng;
use data::{
    CALL_TYPES, CLOSURE_CODES, ENTRY_TYPES, FIRST, IMPACTS, ISSUES, LAST, PRIORITIES, STATUSES,
    URGENCIES,
};

/// Renders a time as the API does: milliseconds and a `+0000` offset.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Reads a time as the API writes it (`…000+0000`), or as RFC 3339.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A version-4-shaped UUID from the generator, the shape of TOPdesk ids.
pub fn uuid(rng: &mut Rng) -> String {
    let (a, b) = (rng.next_u64(), rng.next_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Everything a fresh simulated environment holds.
pub struct Seeded {
    pub catalog: Catalog,
    pub incidents: Vec<Map<String, Value>>,
    /// Incident id -> progress trail entries (see `trail_entry`), oldest first.
    pub trails: BTreeMap<String, Vec<Value>>,
    /// `yymm` -> the last incident number handed out that month.
    pub numbers: BTreeMap<String, u32>,
}

/// An incident with every field the API returns, each at its empty value;
/// the links to its sub-resources point at `id`.
pub fn blank_incident(id: &str) -> Map<String, Value> {
    let optional = || {
        let mut m = Map::new();
        for i in 1..=5 {
            m.insert(format!("boolean{i}"), json!(false));
            m.insert(format!("number{i}"), json!(0.0));
            m.insert(format!("date{i}"), Value::Null);
            m.insert(format!("text{i}"), json!(""));
            m.insert(format!("memo{i}"), Value::Null);
            m.insert(format!("searchlist{i}"), Value::Null);
        }
        Value::Object(m)
    };
    let link = |sub: &str| json!(format!("/tas/api/incidents/id/{id}/{sub}"));
    let mut m = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("status", json!("firstLine")),
        ("number", json!("")),
        ("request", Value::Null),
        ("requests", link("requests")),
        ("action", link("actions")),
        ("attachments", link("attachments")),
        ("caller", Value::Null),
        ("callerBranch", Value::Null),
        ("callerLocation", Value::Null),
        ("branchExtraFieldA", Value::Null),
        ("branchExtraFieldB", Value::Null),
        ("briefDescription", json!("")),
        ("externalNumber", json!("")),
        ("category", Value::Null),
        ("subcategory", Value::Null),
        ("callType", Value::Null),
        ("entryType", Value::Null),
        ("object", Value::Null),
        ("asset", Value::Null),
        ("branch", Value::Null),
        ("location", Value::Null),
        ("impact", Value::Null),
        ("urgency", Value::Null),
        ("priority", Value::Null),
        ("duration", Value::Null),
        ("targetDate", Value::Null),
        ("sla", Value::Null),
        ("onHold", json!(false)),
        ("onHoldDate", Value::Null),
        ("onHoldDuration", json!(0)),
        ("feedbackMessage", Value::Null),
        ("feedbackRating", Value::Null),
        ("operator", Value::Null),
        ("operatorGroup", Value::Null),
        ("supplier", Value::Null),
        ("processingStatus", Value::Null),
        ("responded", json!(false)),
        ("responseDate", Value::Null),
        ("completed", json!(false)),
        ("completedDate", Value::Null),
        ("closed", json!(false)),
        ("closedDate", Value::Null),
        ("closureCode", Value::Null),
        ("timeSpent", json!(0)),
        ("timeSpentFirstLine", json!(0)),
        ("timeSpentSecondLineAndPartials", json!(0)),
        ("costs", json!(0.0)),
        ("escalationStatus", Value::Null),
        ("escalationReason", Value::Null),
        ("escalationOperator", Value::Null),
        ("callDate", Value::Null),
        ("creator", Value::Null),
        ("creationDate", Value::Null),
        ("modifier", Value::Null),
        ("modificationDate", Value::Null),
        ("majorCall", json!(false)),
        ("majorCallObject", Value::Null),
        ("publishToSsd", json!(false)),
        ("monitored", json!(false)),
        ("expectedTimeSpent", json!(0)),
        ("archivingReason", Value::Null),
        ("mainIncident", Value::Null),
        ("partialIncidents", json!([])),
        ("optionalFields1", optional()),
        ("optionalFields2", optional()),
        ("externalLinks", json!([])),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// A minimal incident at a known modification time, for tests; pass it to
/// `TopdeskSim::insert`, which fills in id, number and the other fields.
pub fn incident_modified_at(brief: &str, modification_date: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("briefDescription".into(), json!(brief));
    m.insert("request".into(), json!(brief));
    for k in ["callDate", "creationDate", "modificationDate"] {
        m.insert(k.into(), json!(modification_date));
    }
    m
}

/// One progress trail entry: an action (operator's or caller's memo) or a request.
pub fn trail_entry(
    id: String,
    kind: &str,
    memo: &str,
    when: DateTime<Utc>,
    operator: Option<&Value>,
    person: Option<&Value>,
    invisible_for_caller: bool,
) -> Value {
    let name_of = |v: Option<&Value>, key: &str| {
        v.map(|v| json!({"id": v["id"], "name": v[key]}))
            .unwrap_or(Value::Null)
    };
    json!({
        "id": id,
        "type": kind,
        "memoText": memo,
        "plainText": memo.replace("<br>", "\n"),
        "flag": 0,
        "invisibleForCaller": invisible_for_caller,
        "entryDate": fmt_time(when),
        "operator": name_of(operator, "name"),
        "person": name_of(person, "dynamicName"),
    })
}

fn weighted_status(rng: &mut Rng) -> usize {
    let mut roll = rng.below(STATUSES.iter().map(|s| s.4).sum());
    for (i, s) in STATUSES.iter().enumerate() {
        if roll < s.4 {
            return i;
        }
        roll -= s.4;
    }
    1
}

fn second(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(t.timestamp(), 0).single().unwrap_or(t)
}

/// Builds the environment. `now` anchors every timestamp.
pub fn seed(seed: u64, incidents: usize, now: DateTime<Utc>) -> Seeded {
    let mut rng = Rng::new(seed);
    let catalog = build_catalog(&mut rng);
    let list = |k: &str| catalog.lists.get(k).cloned().unwrap_or_default();
    let (statuses, groups, operators) = (
        list("processingStatus"),
        list("operatorGroup"),
        list("operator"),
    );
    let now = second(now);
    let mut rows = Vec::with_capacity(incidents);
    let mut trails = BTreeMap::new();
    let mut prev_modified: Option<DateTime<Utc>> = None;
    for i in 0..incidents {
        let (brief, request, cat, sub, group_ix, call_type, actions) = *rng.pick(ISSUES);
        let status_ix = weighted_status(&mut rng);
        let (_, completed, closed, on_hold, _) = STATUSES[status_ix];
        let logged = status_ix == 0;
        let call = now - Duration::seconds(3600 + rng.below(45 * 86_400) as i64);
        let created = call + Duration::seconds(rng.below(600) as i64);
        let mut modified = created + Duration::seconds(rng.below(5 * 86_400) as i64);
        // Every seventh incident shares its predecessor's modification second,
        // so clients paging on modificationDate must cope with ties.
        if let Some(prev) = prev_modified.filter(|p| i % 7 == 3 && *p >= created) {
            modified = prev;
        }
        let modified = modified.min(now - Duration::seconds(60)).max(created);
        prev_modified = Some(modified);

        let id = uuid(&mut rng);
        let mut inc = blank_incident(&id);
        let mut set = |k: &str, v: Value| {
            inc.insert(k.to_string(), v);
        };
        // One caller in ten is not a registered person: a name typed in by the desk.
        let caller = if rng.below(10) == 0 {
            let name = format!("{} {}", rng.pick(FIRST), rng.pick(LAST));
            json!({"id": null, "dynamicName": name, "phoneNumber": "", "mobileNumber": "", "fax": "",
                   "email": "", "department": null, "budgetHolder": null, "branch": null})
        } else {
            rng.pick(&catalog.persons).clone()
        };
        let group = if logged { 0 } else { group_ix };
        let operator = (!logged).then(|| operators[group * 2 + rng.below(2) as usize].clone());
        // One incident in twelve was never prioritised.
        let prioritised = rng.below(12) != 0;
        let (impact_ix, urgency_ix) = (rng.below(3) as usize, rng.below(3) as usize);
        let priority_ix = (impact_ix + urgency_ix).min(3);
        let pick_entry = |k: &str, name: &str| {
            catalog
                .find(k, None, Some(name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        set(
            "status",
            json!(if group == 0 {
                "firstLine"
            } else {
                "secondLine"
            }),
        );
        set("briefDescription", json!(brief));
        set("request", json!(request));
        set("callerBranch", caller["branch"].clone());
        set("branch", caller["branch"].clone());
        set("caller", caller.clone());
        set("category", pick_entry("category", cat));
        // One in eight was filed without a subcategory.
        if rng.below(8) != 0 {
            set("subcategory", pick_entry("subcategory", sub));
        }
        set("callType", pick_entry("callType", CALL_TYPES[call_type]));
        set(
            "entryType",
            pick_entry("entryType", rng.pick::<&str>(ENTRY_TYPES)),
        );
        if prioritised {
            set("impact", pick_entry("impact", IMPACTS[impact_ix]));
            set("urgency", pick_entry("urgency", URGENCIES[urgency_ix]));
            set("priority", pick_entry("priority", PRIORITIES[priority_ix]));
        }
        let hours = [4, 8, 72, 120][if prioritised { priority_ix } else { 3 }];
        set("targetDate", json!(fmt_time(call + Duration::hours(hours))));
        set("operatorGroup", groups[group].clone());
        set("operator", operator.clone().unwrap_or(Value::Null));
        set("processingStatus", statuses[status_ix].clone());
        if !logged {
            set("responded", json!(true));
            let responded = created + Duration::seconds(rng.below(7200) as i64);
            set("responseDate", json!(fmt_time(responded.min(modified))));
        }
        if completed {
            set("completed", json!(true));
            set("completedDate", json!(fmt_time(modified)));
            set(
                "closureCode",
                pick_entry("closureCode", rng.pick::<&str>(CLOSURE_CODES)),
            );
        }
        if closed {
            set("closed", json!(true));
            set("closedDate", json!(fmt_time(modified)));
        }
        if on_hold {
            set("onHold", json!(true));
            set("onHoldDate", json!(fmt_time(modified)));
        }
        let desk = json!({"id": operators[0]["id"], "name": operators[0]["name"]});
        let modifier = operator
            .as_ref()
            .map(|o| json!({"id": o["id"], "name": o["name"]}))
            .unwrap_or_else(|| desk.clone());
        set("callDate", json!(fmt_time(call)));
        set("creationDate", json!(fmt_time(created)));
        set("modificationDate", json!(fmt_time(modified)));
        set("creator", desk);
        set("modifier", modifier);

        // The request opens the trail; operators' actions follow it.
        let mut trail = vec![trail_entry(
            uuid(&mut rng),
            "request",
            request,
            created,
            None,
            caller["id"].is_string().then_some(&caller),
            false,
        )];
        let done = if logged {
            0
        } else if completed {
            actions.len()
        } else {
            1
        };
        for (n, memo) in actions.iter().take(done).enumerate() {
            let span = (modified - created).num_seconds().max(1);
            let at = created + Duration::seconds(span * (n as i64 + 1) / (done as i64 + 1));
            let hidden = rng.below(4) == 0;
            trail.push(trail_entry(
                uuid(&mut rng),
                "action",
                memo,
                at,
                operator.as_ref(),
                None,
                hidden,
            ));
        }
        trails.insert(id, trail);
        rows.push(inc);
    }
    // Numbers run per month of creation, in creation order: `I 2402 012`.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i]["creationDate"].as_str().unwrap_or("").to_string());
    let mut numbers = BTreeMap::new();
    for i in order {
        let created = rows[i]["creationDate"]
            .as_str()
            .and_then(parse_time)
            .unwrap_or(now);
        let number = next_number(&mut numbers, created);
        rows[i].insert("number".into(), json!(number));
    }
    Seeded {
        catalog,
        incidents: rows,
        trails,
        numbers,
    }
}

/// The next incident number of `when`'s month, as TOPdesk formats it by default.
pub fn next_number(numbers: &mut BTreeMap<String, u32>, when: DateTime<Utc>) -> String {
    let month = when.format("%y%m").to_string();
    let n = numbers.entry(month.clone()).or_insert(0);
    *n += 1;
    format!("I {month} {:03}", *n)
}
