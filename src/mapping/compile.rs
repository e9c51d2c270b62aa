//! Validation and compilation of a mapping file into an executable plan.
//!
//! Pure: no IO. Every problem is reported at the key that causes it, and all
//! problems of a file are reported together.

use std::collections::HashMap;

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use serde_json::Value;

use super::expr::Expr;
use super::path::Path;
use super::spec::{FieldRule, MAP_DEFAULT_KEY, MappingFile};
use super::transform::Transform;
use super::{Mapping, Rule, Source, Target, TimeFormat, ValueMap};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, suggest};
use crate::model::{Entity, WORK_ITEM_KINDS, WORK_ITEM_STATUSES};

/// What kind of value a target field holds, for checking constants and maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldType {
    Text,
    Priority,
    Timestamp,
    Bool,
    OneOf(&'static [&'static str]),
}

/// Every canonical field a mapping may fill, with its type and whether it is required.
fn targets(entity: Entity) -> &'static [(&'static str, Target, FieldType, bool)] {
    use FieldType::*;
    use Target::*;
    match entity {
        Entity::WorkItem => &[
            ("kind", Kind, OneOf(WORK_ITEM_KINDS), true),
            ("title", Title, Text, true),
            ("description", Description, Text, false),
            ("status", Status, OneOf(WORK_ITEM_STATUSES), true),
            ("native_status", NativeStatus, Text, false),
            ("priority", Target::Priority, FieldType::Priority, false),
            ("requester", Requester, Text, false),
            ("department", Department, Text, false),
            ("assignee_group", AssigneeGroup, Text, false),
            ("service", Service, Text, false),
            ("location", Location, Text, false),
            ("external_url", ExternalUrl, Text, false),
            ("opened_at", OpenedAt, Timestamp, false),
            ("updated_at", UpdatedAt, Timestamp, false),
            ("resolved_at", ResolvedAt, Timestamp, false),
            ("closed_at", ClosedAt, Timestamp, false),
            ("due_at", DueAt, Timestamp, false),
        ],
        Entity::Person => &[
            ("display_name", DisplayName, Text, false),
            ("email", Email, Text, false),
            ("employee_number", EmployeeNumber, Text, false),
            ("department", Department, Text, false),
            ("org_unit", OrgUnit, Text, false),
            ("location", Location, Text, false),
            ("manager", Manager, Text, false),
            ("active", Active, Bool, false),
        ],
    }
}

pub(super) fn compile(source: &SourceFile, file: MappingFile) -> Result<Mapping, Diagnostics> {
    let mut errors = Vec::new();
    let known = targets(file.entity);
    let maps = compile_maps(source, &file, &mut errors);

    let mut rules = Vec::new();
    for (name, rule) in &file.fields {
        let Some((_, target, ty, _)) = known.iter().find(|(n, ..)| n == name) else {
            let names: Vec<String> = known.iter().map(|(n, ..)| n.to_string()).collect();
            let mut d = source.error_at_key(
                &format!("fields.{name}"),
                format!("`{}` has no field `{name}`", file.entity.as_str()),
            );
            d.hint = suggest(name, &names)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("fields are: {}", names.join(", "))));
            errors.push(d);
            continue;
        };
        let key = format!("fields.{name}");
        if let Some(rule) = compile_rule(source, &key, rule, Some(*ty), &maps, &mut errors) {
            rules.push((Some(*target), name.clone(), rule));
        }
    }
    for (name, rule) in &file.attributes {
        let key = format!("attributes.{name}");
        if let Some(rule) = compile_rule(source, &key, rule, None, &maps, &mut errors) {
            rules.push((None, name.clone(), rule));
        }
    }
    for (name, _, _, required) in known {
        if *required && !file.fields.contains_key(*name) {
            errors.push(source.error_at_key(
                "fields",
                format!(
                    "`{}` requires field `{name}`; add `{name} = {{ path = \"…\" }}` or `{{ const = … }}`",
                    file.entity.as_str()
                ),
            ));
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
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    let exprs = rules
        .iter()
        .flat_map(|(_, _, r): &(Option<Target>, String, Rule)| {
            let source = match &r.from {
                Source::Expr(e) => Some(e),
                _ => None,
            };
            source.into_iter().chain(r.when.as_ref())
        })
        .chain(skip_if.as_ref());
    let cel_fields = super::expr::union_of_fields(exprs);
    Ok(Mapping {
        skip_if,
        cel_fields,
        file: source.path.clone(),
        system: file.system,
        stream: file.stream,
        entity: file.entity,
        version: super::content_version(&source.text),
        rules,
    })
}

fn compile_maps(
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
    rule: &FieldRule,
    ty: Option<FieldType>,
    maps: &HashMap<String, ValueMap>,
    errors: &mut Vec<Diagnostic>,
) -> Option<Rule> {
    let before = errors.len();
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
                (FieldType::Timestamp, Some(fmt)) => super::parse_time(v, fmt).map(|_| ()),
                (FieldType::Timestamp, None) => Ok(()), // reported above
                _ => super::convert(v, ty).map(|_| ()),
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
        key: key.to_string(),
        from,
        when,
        transforms,
        default: rule.default.clone(),
        map,
        timestamp,
        ty: ty.unwrap_or(FieldType::Text),
        raw: ty.is_none(),
    })
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
        pattern: fmt.to_string(),
        offset,
        date_only: !has_time,
        zone,
    })
}
