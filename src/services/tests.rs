//! `services.toml`: each mistake located at its line with its key, the
//! shipped catalogue, and submissions checked against a form.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::*;
use crate::diag::Diagnostic;

/// One valid offering with a field of every type, to break a line of.
const GOOD: &str = r#"version = 1

[[offerings]]
id = "facilities-repair"
name = "Report a building fault"
description = "Heating, leaks, lights, doors."
department = "facilities"
kind = "incident"
sla_hours = 48
to = { connector = "maximo", action = "create_workorder" }
title = "{fields.location}: {fields.summary}"
set = { "attributes.maximo_siteid" = "BEDFORD" }

[[offerings.fields]]
name = "summary"
label = "What is wrong?"
type = "text"
required = true
max_length = 20

[[offerings.fields]]
name = "location"
label = "Where?"
type = "text"

[[offerings.fields]]
name = "details"
label = "Details"
type = "textarea"

[[offerings.fields]]
name = "floors"
label = "Floors affected"
type = "integer"

[[offerings.fields]]
name = "cost"
label = "Cost so far"
type = "number"

[[offerings.fields]]
name = "unsafe"
label = "Is it unsafe?"
type = "boolean"

[[offerings.fields]]
name = "since"
label = "Since when?"
type = "date"

[[offerings.fields]]
name = "contact"
label = "Who to call"
type = "email"

[[offerings.fields]]
name = "urgency"
label = "How urgent?"
type = "choice"
required = true
choices = ["low", "high"]
"#;

fn load(text: &str) -> Result<Services, Diagnostics> {
    Services::from_source(&SourceFile::new("services.toml", text))
}

fn good() -> Offering {
    load(GOOD).unwrap().offerings.remove(0)
}

/// The 1-based line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no `{needle}`"))
        + 1
}

/// `GOOD` with `from` replaced by `to` must fail with exactly one error,
/// at the line holding `at`, naming `says`.
fn refused(from: &str, to: &str, at: &str, says: &str) -> Diagnostic {
    assert!(GOOD.contains(from), "no `{from}`");
    let text = GOOD.replacen(from, to, 1);
    let errors = load(&text).expect_err(&text).0;
    assert_eq!(errors.len(), 1, "one mistake, one error: {errors:#?}");
    let d = errors.into_iter().next().unwrap();
    assert_eq!(d.line, line_of(&text, at), "{d}");
    assert!(d.to_string().contains(says), "`{says}` not in: {d}");
    d
}

#[test]
fn the_good_file_loads_with_defaults_applied() {
    let s = load(GOOD).unwrap();
    let o = &s.offerings[0];
    assert_eq!(o.kind, ItemKind::Incident);
    assert_eq!(o.fields[0].max_length, Some(20));
    assert_eq!(o.fields[1].max_length, Some(DEFAULT_TEXT));
    assert_eq!(o.fields[2].max_length, Some(DEFAULT_TEXTAREA));
    assert_eq!(o.fields[3].max_length, None);
    assert!(s.offering("facilities-repair").is_some());
    assert!(s.offering("nope").is_none());
    let minimal = "version = 1\n[[offerings]]\nid = \"x\"\nname = \"X\"\ndescription = \"d\"\ndepartment = \"it\"\n";
    let m = load(minimal).unwrap();
    assert_eq!(m.offerings[0].kind, ItemKind::Request);
    assert!(m.offerings[0].to.is_none());
}

#[test]
fn version_and_unknown_keys_are_refused_with_a_hint() {
    let d = refused(
        "version = 1",
        "version = 2",
        "version",
        "unsupported file version 2",
    );
    assert_eq!(d.hint.as_deref(), Some("set `version = 1`"));
    let d = refused(
        "required = true\nmax",
        "requried = true\nmax",
        "requried",
        "unknown field `requried`",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `required`?"));
    let d = refused(
        "sla_hours = 48",
        "sla_hour = 48",
        "sla_hour",
        "unknown field `sla_hour`",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `sla_hours`?"));
    let d = refused(
        "type = \"integer\"",
        "type = \"integr\"",
        "integr",
        "unknown variant `integr`",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `integer`?"));
    refused(
        "kind = \"incident\"",
        "kind = \"work_order\"",
        "work_order",
        "unknown variant",
    );
}

#[test]
fn ids_must_be_well_formed_and_unique() {
    refused(
        "id = \"facilities-repair\"",
        "id = \"Facilities Repair\"",
        "Facilities Repair",
        "lower-case letters, digits and `-`",
    );
    let twice = format!(
        "{GOOD}\n[[offerings]]\nid = \"facilities-repair\"\nname = \"Again\"\ndescription = \"d\"\ndepartment = \"it\"\n"
    );
    let errors = load(&twice).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].line, twice.lines().count() - 3);
    assert!(errors[0].message.contains("comes earlier"), "{}", errors[0]);
}

#[test]
fn field_names_must_be_well_formed_and_unique() {
    refused(
        "name = \"floors\"",
        "name = \"Floors\"",
        "Floors",
        "a field name is lower-case",
    );
    let text = GOOD.replacen("name = \"floors\"", "name = \"summary\"", 1);
    let errors = load(&text).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].line, line_of(GOOD, "name = \"floors\""));
    assert!(
        errors[0]
            .message
            .contains("a field named `summary` comes earlier")
    );
}

#[test]
fn empty_texts_are_refused() {
    refused(
        "name = \"Report a building fault\"",
        "name = \" \"",
        "name = \" \"",
        "must not be empty",
    );
    refused(
        "label = \"Where?\"",
        "label = \"\"",
        "label = \"\"",
        "`offerings.0.fields.1.label`: must not be empty",
    );
}

#[test]
fn choices_only_and_always_for_choice_fields() {
    refused(
        "choices = [\"low\", \"high\"]\n",
        "",
        "type = \"choice\"",
        "a `choice` field needs `choices`",
    );
    refused(
        "choices = [\"low\", \"high\"]",
        "choices = []",
        "choices = []",
        "at least one choice",
    );
    refused(
        "choices = [\"low\", \"high\"]",
        "choices = [\"low\", \"low\"]",
        "choices = [",
        "`low` is already a choice",
    );
    refused(
        "choices = [\"low\", \"high\"]",
        "choices = [\"low\", \" high\"]",
        "choices = [",
        "no space around it",
    );
    refused(
        "type = \"boolean\"",
        "type = \"boolean\"\nchoices = [\"yes\"]",
        "choices = [\"yes\"]",
        "`choices` is only for `type = \"choice\"`, not `boolean`",
    );
}

#[test]
fn max_length_only_for_text_and_bounded() {
    refused(
        "max_length = 20",
        "max_length = 0",
        "max_length",
        "0: from 1 to 10000",
    );
    refused(
        "max_length = 20",
        "max_length = 10001",
        "max_length",
        "10001: from 1 to 10000",
    );
    refused(
        "type = \"date\"",
        "type = \"date\"\nmax_length = 10",
        "max_length = 10",
        "not `date`",
    );
}

#[test]
fn sla_hours_and_confidential_are_checked() {
    refused(
        "sla_hours = 48",
        "sla_hours = 0",
        "sla_hours",
        "0: from 1 to 8760 hours",
    );
    refused(
        "kind = \"incident\"",
        "kind = \"incident\"\nconfidential = \"H R\"",
        "confidential",
        "a confidentiality class",
    );
}

#[test]
fn a_title_reads_only_declared_fields() {
    let d = refused(
        "{fields.location}:",
        "{fields.locaton}:",
        "title =",
        "`{fields.locaton}`: a title reads only",
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `{fields.location}`?"));
    let d = refused(
        "{fields.location}:",
        "{record.title}:",
        "title =",
        "`{record.title}`",
    );
    assert!(
        d.hint
            .unwrap()
            .starts_with("its fields are: summary, location")
    );
    refused(
        "{fields.location}: {fields.summary}",
        "Fault",
        "title =",
        "at least one `{fields.<name>}`",
    );
    refused(
        "{fields.location}:",
        "fields.location}:",
        "title =",
        "`}` without `{`",
    );
    let long = format!(
        "{{fields.summary}} {}",
        "x".repeat(crate::mapping::bounds::MAX_TEMPLATE_BYTES)
    );
    refused(
        "{fields.location}: {fields.summary}",
        &long,
        "title =",
        "the limit is",
    );
}

#[test]
fn set_may_not_write_what_the_intake_writes() {
    refused(
        "\"attributes.maximo_siteid\"",
        "\"attributes.fields.x\"",
        "set =",
        "written by the intake",
    );
    refused(
        "\"attributes.maximo_siteid\"",
        "\"classified\"",
        "set =",
        "never `classified`",
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = GOOD
        .replacen("sla_hours = 48", "sla_hours = 0", 1)
        .replacen("max_length = 20", "max_length = 0", 1)
        .replacen("name = \"floors\"", "name = \"Floors\"", 1);
    let errors = load(&text).unwrap_err().0;
    let lines: Vec<usize> = errors.iter().map(|d| d.line).collect();
    assert_eq!(
        lines,
        [
            line_of(&text, "sla_hours"),
            line_of(&text, "max_length = 0"),
            line_of(&text, "Floors")
        ],
        "{errors:#?}"
    );
}

#[test]
fn too_many_offerings_and_fields_are_refused() {
    let mut text = String::from("version = 1\n");
    for i in 0..=MAX_OFFERINGS {
        text.push_str(&format!(
            "[[offerings]]\nid = \"o{i}\"\nname = \"n\"\ndescription = \"d\"\ndepartment = \"it\"\n"
        ));
    }
    let errors = load(&text).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("at most 500"), "{}", errors[0]);
    let mut text = String::from(
        "version = 1\n[[offerings]]\nid = \"o\"\nname = \"n\"\ndescription = \"d\"\ndepartment = \"it\"\n",
    );
    for j in 0..=MAX_FIELDS {
        text.push_str(&format!(
            "[[offerings.fields]]\nname = \"f{j}\"\nlabel = \"l\"\ntype = \"text\"\n"
        ));
    }
    let errors = load(&text).unwrap_err().0;
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("at most 50"), "{}", errors[0]);
}

fn shipped_manifests() -> Vec<Manifest> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| Manifest::load(p).unwrap()).collect()
}

#[test]
fn the_shipped_catalogue_loads_and_its_targets_exist() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("services.toml");
    let services = Services::load(&path).unwrap_or_else(|d| panic!("{d}"));
    assert!((4..=6).contains(&services.offerings.len()));
    let departments: std::collections::BTreeSet<&str> = services
        .offerings
        .iter()
        .map(|o| o.department.as_str())
        .collect();
    assert_eq!(departments.len(), 4, "{departments:?}");
    assert_eq!(services.check_targets(&shipped_manifests()), vec![]);
    let routing =
        crate::routing::Routing::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("routing.toml"))
            .unwrap();
    assert_eq!(services.check_clearance(&routing.clearance), vec![]);
}

/// `GOOD` edited, written to a file (targets are located by reading it),
/// and checked against the shipped manifests.
fn target_errors(from: &str, to: &str) -> (String, Vec<Diagnostic>) {
    let text = GOOD.replacen(from, to, 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, &text).unwrap();
    let services = Services::load(&path).unwrap();
    (text, services.check_targets(&shipped_manifests()))
}

#[test]
fn targets_are_checked_against_the_manifests() {
    let (_, errors) = target_errors("", "");
    assert_eq!(errors, vec![]);
    let (text, errors) = target_errors(
        "action = \"create_workorder\"",
        "action = \"create_work_order\"",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].line, line_of(&text, "create_work_order"));
    assert!(
        errors[0]
            .message
            .contains("connector `maximo` has no action `create_work_order`")
    );
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("did you mean `create_workorder`?")
    );
    let (_, errors) = target_errors("connector = \"maximo\"", "connector = \"maxmo\"");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].hint.as_deref(), Some("did you mean `maximo`?"));
    let (_, errors) = target_errors("department = \"facilities\"", "department = \"it\"");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0]
            .message
            .contains("serves department `facilities`, not `it`")
    );
}

#[test]
fn a_department_no_connector_serves_is_one_error_with_the_departments() {
    // The connector then serves another department too: not said again.
    let (text, errors) = target_errors("department = \"facilities\"", "department = \"facilties\"");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].line, line_of(&text, "facilties"));
    assert!(
        errors[0]
            .message
            .contains("no connector serves department `facilties`")
    );
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("did you mean `facilities`?")
    );
    let (_, errors) = target_errors("department = \"facilities\"", "department = \"legal\"");
    assert_eq!(
        errors[0].hint.as_deref(),
        Some("departments are: facilities, finance, hr, it")
    );
}

#[test]
fn a_confidential_offering_needs_its_department_cleared() {
    let text = GOOD.replacen(
        "kind = \"incident\"",
        "kind = \"incident\"\nconfidential = \"hr\"",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("services.toml");
    std::fs::write(&path, &text).unwrap();
    let services = Services::load(&path).unwrap();
    let errors = services.check_clearance(&BTreeMap::from([("hr".into(), vec!["hr".into()])]));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, line_of(&text, "confidential"));
    let cleared = BTreeMap::from([("facilities".into(), vec!["hr".into()])]);
    assert_eq!(services.check_clearance(&cleared), vec![]);
}

fn submit(fields: Value) -> Result<Map<String, Value>, Vec<FieldProblem>> {
    good().validate_submission(fields.as_object().unwrap())
}

#[test]
fn a_submission_is_normalised() {
    let ok = submit(json!({
        "summary": "  No heating  ", "location": "B2/3", "details": "line 1\r\nline 2",
        "floors": "3", "cost": "12.5", "unsafe": "false", "since": "2026-1-5",
        "contact": " Ada@Example.COM ", "urgency": "high",
    }))
    .unwrap();
    assert_eq!(
        Value::Object(ok),
        json!({
            "summary": "No heating", "location": "B2/3", "details": "line 1\nline 2",
            "floors": 3, "cost": 12.5, "unsafe": false, "since": "2026-01-05",
            "contact": "Ada@example.com", "urgency": "high",
        })
    );
    let ok = submit(json!({"summary": "x", "urgency": "low", "floors": 2.0, "cost": 7, "unsafe": true, "location": null, "details": "  "})).unwrap();
    assert_eq!(
        Value::Object(ok),
        json!({"summary": "x", "urgency": "low", "floors": 2, "cost": 7, "unsafe": true})
    );
}

#[test]
fn each_problem_of_a_submission_is_named_per_field() {
    let problems = submit(json!({
        "summary": "x".repeat(21), "floors": 1.5, "cost": "NaN", "unsafe": "yes",
        "since": "05/01/2026", "contact": "ada at example", "urgency": "medium",
        "locaton": "B2", "colour": "red", "location": "a\nb", "details": 5,
    }))
    .unwrap_err();
    let field = |p: &FieldProblem| p.field().to_string();
    assert_eq!(
        problems.iter().map(field).collect::<Vec<_>>(),
        [
            "summary", "location", "details", "floors", "cost", "unsafe", "since", "contact",
            "urgency", "colour", "locaton"
        ]
    );
    assert_eq!(
        problems[0],
        FieldProblem::TooLong {
            field: "summary".into(),
            length: 21,
            max_length: 20
        }
    );
    assert_eq!(
        problems[1],
        FieldProblem::WrongType {
            field: "location".into(),
            expected: "one line of text"
        }
    );
    assert_eq!(
        problems[2],
        FieldProblem::WrongType {
            field: "details".into(),
            expected: "text"
        }
    );
    assert_eq!(
        problems[3],
        FieldProblem::WrongType {
            field: "floors".into(),
            expected: "a whole number"
        }
    );
    assert_eq!(
        problems[4],
        FieldProblem::WrongType {
            field: "cost".into(),
            expected: "a number"
        }
    );
    assert_eq!(
        problems[5],
        FieldProblem::WrongType {
            field: "unsafe".into(),
            expected: "true or false"
        }
    );
    assert_eq!(
        problems[6],
        FieldProblem::WrongType {
            field: "since".into(),
            expected: "a date as YYYY-MM-DD"
        }
    );
    assert_eq!(
        problems[7],
        FieldProblem::WrongType {
            field: "contact".into(),
            expected: "an email address"
        }
    );
    assert_eq!(
        problems[8],
        FieldProblem::NotAChoice {
            field: "urgency".into(),
            value: "medium".into(),
            choices: vec!["low".into(), "high".into()]
        }
    );
    assert_eq!(
        problems[9],
        FieldProblem::Unknown {
            field: "colour".into(),
            did_you_mean: None
        }
    );
    assert_eq!(
        problems[10],
        FieldProblem::Unknown {
            field: "locaton".into(),
            did_you_mean: Some("location".into())
        }
    );
    assert_eq!(
        problems[10].to_string(),
        "`locaton`: the form has no such field (did you mean `location`?)"
    );
    assert_eq!(
        serde_json::to_value(&problems[8]).unwrap(),
        json!({"problem": "not_a_choice", "field": "urgency", "value": "medium", "choices": ["low", "high"]})
    );
}

#[test]
fn required_fields_must_hold_something() {
    let problems = submit(json!({"summary": "   ", "urgency": null})).unwrap_err();
    assert_eq!(
        problems,
        [
            FieldProblem::Missing {
                field: "summary".into()
            },
            FieldProblem::Missing {
                field: "urgency".into()
            }
        ]
    );
    assert_eq!(problems[0].to_string(), "`summary` is required");
    for bad in ["2026-02-30", "2026-13-01", "tomorrow"] {
        assert!(
            submit(json!({"summary": "x", "urgency": "low", "since": bad})).is_err(),
            "{bad}"
        );
    }
    for bad in ["a@b", "@b.c", "a@b@c.d", "a b@c.d", "a@.c"] {
        assert!(
            submit(json!({"summary": "x", "urgency": "low", "contact": bad})).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn a_request_becomes_a_canonical_work_item() {
    let o = good();
    let fields = submit(
        json!({"summary": "No heating", "location": "B2/3", "urgency": "high", "unsafe": true}),
    )
    .unwrap();
    let item = o.work_item(&fields, "ada@example.com");
    assert_eq!(
        item,
        json!({
            "entity": "work_item", "kind": "incident", "title": "B2/3: No heating",
            "description": "What is wrong?: No heating\nWhere?: B2/3\nIs it unsafe?: yes\nHow urgent?: high",
            "status": "new", "priority": null, "department": "facilities",
            "requester_ref": "ada@example.com",
            "attributes": {
                "offering": "facilities-repair", "fields": Value::Object(fields),
                "sla_hours": 48, "maximo_siteid": "BEDFORD",
            },
            "classified": {},
        })
    );
}

#[test]
fn a_confidential_request_marks_its_answers() {
    let text = GOOD
        .replacen("kind = \"incident\"", "confidential = \"hr\"", 1)
        .replacen("title = \"{fields.location}: {fields.summary}\"\n", "", 1);
    let o = load(&text).unwrap().offerings.remove(0);
    let fields = o
        .validate_submission(
            json!({"summary": "My salary", "urgency": "low"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let item = o.work_item(&fields, "ada@example.com");
    // The default title would carry the first answer: a confidential one
    // keeps to the offering's name.
    assert_eq!(item["title"], "Report a building fault");
    assert_eq!(item["kind"], "request");
    assert_eq!(item["attributes"]["confidential"], "hr");
    assert_eq!(
        item["classified"],
        json!({"description": "hr", "attributes.fields": "hr"})
    );
    let withheld = crate::routing::message::unclassified(&item);
    assert!(
        withheld.get("description").is_none() && withheld["attributes"].get("fields").is_none()
    );
    // Not confidential: the default title is the name and the first text answer.
    let text = GOOD.replacen("title = \"{fields.location}: {fields.summary}\"\n", "", 1);
    let o = load(&text).unwrap().offerings.remove(0);
    let item = o.work_item(&fields, "ada@example.com");
    assert_eq!(item["title"], "Report a building fault: My salary");
}

#[test]
fn the_public_view_leaves_out_where_the_work_goes() {
    let view = serde_json::to_value(good()).unwrap();
    assert!(view.get("to").is_none() && view.get("set").is_none() && view.get("title").is_none());
    assert_eq!(
        view["fields"][0],
        json!({"name": "summary", "label": "What is wrong?", "type": "text", "required": true, "max_length": 20})
    );
    assert_eq!(view["fields"][8]["choices"], json!(["low", "high"]));
}
