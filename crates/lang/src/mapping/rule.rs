//! One compiled rule and how it turns a record into one field value:
//! read (path, constant, coalesce, template or CEL), transform, default,
//! value map, then convert to the target's type.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::expr::{self, Expr};
use super::path::{self, Slots};
use super::target::{FieldType, Target};
use super::template::Template;
use super::transform::Transform;
use super::value::{Typed, convert, parse_date, parse_time, render_time};
use crate::model::{LookupEntity, LookupKey, LookupSlot, OnMissing};

#[derive(Debug, Clone)]
pub(super) enum Source {
    Path(path::Path),
    Const(Value),
    Coalesce(Vec<path::Path>),
    Template(Template),
    Expr(Expr),
}

impl Source {
    /// The top-level fields of the input this source reads by path (an
    /// expression or template reads none that can be named here).
    pub fn heads(&self) -> Vec<String> {
        let head = |p: &path::Path| {
            p.as_str()
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string()
        };
        match self {
            Source::Path(p) => vec![head(p)],
            Source::Coalesce(ps) => ps.iter().map(head).collect(),
            _ => Vec::new(),
        }
    }

    /// How the source reads in messages: the path, or the paths tried.
    pub fn describe(&self) -> Option<String> {
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
pub(super) enum TimeFormat {
    Rfc3339,
    /// A chrono pattern. Without an offset in it, values are read as UTC;
    /// without a time of day, as midnight UTC.
    Pattern {
        pattern: String,
        /// `pattern` parsed once, not per value.
        items: std::sync::Arc<Vec<chrono::format::Item<'static>>>,
        offset: bool,
        date_only: bool,
        /// Where wall-clock times without an offset were written.
        zone: chrono_tz::Tz,
    },
}

#[derive(Debug, Clone)]
pub(super) struct ValueMap {
    pub name: String,
    pub values: HashMap<String, Value>,
    pub default: Option<Value>,
}

impl ValueMap {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key).or(self.default.as_ref())
    }
}

/// A compiled lookup: which reference the value resolves to, and how.
#[derive(Debug, Clone, Copy)]
pub(super) struct LookupPlan {
    pub slot: LookupSlot,
    pub entity: LookupEntity,
    pub by: LookupKey,
    pub on_missing: OnMissing,
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    /// `fields.status`: how the admin finds this rule in the file.
    pub key: String,
    /// The canonical field filled; `None` for an attribute.
    pub target: Option<Target>,
    /// The field's name: the attribute key for attributes.
    pub name: String,
    pub from: Source,
    /// Only apply the rule when this holds.
    pub when: Option<Expr>,
    pub transforms: Vec<Transform>,
    pub default: Option<Value>,
    pub map: Option<ValueMap>,
    pub timestamp: Option<TimeFormat>,
    pub ty: FieldType,
    /// Attributes keep the JSON value as it came.
    pub raw: bool,
    /// Confidentiality class of the field this rule fills.
    pub class: Option<String>,
    pub lookup: Option<LookupPlan>,
    /// Outbound: `timestamp` is the format to write a canonical (RFC 3339)
    /// time in, not the format to read.
    pub render_time: bool,
}

/// Why a rule failed on a record, before the caller adds where.
#[derive(Debug)]
pub(super) struct Failure {
    pub message: String,
    /// The value at the point of failure.
    pub value: Option<Value>,
}

impl Failure {
    fn new(message: String, value: Option<&Value>) -> Self {
        Failure {
            message,
            value: value.cloned(),
        }
    }
}

impl Rule {
    /// What the rule reads from the record, before transforms; `None` when
    /// the record has nothing for it or its `when` does not hold. Borrowed
    /// from the record where it can be: most fields are read, converted
    /// once into the canonical value, and never copied in between.
    pub fn input<'r>(
        &self,
        scope: &expr::Scope<'r>,
        slots: &Slots<'r>,
    ) -> Result<Option<Cow<'r, Value>>, Failure> {
        if let Some(when) = &self.when {
            let holds = when.eval_bool(scope).map_err(|m| Failure::new(m, None))?;
            if !holds {
                return Ok(None);
            }
        }
        let record = scope.record();
        Ok(match &self.from {
            Source::Const(v) => Some(Cow::Owned(v.clone())),
            Source::Path(p) => slots.find(p, record).into_cow(),
            Source::Coalesce(paths) => paths
                .iter()
                .filter_map(|p| slots.find(p, record).into_cow())
                .find(|v| !is_empty(v)),
            Source::Template(t) => Some(Cow::Owned(Value::String(t.render(record)))),
            Source::Expr(e) => Some(Cow::Owned(
                e.eval(scope).map_err(|m| Failure::new(m, None))?,
            )),
        })
    }

    /// Transforms, default, map, then the target's type.
    pub fn finish(&self, raw: Option<Cow<'_, Value>>) -> Result<Option<Typed>, Failure> {
        let from_record = !matches!(self.from, Source::Const(_));
        let mut raw = raw;
        // An empty value is a missing one: transforms do not see it (an
        // empty cell is not a malformed number), the default applies.
        if from_record && raw.as_deref().is_some_and(|v| !is_empty(v)) {
            for t in &self.transforms {
                let Some(v) = raw.take() else { break };
                let v = v.into_owned();
                let shown = v.clone();
                raw = Some(Cow::Owned(t.apply(v).map_err(|m| {
                    Failure::new(format!("transform `{}`: {m}", t.name()), Some(&shown))
                })?));
            }
        }
        // Only a value read from the record goes through the map: `const` and
        // `default` are written as the canonical value itself (and checked
        // as such when the mapping compiles).
        let (mut value, mappable) = match raw {
            Some(v) if !is_empty(&v) => (v, from_record),
            _ => match &self.default {
                Some(d) => (Cow::Borrowed(d), false),
                None => return Ok(None),
            },
        };
        if let (Some(map), true) = (&self.map, mappable) {
            let mapped = match value.as_ref() {
                Value::String(s) => map.get(s),
                other => map.get(&scalar_key(other)),
            };
            value = match mapped {
                Some(mapped) => Cow::Borrowed(mapped),
                None => {
                    return Err(Failure::new(
                        format!(
                            "value {} is not in map `{}`; add it to [maps.{}] or give the map a `default`",
                            value, map.name, map.name
                        ),
                        Some(&value),
                    ));
                }
            };
        }
        if let (Some(fmt), true) = (&self.timestamp, self.render_time) {
            return render_time(&value, fmt)
                .map(|s| Some(Typed::Raw(Value::String(s))))
                .map_err(|m| Failure::new(m, Some(&value)));
        }
        if self.ty == FieldType::Date {
            return parse_date(&value, self.timestamp.as_ref())
                .map(|d| Some(Typed::Date(d)))
                .map_err(|m| Failure::new(m, Some(&value)));
        }
        if let Some(fmt) = &self.timestamp {
            return parse_time(&value, fmt)
                .map(|t| Some(Typed::Time(t)))
                .map_err(|m| Failure::new(m, Some(&value)));
        }
        if self.raw {
            return Ok(Some(Typed::Raw(value.into_owned())));
        }
        convert(value, self.ty)
            .map(Some)
            .map_err(|(m, value)| Failure::new(m, Some(&value)))
    }
}

pub(super) fn is_empty(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::String(s) if s.is_empty())
}

/// The string form of a scalar, as value maps are keyed.
pub(super) fn scalar_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
