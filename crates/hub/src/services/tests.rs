//! `services.toml`: each mistake located at its line with its key, the
//! shipped catalogue, and submissions checked against a form.

use std::path::PathBuf;

use super::*;
use crate::connector::Manifest;
use crate::diag::Diagnostic;

mod submit;

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
    let dir = crate::repo_root().join("connectors");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| Manifest::load(p).unwrap()).collect()
}

#[test]
fn the_shipped_catalogue_loads_and_its_targets_exist() {
    let path = crate::repo_root().join("services.toml");
    let services = Services::load(&path).unwrap_or_else(|d| panic!("{d}"));
    assert!((4..=6).contains(&services.offerings.len()));
    let departments: std::collections::BTreeSet<&str> = services
        .offerings
        .iter()
        .map(|o| o.department.as_str())
        .collect();
    assert_eq!(departments.len(), 4, "{departments:?}");
    assert_eq!(services.check_targets(&shipped_manifests()), vec![]);
    let routing = crate::routing::Routing::load(&crate::repo_root().join("routing.toml")).unwrap();
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
