//! Bad config files and connector manifests, each run through the real
//! binary: `check` (and `run --once`, which loads the same files) exits
//! non-zero, names the file at fault with `file:line:col` and the key, and
//! never panics or hangs. Mappings and routing: `mapping_files.rs`;
//! records and sources: `records.rs`; webhooks and secrets:
//! `webhooks_and_secrets.rs`.

use crate::common::project::{Project, refused_at};

const SN: &str = "connectors/servicenow.toml";
const CONFIG: &str = "switchboard.toml";

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

// ---- [api] tokens ----

#[test]
fn api_token_with_an_unknown_scope() {
    config_refused(
        "[[api.tokens]]\nname = \"desk\"\ntoken = \"env:DESK_TOKEN\"\nscopes = [\"read\", \"Admin!\"]\n",
        "scopes = [\"read\", \"Admin!\"]",
        "scopes",
    )
    .check()
    .says("`Admin!` is not a scope");
}

#[test]
fn api_token_with_a_hash_that_is_no_sha256() {
    config_refused(
        "[[api.tokens]]\nname = \"desk\"\nsha256 = \"abc123\"\nscopes = [\"read\"]\n",
        "sha256 = \"abc123\"",
        "sha256",
    )
    .check()
    .says("64 hex digits");
}

#[test]
fn api_token_without_a_secret() {
    config_refused(
        "[[api.tokens]]\nname = \"desk\"\nscopes = [\"read\"]\n",
        "name = \"desk\"",
        "name",
    )
    .check()
    .says("neither `token`");
}

#[test]
fn api_token_named_twice() {
    config_refused(
        "[[api.tokens]]\nname = \"desk\"\ntoken = \"a\"\nscopes = [\"read\"]\n\n[[api.tokens]]\nname = \"desk\" # again\ntoken = \"b\"\nscopes = [\"agent\"]\n",
        "name = \"desk\" # again",
        "name",
    );
}

#[test]
fn api_cors_origin_with_a_path() {
    config_refused(
        "[api]\ncors_origins = [\"https://portal.example.com/app\"]\n",
        "cors_origins",
        "cors_origins",
    )
    .check()
    .says("scheme and host");
}

#[test]
fn api_rate_limit_out_of_range() {
    config_refused(
        "[api]\nrate_limit_per_minute = 5000000\n",
        "rate_limit_per_minute",
        "rate_limit_per_minute",
    );
}
