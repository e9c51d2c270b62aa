//! An offering's form as HTML, generated from `services.toml`: each field
//! a labelled input of its type, its help and its problem tied to it with
//! `aria-describedby`, so a screen reader reads them with the field.

use std::collections::HashMap;

use maud::{Markup, html};

use crate::services::{Field, FieldProblem, FieldType, Offering};

/// The hidden field carrying the form's idempotency key. A leading
/// underscore: `services.toml` field names are plain identifiers.
pub(super) const KEY_FIELD: &str = "_key";

/// What a person typed, by field name, to show again with the problems.
pub(super) type Answers = HashMap<String, String>;

/// A problem as the person who filled the form reads it.
pub(super) fn explain(problem: &FieldProblem, field: Option<&Field>) -> String {
    match problem {
        FieldProblem::Missing { .. } => "Please fill this in.".into(),
        FieldProblem::WrongType { expected, .. } => format!("This needs {expected}."),
        FieldProblem::NotAChoice { .. } => "Choose one of the options.".into(),
        FieldProblem::TooLong {
            length, max_length, ..
        } => format!("This is {length} characters long; the limit is {max_length}."),
        FieldProblem::Unknown { field: name, .. } => match field {
            Some(f) => format!("{} is not part of this form.", f.label),
            None => format!("`{name}` is not part of this form."),
        },
    }
}

/// The whole form: every field, the hidden key, and the button.
pub(super) fn render(
    offering: &Offering,
    answers: &Answers,
    problems: &HashMap<String, String>,
    key: &str,
) -> Markup {
    html! {
        form method="post" action={ "/portal/ask/" (offering.id) } class="stack" novalidate {
            input type="hidden" name=(KEY_FIELD) value=(key);
            @for field in &offering.fields {
                (render_field(field, answers.get(&field.name).map(String::as_str), problems.get(&field.name).map(String::as_str)))
            }
            button type="submit" { "Send the request" }
        }
    }
}

fn render_field(field: &Field, value: Option<&str>, problem: Option<&str>) -> Markup {
    let id = format!("f-{}", field.name);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let mut described = Vec::new();
    if field.help.is_some() {
        described.push(help_id.clone());
    }
    if problem.is_some() {
        described.push(error_id.clone());
    }
    let described = (!described.is_empty()).then(|| described.join(" "));
    let invalid = problem.map(|_| "true");
    let value = value.unwrap_or_default();
    let max = field.max_length.filter(|_| field.kind.is_text());
    html! {
        div class={ "field" @if problem.is_some() { " invalid" } } {
            label for=(id) {
                (field.label)
                @if field.required { " " span class="req" { "(required)" } }
            }
            @if let Some(h) = &field.help {
                p class="help" id=(help_id) { (h) }
            }
            @if let Some(p) = problem {
                p class="error" id=(error_id) { (p) }
            }
            @match field.kind {
                FieldType::Textarea => {
                    textarea id=(id) name=(field.name) rows="5" required[field.required]
                        maxlength=[max] aria-describedby=[described.as_deref()] aria-invalid=[invalid] { (value) }
                }
                FieldType::Choice => {
                    select id=(id) name=(field.name) required[field.required]
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid] {
                        option value="" selected[value.is_empty()] { "Choose…" }
                        @for c in &field.choices {
                            option value=(c) selected[value == c.as_str()] { (c) }
                        }
                    }
                }
                FieldType::Boolean => {
                    select id=(id) name=(field.name) required[field.required]
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid] {
                        option value="" selected[value.is_empty()] { "Choose…" }
                        option value="true" selected[value == "true"] { "Yes" }
                        option value="false" selected[value == "false"] { "No" }
                    }
                }
                kind => {
                    input id=(id) name=(field.name) type=(input_type(kind)) value=(value)
                        required[field.required] maxlength=[max]
                        step=[(kind == FieldType::Number).then_some("any")]
                        aria-describedby=[described.as_deref()] aria-invalid=[invalid];
                }
            }
        }
    }
}

/// The HTML input type for a field type (text areas, choices and
/// yes-or-no fields are not inputs).
fn input_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Number | FieldType::Integer => "number",
        FieldType::Date => "date",
        FieldType::Email => "email",
        _ => "text",
    }
}
