//! The service catalogue: the offerings employees raise requests from at
//! the front door, each with its form (`services.toml`, `docs/SERVICES.md`).
//!
//! Parse (`spec.rs`), then validate (pure, here: every problem at once,
//! located), then check each offering's department and target against the
//! connector manifests (`check_targets`, for the catalog). A submission is
//! checked against an offering's form and turned into a canonical work item
//! by `submit.rs`, also pure: this module never stores, routes or serves
//! anything; the HTTP API and the intake do.

pub mod spec;
mod submit;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::connector::Manifest;
use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};
use crate::mapping::template::Template;
use spec::{FieldSpec, OfferingSpec, ServicesFile};
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
    "status",
    "department",
    "requester_ref",
    "attributes.offering",
    "attributes.fields",
    "attributes.confidential",
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

    /// Each offering's department must be one a connector serves, and its
    /// `to` a declared action of a connector in that department.
    pub fn check_targets(&self, manifests: &[Manifest]) -> Vec<Diagnostic> {
        self.check_targets_except(manifests, &|_| false, &|_| false)
    }

    /// [`Services::check_targets`], silent about what manifests that did
    /// not load would have declared (`failed_system`, `failed_department`):
    /// their own errors already say why.
    pub fn check_targets_except(
        &self,
        manifests: &[Manifest],
        failed_system: &dyn Fn(&str) -> bool,
        failed_department: &dyn Fn(&str) -> bool,
    ) -> Vec<Diagnostic> {
        let Ok(source) = SourceFile::read(&self.file) else {
            return Vec::new();
        };
        let systems: Vec<String> = manifests.iter().map(|m| m.header.system.clone()).collect();
        let departments: Vec<String> = manifests
            .iter()
            .map(|m| m.header.department.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut errors = Vec::new();
        for (i, o) in self.offerings.iter().enumerate() {
            let at = |k: &str| format!("offerings.{i}.{k}");
            let department_known = departments.contains(&o.department);
            if !department_known && !failed_department(&o.department) {
                let mut d = source.error_at_key(
                    &at("department"),
                    format!("no connector serves department `{}`", o.department),
                );
                d.hint = suggest(&o.department, &departments)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("departments are: {}", departments.join(", "))));
                errors.push(d);
            }
            let Some(to) = &o.to else { continue };
            let Some(m) = manifests.iter().find(|m| m.header.system == to.connector) else {
                if !failed_system(&to.connector) {
                    let mut d = source.error_at_key(
                        &at("to.connector"),
                        format!("no connector manifest has system `{}`", to.connector),
                    );
                    d.hint =
                        suggest(&to.connector, &systems).map(|s| format!("did you mean `{s}`?"));
                    errors.push(d);
                }
                continue;
            };
            // An unknown department is one mistake, already reported: the
            // connector not serving it would say it twice.
            if department_known && m.header.department != o.department {
                errors.push(source.error_at_key(
                    &at("to.connector"),
                    format!(
                        "connector `{}` serves department `{}`, not `{}`",
                        to.connector, m.header.department, o.department
                    ),
                ));
            }
            let actions: Vec<String> = m.config.actions().into_iter().map(|a| a.name).collect();
            if !actions.contains(&to.action) {
                let mut d = source.error_at_key(
                    &at("to.action"),
                    format!(
                        "connector `{}` has no action `{}` (it has: {})",
                        to.connector,
                        to.action,
                        if actions.is_empty() {
                            "none; leave `to` out and let routing.toml decide".to_string()
                        } else {
                            actions.join(", ")
                        }
                    ),
                );
                d.hint = suggest(&to.action, &actions).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
        }
        errors
    }

    /// A confidential offering sent to a department not cleared for its
    /// class (`routing.toml`'s `[clearance]`) would arrive without its
    /// fields: the department that must act could not.
    pub fn check_clearance(&self, clearance: &BTreeMap<String, Vec<String>>) -> Vec<Diagnostic> {
        let Ok(source) = SourceFile::read(&self.file) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for (i, o) in self.offerings.iter().enumerate() {
            let (Some(class), Some(_)) = (&o.confidential, &o.to) else {
                continue;
            };
            if clearance
                .get(&o.department)
                .is_some_and(|c| c.contains(class))
            {
                continue;
            }
            let mut d = source.error_at_key(
                &format!("offerings.{i}.confidential"),
                format!(
                    "department `{}` is not cleared for `{class}`, so the work would reach it without its fields",
                    o.department
                ),
            );
            d.hint = Some(format!(
                "clear it in routing.toml: `[clearance]` `{} = [\"{class}\"]`",
                o.department
            ));
            errors.push(d);
        }
        errors
    }
}

/// `[a-z0-9-]`, starting with a letter or digit, at most [`MAX_NAME`] long.
fn well_formed_id(id: &str) -> bool {
    id.len() <= MAX_NAME
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `[a-z_][a-z0-9_]*`, at most [`MAX_NAME`] long: a key in JSON and in a
/// template path alike.
fn well_formed_field(name: &str) -> bool {
    name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn compile(
    source: &SourceFile,
    i: usize,
    o: &OfferingSpec,
    errors: &mut Vec<Diagnostic>,
) -> Offering {
    let at = |k: &str| format!("offerings.{i}.{k}");
    if !well_formed_id(&o.id) {
        errors.push(source.error_at_key(
            &at("id"),
            format!("`{}`: an id is lower-case letters, digits and `-`, at most {MAX_NAME} long, such as `facilities-repair`", o.id),
        ));
    }
    for (key, value) in [
        ("name", &o.name),
        ("description", &o.description),
        ("department", &o.department),
    ] {
        if value.trim().is_empty() {
            errors.push(source.error_at_key(&at(key), "must not be empty"));
        }
    }
    if o.confidential
        .as_deref()
        .is_some_and(|c| !well_formed_id(c))
    {
        errors.push(source.error_at_key(
            &at("confidential"),
            "a confidentiality class is a name such as `hr`, as in routing.toml's `[clearance]`",
        ));
    }
    if let Some(h) = o.sla_hours
        && !(1..=MAX_SLA_HOURS).contains(&h)
    {
        errors.push(source.error_at_key(
            &at("sla_hours"),
            format!("{h}: from 1 to {MAX_SLA_HOURS} hours (a year)"),
        ));
    }
    if o.fields.len() > MAX_FIELDS {
        errors.push(source.error_at_key(
            &format!("offerings.{i}.fields.{MAX_FIELDS}"),
            format!(
                "{} fields; a form holds at most {MAX_FIELDS}",
                o.fields.len()
            ),
        ));
    }
    let fields: Vec<Field> = o
        .fields
        .iter()
        .enumerate()
        .map(|(j, f)| compile_field(source, i, j, f, &o.fields[..j], errors))
        .collect();
    let title = o
        .title
        .as_deref()
        .and_then(|t| compile_title(source, &at("title"), t, &fields, errors));
    let set = crate::routing::compile_set(source, &at("set"), &o.set, errors);
    for path in set.keys() {
        if WRITTEN_BY_INTAKE
            .iter()
            .any(|w| path == w || path.starts_with(&format!("{w}.")))
        {
            errors.push(source.error_at_key(
                &at("set"),
                format!("`{path}` is written by the intake from the offering and the form"),
            ));
        }
    }
    Offering {
        id: o.id.clone(),
        name: o.name.clone(),
        description: o.description.clone(),
        department: o.department.clone(),
        kind: o.kind,
        confidential: o.confidential.clone(),
        sla_hours: o.sla_hours,
        to: o.to.as_ref().map(|t| Destination {
            connector: t.connector.clone(),
            action: t.action.clone(),
        }),
        title,
        set,
        fields,
    }
}

fn compile_field(
    source: &SourceFile,
    i: usize,
    j: usize,
    f: &FieldSpec,
    earlier: &[FieldSpec],
    errors: &mut Vec<Diagnostic>,
) -> Field {
    let at = |k: &str| format!("offerings.{i}.fields.{j}.{k}");
    let kind = f.kind.as_str();
    if !well_formed_field(&f.name) {
        errors.push(source.error_at_key(
            &at("name"),
            format!("`{}`: a field name is lower-case letters, digits and `_`, not starting with a digit, at most {MAX_NAME} long", f.name),
        ));
    } else if earlier.iter().any(|e| e.name == f.name) {
        errors.push(source.error_at_key(
            &at("name"),
            format!("a field named `{}` comes earlier in this offering", f.name),
        ));
    }
    if f.label.trim().is_empty() {
        errors.push(source.error_at_key(&at("label"), "must not be empty"));
    }
    let max_length = match (f.max_length, f.kind) {
        (Some(n), t) if t.is_text() => {
            if !(1..=MAX_TEXT).contains(&n) {
                errors.push(
                    source.error_at_key(&at("max_length"), format!("{n}: from 1 to {MAX_TEXT}")),
                );
            }
            Some(n)
        }
        (Some(_), _) => {
            errors.push(source.error_at_key(
                &at("max_length"),
                format!("`max_length` is for `text` and `textarea` fields, not `{kind}`"),
            ));
            None
        }
        (None, FieldType::Text) => Some(DEFAULT_TEXT),
        (None, FieldType::Textarea) => Some(DEFAULT_TEXTAREA),
        (None, _) => None,
    };
    let choices = match (&f.choices, f.kind) {
        (None, FieldType::Choice) => {
            let mut d = source.error_at_key(&at("type"), "a `choice` field needs `choices`");
            d.hint = Some("add `choices = [\"…\", \"…\"]`".into());
            errors.push(d);
            Vec::new()
        }
        (Some(_), t) if t != FieldType::Choice => {
            errors.push(source.error_at_key(
                &at("choices"),
                format!("`choices` is only for `type = \"choice\"`, not `{kind}`"),
            ));
            Vec::new()
        }
        (Some(choices), _) => {
            check_choices(source, &at("choices"), choices, errors);
            choices.clone()
        }
        (None, _) => Vec::new(),
    };
    Field {
        name: f.name.clone(),
        label: f.label.clone(),
        kind: f.kind,
        required: f.required,
        max_length,
        choices,
        help: f.help.clone(),
    }
}

fn check_choices(source: &SourceFile, key: &str, choices: &[String], errors: &mut Vec<Diagnostic>) {
    if choices.is_empty() {
        errors.push(source.error_at_key(key, "a `choice` field needs at least one choice"));
    }
    if choices.len() > MAX_CHOICES {
        errors.push(source.error_at_key(
            key,
            format!("{} choices; at most {MAX_CHOICES}", choices.len()),
        ));
    }
    for (k, c) in choices.iter().enumerate() {
        // A submission's value is trimmed before it is compared.
        if c.trim().is_empty() || c.trim() != c {
            errors.push(source.error_at_key(
                &format!("{key}.{k}"),
                format!("`{c}`: a choice is text with no space around it"),
            ));
        } else if choices[..k].contains(c) {
            errors.push(
                source.error_at_key(&format!("{key}.{k}"), format!("`{c}` is already a choice")),
            );
        }
    }
}

/// A title template reads only `{fields.<name>}` of the offering's own
/// fields: nothing else exists when a request is raised.
fn compile_title(
    source: &SourceFile,
    key: &str,
    text: &str,
    fields: &[Field],
    errors: &mut Vec<Diagnostic>,
) -> Option<Template> {
    if !text.contains('{') {
        let mut d = source.error_at_key(key, "a title reads at least one `{fields.<name>}`");
        d.hint = Some("leave `title` out to use the offering's name".into());
        errors.push(d);
        return None;
    }
    let template = match Template::parse(text) {
        Ok(t) => t,
        Err(e) => {
            errors.push(source.error_at_key(key, e));
            return None;
        }
    };
    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let before = errors.len();
    for path in template.paths() {
        let name = path.strip_prefix("fields.").unwrap_or(path);
        if path.starts_with("fields.") && names.iter().any(|n| n == name) {
            continue;
        }
        let mut d = source.error_at_key(
            key,
            format!(
                "`{{{path}}}`: a title reads only `{{fields.<name>}}` of this offering's fields"
            ),
        );
        d.hint = suggest(name, &names)
            .map(|s| format!("did you mean `{{fields.{s}}}`?"))
            .or_else(|| Some(format!("its fields are: {}", names.join(", "))));
        errors.push(d);
    }
    (errors.len() == before).then_some(template)
}
