//! Bad admin files, each run through the real binary: `check` (and `run
//! --once`, which loads the same files) exits non-zero, names the file at
//! fault with `file:line:col` and the key, and never panics or hangs.
//! Records, sources, webhooks and secrets: `tests/bad_inputs_runtime.rs`.

mod common;

use common::project::Project;

const SN: &str = "connectors/servicenow.toml";
const SN_MAP: &str = "mappings/servicenow-incident.toml";
const SN_OUT: &str = "mappings/servicenow-update-incident.toml";
const ROUTING: &str = "routing.toml";
const CONFIG: &str = "switchboard.toml";

/// The shipped files with `rel` edited; `check` must refuse them at the
/// line now holding `located`, naming `key`.
fn refused_at(rel: &str, from: &str, to: &str, located: &str, key: &str) -> Project {
    let p = Project::shipped();
    p.edit(rel, from, to);
    let line = p.line_of(rel, located);
    p.check().exits(1).at(rel, line, key);
    p
}

/// A config with `extra` appended; `check` and `run --once` refuse it at
/// the line holding `located`, naming `key`.
fn config_refused(extra: &str, located: &str, key: &str) -> Project {
    let p = Project::shipped();
    p.append(CONFIG, extra);
    let line = p.line_of(CONFIG, located);
    p.check().exits(1).at(CONFIG, line, key);
    p.run(&["run", "--once"]).fails().at(CONFIG, line, key);
    p
}

// ---- switchboard.toml ----

#[test]
fn config_unknown_key_suggests_the_right_one() {
    let p = Project::shipped();
    p.edit(CONFIG, "url = ", "ulr = ");
    p.check()
        .exits(1)
        .at(CONFIG, 4, "ulr")
        .says("did you mean `url`?");
}

#[test]
fn config_wrong_type() {
    config_refused(
        "[delivery]\noutage_budget_secs = \"six hours\"\n",
        "outage_budget_secs",
        "outage_budget_secs",
    );
}

#[test]
fn config_missing_version() {
    let p = Project::shipped();
    p.edit(CONFIG, "version = 1\n", "");
    p.check().exits(1).located_in(CONFIG).says("version");
}

#[test]
fn config_version_2() {
    let p = Project::shipped();
    p.edit(CONFIG, "version = 1", "version = 2");
    p.check().exits(1).at(CONFIG, 1, "version");
}

#[test]
fn config_invalid_utf8() {
    let p = Project::shipped();
    let mut bytes = p.read(CONFIG).into_bytes();
    bytes.extend_from_slice(b"[log]\nlevel = \"in\xff\xfefo\"\n");
    p.write_bytes(CONFIG, &bytes);
    p.check().exits(1).located_in(CONFIG).says("UTF-8");
}

#[test]
fn config_empty_file() {
    let p = Project::shipped();
    p.write(CONFIG, "");
    p.check().exits(1).located_in(CONFIG).says("version");
}

#[test]
fn config_toml_syntax_error() {
    let p = Project::shipped();
    p.edit(CONFIG, "[http]", "[http");
    p.check().exits(1).at(CONFIG, 6, "");
}

#[test]
fn config_mysql_store_url() {
    let p = Project::shipped();
    p.edit(
        CONFIG,
        "sqlite://switchboard.db",
        "mysql://db.internal/switchboard",
    );
    p.check().exits(1).at(CONFIG, 4, "url").says("mysql");
    p.run(&["run", "--once"]).fails().at(CONFIG, 4, "url");
}

#[test]
fn config_max_connections_out_of_range() {
    config_refused_in_store("max_connections = 4294967295");
}

#[test]
fn config_max_connections_zero() {
    config_refused_in_store("max_connections = 0");
}

fn config_refused_in_store(line: &str) {
    let p = Project::shipped();
    p.edit(CONFIG, "[http]", &format!("{line}\n\n[http]"));
    let at = p.line_of(CONFIG, "max_connections");
    p.check().exits(1).at(CONFIG, at, "max_connections");
}

#[test]
fn config_listen_is_not_an_address() {
    let p = Project::shipped();
    p.edit(CONFIG, "127.0.0.1:0", "localhost-8080");
    p.check().exits(1).at(CONFIG, 7, "listen");
}

#[test]
fn config_ftp_base_url() {
    config_refused(
        "\n[connectors.servicenow]\nbase_url = \"ftp://acme.service-now.com\"\n",
        "ftp://",
        "base_url",
    );
}

#[test]
fn config_override_of_an_unknown_system_suggests_one() {
    let p = Project::shipped();
    p.append(CONFIG, "\n[connectors.servicenw]\nenabled = true\n");
    let line = p.line_of(CONFIG, "servicenw");
    p.check()
        .exits(1)
        .at(CONFIG, line, "servicenw")
        .says("did you mean `servicenow`?");
}

#[test]
fn config_cron_that_never_fires() {
    config_refused(
        "\n[connectors.servicenow]\nschedule = \"0 0 30 2 *\"\n",
        "schedule",
        "schedule",
    );
}

#[test]
fn config_cron_that_is_not_cron() {
    config_refused(
        "\n[connectors.servicenow]\nschedule = \"every five minutes\"\n",
        "schedule",
        "schedule",
    );
}

#[test]
fn config_broker_url_of_another_scheme() {
    config_refused(
        "\n[broker]\nurl = \"http://127.0.0.1:15672\"\n",
        "15672",
        "url",
    );
}

#[test]
fn config_negative_reload_secs() {
    config_refused(
        "\n[paths]\nreload_secs = -2\n",
        "reload_secs",
        "reload_secs",
    );
}

#[test]
fn config_huge_line() {
    let p = Project::shipped();
    let huge = "x".repeat(1 << 20);
    p.append(CONFIG, &format!("\n[log]\nlevle = \"{huge}\"\n"));
    let line = p.line_of(CONFIG, "levle");
    let ran = p.check();
    ran.exits(1).at(CONFIG, line, "levle");
}

// ---- connector manifests ----

#[test]
fn manifest_unknown_key_suggests_the_right_one() {
    refused_at(
        SN,
        "description = ",
        "descripton = ",
        "descripton",
        "descripton",
    )
    .check()
    .says("did you mean `description`?");
}

#[test]
fn manifest_wrong_type() {
    refused_at(
        SN,
        "max_attempts = 5",
        "max_attempts = \"5\"",
        "max_attempts",
        "max_attempts",
    );
}

#[test]
fn manifest_missing_version() {
    let p = Project::shipped();
    p.edit(SN, "version = 1\n", "");
    p.check().exits(1).located_in(SN).says("version");
}

#[test]
fn manifest_version_2() {
    refused_at(SN, "version = 1", "version = 2", "version = 2", "version");
}

#[test]
fn manifest_unknown_kind() {
    refused_at(
        SN,
        "kind = \"rest\"",
        "kind = \"soap\"",
        "kind = \"soap\"",
        "soap",
    );
}

#[test]
fn manifest_unknown_auth_type() {
    refused_at(
        SN,
        "type = \"basic\"",
        "type = \"kerberos\"",
        "kerberos",
        "kerberos",
    );
}

#[test]
fn manifest_duplicate_stream() {
    let p = Project::shipped();
    p.edit(SN, "name = \"request\"", "name = \"incident\"");
    let text = p.read(SN);
    let second = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains("name = \"incident\""))
        .nth(1)
        .unwrap()
        .0
        + 1;
    p.check().exits(1).at(SN, second, "incident");
}

#[test]
fn manifest_timeout_zero() {
    refused_at(
        SN,
        "timeout_secs = 30",
        "timeout_secs = 0",
        "timeout_secs",
        "timeout_secs",
    );
}

#[test]
fn manifest_max_attempts_zero() {
    refused_at(
        SN,
        "max_attempts = 5",
        "max_attempts = 0",
        "max_attempts",
        "max_attempts",
    );
}

#[test]
fn manifest_ftp_base_url() {
    refused_at(
        SN,
        "https://your-instance.service-now.com",
        "ftp://your-instance.service-now.com",
        "base_url",
        "base_url",
    );
}

#[test]
fn manifest_cron_that_never_fires() {
    refused_at(SN, "*/5 * * * *", "0 0 30 2 *", "schedule", "schedule");
}

#[test]
fn manifest_invalid_utf8() {
    let p = Project::shipped();
    let text = p.read(SN).replacen("IT service desk", "IT \u{1}desk", 1);
    let bytes = text.replacen('\u{1}', "\u{fffd}", 1).into_bytes();
    let i = bytes
        .windows(3)
        .position(|w| w == "\u{fffd}".as_bytes())
        .unwrap();
    let mut bytes = bytes;
    bytes.splice(i..i + 3, [0xC3u8, 0x28]);
    p.write_bytes(SN, &bytes);
    p.check().exits(1).located_in(SN).says("UTF-8");
}

#[test]
fn manifest_empty_file() {
    let p = Project::shipped();
    p.write(SN, "");
    p.check().exits(1).located_in(SN);
}

#[test]
fn manifest_duplicate_key() {
    let p = Project::shipped();
    p.edit(
        SN,
        "kind = \"rest\"\n",
        "kind = \"rest\"\nkind = \"rest\"\n",
    );
    p.check().exits(1).at(SN, 6, "kind");
}

#[test]
fn manifest_toml_syntax_error() {
    refused_at(
        SN,
        "page_size = 100",
        "page_size = 100 100",
        "page_size",
        "",
    );
}

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
        "on = [\"deleted\"]",
        "deleted",
        "deleted",
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
