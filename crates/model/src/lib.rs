//! The canonical model: what every system's records become.
//!
//! Mapping produces these types and the store persists them; neither owns
//! them. Enumerated fields are closed sets so a mapping cannot invent a status
//! that routing would not understand.

/// Text every store can keep (U+0000 and lone surrogates replaced).
pub mod text;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

/// Canonical entities a mapping can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    WorkItem,
    Person,
    OrgUnit,
    /// An item of a system's own catalogue (ServiceNow catalogue items, Jira
    /// request types): listed at the front door, never routed.
    Offering,
}

impl Entity {
    pub const ALL: &'static [&'static str] = &["work_item", "person", "org_unit", "offering"];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::WorkItem => "work_item",
            Entity::Person => "person",
            Entity::OrgUnit => "org_unit",
            Entity::Offering => "offering",
        }
    }
}

pub const WORK_ITEM_KINDS: &[&str] = &["incident", "request", "work_order", "case", "task"];

pub const WORK_ITEM_STATUSES: &[&str] = &[
    "new",
    "open",
    "in_progress",
    "waiting",
    "resolved",
    "closed",
    "cancelled",
];

/// A piece of work in any department's system.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WorkItem {
    /// One of [`WORK_ITEM_KINDS`].
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    /// One of [`WORK_ITEM_STATUSES`].
    pub status: String,
    /// The source system's own status, kept for display and write-back.
    pub native_status: Option<String>,
    /// 1 (critical) to 4 (low).
    pub priority: Option<i16>,
    /// The requester's id in the source system.
    pub requester_ref: Option<String>,
    /// The canonical person the requester lookup resolved to (`people.id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<i64>,
    pub department: Option<String>,
    pub assignee_group: Option<String>,
    pub service: Option<String>,
    pub location_ref: Option<String>,
    pub external_url: Option<String>,
    #[serde(serialize_with = "iso8601::option")]
    pub opened_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso8601::option")]
    pub updated_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso8601::option")]
    pub resolved_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso8601::option")]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "iso8601::option")]
    pub due_at: Option<DateTime<Utc>>,
    /// Everything the model has no column for.
    pub attributes: serde_json::Map<String, Value>,
    /// Confidentiality class of each classified field that holds a value,
    /// e.g. `{"description": "hr", "attributes.salary": "finance"}`.
    pub classified: serde_json::Map<String, Value>,
    /// Comments and status changes carried inside the source record.
    /// `None` when the mapping has no activity children: the stored
    /// activities are then left alone. `Some` replaces this source's
    /// activities of the item with exactly these.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activities: Option<Vec<Activity>>,
    /// References the store resolves per page (see [`Lookup`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<Lookup>,
}

pub const ACTIVITY_KINDS: &[&str] = &["comment", "status_change"];

/// Who may read an activity: `public` (the requester too) or `internal`
/// (the department only; what the store assumes when a mapping says nothing).
pub const VISIBILITIES: &[&str] = &["public", "internal"];

/// Something that happened on a work item: a comment or a status change.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Activity {
    /// Unique among the item's activities from its source: the source's own
    /// id for the comment, or the element's position in the array.
    pub key: String,
    /// One of [`ACTIVITY_KINDS`].
    pub kind: String,
    pub author_ref: Option<String>,
    pub body: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    #[serde(serialize_with = "iso8601::option")]
    pub occurred_at: Option<DateTime<Utc>>,
    /// One of [`VISIBILITIES`]; `None` is stored as `internal`.
    pub visibility: Option<String>,
}

/// A department, team or cost centre, from HR or ERP.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrgUnit {
    pub name: String,
    /// The code other systems use to refer to it, e.g. a cost-centre code.
    pub code: Option<String>,
    pub parent_ref: Option<String>,
    /// Resolved by lookup (`org_units.id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    pub attributes: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<Lookup>,
}

/// Something an employee can ask for in a department's own system: an item
/// of its native catalogue. The front door lists it with a link to ask
/// there (`external_url`); it is not raised through the hub, so it carries
/// no form and no lookups, and routing never sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Offering {
    pub name: String,
    pub description: Option<String>,
    /// The connector's department when the mapping gives none.
    pub department: Option<String>,
    pub category: Option<String>,
    /// Where an employee asks for it: the system's own portal page.
    pub external_url: Option<String>,
    /// `None` (the mapping says nothing) is active: a catalogue lists what
    /// it has unless told an item is retired.
    pub active: Option<bool>,
    pub attributes: serde_json::Map<String, Value>,
}

impl Offering {
    /// Whether the front door lists it.
    pub fn is_active(&self) -> bool {
        self.active != Some(false)
    }
}

/// Entities a lookup can resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupEntity {
    Person,
    OrgUnit,
}

/// The canonical column a lookup matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupKey {
    /// Case-insensitive.
    Email,
    EmployeeNumber,
    Code,
    /// The record's id in its own system.
    ExternalId,
}

/// What to do when a lookup finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    /// The record goes to quarantine; it is mapped again when it next
    /// changes, or by `switchboard quarantine retry` or a mapping reload.
    Error,
    /// The reference stays empty.
    Null,
    /// A placeholder is created, holding only the key, and referenced. A
    /// real record arriving later with the same key takes its place.
    Placeholder,
}

/// Which reference of the record a lookup fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LookupSlot {
    Requester,
    Manager,
    OrgUnit,
    Parent,
}

/// A reference to resolve against the store: "the person whose email is
/// `value`". Mapping emits these; the store resolves a whole page's worth in
/// one query per kind and sets the record's `*_id` field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Lookup {
    /// The rule, for messages: `fields.requester`.
    pub rule: String,
    pub slot: LookupSlot,
    pub entity: LookupEntity,
    pub by: LookupKey,
    pub value: String,
    pub on_missing: OnMissing,
}

/// A person known to any system: employee, requester, agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Person {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub org_unit_ref: Option<String>,
    /// Resolved by lookup (`org_units.id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<i64>,
    pub location_ref: Option<String>,
    pub manager_ref: Option<String>,
    /// Resolved by lookup (`people.id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager_id: Option<i64>,
    pub active: Option<bool>,
    /// The first working day, as HR has it (`YYYY-MM-DD`): a future
    /// starter is hired before they are active (see `docs/ROUTING.md`).
    pub start_date: Option<NaiveDate>,
    /// The last working day, once known: its appearance is a leaving.
    pub end_date: Option<NaiveDate>,
    pub attributes: serde_json::Map<String, Value>,
    /// See [`WorkItem::classified`].
    pub classified: serde_json::Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lookups: Vec<Lookup>,
}

/// One mapped record, ready for the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Canonical {
    WorkItem(WorkItem),
    Person(Person),
    OrgUnit(OrgUnit),
    Offering(Offering),
}

impl Canonical {
    pub fn lookups(&self) -> &[Lookup] {
        match self {
            Canonical::WorkItem(w) => &w.lookups,
            Canonical::Person(p) => &p.lookups,
            Canonical::OrgUnit(o) => &o.lookups,
            Canonical::Offering(_) => &[],
        }
    }
}

/// Times written exactly as chrono's own `Serialize` writes them
/// (`2026-10-27T20:16:01Z`), without its path through `fmt`, which writes
/// a character at a time: six times per work item, it cost `switchboard
/// map` about a tenth of its instructions.
mod iso8601 {
    use chrono::{DateTime, Datelike, Timelike, Utc};
    use serde::Serializer;

    pub fn option<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        let Some(t) = t else {
            return s.serialize_none();
        };
        match whole_seconds(t) {
            Some(text) => s.serialize_some(std::str::from_utf8(&text).unwrap_or_default()),
            None => s.serialize_some(t),
        }
    }

    /// The text, when it is all chrono would write: no fraction of a
    /// second (nor a leap second) and a four-digit year. Else chrono
    /// writes it.
    fn whole_seconds(t: &DateTime<Utc>) -> Option<[u8; 20]> {
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        if t.nanosecond() != 0 {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00Z";
        let fields = [
            (0, 4, year),
            (5, 2, t.month()),
            (8, 2, t.day()),
            (11, 2, t.hour()),
            (14, 2, t.minute()),
            (17, 2, t.second()),
        ];
        for (at, width, mut value) in fields {
            for digit in text[at..at + width].iter_mut().rev() {
                // Each digit is below 10, so the cast cannot truncate.
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(text)
    }

    #[cfg(test)]
    mod tests {
        use chrono::{DateTime, Duration, NaiveDate, Utc};

        /// What chrono itself writes for `t`, and what `option` writes.
        fn both(t: DateTime<Utc>) -> (String, String) {
            let mut ours = Vec::new();
            super::option(&Some(t), &mut serde_json::Serializer::new(&mut ours)).expect("writes");
            let chrono = serde_json::to_string(&t).expect("writes");
            (String::from_utf8(ours).expect("utf-8"), chrono)
        }

        #[test]
        fn times_are_written_as_chrono_writes_them() {
            let at = |y, mo, d, h, mi, s, nano| {
                NaiveDate::from_ymd_opt(y, mo, d)
                    .and_then(|d| d.and_hms_nano_opt(h, mi, s, nano))
                    .expect("valid")
                    .and_utc()
            };
            let mut times = vec![
                at(2026, 10, 27, 20, 16, 1, 0),
                at(0, 1, 1, 0, 0, 0, 0),
                at(9, 9, 9, 9, 9, 9, 0),
                at(999, 12, 31, 23, 59, 59, 0),
                at(9999, 12, 31, 23, 59, 59, 0),
                at(10000, 1, 1, 0, 0, 0, 0),
                at(-1, 6, 15, 12, 0, 0, 0),
                at(2026, 1, 1, 0, 0, 0, 1),
                at(2026, 1, 1, 0, 0, 0, 120_000_000),
                // A leap second.
                at(2016, 12, 31, 23, 59, 59, 1_000_000_000),
            ];
            let mut t = at(1969, 7, 20, 20, 17, 40, 0);
            for _ in 0..5000 {
                t += Duration::seconds(7_919_993);
                times.push(t);
            }
            for t in times {
                let (ours, chrono) = both(t);
                assert_eq!(ours, chrono, "{t:?}");
            }
            assert_eq!(
                both(at(2026, 10, 27, 20, 16, 1, 0)).0,
                "\"2026-10-27T20:16:01Z\""
            );
        }
    }
}
