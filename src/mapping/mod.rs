//! Mappings: declarative files that turn one source stream's records into
//! canonical records.
//!
//! A file is parsed ([`spec`]), validated and compiled once ([`compile`]), and
//! the compiled plan is applied per record with no lookups by rule name. A
//! record that fails mapping yields an error naming the file, rule, source
//! path and value; the caller quarantines it and carries on. This module never
//! touches the store or the network.

mod compile;
pub mod expr;
pub mod path;
mod slot;
pub mod spec;
mod template;
pub mod transform;
mod value;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostics, SourceFile};
use crate::model::{Canonical, Entity, Person, WorkItem};
use compile::FieldType;
pub use slot::MappingSlot;
use value::{Typed, convert, parse_time, set_attr, set_person, set_work_item, typed_to_json};

/// A compiled mapping, ready to apply.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub file: PathBuf,
    pub system: String,
    pub stream: String,
    pub entity: Entity,
    /// Content hash of the file, stored with every record it produced.
    pub version: String,
    /// Records for which this holds are not for us.
    skip_if: Option<expr::Expr>,
    /// The record fields any CEL expression here reads (`None`: all).
    cel_fields: Option<Vec<String>>,
    rules: Vec<(Option<Target>, String, Rule)>,
}

/// Canonical fields a rule can fill; `None` in a plan means an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Kind,
    Title,
    Description,
    Status,
    NativeStatus,
    Priority,
    Requester,
    Department,
    AssigneeGroup,
    Service,
    Location,
    ExternalUrl,
    OpenedAt,
    UpdatedAt,
    ResolvedAt,
    ClosedAt,
    DueAt,
    DisplayName,
    Email,
    EmployeeNumber,
    OrgUnit,
    Manager,
    Active,
}

#[derive(Debug, Clone)]
enum Source {
    Path(path::Path),
    Const(Value),
    Coalesce(Vec<path::Path>),
    Template(template::Template),
    Expr(expr::Expr),
}

impl Source {
    /// How the source reads in messages: the path, or the paths tried.
    fn describe(&self) -> Option<String> {
        match self {
            Source::Path(p) => Some(p.as_str().to_string()),
            Source::Const(_) => None,
            Source::Coalesce(ps) => Some(
                ps.iter()
                    .map(path::Path::as_str)
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
            Source::Template(t) => Some(format!("template {:?}", t.as_str())),
            Source::Expr(e) => Some(format!("expr {:?}", e.as_str())),
        }
    }
}

#[derive(Debug, Clone)]
enum TimeFormat {
    Rfc3339,
    /// A chrono pattern. Without an offset in it, values are read as UTC;
    /// without a time of day, as midnight UTC.
    Pattern {
        pattern: String,
        offset: bool,
        date_only: bool,
        /// Where wall-clock times without an offset were written.
        zone: chrono_tz::Tz,
    },
}

#[derive(Debug, Clone)]
struct ValueMap {
    name: String,
    values: HashMap<String, Value>,
    default: Option<Value>,
}

#[derive(Debug, Clone)]
struct Rule {
    /// `fields.status`: how the admin finds this rule in the file.
    key: String,
    from: Source,
    /// Only apply the rule when this holds.
    when: Option<expr::Expr>,
    transforms: Vec<transform::Transform>,
    default: Option<Value>,
    map: Option<ValueMap>,
    timestamp: Option<TimeFormat>,
    ty: FieldType,
    /// Attributes keep the JSON value as it came.
    raw: bool,
    /// Confidentiality class of the field this rule fills.
    class: Option<String>,
}

/// One rule's part in mapping one record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explained {
    /// `fields.status`
    pub rule: String,
    /// The path(s) or template read; `None` for a constant.
    pub source: Option<String>,
    /// The value read, before transforms.
    pub input: Option<Value>,
    /// The canonical value, `None` when the field stays empty, or the reason it failed.
    pub output: Result<Option<Value>, String>,
}

/// Why one record could not be mapped. Goes to quarantine verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: rule `{rule}`{source_path}: {message}")]
pub struct RecordError {
    pub file: String,
    pub rule: String,
    /// ` (from `state` = "9")`, or empty for constants.
    pub source_path: String,
    pub message: String,
}

impl Mapping {
    /// Read, validate and compile a mapping file.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        let source = SourceFile::read(path)?;
        Self::from_source(&source)
    }

    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostics> {
        let file: spec::MappingFile = source.parse()?;
        compile::compile(source, file)
    }

    /// Whether `skip_if` says this record is not for us.
    pub fn skips(&self, record: &Value) -> Result<bool, RecordError> {
        match &self.skip_if {
            None => Ok(false),
            Some(e) => e
                .eval_bool(&expr::Scope::new(record))
                .map_err(|message| RecordError {
                    file: self.file.display().to_string(),
                    rule: "skip_if".into(),
                    source_path: String::new(),
                    message,
                }),
        }
    }

    fn scope<'r>(&'r self, record: &'r Value) -> expr::Scope<'r> {
        expr::Scope::with_fields(record, self.cel_fields.as_deref())
    }

    /// Map one source record.
    pub fn apply(&self, record: &Value) -> Result<Canonical, RecordError> {
        let scope = self.scope(record);
        let mut out = match self.entity {
            Entity::WorkItem => Canonical::WorkItem(WorkItem::default()),
            Entity::Person => Canonical::Person(Person::default()),
        };
        for (target, name, rule) in &self.rules {
            let value = self.eval(rule, &scope)?;
            let Some(value) = value else { continue };
            if let Some(class) = &rule.class {
                let classified = match &mut out {
                    Canonical::WorkItem(w) => &mut w.classified,
                    Canonical::Person(p) => &mut p.classified,
                };
                let field = match target {
                    None => format!("attributes.{name}"),
                    Some(_) => name.clone(),
                };
                classified.insert(field, Value::String(class.clone()));
            }
            match (target, &mut out) {
                (None, Canonical::WorkItem(w)) => set_attr(&mut w.attributes, name, value),
                (None, Canonical::Person(p)) => set_attr(&mut p.attributes, name, value),
                (Some(t), Canonical::WorkItem(w)) => set_work_item(w, *t, value),
                (Some(t), Canonical::Person(p)) => set_person(p, *t, value),
            }
        }
        self.check_required(&out)?;
        Ok(out)
    }

    /// What the rule reads from the record, before transforms; `None` when
    /// the record has nothing for it or its `when` does not hold.
    fn input(&self, rule: &Rule, scope: &expr::Scope) -> Result<Option<Value>, RecordError> {
        if let Some(when) = &rule.when {
            let holds = when
                .eval_bool(scope)
                .map_err(|m| self.record_error(rule, m, None))?;
            if !holds {
                return Ok(None);
            }
        }
        let record = scope.record();
        Ok(match &rule.from {
            Source::Const(v) => Some(v.clone()),
            Source::Path(p) => p.find(record).to_value(),
            Source::Coalesce(paths) => paths
                .iter()
                .filter_map(|p| p.find(record).to_value())
                .find(|v| !is_empty(v)),
            Source::Template(t) => Some(Value::String(t.render(record))),
            Source::Expr(e) => Some(
                e.eval(scope)
                    .map_err(|m| self.record_error(rule, m, None))?,
            ),
        })
    }

    fn eval(&self, rule: &Rule, scope: &expr::Scope) -> Result<Option<Typed>, RecordError> {
        let input = self.input(rule, scope)?;
        self.finish(rule, input)
    }

    fn record_error(&self, rule: &Rule, message: String, value: Option<&Value>) -> RecordError {
        RecordError {
            file: self.file.display().to_string(),
            rule: rule.key.clone(),
            source_path: match (rule.from.describe(), value) {
                (Some(p), Some(v)) => format!(" (from `{p}` = {v})"),
                (Some(p), None) => format!(" (from `{p}`)"),
                _ => String::new(),
            },
            message,
        }
    }

    /// Transforms, default, map, then the target's type.
    fn finish(&self, rule: &Rule, raw: Option<Value>) -> Result<Option<Typed>, RecordError> {
        let from_record = !matches!(rule.from, Source::Const(_));
        let err = |message: String, value: Option<&Value>| self.record_error(rule, message, value);
        let mut raw = raw;
        if from_record {
            for t in &rule.transforms {
                let Some(v) = raw.take() else { break };
                let shown = v.clone();
                raw =
                    Some(t.apply(v).map_err(|m| {
                        err(format!("transform `{}`: {m}", t.name()), Some(&shown))
                    })?);
            }
        }
        // Only a value read from the record goes through the map: `const` and
        // `default` are written as the canonical value itself (and checked
        // as such when the mapping compiles).
        let (mut value, mappable) = match raw {
            Some(v) if !is_empty(&v) => (v, from_record),
            _ => match &rule.default {
                Some(d) => (d.clone(), false),
                None => return Ok(None),
            },
        };
        if let (Some(map), true) = (&rule.map, mappable) {
            let key = scalar_key(&value);
            value = match map.values.get(&key).or(map.default.as_ref()) {
                Some(mapped) => mapped.clone(),
                None => {
                    return Err(err(
                        format!(
                            "value {value} is not in map `{}`; add it to [maps.{}] or give the map a `default`",
                            map.name, map.name
                        ),
                        Some(&value),
                    ));
                }
            };
        }
        if let Some(fmt) = &rule.timestamp {
            return parse_time(&value, fmt)
                .map(|t| Some(Typed::Time(t)))
                .map_err(|m| err(m, Some(&value)));
        }
        if rule.raw {
            return Ok(Some(Typed::Raw(value)));
        }
        convert(&value, rule.ty)
            .map(Some)
            .map_err(|m| err(m, Some(&value)))
    }

    /// Per rule: what it read, and what it produced or why it failed. For
    /// `switchboard map --explain`.
    pub fn explain(&self, record: &Value) -> Vec<Explained> {
        let scope = self.scope(record);
        self.rules
            .iter()
            .map(|(_, _, rule)| {
                let (input, output) = match self.input(rule, &scope) {
                    Ok(input) => {
                        let output = self
                            .finish(rule, input.clone())
                            .map(|t| t.map(typed_to_json));
                        (input, output)
                    }
                    Err(e) => (None, Err(e)),
                };
                Explained {
                    rule: rule.key.clone(),
                    source: rule.from.describe(),
                    input,
                    output: output.map_err(|e| e.message),
                }
            })
            .collect()
    }

    fn check_required(&self, out: &Canonical) -> Result<(), RecordError> {
        let missing = match out {
            Canonical::WorkItem(w) if w.title.is_empty() => Some("fields.title"),
            Canonical::WorkItem(w) if w.kind.is_empty() => Some("fields.kind"),
            Canonical::WorkItem(w) if w.status.is_empty() => Some("fields.status"),
            _ => None,
        };
        match missing {
            Some(rule) => Err(RecordError {
                file: self.file.display().to_string(),
                rule: rule.to_string(),
                source_path: String::new(),
                message: "required field is empty in this record and the rule has no `default`"
                    .into(),
            }),
            None => Ok(()),
        }
    }
}

fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::String(s) if s.is_empty())
}

/// The string form of a scalar, as value maps are keyed.
fn scalar_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Short content hash: identifies the mapping version that produced a record.
pub fn content_version(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

#[cfg(test)]
mod tests;
