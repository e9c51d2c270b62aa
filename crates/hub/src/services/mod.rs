//! The service catalogue: the offerings employees raise requests from at
//! the front door, each with its form (`services.toml`, `docs/SERVICES.md`).
//!
//! Parse (`spec.rs`), then validate (pure, `compile.rs`: every problem at
//! once, located), then check each offering's department and target against
//! the connector manifests (`targets.rs`, for the catalog). A submission is
//! checked against an offering's form and turned into a canonical work item
//! by `submit.rs`, also pure: this module never stores, routes or serves
//! anything; the HTTP API and the intake do.

mod compile;
pub mod spec;
mod submit;
mod targets;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::diag::{Diagnostics, SourceFile};
use crate::mapping::template::Template;
use compile::{compile, well_formed_id};
use spec::ServicesFile;
pub use spec::{FieldType, ItemKind};
pub use submit::FieldProblem;

/// Most offerings in one file: a catalogue is browsed by people, and every
/// offering is checked against every manifest.
pub const MAX_OFFERINGS: usize = 500;
/// Most fields in one offering's form.
pub const MAX_FIELDS: usize = 50;
/// Most choices of one `choice` field.
pub const MAX_CHOICES: usize = 200;
/// Longest offering id or field name, in characters.
pub const MAX_NAME: usize = 64;
/// The largest `max_length` a text field may declare.
pub const MAX_TEXT: u32 = 10_000;
/// `max_length` of a `text` field that declares none: one line.
pub const DEFAULT_TEXT: u32 = 500;
/// `max_length` of a `textarea` field that declares none.
pub const DEFAULT_TEXTAREA: u32 = MAX_TEXT;
/// The largest `sla_hours`: a year.
pub const MAX_SLA_HOURS: u32 = 8_760;

/// Work item keys the intake writes itself, so a `set` must not.
const WRITTEN_BY_INTAKE: &[&str] = &[
    "entity",
    "kind",
    "title",
    "description",
    "status",
    "department",
    "requester_ref",
    "attributes.offering",
    "attributes.fields",
    "attributes.confidential",
    "attributes.sla_hours",
];

/// The loaded catalogue. Absent file: no `Services` at all, nothing offered.
#[derive(Debug, Clone)]
pub struct Services {
    pub file: PathBuf,
    /// In file order, which is the order the front door lists them.
    pub offerings: Vec<Offering>,
}

/// Where an offering's work goes when it names its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub connector: String,
    pub action: String,
}

/// One offering. Its `Serialize` is the public view the front door lists
/// (`GET /api/v1/services`): where the work goes and what `set` adds are
/// the admins' business and are left out.
#[derive(Debug, Clone, Serialize)]
pub struct Offering {
    pub id: String,
    pub name: String,
    pub description: String,
    pub department: String,
    pub kind: ItemKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidential: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_hours: Option<u32>,
    /// `None`: `routing.toml` decides where the work goes.
    #[serde(skip)]
    pub to: Option<Destination>,
    #[serde(skip)]
    title: Option<Template>,
    /// Values set on the work item, by dotted path.
    #[serde(skip)]
    pub set: BTreeMap<String, Value>,
    pub fields: Vec<Field>,
}

/// One field of an offering's form.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub required: bool,
    /// For text fields: the limit in force, declared or the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Services {
    /// Read, parse and validate `services.toml`; every problem at once.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        Self::from_source(&SourceFile::read(path)?)
    }

    /// Parse and validate; no IO.
    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostics> {
        let file: ServicesFile = source.parse()?;
        let mut errors = Vec::new();
        if file.offerings.len() > MAX_OFFERINGS {
            errors.push(source.error_at_key(
                &format!("offerings.{MAX_OFFERINGS}"),
                format!(
                    "{} offerings; a catalogue holds at most {MAX_OFFERINGS}",
                    file.offerings.len()
                ),
            ));
        }
        let mut offerings = Vec::new();
        for (i, o) in file.offerings.iter().enumerate() {
            if well_formed_id(&o.id) && file.offerings[..i].iter().any(|other| other.id == o.id) {
                errors.push(source.error_at_key(
                    &format!("offerings.{i}.id"),
                    format!("an offering with id `{}` comes earlier", o.id),
                ));
            }
            offerings.push(compile(source, i, o, &mut errors));
        }
        if errors.is_empty() {
            Ok(Self {
                file: source.path.clone(),
                offerings,
            })
        } else {
            Err(Diagnostics(errors))
        }
    }

    /// The offering with this id.
    pub fn offering(&self, id: &str) -> Option<&Offering> {
        self.offerings.iter().find(|o| o.id == id)
    }
}
