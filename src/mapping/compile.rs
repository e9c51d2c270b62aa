//! Validation and compilation of a mapping file into an executable plan.
//!
//! Pure: no IO. Every problem is reported at the key that causes it, and all
//! problems of a file are reported together.

use std::collections::{BTreeMap, HashMap};

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use serde_json::Value;

use super::children::{Children, Into};
use super::expr::Expr;
use super::path::Path;
use super::rule::{LookupPlan, Rule, Source, TimeFormat, ValueMap};
use super::spec::{ChildrenSpec, Direction, FieldRule, LookupSpec, MAP_DEFAULT_KEY, MappingFile};
use super::target::{FieldType, Shape, Target, lookup_of};
use super::transform::Transform;
use super::{Mapping, RuleSet};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};
use crate::model::Entity;

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

fn compile_rule(
    source: &SourceFile,
    key: &str,
    name: &str,
    rule: &FieldRule,
    typed: Option<(Target, FieldType)>,
    maps: &HashMap<String, ValueMap>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let before = errors.len();
    let ty = typed.map(|(_, ty)| ty);
    let lookup = rule
        .lookup
        .as_ref()
        .and_then(|spec| compile_lookup(source, key, spec, typed.map(|(t, _)| t), errors));
    let from = match compile_source(rule) {
        Ok(from) => from,
        Err(message) => {
            errors.push(source.error_at_key(key, message));
            Source::Const(Value::Null)
        }
    };
    let when = rule
        .when
        .as_ref()
        .and_then(|text| match Expr::compile(text) {
            Ok(e) => Some(e),
            Err(message) => {
                errors.push(source.error_at_key(&format!("{key}.when"), message));
                None
            }
        });
    let mut transforms = Vec::new();
    for (i, spec) in rule.transforms.iter().enumerate() {
        match Transform::compile(spec) {
            Ok(t) => transforms.push(t),
            Err(e) => errors.push(source.error_at_key(&format!("{key}.transforms.{i}"), e)),
        }
    }
    let map = rule.map.as_ref().and_then(|name| match maps.get(name) {
        Some(m) => Some(m.clone()),
        None => {
            let names: Vec<String> = maps.keys().cloned().collect();
            let mut d = source.error_at_key(
                &format!("{key}.map"),
                format!("no map named `{name}` in [maps]"),
            );
            d.hint = suggest(name, &names).map(|s| format!("did you mean `{s}`?"));
            errors.push(d);
            None
        }
    });
    let zone = match rule.timezone.as_deref().map(str::parse::<chrono_tz::Tz>) {
        None => chrono_tz::UTC,
        Some(Ok(zone)) => zone,
        Some(Err(_)) => {
            let name = rule.timezone.as_deref().unwrap_or_default();
            errors.push(source.error_at_key(
                &format!("{key}.timezone"),
                format!("`{name}` is not a time zone; use an IANA name such as `Europe/Amsterdam` or `UTC`"),
            ));
            chrono_tz::UTC
        }
    };
    if rule.timezone.is_some() && rule.timestamp.is_none() {
        errors.push(source.error_at_key(
            &format!("{key}.timezone"),
            "`timezone` only applies with `timestamp`",
        ));
    }
    let timestamp = rule.timestamp.as_ref().and_then(|fmt| match parse_time_format(fmt, zone) {
        Some(f) => Some(f),
        None => {
            errors.push(source.error_at_key(
                &format!("{key}.timestamp"),
                format!("`{fmt}` is not a valid timestamp format; use `rfc3339` or a chrono format like `%Y-%m-%d %H:%M:%S`"),
            ));
            None
        }
    });
    if let Some(ty) = ty {
        if ty == FieldType::Timestamp && timestamp.is_none() && rule.timestamp.is_none() {
            errors.push(source.error_at_key(
                key,
                "a timestamp field needs `timestamp = \"<format>\"` (e.g. `rfc3339`)",
            ));
        }
        // Constants, defaults and map outputs are known now: check them now, not per record.
        let mut fixed: Vec<(&str, &Value)> = Vec::new();
        if let Source::Const(v) = &from {
            fixed.push(("const", v));
        }
        if let Some(v) = &rule.default {
            fixed.push(("default", v));
        }
        if let Some(m) = &map {
            fixed.extend(m.values.values().map(|v| ("map value", v)));
            fixed.extend(m.default.iter().map(|v| ("map default", v)));
        }
        for (what, v) in fixed {
            if v.is_null() {
                continue;
            }
            let checked = match (ty, &timestamp) {
                (FieldType::Timestamp, Some(fmt)) => super::value::parse_time(v, fmt).map(|_| ()),
                (FieldType::Timestamp, None) => Ok(()), // reported above
                (FieldType::Date, fmt) => super::value::parse_date(v, fmt.as_ref()).map(|_| ()),
                _ => super::value::convert(std::borrow::Cow::Borrowed(v), ty)
                    .map(|_| ())
                    .map_err(|(m, _)| m),
            };
            if let Err(e) = checked {
                errors.push(source.error_at_key(key, format!("{what} {v}: {e}")));
            }
        }
    }
    let class = rule.confidential.as_ref().and_then(|c| {
        let valid = !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-');
        if valid {
            Some(c.clone())
        } else {
            errors.push(source.error_at_key(
                &format!("{key}.confidential"),
                format!("`{c}` is not a class name; use lower-case letters, digits, `-` or `_`, e.g. `hr`"),
            ));
            None
        }
    });
    if errors.len() > before {
        return None;
    }
    Some(Rule {
        class,
        lookup,
        target: typed.map(|(t, _)| t),
        name: name.to_string(),
        key: key.to_string(),
        from,
        when,
        transforms,
        default: rule.default.clone(),
        map,
        timestamp,
        ty: ty.unwrap_or(FieldType::Text),
        raw: ty.is_none(),
        render_time: false,
    })
}

fn compile_lookup(
    source: &SourceFile,
    key: &str,
    spec: &LookupSpec,
    target: Option<Target>,
    errors: &mut Vec<Diagnostic>,
) -> Option<LookupPlan> {
    let Some((slot, entity, keys)) = target.and_then(lookup_of) else {
        errors.push(source.error_at_key(
            &format!("{key}.lookup"),
            "only reference fields take a lookup: a work item's `requester`, a person's `manager` or `org_unit`, an org unit's `parent`",
        ));
        return None;
    };
    if !keys.contains(&spec.by) {
        let names: Vec<String> = keys.iter().map(json_name).collect();
        errors.push(source.error_at_key(
            &format!("{key}.lookup.by"),
            format!(
                "cannot look up {} by `{}`; use one of: {}",
                json_name(&entity),
                json_name(&spec.by),
                names.join(", ")
            ),
        ));
        return None;
    }
    Some(LookupPlan {
        slot,
        entity,
        by: spec.by,
        on_missing: spec.on_missing,
    })
}

/// A model enum as it is written in files: `employee_number`.
fn json_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The rule's one source, with its paths parsed.
fn compile_source(rule: &FieldRule) -> Result<Source, String> {
    let given = [
        rule.path.is_some(),
        rule.constant.is_some(),
        rule.coalesce.is_some(),
        rule.template.is_some(),
        rule.expr.is_some(),
    ];
    const SOURCES: &str = "`path`, `const`, `coalesce`, `template` or `expr`";
    match given.iter().filter(|g| **g).count() {
        0 => return Err(format!("needs a source: {SOURCES}")),
        1 => {}
        _ => return Err(format!("give one source: {SOURCES}, not several")),
    }
    if let Some(text) = &rule.expr {
        return Expr::compile(text).map(Source::Expr);
    }
    if let Some(path) = &rule.path {
        return Path::parse(path).map(Source::Path);
    }
    if let Some(value) = &rule.constant {
        return Ok(Source::Const(value.clone()));
    }
    if let Some(paths) = &rule.coalesce {
        if paths.len() < 2 {
            return Err("`coalesce` needs at least two paths (use `path` for one)".into());
        }
        return paths
            .iter()
            .map(|p| Path::parse(p))
            .collect::<Result<Vec<_>, _>>()
            .map(Source::Coalesce);
    }
    let template = rule.template.as_deref().unwrap_or_default();
    super::template::Template::parse(template).map(Source::Template)
}

fn parse_time_format(fmt: &str, zone: chrono_tz::Tz) -> Option<TimeFormat> {
    if fmt.eq_ignore_ascii_case("rfc3339") {
        return Some(TimeFormat::Rfc3339);
    }
    // A format with no directive (`YYYY-MM-DD`) could only match itself.
    let items: Vec<Item<'_>> = StrftimeItems::new(fmt).collect();
    if !fmt.contains('%') || items.iter().any(|i| matches!(i, Item::Error)) {
        return None;
    }
    let has = |f: &[Fixed]| {
        items
            .iter()
            .any(|i| matches!(i, Item::Fixed(x) if f.contains(x)))
    };
    let has_num = |n: &[Numeric]| {
        items
            .iter()
            .any(|i| matches!(i, Item::Numeric(x, _) if n.contains(x)))
    };
    let offset = has(&[
        Fixed::TimezoneOffset,
        Fixed::TimezoneOffsetColon,
        Fixed::TimezoneOffsetDoubleColon,
        Fixed::TimezoneOffsetTripleColon,
        Fixed::TimezoneOffsetColonZ,
        Fixed::TimezoneOffsetZ,
        Fixed::RFC2822,
        Fixed::RFC3339,
    ]);
    let has_time = has_num(&[Numeric::Hour, Numeric::Hour12, Numeric::Timestamp])
        || has(&[Fixed::RFC2822, Fixed::RFC3339]);
    let has_date = has_num(&[
        Numeric::Year,
        Numeric::Day,
        Numeric::Ordinal,
        Numeric::IsoYear,
        Numeric::Timestamp,
    ]) || has(&[Fixed::RFC2822, Fixed::RFC3339]);
    if !has_date {
        return None;
    }
    Some(TimeFormat::Pattern {
        items: std::sync::Arc::new(StrftimeItems::new(fmt).parse_to_owned().ok()?),
        pattern: fmt.to_string(),
        offset,
        date_only: !has_time,
        zone,
    })
}
