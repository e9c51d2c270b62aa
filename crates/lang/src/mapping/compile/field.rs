//! One field rule of a mapping file, compiled: its source (path, template
//! or CEL), transforms, value map, default, lookup and timestamp format.
//! Pure, like the rest of `compile`: problems are pushed to `errors` at
//! the rule's key.

use std::collections::HashMap;

use chrono::format::{Fixed, Item, Numeric, StrftimeItems};
use serde_json::Value;

use crate::diag::{Diagnostic, SourceFile, suggest};
use crate::mapping::expr::Expr;
use crate::mapping::path::Path;
use crate::mapping::rule::{LookupPlan, Rule, Source, TimeFormat, ValueMap};
use crate::mapping::spec::{FieldRule, LookupSpec};
use crate::mapping::target::{FieldType, Target, lookup_of};
use crate::mapping::transform::Transform;

pub(super) fn compile_rule(
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
                (FieldType::Timestamp, Some(fmt)) => {
                    crate::mapping::value::parse_time(v, fmt).map(|_| ())
                }
                (FieldType::Timestamp, None) => Ok(()), // reported above
                (FieldType::Date, fmt) => {
                    crate::mapping::value::parse_date(v, fmt.as_ref()).map(|_| ())
                }
                _ => crate::mapping::value::convert(std::borrow::Cow::Borrowed(v), ty)
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
    crate::mapping::template::Template::parse(template).map(Source::Template)
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
