//! Validation and compilation of a mapping file into an executable plan.
//!
//! Pure: no IO. Every problem is reported at the key that causes it, and all
//! problems of a file are reported together.

use std::collections::{BTreeMap, HashMap};

use super::children::{Children, Into};
use super::expr::Expr;
use super::path::Path;
use super::rule::{Rule, Source, ValueMap};
use super::spec::{ChildrenSpec, Direction, FieldRule, MAP_DEFAULT_KEY, MappingFile};
use super::target::Shape;
use super::{Mapping, RuleSet};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};
use crate::model::Entity;

mod field;

use field::compile_rule;

pub(super) fn compile(source: &SourceFile, file: MappingFile) -> Result<Mapping, Diagnostics> {
    let mut errors = Vec::new();
    if file.direction == Direction::Outbound {
        return Err(Diagnostics(vec![source.error_at_key(
            "direction",
            "this is an outbound mapping (canonical to native); it builds write-back bodies and is not applied to a stream",
        )]));
    }
    if file.action.is_some() {
        errors.push(source.error_at_key(
            "action",
            "`action` belongs in outbound mappings; add `direction = \"outbound\"` or remove it",
        ));
    }
    let stream = file.stream.clone().unwrap_or_else(|| {
        errors.push(source.error_at_key(
            "system",
            "an inbound mapping needs `stream = \"…\"`: the stream of the connector it maps",
        ));
        String::new()
    });
    let maps = compile_maps(source, &file, &mut errors);
    let shape = Shape::Entity(file.entity);
    let mut rules = compile_rules(source, shape, "fields", &file.fields, &maps, &mut errors);
    for (name, rule) in &file.attributes {
        let key = format!("attributes.{name}");
        if let Some(rule) = compile_rule(source, &key, name, rule, None, &maps, &mut errors) {
            rules.push(rule);
        }
    }
    require_fields(source, shape, "fields", &file.fields, &mut errors);
    check_owns(source, &file, &mut errors);
    // Only work items and people keep a classification per field; an
    // offering is listed to every employee, so it has nothing to withhold.
    let unclassified = match file.entity {
        Entity::OrgUnit => Some(
            "org units carry no confidential fields; classify the data on the people or work items that hold it",
        ),
        Entity::Offering => Some(
            "offerings are listed to every employee and carry no confidential fields; leave confidential data out of the mapping",
        ),
        Entity::WorkItem | Entity::Person => None,
    };
    if let Some(message) = unclassified {
        let classified = [("fields", &file.fields), ("attributes", &file.attributes)]
            .into_iter()
            .flat_map(|(table, rules)| rules.iter().map(move |(name, rule)| (table, name, rule)))
            .filter(|(_, _, rule)| rule.confidential.is_some());
        for (table, name, _) in classified {
            errors.push(source.error_at_key(&format!("{table}.{name}.confidential"), message));
        }
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
    let children = file
        .children
        .iter()
        .filter_map(|(name, spec)| compile_children(source, &file, name, spec, &maps, &mut errors))
        .collect();
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Mapping {
        root: rule_set(shape, rules, skip_if.as_ref()),
        skip_if,
        children,
        owns: file.owns,
        file: source.path.clone(),
        system: file.system,
        stream,
        entity: file.entity,
        version: super::content_version(&source.text),
    })
}

/// A rule set, knowing which record fields its CEL expressions read.
pub(super) fn rule_set(shape: Shape, mut rules: Vec<Rule>, extra: Option<&Expr>) -> RuleSet {
    let mut heads: Vec<String> = Vec::new();
    for rule in &rules {
        for p in paths_of(rule) {
            heads.extend(p.head().map(str::to_string));
        }
    }
    heads.sort();
    heads.dedup();
    for rule in &mut rules {
        let paths: Vec<&mut Path> = match &mut rule.from {
            Source::Path(p) => vec![p],
            Source::Coalesce(ps) => ps.iter_mut().collect(),
            _ => Vec::new(),
        };
        for p in paths {
            if let Some(i) = p.head().and_then(|h| heads.iter().position(|x| x == h)) {
                p.set_slot(i);
            }
        }
    }
    let exprs = rules
        .iter()
        .flat_map(|r| {
            let source = match &r.from {
                Source::Expr(e) => Some(e),
                _ => None,
            };
            source.into_iter().chain(r.when.as_ref())
        })
        .chain(extra);
    let cel_fields = super::expr::union_of_fields(exprs);
    RuleSet {
        shape,
        rules,
        cel_fields,
        heads,
    }
}

/// The paths a rule reads by itself (templates and CEL read the record).
fn paths_of(rule: &Rule) -> Vec<&Path> {
    match &rule.from {
        Source::Path(p) => vec![p],
        Source::Coalesce(ps) => ps.iter().collect(),
        _ => Vec::new(),
    }
}

/// Compile `[<prefix>]` rules for the fields of `shape`; for an object
/// shape every name is free.
pub(super) fn compile_rules(
    source: &SourceFile,
    shape: Shape,
    prefix: &str,
    fields: &BTreeMap<String, FieldRule>,
    maps: &HashMap<String, ValueMap>,
    errors: &mut Vec<Diagnostic>,
) -> Vec<Rule> {
    let known = shape.fields();
    let mut rules = Vec::new();
    for (name, rule) in fields {
        let key = format!("{prefix}.{name}");
        let typed = if shape == Shape::Object {
            None
        } else {
            let Some((_, target, ty, _)) = known.iter().find(|(n, ..)| n == name) else {
                let names: Vec<String> = known.iter().map(|(n, ..)| n.to_string()).collect();
                let mut d =
                    source.error_at_key(&key, format!("`{}` has no field `{name}`", shape.name()));
                d.hint = suggest(name, &names)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("fields are: {}", names.join(", "))));
                errors.push(d);
                continue;
            };
            Some((*target, *ty))
        };
        if let Some(rule) = compile_rule(source, &key, name, rule, typed, maps, errors) {
            rules.push(rule);
        }
    }
    rules
}

fn require_fields(
    source: &SourceFile,
    shape: Shape,
    prefix: &str,
    fields: &BTreeMap<String, FieldRule>,
    errors: &mut Vec<Diagnostic>,
) {
    let names: Vec<String> = shape.fields().iter().map(|(n, ..)| n.to_string()).collect();
    // A misspelt key was reported with the field it was meant to be as its
    // hint (`titel`: did you mean `title`?); that field is not also missing.
    let meant: Vec<String> = fields
        .keys()
        .filter(|k| !names.contains(k))
        .filter_map(|k| suggest(k, &names))
        .collect();
    for (name, _, _, required) in shape.fields() {
        if *required && !fields.contains_key(*name) && !meant.iter().any(|m| m == name) {
            errors.push(source.error_at_key(
                prefix,
                format!(
                    "`{}` requires field `{name}`; add `{name} = {{ path = \"…\" }}` or `{{ const = … }}`",
                    shape.name()
                ),
            ));
        }
    }
}

/// `owns` names canonical fields of the entity, each once.
fn check_owns(source: &SourceFile, file: &MappingFile, errors: &mut Vec<Diagnostic>) {
    let names: Vec<String> = Shape::Entity(file.entity)
        .fields()
        .iter()
        .map(|(n, ..)| n.to_string())
        .collect();
    for (i, owned) in file.owns.iter().enumerate() {
        let key = format!("owns.{i}");
        if !names.contains(owned) {
            let mut d = source.error_at_key(
                &key,
                format!("`{}` has no field `{owned}` to own", file.entity.as_str()),
            );
            d.hint = suggest(owned, &names)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("fields are: {}", names.join(", "))));
            errors.push(d);
        } else if file.owns[..i].contains(owned) {
            errors.push(source.error_at_key(&key, format!("`{owned}` is listed twice")));
        }
    }
}

fn compile_children(
    source: &SourceFile,
    file: &MappingFile,
    name: &str,
    spec: &ChildrenSpec,
    maps: &HashMap<String, ValueMap>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Children> {
    let key = format!("children.{name}");
    let before = errors.len();
    let each = Path::parse(&spec.each)
        .map_err(|m| errors.push(source.error_at_key(&format!("{key}.each"), m)))
        .ok();
    let into = match spec.into.as_str() {
        "activities" if file.entity == Entity::WorkItem => Some(Into::Activities),
        "activities" => {
            errors.push(source.error_at_key(
                &format!("{key}.into"),
                format!(
                    "only work items have activities; map the elements of a {} into `attributes.<name>`",
                    file.entity.as_str()
                ),
            ));
            None
        }
        other => match other.strip_prefix("attributes.") {
            Some(attr) if !attr.is_empty() && !attr.contains('.') => {
                Some(Into::Attribute(attr.to_string()))
            }
            _ => {
                errors.push(source.error_at_key(
                    &format!("{key}.into"),
                    format!("`{other}`: use `activities` or `attributes.<name>`"),
                ));
                None
            }
        },
    };
    // With a mistyped `into` (`activity`), still check the rules as the
    // admin most likely meant them.
    let shape = match &into {
        Some(Into::Attribute(_)) => Shape::Object,
        None if spec.into.starts_with("attributes") => Shape::Object,
        _ => Shape::Activity,
    };
    let prefix = format!("{key}.fields");
    let rules = compile_rules(source, shape, &prefix, &spec.fields, maps, errors);
    if spec.fields.is_empty() {
        errors.push(source.error_at_key(&key, "give the element's rules under `fields`"));
    }
    require_fields(source, shape, &prefix, &spec.fields, errors);
    if errors.len() > before {
        return None;
    }
    Some(Children {
        name: name.to_string(),
        each: each?,
        into: into?,
        rules: rule_set(shape, rules, None),
    })
}

pub(super) fn compile_maps(
    source: &SourceFile,
    file: &MappingFile,
    errors: &mut Vec<Diagnostic>,
) -> HashMap<String, ValueMap> {
    let mut maps = HashMap::new();
    for (name, entries) in &file.maps {
        let mut values = HashMap::new();
        let mut default = None;
        for (k, v) in entries {
            if !(v.is_string() || v.is_number() || v.is_boolean()) {
                errors.push(source.error_at_key(
                    &format!("maps.{name}.{k}"),
                    "a map value must be a string, number or boolean",
                ));
            } else if k == MAP_DEFAULT_KEY {
                default = Some(v.clone());
            } else {
                values.insert(k.clone(), v.clone());
            }
        }
        maps.insert(
            name.clone(),
            ValueMap {
                name: name.clone(),
                values,
                default,
            },
        );
    }
    maps
}
