//! The mapping file format, version 1, exactly as admins write it.
//!
//! Parsing only: no check here knows what a valid target field is. That is
//! [`super::compile`]'s job, which turns this into an executable plan.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Entity, LookupKey, OnMissing};

/// `mappings/<system>-<stream>.toml`: one source stream to one canonical entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// File format version; this build reads 1.
    pub version: u32,
    /// `inbound` (the default): a source stream's records to canonical
    /// records. `outbound`: a canonical record to the body of one of the
    /// system's write-back actions.
    #[serde(default)]
    pub direction: Direction,
    /// The connector system this mapping reads from (or writes to), as
    /// named in its manifest.
    pub system: String,
    /// Inbound: the stream of that system, as named in the manifest's
    /// `[[streams]]`.
    pub stream: Option<String>,
    /// Outbound: the write-back action whose body this builds, e.g.
    /// `update_incident`.
    pub action: Option<String>,
    /// The canonical entity produced (inbound) or read (outbound):
    /// `work_item`, `person` or `org_unit`.
    pub entity: Entity,
    /// Canonical fields this system is the authority for, e.g.
    /// `["department"]` in the HR mapping. Another system's value for an
    /// owned field never replaces the owner's.
    #[serde(default)]
    pub owns: Vec<String>,
    /// A CEL condition over `record`: when true, the record is skipped (not
    /// stored, not quarantined), e.g. `record.category == "test"`.
    pub skip_if: Option<String>,
    /// Canonical field name -> how to fill it.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRule>,
    /// Free-form attributes kept beside the canonical fields.
    #[serde(default)]
    pub attributes: BTreeMap<String, FieldRule>,
    /// Arrays in the record whose elements map to children: a ticket's
    /// comments into activities, an order's lines into an attribute.
    #[serde(default)]
    pub children: BTreeMap<String, ChildrenSpec>,
    /// Named value maps, used by rules through `map = "name"`.
    #[serde(default)]
    pub maps: BTreeMap<String, BTreeMap<String, Value>>,
}

/// How one target field is filled from a source record. Exactly one source:
/// `path`, `const`, `coalesce`, `template` or `expr`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// Path into the source record: `caller.email`, `comments[0].text`,
    /// `comments[*].text` (every element), or `comments.0.text`.
    pub path: Option<String>,
    /// A fixed value instead of a path.
    #[serde(rename = "const")]
    pub constant: Option<Value>,
    /// The first of these paths that is present and not empty.
    pub coalesce: Option<Vec<String>>,
    /// Text with `{path}` placeholders: `"{first_name} {last_name}"`. `{{`
    /// and `}}` are literal braces. Missing values render as nothing.
    pub template: Option<String>,
    /// A computed value: a CEL expression over `record`, e.g.
    /// `record.impact == "1" ? "major" : "minor"`.
    pub expr: Option<String>,
    /// A CEL condition over `record`; when false the rule is skipped and the
    /// field is left to its `default`.
    pub when: Option<String>,
    /// Applied in order to the value read, before `default` and `map`.
    #[serde(default)]
    pub transforms: Vec<super::transform::TransformSpec>,
    /// Used when the path is missing, null or an empty string.
    pub default: Option<Value>,
    /// Name of a value map in `[maps]`. The map is total: a value it does not
    /// list fails the record unless the map has a `default` entry.
    pub map: Option<String>,
    /// Parse a timestamp: a chrono format such as `%Y-%m-%d %H:%M:%S` (read
    /// as UTC), or `rfc3339`.
    pub timestamp: Option<String>,
    /// A confidentiality class, e.g. `hr`: the field is recorded as
    /// classified, so only audiences cleared for the class receive it.
    pub confidential: Option<String>,
    /// The time zone of timestamps whose format has no offset, e.g.
    /// `Europe/Amsterdam` (IANA names). Default: UTC.
    pub timezone: Option<String>,
    /// Resolve the value to a canonical record in the store, e.g. a
    /// requester's email to a person.
    pub lookup: Option<LookupSpec>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    #[default]
    Inbound,
    Outbound,
}

/// `[children.<name>]`: map each element of an array.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChildrenSpec {
    /// Path to the array in the source record, e.g. `comments` or `worklog`.
    pub each: String,
    /// `activities` (work items only), or `attributes.<name>` for an array
    /// of objects.
    pub into: String,
    /// Rules over one element. For activities the fields are `key`, `kind`,
    /// `author`, `body`, `from_status`, `to_status` and `occurred_at`; for
    /// an attribute, any names.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRule>,
}

/// `lookup = { by = "email", on_missing = "placeholder" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    /// What the value is matched against: `email`, `employee_number` or
    /// `external_id` for people; `code` or `external_id` for org units.
    pub by: LookupKey,
    /// When nothing matches: `error` (quarantine the record, the default),
    /// `null`, or `placeholder`.
    #[serde(default = "default_on_missing")]
    pub on_missing: OnMissing,
}

fn default_on_missing() -> OnMissing {
    OnMissing::Error
}

/// The key inside a value map that catches every unlisted value.
pub const MAP_DEFAULT_KEY: &str = "default";
