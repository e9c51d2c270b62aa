//! `services.toml` as written: the offerings of the service catalogue, each
//! with the form an employee fills in to raise it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesFile {
    /// File format version; this build reads 1.
    pub version: u32,
    /// In the order the front door lists them.
    #[serde(default)]
    pub offerings: Vec<OfferingSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferingSpec {
    /// Stable: requests and links keep it, so it is never renamed.
    pub id: String,
    /// What the employee sees in the list.
    pub name: String,
    pub description: String,
    /// The department that handles it: one some connector serves.
    pub department: String,
    /// The canonical kind of the work item a request becomes.
    #[serde(default)]
    pub kind: ItemKind,
    /// A confidentiality class (`hr`): the fields go only to departments
    /// `routing.toml`'s `[clearance]` clears for it.
    #[serde(default)]
    pub confidential: Option<String>,
    /// Hours the department has to resolve it, carried with the work.
    #[serde(default)]
    pub sla_hours: Option<u32>,
    /// Where the work goes; absent, `routing.toml` decides.
    #[serde(default)]
    pub to: Option<ToSpec>,
    /// The work item's title, a template over `fields`.
    #[serde(default)]
    pub title: Option<String>,
    /// Values the target needs that no form field gives, by dotted path
    /// into the work item (`"attributes.maximo_siteid" = "BEDFORD"`).
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
    /// The form, in the order it is shown.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// The work item kinds a request can become.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Something the employee asks for.
    #[default]
    Request,
    /// Something broken.
    Incident,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Request => "request",
            ItemKind::Incident => "incident",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToSpec {
    /// The system that must act: a connector's `system`, in the
    /// offering's department.
    pub connector: String,
    /// One of that connector's write-back actions.
    pub action: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The key a submission uses; unique in the offering.
    pub name: String,
    /// The question the form asks.
    pub label: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    /// For `text` and `textarea`: the most characters taken.
    #[serde(default)]
    pub max_length: Option<u32>,
    /// For `choice`, and only for it: the values that may be picked.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
    /// A line under the field, for people.
    #[serde(default)]
    pub help: Option<String>,
}

/// What a form field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// Any finite number.
    Number,
    /// A whole number.
    Integer,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    Email,
    /// One of the field's `choices`.
    Choice,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Textarea => "textarea",
            FieldType::Number => "number",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Email => "email",
            FieldType::Choice => "choice",
        }
    }

    /// Whether the field holds free text, so `max_length` applies.
    pub fn is_text(self) -> bool {
        matches!(self, FieldType::Text | FieldType::Textarea)
    }
}
