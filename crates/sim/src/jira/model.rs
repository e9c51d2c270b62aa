//! The simulated site's data: customers, request types, the workflow
//! (statuses, their categories and the transitions between them), requests
//! with their status history and comments, and the `DateDTO` every date of
//! the servicedeskapi is rendered as.
//!
//! The workflow follows the one Jira Service Management Cloud gives an IT
//! service project's service requests ("Waiting for support", "In progress",
//! "Waiting for customer", "Pending", "Resolved", "Canceled", "Closed"). The
//! transition ids and names are assumed: they differ per site, and the
//! servicedeskapi only ever shows them through `GET …/transition`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

/// A Jira user as the servicedeskapi shows it (`UserDTO`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Atlassian account id, e.g. `712020:0f6b…` or a 24-hex id.
    pub account_id: String,
    /// `None` when the customer's privacy settings hide it (the API then sends null).
    pub email: Option<String>,
    pub display_name: String,
    pub time_zone: String,
}

/// A field a request type shows on its portal form (and so in `requestFieldValues`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormField {
    Summary,
    Description,
    Priority,
}

/// A request type of the IT service desk.
#[derive(Debug, Clone)]
pub struct RequestType {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub issue_type_id: &'static str,
    pub group_id: &'static str,
    /// Visible fields, in form order. A hidden field is left out of
    /// `requestFieldValues` (documented for GET request).
    pub fields: &'static [FormField],
    /// The preset value of a hidden summary, as admins configure it.
    pub preset_summary: Option<&'static str>,
}

/// The one service desk the simulator hosts.
pub const SERVICE_DESK_ID: &str = "1";
pub const PROJECT_ID: &str = "10000";
pub const PROJECT_KEY: &str = "IT";
pub const PROJECT_NAME: &str = "IT Service Desk";

use FormField::{Description, Priority, Summary};

pub const REQUEST_TYPES: &[RequestType] = &[
    RequestType {
        id: "1",
        name: "Get IT help",
        description: "Get assistance for general IT problems and questions.",
        issue_type_id: "10001",
        group_id: "1",
        fields: &[Summary, Description],
        preset_summary: None,
    },
    RequestType {
        id: "2",
        name: "Report a system problem",
        description: "Tell us about a system that is down or behaving unexpectedly.",
        issue_type_id: "10002",
        group_id: "1",
        fields: &[Summary, Description, Priority],
        preset_summary: None,
    },
    RequestType {
        id: "3",
        name: "Request new hardware",
        description: "Laptops, monitors, docks, headsets and phones.",
        issue_type_id: "10003",
        group_id: "2",
        fields: &[Summary, Description],
        preset_summary: None,
    },
    RequestType {
        id: "4",
        name: "Request new software",
        description: "Licences and installations of approved software.",
        issue_type_id: "10003",
        group_id: "2",
        fields: &[Summary, Description],
        preset_summary: None,
    },
    RequestType {
        id: "5",
        name: "Reset my password",
        description: "Forgot your password or locked out of your account?",
        issue_type_id: "10003",
        group_id: "3",
        // The summary is hidden and preset, so it never shows in requestFieldValues.
        fields: &[Description],
        preset_summary: Some("Password reset"),
    },
];

pub fn request_type(id: &str) -> Option<&'static RequestType> {
    REQUEST_TYPES.iter().find(|t| t.id == id)
}

/// Status name -> status category key, as `currentStatus.statusCategory` sends it.
pub const STATUSES: &[(&str, &str)] = &[
    ("Waiting for support", "NEW"),
    ("In progress", "INDETERMINATE"),
    ("Waiting for customer", "INDETERMINATE"),
    ("Pending", "INDETERMINATE"),
    ("Resolved", "DONE"),
    ("Canceled", "DONE"),
    ("Closed", "DONE"),
];

/// The first status of a new request.
pub const INITIAL_STATUS: &str = "Waiting for support";

/// The category of a status; a status outside the workflow (one a test
/// inserts) has none, which Jira calls `UNDEFINED` ("No Category").
pub fn category(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(name, _)| *name == status)
        .map_or("UNDEFINED", |(_, c)| c)
}

/// (from status, transition id, transition name, to status).
pub const TRANSITIONS: &[(&str, &str, &str, &str)] = &[
    ("Waiting for support", "11", "Start progress", "In progress"),
    ("Waiting for support", "21", "Cancel request", "Canceled"),
    ("In progress", "31", "Pending", "Pending"),
    (
        "In progress",
        "41",
        "Request information",
        "Waiting for customer",
    ),
    ("In progress", "51", "Resolve this issue", "Resolved"),
    ("In progress", "21", "Cancel request", "Canceled"),
    (
        "Waiting for customer",
        "61",
        "Respond to support",
        "Waiting for support",
    ),
    ("Waiting for customer", "21", "Cancel request", "Canceled"),
    ("Pending", "71", "Resume work", "In progress"),
    ("Resolved", "81", "Reopen", "Waiting for support"),
    ("Resolved", "91", "Close", "Closed"),
];

/// The transitions available from `status`, as (id, name, target).
pub fn transitions_from(status: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    TRANSITIONS
        .iter()
        .filter(|(from, ..)| *from == status)
        .map(|(_, id, name, to)| (*id, *name, *to))
        .collect()
}

/// Jira's default priority scheme: (id, name).
pub const PRIORITIES: &[(&str, &str)] = &[
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
];

pub fn priority_id(name: &str) -> Option<&'static str> {
    PRIORITIES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(id, _)| *id)
}

/// One entry of a request's status history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: String,
    pub at: DateTime<Utc>,
}

/// A comment on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub public: bool,
    pub author: Customer,
    pub created: DateTime<Utc>,
}

/// A customer request as the simulator stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub issue_id: u64,
    pub issue_key: String,
    pub service_desk_id: String,
    pub request_type_id: String,
    pub reporter: Customer,
    pub participants: Vec<Customer>,
    /// Always set in Jira; a request type that hides the field (with a
    /// preset value) leaves it out of `requestFieldValues`.
    pub summary: String,
    pub description: Option<String>,
    /// Priority name; shown only where the request type's form has the field.
    pub priority: Option<String>,
    pub created: DateTime<Utc>,
    /// Chronological; the last entry is the current status.
    pub history: Vec<StatusChange>,
    pub comments: Vec<Comment>,
    /// The list is ordered by this, newest first: creation, transitions and comments bump it.
    pub last_activity: DateTime<Utc>,
}

impl Request {
    /// The current status (the last history entry).
    pub fn status(&self) -> &str {
        self.history
            .last()
            .map_or(INITIAL_STATUS, |c| c.status.as_str())
    }

    /// When the current status was reached.
    pub fn status_date(&self) -> DateTime<Utc> {
        self.history.last().map_or(self.created, |c| c.at)
    }

    /// Moves the request to `status` at `at`.
    pub fn set_status(&mut self, status: &str, at: DateTime<Utc>) {
        self.history.push(StatusChange {
            status: status.to_string(),
            at,
        });
        self.last_activity = self.last_activity.max(at);
    }

    /// Whether `id_or_key` names this request (issue id or issue key).
    pub fn is(&self, id_or_key: &str) -> bool {
        self.issue_id.to_string() == id_or_key || self.issue_key.eq_ignore_ascii_case(id_or_key)
    }
}

/// A `DateDTO`: the same instant as ISO 8601 (offset without a colon, as in
/// the documented examples: `2015-10-08T14:42:00+0700`), Jira's format with
/// milliseconds, a relative "friendly" text, and epoch milliseconds. Dates are
/// shown in the site's time zone.
pub fn date_dto(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> Value {
    let local = t.with_timezone(&tz);
    json!({
        "iso8601": local.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        "jira": local.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string(),
        "friendly": friendly(t, tz, now),
        "epochMillis": t.timestamp_millis(),
    })
}

/// Jira's relative date text: "Today 2:42 PM", "Yesterday 9:05 AM", the
/// weekday within the last week, and `dd/Mon/yy h:mm AM` before that. The docs
/// only show examples; the rules are assumed from the Jira UI. Being relative,
/// the text of an unchanged request changes as days pass.
pub fn friendly(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let (local, today) = (t.with_timezone(&tz), now.with_timezone(&tz).date_naive());
    let time = local.format("%-I:%M %p");
    let days = (today - local.date_naive()).num_days();
    match days {
        0 => format!("Today {time}"),
        1 => format!("Yesterday {time}"),
        2..=6 => format!("{} {time}", local.format("%A")),
        _ => format!("{} {time}", local.format("%d/%b/%y")),
    }
}
