//! Mappings: declarative files that turn one source stream's records into
//! canonical records.
//!
//! A file is parsed ([`spec`]), validated and compiled once ([`compile`]), and
//! the compiled plan is applied per record with no lookups by rule name. A
//! record that fails mapping yields an error naming the file, rule, source
//! path and value; the caller quarantines it and carries on. This module never
//! touches the store or the network: lookups are emitted with the record and
//! resolved by the store a page at a time.

pub mod bounds;
mod children;
mod compile;
pub mod expr;
mod memo;
mod outbound;
pub mod path;
mod reads;
mod rule;
mod slot;
pub mod spec;
mod target;
pub(crate) use target::canonical_keys;
pub mod template;
pub mod transform;
pub(crate) mod value;
pub use value::iso_fast_path;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostics, SourceFile};
use crate::model::{Canonical, Entity, Lookup};
use children::Children;
pub use outbound::OutboundMapping;
use rule::{Failure, Rule};
pub use slot::MappingSlot;
use target::{Filled, Shape};
use value::typed_to_json;

/// A compiled mapping, ready to apply.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub file: PathBuf,
    pub system: String,
    pub stream: String,
    pub entity: Entity,
    /// Content hash of the file, stored with every record it produced.
    pub version: String,
    /// Canonical fields this system is the authority for (`owns = [...]`).
    pub owns: Vec<String>,
    /// Records for which this holds are not for us.
    skip_if: Option<expr::Expr>,
    root: RuleSet,
    children: Vec<Children>,
}

impl Mapping {
    /// For each field this mapping owns, the source fields it is read from:
    /// what a write to this system must not set unless it means to change
    /// the owned value.
    pub fn owned_sources(&self) -> Vec<(String, Vec<String>)> {
        self.owns
            .iter()
            .map(|field| {
                let sources = self
                    .root
                    .rules
                    .iter()
                    .filter(|r| r.target.is_some() && &r.name == field)
                    .flat_map(|r| r.from.heads())
                    .collect();
                (field.clone(), sources)
            })
            .collect()
    }
}

/// The rules that fill one shape from one value: the whole record, or one
/// element of a children array.
#[derive(Debug, Clone)]
struct RuleSet {
    shape: Shape,
    rules: Vec<Rule>,
    /// The fields of the value any CEL expression here reads (`None`: all).
    cel_fields: Option<Vec<String>>,
    /// The top-level keys the rules' paths start at, sorted; each path
    /// knows its index here (see [`path::Slots`]).
    heads: Vec<String>,
}

/// One rule's part in mapping one record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explained {
    /// `fields.status`, or `children.comments[0].fields.body`.
    pub rule: String,
    /// The path(s) or template read; `None` for a constant.
    pub source: Option<String>,
    /// The value read, before transforms.
    pub input: Option<Value>,
    /// The rule's `when`, when it did not hold: nothing was read, and the
    /// field stays empty (or takes its default) for that reason, not
    /// because the record lacks the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when_false: Option<String>,
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

/// Where in the record a rule set is working: the top level, or element
/// `index` of the array at `each`.
#[derive(Debug, Clone, Copy)]
struct At<'a> {
    file: &'a Path,
    element: Option<(&'a str, usize)>,
}

impl At<'_> {
    fn error(&self, rule: &Rule, failure: Failure) -> RecordError {
        let prefix = self
            .element
            .map(|(each, i)| format!("{each}[{i}]."))
            .unwrap_or_default();
        let rule_key = match self.element {
            Some((_, i)) => insert_index(&rule.key, i),
            None => rule.key.clone(),
        };
        RecordError {
            file: self.file.display().to_string(),
            rule: rule_key,
            source_path: match (rule.from.describe(), failure.value) {
                (Some(p), Some(v)) => format!(" (from `{prefix}{p}` = {v})"),
                (Some(p), None) => format!(" (from `{prefix}{p}`)"),
                _ => String::new(),
            },
            message: failure.message,
        }
    }
}

/// `children.comments.fields.body` for element 3 reads
/// `children.comments[3].fields.body`.
fn insert_index(key: &str, index: usize) -> String {
    match key.match_indices('.').nth(1) {
        Some((dot, _)) => format!("{}[{index}]{}", &key[..dot], &key[dot..]),
        None => format!("{key}[{index}]"),
    }
}

impl RuleSet {
    /// Fill a fresh shape from `value`.
    fn fill(&self, value: &Value, at: At) -> Result<Filled, RecordError> {
        let scope = expr::Scope::with_fields(value, self.cel_fields.as_deref());
        let slots = path::Slots::collect(value, &self.heads);
        let mut out = Filled::empty(self.shape);
        for rule in &self.rules {
            let typed = rule
                .input(&scope, &slots)
                .and_then(|input| rule.finish(input))
                .map_err(|f| at.error(rule, f))?;
            let Some(typed) = typed else { continue };
            if let (Some(plan), value::Typed::Text(key)) = (&rule.lookup, &typed)
                && let Some(lookups) = out.lookups()
            {
                lookups.push(Lookup {
                    rule: rule.key.clone(),
                    slot: plan.slot,
                    entity: plan.entity,
                    by: plan.by,
                    value: key.clone(),
                    on_missing: plan.on_missing,
                });
            }
            if let (Some(class), Some(classified)) = (&rule.class, out.classified()) {
                let field = match rule.target {
                    None => format!("attributes.{}", rule.name),
                    Some(_) => rule.name.clone(),
                };
                classified.insert(field, Value::String(class.clone()));
            }
            match (rule.target, out.attributes()) {
                (None, Some(attrs)) => {
                    attrs.insert(rule.name.clone(), typed_to_json(typed));
                }
                (None, None) => {}
                (Some(t), _) => out.set(t, typed),
            }
        }
        self.check_required(&out, at)?;
        Ok(out)
    }

    fn check_required(&self, out: &Filled, at: At) -> Result<(), RecordError> {
        for (name, target, _, required) in self.shape.fields() {
            if *required && !self.shape.holds(out, *target) {
                let rule = self
                    .rules
                    .iter()
                    .find(|r| r.target == Some(*target))
                    .map(|r| r.key.clone())
                    .unwrap_or_else(|| format!("fields.{name}"));
                return Err(RecordError {
                    file: at.file.display().to_string(),
                    rule: match at.element {
                        Some((_, i)) => insert_index(&rule, i),
                        None => rule,
                    },
                    source_path: String::new(),
                    message: "required field is empty in this record and the rule has no `default`"
                        .into(),
                });
            }
        }
        Ok(())
    }

    fn explain(&self, value: &Value, index: Option<usize>, out: &mut Vec<Explained>) {
        let scope = expr::Scope::with_fields(value, self.cel_fields.as_deref());
        let slots = path::Slots::collect(value, &self.heads);
        for rule in &self.rules {
            let when_false = rule
                .when
                .as_ref()
                .filter(|w| w.eval_bool(&scope) == Ok(false))
                .map(|w| w.as_str().to_string());
            let (input, output) = match rule.input(&scope, &slots) {
                Ok(input) => {
                    let output = rule
                        .finish(input.clone())
                        .map(|t| t.map(typed_to_json))
                        .map_err(|f| f.message);
                    (input.map(std::borrow::Cow::into_owned), output)
                }
                Err(f) => (None, Err(f.message)),
            };
            out.push(Explained {
                rule: match index {
                    Some(i) => insert_index(&rule.key, i),
                    None => rule.key.clone(),
                },
                source: rule.from.describe(),
                input,
                when_false,
                output,
            });
        }
    }
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

    fn at(&self) -> At<'_> {
        At {
            file: &self.file,
            element: None,
        }
    }

    /// Whether `skip_if` says this record is not for us.
    pub fn skips(&self, record: &Value) -> Result<bool, RecordError> {
        match &self.skip_if {
            None => Ok(false),
            Some(e) => e
                .eval_bool(&expr::Scope::with_fields(
                    record,
                    self.root.cel_fields.as_deref(),
                ))
                .map_err(|message| RecordError {
                    file: self.file.display().to_string(),
                    rule: "skip_if".into(),
                    source_path: String::new(),
                    message,
                }),
        }
    }

    /// Map one source record.
    pub fn apply(&self, record: &Value) -> Result<Canonical, RecordError> {
        let mut out = self.root.fill(record, self.at())?;
        for children in &self.children {
            children.apply(record, &self.file, &mut out)?;
        }
        // The root shape is an entity by construction (see `compile`).
        out.into_canonical().ok_or_else(|| RecordError {
            file: self.file.display().to_string(),
            rule: "entity".into(),
            source_path: String::new(),
            message: "this mapping does not produce a canonical entity".into(),
        })
    }

    /// Per rule: what it read, and what it produced or why it failed. For
    /// `switchboard map --explain`.
    pub fn explain(&self, record: &Value) -> Vec<Explained> {
        let mut out = Vec::new();
        self.root.explain(record, None, &mut out);
        for children in &self.children {
            children.explain(record, &mut out);
        }
        out
    }
}

/// A mapping file of either direction.
#[derive(Debug, Clone)]
pub enum AnyMapping {
    Inbound(Mapping),
    Outbound(OutboundMapping),
}

impl AnyMapping {
    /// Read a mapping file, compiling it by its `direction`.
    pub fn load(path: &Path) -> Result<Self, Diagnostics> {
        let source = SourceFile::read(path)?;
        Self::from_source(&source)
    }

    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostics> {
        let file: spec::MappingFile = source.parse()?;
        match file.direction {
            spec::Direction::Inbound => compile::compile(source, file).map(AnyMapping::Inbound),
            spec::Direction::Outbound => outbound::compile(source, file).map(AnyMapping::Outbound),
        }
    }
}

/// A canonical field and the system that is the authority for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub entity: Entity,
    pub field: String,
    pub system: String,
}

/// Two systems claiming the same field.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "`{}.{field}` is already owned by system `{}` ({}); a field has one owning system, so `{}` cannot own it too",
    entity.as_str(), owner.system, owner.file.display(), claimant.system
)]
pub struct OwnershipConflict {
    pub entity: Entity,
    pub field: String,
    /// The mapping that claimed it first, in the order given.
    pub owner: Arc<Mapping>,
    /// The mapping that claims it too, from another system.
    pub claimant: Arc<Mapping>,
}

/// Collect the declared owners of every field.
///
/// People from several systems merge into one profile by identity, so a
/// person field has at most one owning system: two claims conflict. Work
/// items and org units stay one record per source; there `owns` protects
/// the system's own records from other systems' flows, and any number of
/// systems may own, say, the status of their own tickets.
pub fn owners<'a>(
    mappings: impl IntoIterator<Item = &'a Arc<Mapping>>,
) -> Result<Vec<Owner>, Vec<OwnershipConflict>> {
    let mut claimed: Vec<(Owner, &Arc<Mapping>)> = Vec::new();
    // Where each claim is in `claimed`, by entity, field, and system unless
    // the entity is a person (one owner across systems): a catalog can have
    // thousands of mappings.
    let mut index: HashMap<(Entity, &str, Option<&str>), usize> = HashMap::new();
    let mut conflicts = Vec::new();
    for m in mappings {
        for field in &m.owns {
            let system = (m.entity != Entity::Person).then_some(m.system.as_str());
            let prior = index
                .get(&(m.entity, field.as_str(), system))
                .map(|&i| &claimed[i]);
            match prior {
                Some((o, _)) if o.system == m.system => {}
                Some((_, first)) => conflicts.push(OwnershipConflict {
                    entity: m.entity,
                    field: field.clone(),
                    owner: Arc::clone(first),
                    claimant: Arc::clone(m),
                }),
                None => {
                    index.insert((m.entity, field.as_str(), system), claimed.len());
                    claimed.push((
                        Owner {
                            entity: m.entity,
                            field: field.clone(),
                            system: m.system.clone(),
                        },
                        m,
                    ));
                }
            }
        }
    }
    if conflicts.is_empty() {
        Ok(claimed.into_iter().map(|(o, _)| o).collect())
    } else {
        Err(conflicts)
    }
}

/// Short content hash: identifies the mapping version that produced a record.
pub fn content_version(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

#[cfg(test)]
mod tests;
