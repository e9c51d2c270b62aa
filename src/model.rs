//! The canonical model: what every system's records become.
//!
//! Mapping produces these types and the store persists them; neither owns
//! them. Enumerated fields are closed sets so a mapping cannot invent a status
//! that routing would not understand.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Canonical entities a mapping can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    WorkItem,
    Person,
}

impl Entity {
    pub const ALL: &'static [&'static str] = &["work_item", "person"];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::WorkItem => "work_item",
            Entity::Person => "person",
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
    pub department: Option<String>,
    pub assignee_group: Option<String>,
    pub service: Option<String>,
    pub location_ref: Option<String>,
    pub external_url: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Everything the model has no column for.
    pub attributes: serde_json::Map<String, Value>,
    /// Confidentiality class of each classified field that holds a value,
    /// e.g. `{"description": "hr", "attributes.salary": "finance"}`.
    pub classified: serde_json::Map<String, Value>,
}

/// A person known to any system: employee, requester, agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Person {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub org_unit_ref: Option<String>,
    pub location_ref: Option<String>,
    pub manager_ref: Option<String>,
    pub active: Option<bool>,
    pub attributes: serde_json::Map<String, Value>,
    /// See [`WorkItem::classified`].
    pub classified: serde_json::Map<String, Value>,
}

/// One mapped record, ready for the store.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Canonical {
    WorkItem(WorkItem),
    Person(Person),
}
