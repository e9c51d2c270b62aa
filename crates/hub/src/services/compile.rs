//! One offering as written, validated (pure): every problem pushed,
//! located at its key, none stopping the others.

use super::spec::{FieldSpec, OfferingSpec};
use super::*;
use crate::diag::{Diagnostic, SourceFile, suggest};
use crate::mapping::template::Template;

/// `[a-z0-9-]`, starting with a letter or digit, at most [`MAX_NAME`] long.
pub(super) fn well_formed_id(id: &str) -> bool {
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

pub(super) fn compile(
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
