//! The mapping file format, version 1, exactly as admins write it.
//!
//! Parsing only: no check here knows what a valid target field is. That is
//! [`super::compile`]'s job, which turns this into an executable plan.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::Entity;

/// `mappings/<system>-<stream>.toml`: one source stream to one canonical entity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// File format version; this build reads 1.
    pub version: u32,
    /// The connector system this mapping reads from, as named in its manifest.
    pub system: String,
    /// The stream of that system, as named in the manifest's `[[streams]]`.
    pub stream: String,
    /// The canonical entity produced: `work_item` or `person`.
    pub entity: Entity,
    /// A CEL condition over `record`: when true, the record is skipped (not
    /// stored, not quarantined), e.g. `record.category == "test"`.
    pub skip_if: Option<String>,
    /// Canonical field name -> how to fill it.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldRule>,
    /// Free-form attributes kept beside the canonical fields.
    #[serde(default)]
    pub attributes: BTreeMap<String, FieldRule>,
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
}

/// The key inside a value map that catches every unlisted value.
pub const MAP_DEFAULT_KEY: &str = "default";
