//! Deterministic seed data for the ServiceNow simulator: users, groups,
//! locations, companies, incidents, a few requests and the service
//! catalogue (`catalog.rs`), shaped like the records
//! a real instance returns (every value a string, datetimes as
//! `YYYY-MM-DD HH:MM:SS` UTC, 32-hex `sys_id`s).
//!
//! Everything is drawn from a small SplitMix64 generator keyed by the config's
//! seed, so the same seed and the same clock give the same tables; timestamps
//! are offsets back from the clock so data always looks recent.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

mod catalog;
mod data;

use data::{
    CLOSE_CODES, CLOSE_NOTES, COMPANIES, DEPARTMENTS, FIRST, GROUPS, ISSUES, LAST, LOCATIONS,
    STATES,
};

/// Table name -> rows in insertion order.
pub type Tables = BTreeMap<String, Vec<Map<String, Value>>>;

/// SplitMix64: tiny, fast, and good enough to make seed data look random
/// without pulling in `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` must be non-zero).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A 32-character lower-case hex id, the shape of a real `sys_id`.
    pub fn sys_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }
}

/// Formats a timestamp the way the Table API does (UTC, no `T`, no zone).
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The platform's default priority lookup: impact + urgency (each 1..=3)
/// maps onto priority 1 (Critical) ..= 5 (Planning).
pub fn priority_for(impact: &str, urgency: &str) -> String {
    let i: u8 = impact.parse().unwrap_or(3).clamp(1, 3);
    let u: u8 = urgency.parse().unwrap_or(3).clamp(1, 3);
    (i + u - 1).to_string()
}

/// A minimal incident carrying an explicit `sys_updated_on`, for tests that
/// need records at known points in time; pass it to `ServiceNowSim::insert`,
/// which fills in `sys_id`, `number` and the other system fields.
pub fn incident_with_updated_on(
    short_description: &str,
    sys_updated_on: &str,
) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in [
        ("short_description", short_description),
        ("description", short_description),
        ("state", "1"),
        ("incident_state", "1"),
        ("impact", "3"),
        ("urgency", "3"),
        ("priority", "5"),
        ("category", "inquiry"),
        ("active", "true"),
        ("opened_at", sys_updated_on),
        ("sys_created_on", sys_updated_on),
        ("sys_updated_on", sys_updated_on),
    ] {
        m.insert(k.into(), Value::String(v.into()));
    }
    m
}

fn record(pairs: &[(&str, String)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
        .collect()
}

fn weighted_state(rng: &mut Rng) -> &'static str {
    let mut roll = rng.below(100);
    for (code, weight) in STATES {
        if roll < *weight {
            return code;
        }
        roll -= weight;
    }
    "2"
}

fn sys_fields(created: &str, updated: &str, by: &str, mods: u64) -> Vec<(&'static str, String)> {
    vec![
        ("sys_created_on", created.to_string()),
        ("sys_created_by", by.to_string()),
        ("sys_updated_on", updated.to_string()),
        ("sys_updated_by", by.to_string()),
        ("sys_mod_count", mods.to_string()),
    ]
}

/// Builds every seeded table. `now` anchors all timestamps, which are strictly
/// in the past (at least a minute before `now`).
pub fn seed_tables(seed: u64, incidents: usize, now: DateTime<Utc>) -> Tables {
    let mut rng = Rng::new(seed);
    let mut tables = Tables::new();
    let long_ago = fmt_time(now - Duration::days(400));

    let groups: Vec<Map<String, Value>> = GROUPS
        .iter()
        .map(|name| {
            let mut f = vec![
                ("sys_id", rng.sys_id()),
                ("name", name.to_string()),
                ("active", "true".into()),
            ];
            f.extend(sys_fields(&long_ago, &long_ago, "admin", 0));
            record(&f)
        })
        .collect();
    let locations: Vec<Map<String, Value>> = LOCATIONS
        .iter()
        .map(|(name, city, country)| {
            let mut f = vec![
                ("sys_id", rng.sys_id()),
                ("name", name.to_string()),
                ("city", city.to_string()),
                ("country", country.to_string()),
            ];
            f.extend(sys_fields(&long_ago, &long_ago, "admin", 0));
            record(&f)
        })
        .collect();
    let companies: Vec<Map<String, Value>> = COMPANIES
        .iter()
        .map(|name| {
            let mut f = vec![("sys_id", rng.sys_id()), ("name", name.to_string())];
            f.extend(sys_fields(&long_ago, &long_ago, "admin", 0));
            record(&f)
        })
        .collect();

    // The first ten users work in IT and are the ones incidents get assigned to.
    let mut users = Vec::new();
    let mut seen = HashSet::new();
    while users.len() < 50 && seen.len() < FIRST.len() * LAST.len() {
        let (first, last) = (*rng.pick(FIRST), *rng.pick(LAST));
        let user_name = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        if !seen.insert(user_name.clone()) {
            continue;
        }
        let department = if users.len() < 10 {
            "IT"
        } else {
            *rng.pick(DEPARTMENTS)
        };
        let mut f = vec![
            ("sys_id", rng.sys_id()),
            ("user_name", user_name.clone()),
            ("first_name", first.to_string()),
            ("last_name", last.to_string()),
            ("name", format!("{first} {last}")),
            ("email", format!("{user_name}@example.com")),
            ("department", department.to_string()),
            ("active", "true".into()),
            ("locked_out", "false".into()),
        ];
        f.extend(sys_fields(&long_ago, &long_ago, "admin", 0));
        users.push(record(&f));
    }

    let id = |m: &Map<String, Value>, k: &str| {
        m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    let mut rows = Vec::with_capacity(incidents);
    let mut prev_updated: Option<DateTime<Utc>> = None;
    for i in 0..incidents {
        let (category, subcategory, short, description, group_ix) = *rng.pick(ISSUES);
        let state = weighted_state(&mut rng);
        let opened = now - Duration::seconds(3600 + rng.below(30 * 86_400) as i64);
        let mut updated = opened + Duration::seconds(rng.below(5 * 86_400) as i64);
        // Every seventh record reuses its predecessor's update second, so
        // clients paging on sys_updated_on must cope with ties.
        if let Some(prev) = prev_updated.filter(|p| i % 7 == 3 && *p >= opened) {
            updated = prev;
        }
        updated = updated.min(now - Duration::seconds(60));
        prev_updated = Some(updated);
        let impact = (1 + rng.below(3)).to_string();
        let urgency = (1 + rng.below(3)).to_string();
        let caller = rng.pick(&users[10..]).clone();
        let agent = rng.pick(&users[..10]).clone();
        let resolved = matches!(state, "6" | "7");
        let assigned = if state == "1" {
            String::new()
        } else {
            id(&agent, "sys_id")
        };
        let resolved_at = if resolved {
            fmt_time(updated.min(opened + Duration::hours(1 + rng.below(72) as i64)))
        } else {
            String::new()
        };
        let closed_at = if matches!(state, "7" | "8") {
            fmt_time(updated)
        } else {
            String::new()
        };
        let mods = 1 + rng.below(8);
        let location = if rng.below(5) == 0 {
            String::new()
        } else {
            id(rng.pick(&locations), "sys_id")
        };
        let (created_s, updated_s) = (fmt_time(opened), fmt_time(updated));
        let mut f = vec![
            ("sys_id", rng.sys_id()),
            ("number", format!("INC{:07}", 10_001 + i)),
            ("short_description", short.to_string()),
            ("description", description.to_string()),
            ("state", state.to_string()),
            ("incident_state", state.to_string()),
            ("priority", priority_for(&impact, &urgency)),
            ("impact", impact),
            ("urgency", urgency),
            ("severity", "3".into()),
            ("category", category.to_string()),
            ("subcategory", subcategory.to_string()),
            (
                "contact_type",
                rng.pick(&["phone", "email", "self-service", "walk-in"])
                    .to_string(),
            ),
            ("caller_id", id(&caller, "sys_id")),
            ("opened_by", id(&caller, "sys_id")),
            ("assigned_to", assigned),
            ("assignment_group", id(&groups[group_ix], "sys_id")),
            ("location", location),
            ("company", id(rng.pick(&companies), "sys_id")),
            ("opened_at", created_s.clone()),
            ("resolved_at", resolved_at),
            (
                "resolved_by",
                if resolved {
                    id(&agent, "sys_id")
                } else {
                    String::new()
                },
            ),
            ("closed_at", closed_at),
            (
                "closed_by",
                if state == "7" {
                    id(&agent, "sys_id")
                } else {
                    String::new()
                },
            ),
            (
                "close_code",
                if resolved {
                    rng.pick(CLOSE_CODES).to_string()
                } else {
                    String::new()
                },
            ),
            (
                "close_notes",
                if resolved {
                    rng.pick(CLOSE_NOTES).to_string()
                } else {
                    String::new()
                },
            ),
            (
                "active",
                if matches!(state, "7" | "8") {
                    "false"
                } else {
                    "true"
                }
                .to_string(),
            ),
            ("reassignment_count", rng.below(3).to_string()),
            ("reopen_count", "0".into()),
            (
                "made_sla",
                if rng.below(10) == 0 { "false" } else { "true" }.to_string(),
            ),
            ("knowledge", "false".into()),
            ("escalation", "0".into()),
            ("sys_class_name", "incident".into()),
        ];
        f.extend(sys_fields(
            &created_s,
            &updated_s,
            &id(&agent, "user_name"),
            mods,
        ));
        rows.push(record(&f));
    }

    let mut requests = Vec::new();
    for (i, (short, state)) in [
        ("New laptop for Finance analyst", "in_process"),
        ("Software: Visio Professional licence", "requested"),
        ("Mobile phone replacement", "closed_complete"),
    ]
    .into_iter()
    .enumerate()
    {
        let who = rng.pick(&users[10..]).clone();
        let at = fmt_time(now - Duration::seconds(7200 + rng.below(10 * 86_400) as i64));
        let mut f = vec![
            ("sys_id", rng.sys_id()),
            ("number", format!("REQ{:07}", 10_001 + i)),
            ("short_description", short.to_string()),
            ("requested_for", id(&who, "sys_id")),
            ("opened_by", id(&who, "sys_id")),
            ("request_state", state.to_string()),
            ("approval", "approved".into()),
            ("active", (state != "closed_complete").to_string()),
            ("opened_at", at.clone()),
            ("sys_class_name", "sc_request".into()),
        ];
        f.extend(sys_fields(&at, &at, &id(&who, "user_name"), 1));
        requests.push(record(&f));
    }

    tables.insert("incident".into(), rows);
    tables.insert("sys_user".into(), users);
    tables.insert("sys_user_group".into(), groups);
    tables.insert("cmn_location".into(), locations);
    tables.insert("core_company".into(), companies);
    tables.insert("sc_request".into(), requests);
    tables.insert("problem".into(), Vec::new());
    // Journal entries are written as comments and work notes are added.
    tables.insert("sys_journal_field".into(), Vec::new());
    // Deleted records: one row per deletion (`State::delete`).
    tables.insert("sys_audit_delete".into(), Vec::new());
    tables.insert("change_request".into(), Vec::new());
    catalog::seed_catalog(&mut tables, seed, now);
    tables
}
