//! `routing.toml` as written: ordered rules and a default route.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingFile {
    /// File format version; this build reads 1.
    pub version: u32,
    /// Tried in order; the first that matches routes the work.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Where work that no rule matches goes.
    pub default: DefaultSpec,
    /// Templated sets of tasks for several departments under one parent
    /// case, such as onboarding.
    #[serde(default)]
    pub value_streams: Vec<ValueStreamSpec>,
    /// The confidentiality classes each department may receive
    /// (`hr = ["hr"]`); a department not listed is cleared for none.
    #[serde(default)]
    pub clearance: std::collections::BTreeMap<String, Vec<String>>,
    /// Progress back to where work came from: per origin system, the
    /// write-back action that posts it (`servicenow = "comment_incident"`).
    /// An origin system not listed gets progress in the store only.
    #[serde(default)]
    pub progress: std::collections::BTreeMap<String, String>,
    /// How comments cross between linked records.
    #[serde(default)]
    pub comments: CommentsSpec,
}

/// `[comments]`: a target's public comments always go back to the origin
/// (through `[progress]`); an origin's may go on to the target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentsSpec {
    /// An origin's public comments written after the work was routed are
    /// posted on the target through the target system's `[progress]`
    /// action. On by default.
    #[serde(default = "yes")]
    pub forward: bool,
}

impl Default for CommentsSpec {
    fn default() -> Self {
        Self { forward: true }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique; shown by `switchboard route` and kept with routed work.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The change events the rule considers; absent: every event.
    #[serde(default)]
    pub on: Option<Vec<String>>,
    /// A CEL condition over `record` (the canonical record) and `event`.
    #[serde(default)]
    pub when: Option<String>,
    pub to: TargetSpec,
    /// Overrides the routed work's priority, 1 (critical) to 4 (low).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Hours the target has to resolve it, carried with the work.
    #[serde(default)]
    pub sla_hours: Option<u32>,
    /// Values the target needs that the record lacks, by dotted path into
    /// the record (`"attributes.maximo_siteid" = "BEDFORD"`).
    #[serde(default)]
    pub set: std::collections::BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    pub department: String,
    /// The system that must act: a connector's `system`.
    pub connector: String,
    /// One of that connector's write-back actions.
    pub action: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultSpec {
    /// Absent: unmatched work stays where it was raised, and nothing is routed.
    #[serde(default)]
    pub to: Option<TargetSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueStreamSpec {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The change events that start it.
    pub on: Vec<String>,
    #[serde(default)]
    pub when: Option<String>,
    /// The parent case's title, a template over the record: `"Onboarding: {display_name}"`.
    pub case_title: String,
    /// For a stream on `person_hired`: hold the tasks' routed work until
    /// this many days (0 to 365) before the person's `start_date`.
    #[serde(default)]
    pub start_days_before: Option<u32>,
    /// For a stream on `person_leaving`: the same, before the `end_date`.
    #[serde(default)]
    pub end_days_before: Option<u32>,
    pub tasks: Vec<TaskSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Unique within the stream.
    pub name: String,
    pub to: TargetSpec,
    /// A template over the record that started the stream.
    pub title: String,
    #[serde(default)]
    pub priority: Option<i64>,
    /// Days from the start the task is due.
    #[serde(default)]
    pub due_in_days: Option<u32>,
    /// As a rule's `set`: values the target needs, by dotted path.
    #[serde(default)]
    pub set: std::collections::BTreeMap<String, toml::Value>,
}
