//! A submission against an offering's form: every field checked, values
//! normalised, and the canonical work item the intake stores. Pure: the
//! HTTP API calls it and answers with the problems; nothing here stores or
//! routes.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::{Map, Number, Value, json};

use super::{Field, FieldType, Offering};
use crate::diag::suggest;

/// Longest email address SMTP carries.
const MAX_EMAIL: usize = 254;

/// What is wrong with one field of a submission. Serialises as
/// `{"problem": "missing", "field": "summary", …}` for the API's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum FieldProblem {
    /// A required field absent, null or blank.
    #[error("`{field}` is required")]
    Missing { field: String },
    #[error("`{field}`: expected {expected}")]
    WrongType {
        field: String,
        expected: &'static str,
    },
    #[error("`{field}`: `{value}` is not one of {}", choices.join(", "))]
    NotAChoice {
        field: String,
        value: String,
        choices: Vec<String>,
    },
    /// Lengths in characters, after trimming.
    #[error("`{field}`: {length} characters; at most {max_length}")]
    TooLong {
        field: String,
        length: usize,
        max_length: u32,
    },
    #[error("`{field}`: the form has no such field{}", did_you_mean.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    Unknown {
        field: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        did_you_mean: Option<String>,
    },
}

impl FieldProblem {
    /// The field the problem is about, as the submission named it.
    pub fn field(&self) -> &str {
        match self {
            FieldProblem::Missing { field }
            | FieldProblem::WrongType { field, .. }
            | FieldProblem::NotAChoice { field, .. }
            | FieldProblem::TooLong { field, .. }
            | FieldProblem::Unknown { field, .. } => field,
        }
    }
}

impl Offering {
    /// Check a submission against the form; every problem at once, in
    /// form order, then the unknown fields. On success, the normalised
    /// values: text trimmed, numbers as JSON numbers (a numeric string is
    /// taken), dates as `YYYY-MM-DD`, booleans as `true`/`false`, email
    /// with its domain in lower case. A blank or null value counts as
    /// absent and is left out.
    pub fn validate_submission(
        &self,
        fields: &Map<String, Value>,
    ) -> Result<Map<String, Value>, Vec<FieldProblem>> {
        let mut out = Map::new();
        let mut problems = Vec::new();
        for field in &self.fields {
            match fields.get(&field.name).map(|v| normalise(field, v)) {
                Some(Ok(Some(value))) => {
                    out.insert(field.name.clone(), value);
                }
                Some(Err(p)) => problems.push(p),
                None | Some(Ok(None)) if field.required => problems.push(FieldProblem::Missing {
                    field: field.name.clone(),
                }),
                None | Some(Ok(None)) => {}
            }
        }
        let names: Vec<String> = self.fields.iter().map(|f| f.name.clone()).collect();
        for name in fields.keys().filter(|k| !names.contains(k)) {
            problems.push(FieldProblem::Unknown {
                field: name.clone(),
                did_you_mean: suggest(name, &names),
            });
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// The canonical work item a request becomes, from the normalised
    /// fields [`Offering::validate_submission`] returned: status `new`, no
    /// priority, the offering's department and kind, the title from its
    /// template, a description listing the answers, the requester's email
    /// as `requester_ref`, and `attributes.offering`, `attributes.fields`
    /// (and `attributes.confidential`, `attributes.sla_hours` when set),
    /// then the offering's `set` values. A confidential offering's
    /// answers (`attributes.fields`, the description, a templated title)
    /// are marked in `classified`, so routing withholds them from any
    /// department not cleared for the class.
    pub fn work_item(&self, fields: &Map<String, Value>, requester_email: &str) -> Value {
        let record = json!({ "fields": fields });
        let title = match &self.title {
            Some(t) => Some(t.render(&record)),
            // A confidential answer stays out of a title nobody asked for.
            None if self.confidential.is_some() => None,
            None => self
                .fields
                .iter()
                .filter(|f| f.kind == FieldType::Text)
                .find_map(|f| fields.get(&f.name).and_then(Value::as_str))
                .map(|first| format!("{}: {first}", self.name)),
        }
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| self.name.clone());
        let mut attributes = Map::new();
        attributes.insert("offering".into(), json!(self.id));
        attributes.insert("fields".into(), Value::Object(fields.clone()));
        if let Some(class) = &self.confidential {
            attributes.insert("confidential".into(), json!(class));
        }
        if let Some(h) = self.sla_hours {
            attributes.insert("sla_hours".into(), json!(h));
        }
        let mut classified = Map::new();
        if let Some(class) = &self.confidential {
            let mut marked = vec!["description", "attributes.fields"];
            if self.title.is_some() {
                marked.push("title");
            }
            for field in marked {
                classified.insert(field.into(), json!(class));
            }
        }
        let mut item = json!({
            "entity": "work_item",
            "kind": self.kind.as_str(),
            "title": title,
            "description": self.describe(fields),
            "status": "new",
            "priority": null,
            "department": self.department,
            "requester_ref": requester_email,
            "attributes": attributes,
            "classified": classified,
        });
        for (path, value) in &self.set {
            let path: Vec<&str> = path.split('.').collect();
            crate::routing::message::put(&mut item, &path, value.clone());
        }
        item
    }

    /// One line per answered field, in form order: `Label: value`.
    fn describe(&self, fields: &Map<String, Value>) -> String {
        self.fields
            .iter()
            .filter_map(|f| {
                let text = match fields.get(&f.name)? {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some(format!("{}: {text}", f.label))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// One value checked against its field: `Ok(None)` when it counts as
/// absent (null, or blank text).
fn normalise(field: &Field, value: &Value) -> Result<Option<Value>, FieldProblem> {
    let wrong = |expected: &'static str| FieldProblem::WrongType {
        field: field.name.clone(),
        expected,
    };
    let text = match value {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => Some(s.trim()),
        _ => None,
    };
    let normal = match field.kind {
        FieldType::Text | FieldType::Textarea => {
            let text = text.ok_or_else(|| wrong("text"))?;
            if field.kind == FieldType::Text && text.contains(['\n', '\r']) {
                return Err(wrong("one line of text"));
            }
            let text = text.replace("\r\n", "\n");
            let length = text.chars().count();
            if let Some(max) = field.max_length
                && length > max as usize
            {
                return Err(FieldProblem::TooLong {
                    field: field.name.clone(),
                    length,
                    max_length: max,
                });
            }
            Value::String(text)
        }
        FieldType::Number => match (value, text) {
            (Value::Number(n), _) => Value::Number(n.clone()),
            (_, Some(t)) => parse_number(t).ok_or_else(|| wrong("a number"))?,
            _ => return Err(wrong("a number")),
        },
        FieldType::Integer => {
            let n = match (value, text) {
                (Value::Number(n), _) => n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() < 2f64.powi(53))
                        .map(|f| f as i64)
                }),
                (_, Some(t)) => t.parse::<i64>().ok(),
                _ => None,
            };
            Value::from(n.ok_or_else(|| wrong("a whole number"))?)
        }
        FieldType::Boolean => match (value, text) {
            (Value::Bool(b), _) => Value::Bool(*b),
            (_, Some("true")) => Value::Bool(true),
            (_, Some("false")) => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        FieldType::Date => {
            let date = text
                .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
                .filter(|d| (1..=9999).contains(&d.year()))
                .ok_or_else(|| wrong("a date as YYYY-MM-DD"))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        FieldType::Email => Value::String(
            text.and_then(email)
                .ok_or_else(|| wrong("an email address"))?,
        ),
        FieldType::Choice => {
            let picked = text.ok_or_else(|| wrong("one of the choices, as text"))?;
            if !field.choices.iter().any(|c| c == picked) {
                return Err(FieldProblem::NotAChoice {
                    field: field.name.clone(),
                    value: picked.to_string(),
                    choices: field.choices.clone(),
                });
            }
            Value::String(picked.to_string())
        }
    };
    Ok(Some(normal))
}

/// A numeric string as a JSON number: an integer stays one.
fn parse_number(text: &str) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    // `f64` also parses `inf` and `NaN`, which JSON cannot hold.
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    Number::from_f64(f).map(Value::Number)
}

/// A plausible address, its domain in lower case: one `@`, something
/// before it, a dotted domain after it, no spaces. Whether it is delivered
/// to is for the mail server to say.
fn email(text: &str) -> Option<String> {
    let (local, domain) = text.split_once('@')?;
    let plausible = text.chars().count() <= MAX_EMAIL
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace);
    plausible.then(|| format!("{local}@{}", domain.to_lowercase()))
}
