//! `services.toml` as `switchboard check` sees it: the shipped catalogue
//! accepted, each mistake located at its line and key, one mistake one
//! error, and no file no word.

mod common;

use common::project::{Project, refused_at};

#[test]
fn check_counts_the_shipped_offerings() {
    let p = Project::shipped();
    p.check().exits(0).says("5 service offering(s)");
}

#[test]
fn without_services_toml_check_says_nothing_of_it() {
    let p = Project::shipped();
    std::fs::remove_file(p.path("services.toml")).unwrap();
    let ran = p.check();
    ran.exits(0);
    assert!(!ran.out.contains("offering"), "{}", ran.out);
}

#[test]
fn check_locates_an_unknown_key_with_a_hint() {
    refused_at(
        "services.toml",
        "required = true\nmax_length = 200",
        "requird = true\nmax_length = 200",
        "requird = true",
        "did you mean `required`?",
    );
}

#[test]
fn check_locates_a_target_action_the_connector_lacks() {
    let p = refused_at(
        "services.toml",
        "action = \"create_workorder\"",
        "action = \"create_work_order\"",
        "create_work_order",
        "connector `maximo` has no action `create_work_order`",
    );
    let ran = p.check();
    ran.says("did you mean `create_workorder`?")
        .says("1 problem(s) found");
}

#[test]
fn a_department_no_connector_serves_is_one_error_naming_the_departments() {
    let p = refused_at(
        "services.toml",
        "department = \"facilities\"",
        "department = \"estates\"",
        "estates",
        "no connector serves department `estates`",
    );
    // The target's connector serves facilities, not estates: the same
    // mistake, not told twice.
    p.check()
        .says("departments are: facilities, finance, hr, it")
        .says("1 problem(s) found");
}

#[test]
fn every_mistake_in_the_file_is_reported_in_one_pass() {
    let p = Project::shipped();
    p.edit("services.toml", "sla_hours = 48", "sla_hours = 0");
    p.edit("services.toml", "{fields.location}", "{fields.locaton}");
    p.edit(
        "services.toml",
        "type = \"integer\"",
        "type = \"integer\"\nchoices = [\"1\"]",
    );
    let ran = p.check();
    ran.exits(1)
        .at(
            "services.toml",
            p.line_of("services.toml", "sla_hours = 0"),
            "from 1 to 8760",
        )
        .at(
            "services.toml",
            p.line_of("services.toml", "{fields.locaton}"),
            "did you mean `{fields.location}`?",
        )
        .at(
            "services.toml",
            p.line_of("services.toml", "choices = [\"1\"]"),
            "only for `type = \"choice\"`",
        )
        .says("3 problem(s) found");
}

#[test]
fn a_manifest_that_fails_is_not_blamed_on_the_catalogue() {
    let p = Project::shipped();
    p.edit(
        "connectors/maximo.toml",
        "kind = \"rest\"",
        "kind = \"rset\"",
    );
    let ran = p.check();
    ran.exits(1).located_in("connectors/maximo.toml");
    assert!(!ran.err.contains("services.toml"), "{}", ran.err);
}
