//! Outbound mappings: a canonical record to the body of one write-back
//! action of a native system, in the same language as inbound mappings.
//!
//! Rules read the canonical record as it serializes (`status`,
//! `attributes.number`, `requester_ref`) and name native fields, dotted for
//! nesting (`fields.summary` builds `{"fields": {"summary": …}}`). Value maps
//! are total here too: a canonical status the target has no code for is an
//! error for the writer to report, never a silent pass-through.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::compile::{compile_maps, compile_rules, rule_set};
use super::expr::{self, Expr};
use super::rule::{Rule, Source};
use super::spec::{Direction, MappingFile};
use super::target::{Filled, Shape, canonical_keys};
use super::{At, Explained, RecordError, RuleSet};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};
use crate::model::{Canonical, Entity};

/// A compiled outbound mapping.
#[derive(Debug, Clone)]
pub struct OutboundMapping {
    pub file: PathBuf,
    pub system: String,
    /// The write-back action whose body this builds.
    pub action: String,
    /// The canonical entity read.
    pub entity: Entity,
    pub version: String,
    skip_if: Option<Expr>,
    rules: RuleSet,
}

impl OutboundMapping {
    pub fn from_source(source: &SourceFile) -> Result<Self, Diagnostics> {
        let file: MappingFile = source.parse()?;
        compile(source, file)
    }

    /// The top-level body fields this mapping writes.
    pub fn writes(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .rules
            .iter()
            .map(|r| r.name.split('.').next().unwrap_or_default().to_string())
            .collect();
        out.dedup();
        out
    }

    /// The native body for `record`, or `None` when `skip_if` holds (nothing
    /// to send).
    pub fn render(&self, record: &Canonical) -> Result<Option<Value>, RecordError> {
        let value = serde_json::to_value(record).map_err(|e| RecordError {
            file: self.file.display().to_string(),
            rule: "entity".into(),
            source_path: String::new(),
            message: format!("canonical record has no JSON form: {e}"),
        })?;
        self.render_value(&value)
    }

    /// As [`Self::render`], over a canonical record already in JSON form
    /// (what `switchboard map` prints for an inbound mapping).
    pub fn render_value(&self, record: &Value) -> Result<Option<Value>, RecordError> {
        let at = At {
            file: &self.file,
            element: None,
        };
        if let Some(entity) = record.get("entity").and_then(Value::as_str)
            && entity != self.entity.as_str()
        {
            return Err(RecordError {
                file: self.file.display().to_string(),
                rule: "entity".into(),
                source_path: String::new(),
                message: format!(
                    "this mapping reads a {}, the record is a {entity}",
                    self.entity.as_str()
                ),
            });
        }
        if let Some(skip) = &self.skip_if {
            let scope = expr::Scope::with_fields(record, self.rules.cel_fields.as_deref());
            let skipped = skip.eval_bool(&scope).map_err(|message| RecordError {
                file: self.file.display().to_string(),
                rule: "skip_if".into(),
                source_path: String::new(),
                message,
            })?;
            if skipped {
                return Ok(None);
            }
        }
        match self.rules.fill(record, at)? {
            Filled::Object(flat) => Ok(Some(nest(flat))),
            _ => Ok(None),
        }
    }

    pub fn explain(&self, record: &Value) -> Vec<Explained> {
        let mut out = Vec::new();
        self.rules.explain(record, None, &mut out);
        out
    }
}

/// `{"fields.summary": x}` to `{"fields": {"summary": x}}`.
fn nest(flat: Map<String, Value>) -> Value {
    let mut root = Map::new();
    for (key, value) in flat {
        let parts: Vec<&str> = key.split('.').collect();
        insert_path(&mut root, &parts, value);
    }
    Value::Object(root)
}

fn insert_path(node: &mut Map<String, Value>, parts: &[&str], value: Value) {
    match parts {
        [] => {}
        [last] => {
            node.insert(last.to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = node
                .entry(first.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(child) = entry {
                insert_path(child, rest, value);
            }
        }
    }
}

/// Body keys are dotted paths into the body. `a..b` or `.a` names nothing;
/// `state` beside `state.display` asks for one value to be both text and an
/// object, and one of them would be silently dropped.
fn check_body_keys(source: &SourceFile, rules: &[Rule], errors: &mut Vec<Diagnostic>) {
    let names: std::collections::HashSet<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    for rule in rules {
        let name = rule.name.as_str();
        if name.split('.').any(str::is_empty) {
            errors.push(source.error_at_key(
                &rule.key,
                format!("`{name}` has an empty segment; body keys are `name` or `parent.child`"),
            ));
            continue;
        }
        // Each proper prefix: `a` and `a.b` for `a.b.c`.
        let parent = name
            .match_indices('.')
            .map(|(i, _)| &name[..i])
            .find(|prefix| names.contains(prefix));
        if let Some(parent) = parent {
            errors.push(source.error_at_key(
                &rule.key,
                format!(
                    "`{name}` goes inside `{parent}`, which another rule sets to a value; write one or the other"
                ),
            ));
        }
    }
}

pub(super) fn compile(
    source: &SourceFile,
    file: MappingFile,
) -> Result<OutboundMapping, Diagnostics> {
    let mut errors = Vec::new();
    if file.direction != Direction::Outbound {
        errors.push(source.error_at_key(
            "system",
            "not an outbound mapping; add `direction = \"outbound\"`",
        ));
    }
    let action = file.action.clone().unwrap_or_else(|| {
        errors.push(source.error_at_key(
            "direction",
            "an outbound mapping needs `action = \"…\"`: the write-back action whose body it builds",
        ));
        String::new()
    });
    let not_here: [(&str, bool, &str); 5] = [
        (
            "stream",
            file.stream.is_some(),
            "outbound mappings belong to an action, not a stream",
        ),
        (
            "owns",
            !file.owns.is_empty(),
            "ownership is declared by the inbound mapping",
        ),
        (
            "attributes",
            !file.attributes.is_empty(),
            "name every native field under [fields]",
        ),
        (
            "children",
            !file.children.is_empty(),
            "build arrays with a `[*]` path or `expr`",
        ),
        (
            "fields",
            file.fields.values().any(|r| r.confidential.is_some()),
            "confidentiality is declared by the inbound mapping",
        ),
    ];
    for (key, present, why) in not_here {
        if present {
            errors.push(
                source.error_at_key(key, format!("not allowed in an outbound mapping: {why}")),
            );
        }
    }
    let maps = compile_maps(source, &file, &mut errors);
    let mut rules = compile_rules(
        source,
        Shape::Object,
        "fields",
        &file.fields,
        &maps,
        &mut errors,
    );
    let keys: Vec<String> = canonical_keys(file.entity)
        .iter()
        .map(|k| k.to_string())
        .collect();
    for rule in &mut rules {
        rule.render_time = true;
        let paths: Vec<&str> = match &rule.from {
            Source::Path(p) => vec![p.as_str()],
            Source::Coalesce(ps) => ps.iter().map(|p| p.as_str()).collect(),
            _ => Vec::new(),
        };
        for path in paths {
            let head = path.split(['.', '[']).next().unwrap_or_default();
            if !keys.iter().any(|k| k == head) {
                let mut d = source.error_at_key(
                    &rule.key,
                    format!("a canonical {} has no `{head}`", file.entity.as_str()),
                );
                // Inbound field names that are stored under another name.
                let stored_as = format!("{head}_ref");
                d.hint = if keys.contains(&stored_as) {
                    Some(format!(
                        "did you mean `{stored_as}`? (`{head}` is stored as `{stored_as}`, the source's value, and `{head}_id`, the resolved record)"
                    ))
                } else {
                    suggest(head, &keys)
                        .map(|s| format!("did you mean `{s}`?"))
                        .or_else(|| Some(format!("it has: {}", keys.join(", "))))
                };
                errors.push(d);
            }
        }
    }
    check_body_keys(source, &rules, &mut errors);
    if rules.is_empty() && file.fields.is_empty() {
        errors.push(source.error_at_key("entity", "an outbound mapping needs [fields]"));
    }
    let skip_if = file
        .skip_if
        .as_ref()
        .and_then(|text| match Expr::compile(text) {
            Ok(e) => Some(e),
            Err(message) => {
                errors.push(source.error_at_key("skip_if", message));
                None
            }
        });
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(OutboundMapping {
        rules: rule_set(Shape::Object, rules, skip_if.as_ref()),
        skip_if,
        file: source.path.clone(),
        system: file.system,
        action,
        entity: file.entity,
        version: super::content_version(&source.text),
    })
}
