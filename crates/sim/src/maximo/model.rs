//! What a work order is in the simulator: the MXWO attributes it knows and
//! their types, the WOSTATUS domain and its allowed transitions, resource ids
//! (`_QkVERk9SRC8xMDAw`), and dates as the server writes them.
//!
//! Records are kept in the lean JSON form (lower-case attribute names), with
//! dates already rendered in the server's time zone, so that a read is a
//! projection and never a conversion.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

/// The object structure served, as it appears in paths and messages.
pub const OBJECT_STRUCTURE: &str = "MXWO";

/// How an attribute compares and validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Date,
    Bool,
}

/// The persistent WORKORDER attributes the simulator holds, with their
/// types. `oslc.where` and `oslc.orderBy` accept these and nothing else.
pub const ATTRIBUTES: &[(&str, Kind)] = &[
    ("workorderid", Kind::Integer),
    ("wonum", Kind::Text),
    ("siteid", Kind::Text),
    ("orgid", Kind::Text),
    ("description", Kind::Text),
    ("description_longdescription", Kind::Text),
    ("status", Kind::Text),
    ("statusdate", Kind::Date),
    ("woclass", Kind::Text),
    ("worktype", Kind::Text),
    ("wopriority", Kind::Integer),
    ("location", Kind::Text),
    ("assetnum", Kind::Text),
    ("reportedby", Kind::Text),
    ("reportdate", Kind::Date),
    ("targstartdate", Kind::Date),
    ("targcompdate", Kind::Date),
    ("actstart", Kind::Date),
    ("actfinish", Kind::Date),
    ("changeby", Kind::Text),
    ("changedate", Kind::Date),
    ("historyflag", Kind::Bool),
    ("istask", Kind::Bool),
];

/// Child objects of the structure, selected as `worklog{…}`.
pub const CHILDREN: &[&str] = &["worklog", "wostatus"];

pub fn kind_of(attr: &str) -> Option<Kind> {
    ATTRIBUTES
        .iter()
        .find(|(name, _)| *name == attr)
        .map(|(_, k)| *k)
}

/// Attributes of a WORKLOG entry and their types.
pub const WORKLOG_ATTRIBUTES: &[(&str, Kind)] = &[
    ("worklogid", Kind::Integer),
    ("recordkey", Kind::Text),
    ("class", Kind::Text),
    ("siteid", Kind::Text),
    ("logtype", Kind::Text),
    ("description", Kind::Text),
    ("description_longdescription", Kind::Text),
    ("createby", Kind::Text),
    ("createdate", Kind::Date),
    ("modifydate", Kind::Date),
    ("clientviewable", Kind::Bool),
];

/// The WOSTATUS synonym domain's internal values and descriptions, as an
/// unconfigured Maximo Manage ships them.
pub const STATUSES: &[(&str, &str)] = &[
    ("WAPPR", "Waiting on Approval"),
    ("APPR", "Approved"),
    ("WSCH", "Waiting to be Scheduled"),
    ("WMATL", "Waiting on Material"),
    ("WPCOND", "Waiting on Plant Cond"),
    ("INPRG", "In Progress"),
    ("COMP", "Completed"),
    ("CLOSE", "Closed"),
    ("CAN", "Canceled"),
    ("HISTEDIT", "Edited in History"),
];

pub fn status_description(status: &str) -> Option<&'static str> {
    STATUSES.iter().find(|(s, _)| *s == status).map(|(_, d)| *d)
}

/// Whether a work order may move from `from` to `to`. Maximo hard-codes
/// these in its work order status handler; the table follows IBM support's
/// list of allowable status changes. Nothing leaves CLOSE or CAN, and
/// HISTEDIT is reached only by editing a closed record in the UI.
pub fn transition_allowed(from: &str, to: &str) -> bool {
    const APPROVED: &[&str] = &["APPR", "WSCH", "WMATL", "WPCOND"];
    if from == to || to == "HISTEDIT" || status_description(to).is_none() {
        return false;
    }
    match from {
        "WAPPR" => true,
        f if APPROVED.contains(&f) => true,
        "INPRG" => matches!(to, "WAPPR" | "WMATL" | "COMP" | "CLOSE"),
        "COMP" => to == "CLOSE",
        _ => false,
    }
}

/// Statuses that move a work order to history, where it is read-only.
pub fn is_history(status: &str) -> bool {
    matches!(status, "CLOSE" | "CAN" | "HISTEDIT")
}

/// The sites of the simulated organisation, with their locations.
pub const SITES: &[(&str, &str, &[&str])] = &[
    (
        "BEDFORD",
        "EAGLENA",
        &["BR100", "BR200", "BR300", "BR430", "PARKING-B"],
    ),
    (
        "TEXAS",
        "EAGLENA",
        &["TX-HQ-1", "TX-HQ-2", "TX-LAB", "TX-DOCK"],
    ),
    ("NASHUA", "EAGLENA", &["NA-OFFICE", "NA-PLANT", "NA-CAFE"]),
    ("LAREDO", "EAGLENA", &["LA-WAREHOUSE", "LA-YARD"]),
];

pub fn site(
    siteid: &str,
) -> Option<&'static (&'static str, &'static str, &'static [&'static str])> {
    SITES.iter().find(|(s, _, _)| *s == siteid)
}

/// A resource id as Maximo builds it: `_` and the base64 of the primary key
/// values in attribute-name order (SITEID before WONUM, so `BEDFORD/1000`),
/// `=` padding written as `-`. The URL-safe alphabet keeps a `/` out of the
/// path; key values of letters and digits never produce one anyway.
pub fn rest_id(siteid: &str, wonum: &str) -> String {
    let raw = base64::engine::general_purpose::URL_SAFE.encode(format!("{siteid}/{wonum}"));
    format!("_{}", raw.replace('=', "-"))
}

/// The rest id of a stored record.
pub fn record_id(rec: &Map<String, Value>) -> String {
    rest_id(text(rec, "siteid"), text(rec, "wonum"))
}

pub fn text<'a>(rec: &'a Map<String, Value>, key: &str) -> &'a str {
    rec.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Renders a time as the server does: to the second, in its own zone, with
/// the offset written `-05:00` (`+00:00` for UTC, never `Z`).
pub fn fmt_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Reads an ISO 8601 date as the API accepts it in bodies and `oslc.where`:
/// with an offset, or without one in the server's zone, or a bare date.
pub fn parse_time(s: &str, tz: Tz) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A work order as Maximo creates it before any field is set: the class,
/// flags and the empty attributes every record carries.
pub fn blank_work_order(workorderid: i64, wonum: &str, siteid: &str) -> Map<String, Value> {
    let orgid = site(siteid).map(|(_, org, _)| *org).unwrap_or("");
    let mut rec = Map::new();
    for (k, v) in [
        ("workorderid", json!(workorderid)),
        ("wonum", json!(wonum)),
        ("siteid", json!(siteid)),
        ("orgid", json!(orgid)),
        ("woclass", json!("WORKORDER")),
        ("status", json!("WAPPR")),
        ("historyflag", json!(false)),
        ("istask", json!(false)),
        ("worklog", json!([])),
        ("wostatus", json!([])),
    ] {
        rec.insert(k.into(), v);
    }
    for (name, _) in ATTRIBUTES {
        rec.entry(name.to_string()).or_insert(Value::Null);
    }
    rec
}
