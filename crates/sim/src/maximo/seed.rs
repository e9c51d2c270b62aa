//! Deterministic seed data: facilities work orders spread over the
//! organisation's sites, in every status an unconfigured WOSTATUS domain
//! uses day to day, with their work logs and status history.
//!
//! Everything is drawn from a SplitMix64 generator keyed by the config's
//! seed, so the same seed and clock give the same work orders. Times are
//! offsets back from the clock, at least a minute before it, so that a write
//! made now is always the newest change; every tenth work order shares its
//! `changedate` with the one before, as batch updates leave them.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

pub use crate::servicenow::seed::Rng;

use super::model::{SITES, blank_work_order, fmt_time, is_history};

/// People who report work and write logs, by Maximo person id.
pub const PEOPLE: &[&str] = &["WILSON", "SMITH", "JONES", "PERRY", "GARCIA", "NGUYEN"];

/// The API key's user: who the simulator's own writes are made by.
pub const API_USER: &str = "MXINTADM";

/// (description, long description, work type, asset prefix)
const ISSUES: &[(&str, &str, &str, &str)] = &[
    (
        "HVAC not cooling on the third floor",
        "Temperature at 29 C since Monday morning.\nThe rooftop unit fan runs but the air is warm.",
        "CM",
        "HVAC",
    ),
    (
        "Replace ceiling lights in conference room",
        "Four of the six panels flicker. Room is booked daily.",
        "CM",
        "",
    ),
    ("Quarterly fire extinguisher inspection", "", "PM", "FIRE"),
    (
        "Water leak under kitchen sink",
        "Leak noticed by cleaning staff; a bucket is in place.",
        "EM",
        "PLMB",
    ),
    (
        "Elevator B stops between floors",
        "Stopped twice this week between floors 2 and 3. Nobody trapped.",
        "EM",
        "ELEV",
    ),
    (
        "Door access reader offline at loading dock",
        "",
        "CM",
        "SEC",
    ),
    (
        "Annual boiler service",
        "Service per the manufacturer's schedule before the heating season.",
        "PM",
        "BOIL",
    ),
    ("Broken window blind in office 214", "", "CM", ""),
    (
        "Parking lot light pole damaged",
        "A delivery truck hit the pole near the east entrance.",
        "CM",
        "LIGHT",
    ),
    ("Restroom hand dryer not working", "", "CM", ""),
    (
        "Generator load test",
        "Monthly load test, 30 minutes at 75% load.",
        "PM",
        "GEN",
    ),
    ("Carpet stain removal in lobby", "", "CM", ""),
];

/// Seeded statuses and how often they occur, in percent.
const STATUS_WEIGHTS: &[(&str, u64)] = &[
    ("WAPPR", 15),
    ("APPR", 15),
    ("INPRG", 20),
    ("WMATL", 10),
    ("COMP", 15),
    ("CLOSE", 15),
    ("CAN", 10),
];

const LOG_NOTES: &[(&str, &str, &str)] = &[
    (
        "CLIENTNOTE",
        "Still happening this morning",
        "Please send someone before noon if possible.",
    ),
    ("WORK", "Technician on site", ""),
    (
        "WORK",
        "Part ordered",
        "Waiting on the supplier; expected in three days.",
    ),
    (
        "UPDATE",
        "Checked with the requester",
        "Requester confirms the issue is resolved.",
    ),
];

/// Everything a fresh simulated server holds.
pub struct Seeded {
    pub records: Vec<Map<String, Value>>,
    pub next_workorderid: i64,
    pub next_wonum: u64,
    pub next_worklogid: i64,
    pub rowstamp: u64,
}

/// The first work order number handed out, as in Maximo's demo data.
pub const FIRST_WONUM: u64 = 1000;
const FIRST_WORKORDERID: i64 = 5001;
const FIRST_WORKLOGID: i64 = 9001;

fn weighted_status(rng: &mut Rng) -> &'static str {
    let mut roll = rng.below(100);
    for (status, weight) in STATUS_WEIGHTS {
        if roll < *weight {
            return status;
        }
        roll -= weight;
    }
    "WAPPR"
}

fn secs(rng: &mut Rng, lo: i64, hi: i64) -> Duration {
    Duration::seconds(lo + rng.below((hi - lo).max(1) as u64) as i64)
}

pub fn seed(seed: u64, count: usize, now: DateTime<Utc>, tz: Tz) -> Seeded {
    let mut rng = Rng::new(seed);
    let now = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
    let latest = now - Duration::minutes(1);
    let mut records = Vec::with_capacity(count);
    let mut worklogid = FIRST_WORKLOGID;
    let mut rowstamp = 1_000_000u64;
    let mut previous_change: Option<DateTime<Utc>> = None;
    for i in 0..count {
        // BEDFORD, the main campus, holds about half the work.
        let (siteid, _, locations) = if rng.below(2) == 0 {
            &SITES[0]
        } else {
            rng.pick(SITES)
        };
        let wonum = (FIRST_WONUM + i as u64).to_string();
        let mut rec = blank_work_order(FIRST_WORKORDERID + i as i64, &wonum, siteid);
        let (title, long, worktype, asset) = *rng.pick(ISSUES);
        let status = weighted_status(&mut rng);
        let reported = latest - secs(&mut rng, 3600, 30 * 86_400);
        let mut changed = reported + secs(&mut rng, 60, (latest - reported).num_seconds());
        if i % 10 == 9
            && let Some(prev) = previous_change
            && prev > reported
        {
            changed = prev;
        }
        let changed = changed.min(latest);
        previous_change = Some(changed);
        let reporter = *rng.pick(PEOPLE);
        let t = |d: DateTime<Utc>| json!(fmt_time(d, tz));
        let mut set = |k: &str, v: Value| {
            rec.insert(k.into(), v);
        };
        set("description", json!(title));
        if !long.is_empty() {
            set("description_longdescription", json!(long));
        }
        set("status", json!(status));
        set("statusdate", t(changed));
        set("worktype", json!(worktype));
        if rng.below(10) > 0 {
            set("wopriority", json!(1 + rng.below(5)));
        }
        set("location", json!(*rng.pick(locations)));
        if !asset.is_empty() {
            set(
                "assetnum",
                json!(format!("{asset}-{}", 100 + rng.below(40))),
            );
        }
        set("reportedby", json!(reporter));
        set("reportdate", t(reported));
        set("targstartdate", t(reported + Duration::days(1)));
        set("targcompdate", t(reported + Duration::days(5)));
        if matches!(status, "INPRG" | "WMATL" | "COMP" | "CLOSE") {
            set("actstart", t(reported + (changed - reported) / 3));
        }
        if matches!(status, "COMP" | "CLOSE") {
            set("actfinish", t(changed));
        }
        set("historyflag", json!(is_history(status)));
        set(
            "changeby",
            json!(if rng.below(2) == 0 {
                reporter
            } else {
                "MAXADMIN"
            }),
        );
        set("changedate", t(changed));
        rowstamp += 1 + rng.below(50);
        set("_rowstamp", json!(rowstamp.to_string()));
        let mut history = vec![
            json!({"status": "WAPPR", "changedate": fmt_time(reported, tz), "changeby": reporter, "memo": Value::Null}),
        ];
        if status != "WAPPR" {
            history.push(json!({"status": status, "changedate": fmt_time(changed, tz), "changeby": "MAXADMIN", "memo": Value::Null}));
        }
        set("wostatus", Value::Array(history));
        let mut logs: Vec<(DateTime<Utc>, Value)> = Vec::new();
        for _ in 0..rng.below(4) {
            let (logtype, summary, details) = *rng.pick(LOG_NOTES);
            let at = reported + secs(&mut rng, 0, (changed - reported).num_seconds());
            let author = if logtype == "CLIENTNOTE" {
                reporter
            } else {
                *rng.pick(PEOPLE)
            };
            let mut log = json!({
                "worklogid": worklogid, "recordkey": wonum, "class": "WORKORDER",
                "siteid": siteid, "logtype": logtype, "description": summary,
                "createby": author, "createdate": fmt_time(at, tz),
                "modifydate": fmt_time(at, tz), "clientviewable": logtype == "CLIENTNOTE",
            });
            if !details.is_empty() {
                log["description_longdescription"] = json!(details);
            }
            logs.push((at, log));
            worklogid += 1;
        }
        logs.sort_by_key(|(at, _)| *at);
        rec.insert("worklog".into(), logs.into_iter().map(|(_, l)| l).collect());
        records.push(rec);
    }
    Seeded {
        records,
        next_workorderid: FIRST_WORKORDERID + count as i64,
        next_wonum: FIRST_WONUM + count as u64,
        next_worklogid: worklogid,
        rowstamp,
    }
}
