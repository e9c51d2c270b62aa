//! Bad mappings (inbound and outbound) and routing files, each run
//! through the real binary: `check` exits non-zero, names the file at fault
//! with `file:line:col` and the key, and never panics or hangs. The CEL,
//! template and path limits are docs/MAPPING.md's "Limits".

use crate::common::project::{Project, refused_at};

const SN_MAP: &str = "mappings/servicenow-incident.toml";
const SN_OUT: &str = "mappings/servicenow-update-incident.toml";
const ROUTING: &str = "routing.toml";

// ---- inbound mappings ----

#[test]
fn mapping_unknown_table() {
    refused_at(
        SN_MAP,
        "[attributes]",
        "[atributes]",
        "[atributes]",
        "atributes",
    );
}

#[test]
fn mapping_wrong_type() {
    refused_at(
        SN_MAP,
        "kind = { const = \"incident\" }",
        "kind = 3",
        "kind = 3",
        "kind",
    );
}

#[test]
fn mapping_missing_version() {
    let p = Project::shipped();
    p.edit(SN_MAP, "version = 1\n", "");
    p.check().exits(1).located_in(SN_MAP).says("version");
}

#[test]
fn mapping_version_2() {
    refused_at(
        SN_MAP,
        "version = 1",
        "version = 2",
        "version = 2",
        "version",
    );
}

#[test]
fn mapping_unknown_entity() {
    refused_at(
        SN_MAP,
        "entity = \"work_item\"",
        "entity = \"ticket\"",
        "entity",
        "ticket",
    );
}

#[test]
fn mapping_invalid_utf8() {
    let p = Project::shipped();
    let mut bytes = p.read(SN_MAP).into_bytes();
    bytes.extend_from_slice(b"# caf\xe9\n");
    p.write_bytes(SN_MAP, &bytes);
    p.check().exits(1).located_in(SN_MAP).says("UTF-8");
}

#[test]
fn mapping_empty_file() {
    let p = Project::shipped();
    p.write(SN_MAP, "");
    p.check().exits(1).located_in(SN_MAP);
}

#[test]
fn mapping_cel_syntax_error() {
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        "description = { expr = \"record.description +\" }",
        "record.description +",
        "fields.description",
    );
}

#[test]
fn mapping_cel_too_long() {
    let long = format!("'{}'", "a".repeat(4100));
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        &format!("description = {{ expr = \"{long}\" }}"),
        "description = { expr",
        "4096",
    );
}

#[test]
fn mapping_cel_too_deep() {
    let deep = format!("{}1{}", "(".repeat(60), ")".repeat(60));
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        &format!("description = {{ expr = \"{deep}\" }}"),
        "description = { expr",
        "40",
    );
}

#[test]
fn mapping_cel_chain_too_deep() {
    let chain = vec!["1"; 1001].join(" + ");
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        &format!("description = {{ expr = \"{chain}\" }}"),
        "description = { expr",
        "levels deep",
    );
}

#[test]
fn mapping_template_unbalanced_brace() {
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        "description = { template = \"{number: {short_description\" }",
        "description = { template",
        "fields.description",
    );
}

#[test]
fn mapping_template_stray_closing_brace() {
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        "description = { template = \"number} {short_description}\" }",
        "description = { template",
        "fields.description",
    );
}

#[test]
fn mapping_path_too_many_segments() {
    let path = vec!["a"; 40].join(".");
    refused_at(
        SN_MAP,
        "description = { path = \"description\" }",
        &format!("description = {{ path = \"{path}\" }}"),
        "description = { path",
        "fields.description",
    );
}

#[test]
fn mapping_map_value_of_no_status() {
    // Located at the field that uses the map.
    refused_at(
        SN_MAP,
        "\"8\" = \"cancelled\"",
        "\"8\" = \"canceled\"",
        "status = { path = \"state\", map = \"state\" }",
        "canceled",
    );
}

// ---- outbound mappings ----

#[test]
fn outbound_key_collision() {
    refused_at(
        SN_OUT,
        "short_description = { path = \"title\" }",
        "short_description = { path = \"title\" }\n\"state.display\" = { path = \"status\" }",
        "state.display",
        "state",
    );
}

#[test]
fn outbound_empty_key_segment() {
    refused_at(
        SN_OUT,
        "short_description = { path = \"title\" }",
        "\"short_description.\" = { path = \"title\" }",
        "short_description.",
        "short_description.",
    );
}

#[test]
fn outbound_cel_syntax_error_in_when() {
    refused_at(
        SN_OUT,
        "when = \"record.status in ['resolved', 'closed']\" }",
        "when = \"record.status in ['resolved', 'closed'\" }",
        "'closed'\" }",
        "close_code",
    );
}

// ---- routing.toml ----

#[test]
fn routing_unknown_key_suggests_the_right_one() {
    refused_at(
        ROUTING,
        "sla_hours = 8",
        "sla_hour = 8",
        "sla_hour",
        "sla_hour",
    )
    .check()
    .says("did you mean `sla_hours`?");
}

#[test]
fn routing_missing_version() {
    let p = Project::shipped();
    p.edit(ROUTING, "version = 1\n", "");
    p.check().exits(1).located_in(ROUTING).says("version");
}

#[test]
fn routing_version_2() {
    refused_at(
        ROUTING,
        "version = 1",
        "version = 2",
        "version = 2",
        "version",
    );
}

#[test]
fn routing_unknown_event() {
    refused_at(
        ROUTING,
        "on = [\"created\"]",
        "on = [\"archived\"]",
        "archived",
        "archived",
    );
}

/// The shipped routing.toml with `from` made `to`; `check` refuses it at
/// the `when = """` line opening the condition that holds `to`.
fn routing_when_refused(from: &str, to: &str, key: &str) {
    let p = Project::shipped();
    p.edit(ROUTING, from, to);
    let text = p.read(ROUTING);
    let at = text.find(to).unwrap();
    let line = text[..text[..at].rfind("when = ").unwrap()].lines().count() + 1;
    p.check().exits(1).at(ROUTING, line, key);
}

#[test]
fn routing_cel_syntax_error() {
    routing_when_refused(
        "record.kind == 'incident'",
        "record.kind == = 'incident'",
        "rules.0.when",
    );
}

#[test]
fn routing_cel_too_long() {
    let long = format!("record.title == '{}'", "a".repeat(4100));
    routing_when_refused("record.kind == 'request'", &long, "4096");
}

#[test]
fn routing_template_unbalanced_brace() {
    refused_at(
        ROUTING,
        "title = \"Laptop for {display_name}\"",
        "title = \"Laptop for {display_name\"",
        "Laptop for {display_name\"",
        "title",
    );
}

#[test]
fn routing_unknown_department_key() {
    refused_at(
        ROUTING,
        "to = { department = \"finance\", connector = \"odoo\", action = \"create_purchase_order\" }\npriority = 3",
        "to = { departmnt = \"finance\", connector = \"odoo\", action = \"create_purchase_order\" }\npriority = 3",
        "departmnt",
        "departmnt",
    );
}

#[test]
fn routing_unknown_connector() {
    refused_at(
        ROUTING,
        "connector = \"odoo\", action = \"create_purchase_order\" }\npriority = 3",
        "connector = \"odo\", action = \"create_purchase_order\" }\npriority = 3",
        "\"odo\"",
        "odo",
    );
}

#[test]
fn routing_duplicate_rule_name() {
    let p = Project::shipped();
    p.edit(
        ROUTING,
        "name = \"hardware-purchases-to-finance\"",
        "name = \"heating-and-leaks-to-facilities\"",
    );
    // The second rule of that name, just above its description.
    let line = p.line_of(ROUTING, "description = \"Requests for equipment") - 1;
    p.check()
        .exits(1)
        .at(ROUTING, line, "rules.1.name")
        .says("heating-and-leaks-to-facilities");
}

#[test]
fn routing_invalid_utf8() {
    let p = Project::shipped();
    let mut bytes = p.read(ROUTING).into_bytes();
    bytes.extend_from_slice(b"\n# \xc0\xaf\n");
    p.write_bytes(ROUTING, &bytes);
    p.check().exits(1).located_in(ROUTING).says("UTF-8");
}

#[test]
fn routing_empty_file() {
    let p = Project::shipped();
    p.write(ROUTING, "");
    p.check().exits(1).located_in(ROUTING).says("version");
}

#[test]
fn routing_toml_syntax_error() {
    refused_at(ROUTING, "[default]", "[default", "[default", "");
}

#[test]
fn routing_progress_to_an_unknown_action() {
    refused_at(
        ROUTING,
        "jira = \"comment_request\"",
        "jira = \"coment_request\"",
        "coment_request",
        "coment_request",
    );
}
