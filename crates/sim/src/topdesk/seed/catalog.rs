//! The environment's supporting data: the lookup lists incident fields
//! point into (processing statuses with their flags, priorities, impacts,
//! urgencies, categories, operator groups, operators, branches), and the
//! registered persons who call the service desk.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

use super::data::{
    BRANCHES, CALL_TYPES, CATEGORIES, CLOSURE_CODES, DEPARTMENTS, ENTRY_TYPES, FIRST, IMPACTS,
    LAST, OPERATOR_GROUPS, PRIORITIES, STATUSES, URGENCIES,
};
use super::{Rng, uuid};

/// What a processing status means for the incident's own flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusFlags {
    pub completed: bool,
    pub closed: bool,
    pub on_hold: bool,
}

/// The environment's supporting data: every lookup list an incident field
/// points into, keyed by the incident field (`priority`, `operatorGroup`, …),
/// each entry exactly as it appears inside an incident.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub lists: BTreeMap<&'static str, Vec<Value>>,
    /// Processing status id -> its flags.
    pub status_flags: HashMap<String, StatusFlags>,
    /// Registered persons, as an incident's `caller` shows them.
    pub persons: Vec<Value>,
    /// The operator the API account belongs to: creator and modifier of its writes.
    pub api_operator: Value,
}

impl Catalog {
    /// The entry of `field`'s list whose `id` (or, failing that, `name`) matches.
    pub fn find(&self, field: &str, id: Option<&str>, name: Option<&str>) -> Option<&Value> {
        let list = self.lists.get(field)?;
        let by = |key: &str, want: &str| list.iter().find(|e| e[key].as_str() == Some(want));
        match (id, name) {
            (Some(id), _) => by("id", id),
            (None, Some(name)) => by("name", name),
            (None, None) => None,
        }
    }

    /// The processing status named `name`, with its flags.
    pub fn status(&self, name: &str) -> Option<(Value, StatusFlags)> {
        let entry = self.find("processingStatus", None, Some(name))?.clone();
        let flags = self.status_flags.get(entry["id"].as_str()?).copied()?;
        Some((entry, flags))
    }
}

fn entry(rng: &mut Rng, name: &str) -> Value {
    json!({"id": uuid(rng), "name": name})
}

pub(super) fn build_catalog(rng: &mut Rng) -> Catalog {
    let mut c = Catalog::default();
    let list = |rng: &mut Rng, names: &[&str]| -> Vec<Value> {
        names.iter().map(|n| entry(rng, n)).collect()
    };
    let priorities = list(rng, PRIORITIES);
    let impacts = list(rng, IMPACTS);
    let urgencies = list(rng, URGENCIES);
    let call_types = list(rng, CALL_TYPES);
    let entry_types = list(rng, ENTRY_TYPES);
    let closure_codes = list(rng, CLOSURE_CODES);
    let groups = list(rng, OPERATOR_GROUPS);
    let mut statuses = Vec::new();
    for (name, completed, closed, on_hold, _) in STATUSES {
        let e = entry(rng, name);
        c.status_flags.insert(
            e["id"].as_str().unwrap_or_default().to_string(),
            StatusFlags {
                completed: *completed,
                closed: *closed,
                on_hold: *on_hold,
            },
        );
        statuses.push(e);
    }
    let (mut categories, mut subcategories) = (Vec::new(), Vec::new());
    for (cat, subs) in CATEGORIES {
        categories.push(entry(rng, cat));
        subcategories.extend(subs.iter().map(|s| entry(rng, s)));
    }
    let branches: Vec<Value> = BRANCHES
        .iter()
        .enumerate()
        .map(|(i, (name, tz))| {
            json!({"id": uuid(rng), "name": name, "clientReferenceNumber": format!("BR-{:03}", i + 1),
                   "timeZone": tz, "extraA": null, "extraB": null})
        })
        .collect();
    let departments: Vec<Value> = DEPARTMENTS.iter().map(|d| entry(rng, d)).collect();
    // Two operators per group; the first Service Desk operator is the API account.
    let mut operators = Vec::new();
    for _ in 0..groups.len() * 2 {
        let name = format!("{} {}", rng.pick(FIRST), rng.pick(LAST));
        operators.push(json!({"id": uuid(rng), "status": "operator", "name": name}));
    }
    c.api_operator = json!({"id": operators[0]["id"], "name": operators[0]["name"]});
    let mut seen = HashSet::new();
    while c.persons.len() < 40 {
        let (first, last) = (*rng.pick(FIRST), *rng.pick(LAST));
        if !seen.insert((first, last)) {
            continue;
        }
        let login = format!("{}.{}", first, last.replace(' ', "")).to_lowercase();
        let branch = rng.pick(&branches).clone();
        c.persons.push(json!({
            "id": uuid(rng),
            "dynamicName": format!("{first} {last}"),
            "phoneNumber": format!("+31 20 {:03} {:04}", rng.below(1000), rng.below(10_000)),
            "mobileNumber": format!("+31 6 {:08}", rng.below(100_000_000)),
            "fax": "",
            "email": format!("{login}@example.com"),
            "department": rng.pick(&departments).clone(),
            "budgetHolder": null,
            "branch": branch,
        }));
    }
    c.lists.insert("priority", priorities);
    c.lists.insert("impact", impacts);
    c.lists.insert("urgency", urgencies);
    c.lists.insert("callType", call_types);
    c.lists.insert("entryType", entry_types);
    c.lists.insert("closureCode", closure_codes);
    c.lists.insert("operatorGroup", groups);
    c.lists.insert("operator", operators);
    c.lists.insert("processingStatus", statuses);
    c.lists.insert("category", categories);
    c.lists.insert("subcategory", subcategories);
    c.lists.insert("branch", branches);
    c
}
