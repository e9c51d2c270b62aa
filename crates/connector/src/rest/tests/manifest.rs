use super::*;

// ---------------------------------------------------------------------------
// Manifest validation
// ---------------------------------------------------------------------------

#[test]
fn unknown_stream_key_is_located_with_did_you_mean() {
    let text = replace_once(*SERVICENOW, "records = \"result\"", "recrods = \"result\"");
    let d = manifest_error(&text);
    assert!(d.message.contains("unknown field `recrods`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `records`?"));
    assert_eq!((d.line, d.col), pos(&text, "recrods"));
    assert_eq!(d.file, std::path::Path::new("connectors/t.toml"));
}

#[test]
fn unknown_top_level_key_suggests_kind_key() {
    let text = replace_once(*SERVICENOW, "base_url =", "base_ulr =");
    let d = manifest_error(&text);
    assert!(d.message.contains("unknown field `base_ulr`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `base_url`?"));
    assert_eq!(d.line, pos(&text, "base_ulr").0);
}

#[test]
fn bad_cursor_format_is_located() {
    let text = replace_once(
        *SERVICENOW,
        "format = \"%Y-%m-%d %H:%M:%S\"",
        "format = \"YYYY-MM-DD HH:mm:ss\"",
    );
    let d = manifest_error(&text);
    assert!(
        d.message
            .starts_with("`streams.0.cursor.format`: `YYYY-MM-DD HH:mm:ss` is not a cursor format"),
        "{d}"
    );
    assert_eq!((d.line, d.col), pos(&text, "format = \"YYYY"));
}

#[test]
fn cursor_template_without_placeholder_is_rejected() {
    let text = replace_once(
        *SERVICENOW,
        "template = \"sys_updated_on>={cursor}^ORDERBYsys_updated_on^ORDERBYsys_id\"",
        "template = \"sys_updated_on>=javascript:gs.daysAgo(1)\"",
    );
    let d = manifest_error(&text);
    assert_eq!(
        d.message,
        "`streams.0.cursor.template`: the template must contain `{cursor}`"
    );
    assert_eq!((d.line, d.col), pos(&text, "template ="));
}

#[test]
fn cursor_initial_not_matching_format_is_rejected() {
    let text = replace_once(
        *SERVICENOW,
        "overlap_secs = 60",
        "overlap_secs = 60\ninitial = \"2024-06-01T00:00:00Z\"",
    );
    let d = manifest_error(&text);
    assert!(d.message.starts_with("`streams.0.cursor.initial`"), "{d}");
    assert!(
        d.message.contains("does not match the cursor format"),
        "{d}"
    );
    assert_eq!(d.line, pos(&text, "initial =").0);
}

#[test]
fn duplicate_stream_names_are_rejected_at_the_second() {
    let second = "\n[[streams]]\nname = \"incident\"\npath = \"/api/now/table/incident_task\"\nrecords = \"result\"\nkey = \"sys_id\"\n\n[streams.pagination]\ntype = \"next_link\"\n";
    let text = format!("{}{second}", *SERVICENOW);
    let d = manifest_error(&text);
    assert_eq!(d.message, "`streams.1.name`: duplicate stream `incident`");
    let first_line = pos(&text, "name = \"incident\"").0;
    let second_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("name = \"incident\""))
        .map(|(i, _)| i + 1)
        .nth(1)
        .expect("second stream");
    assert_ne!(first_line, second_line);
    assert_eq!((d.line, d.col), (second_line, 1));
}

#[test]
fn bad_base_url_is_rejected() {
    let text = replace_once(
        *SERVICENOW,
        "base_url = \"https://your-instance.service-now.com\"",
        "base_url = \"your-instance.service-now.com\"",
    );
    let d = manifest_error(&text);
    assert!(d.message.starts_with("`base_url`: "), "{d}");
    assert!(d.message.contains("is not a URL"), "{d}");
    assert_eq!((d.line, d.col), pos(&text, "base_url ="));
}

#[test]
fn a_password_in_a_base_url_is_never_repeated() {
    for url in [
        "ftp://admin:Pa55word@x.example",
        "https://admin:Pa55word@x.example:0",
    ] {
        let text = replace_once(
            *SERVICENOW,
            "base_url = \"https://your-instance.service-now.com\"",
            &format!("base_url = \"{url}\""),
        );
        let d = manifest_error(&text);
        assert_eq!((d.line, d.col), pos(&text, "base_url ="));
        assert!(!d.to_string().contains("Pa55word"), "{d}");
    }
}

#[test]
fn cursor_param_also_in_query_is_rejected() {
    let text = replace_once(
        *SERVICENOW,
        "sysparm_exclude_reference_link = \"true\"\n",
        "sysparm_exclude_reference_link = \"true\"\nsysparm_query = \"active=true\"\n",
    );
    let d = manifest_error(&text);
    assert!(
        d.message
            .starts_with("`streams.0.cursor.param`: `sysparm_query` is also set in `query`"),
        "{d}"
    );
    assert_eq!((d.line, d.col), pos(&text, "param = \"sysparm_query\""));
}

#[test]
fn unknown_pagination_type_is_rejected_with_hint() {
    let text = replace_once(*SERVICENOW, "type = \"offset\"", "type = \"offest\"");
    let d = manifest_error(&text);
    assert!(d.message.contains("unknown variant `offest`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `offset`?"));
    // At the value, where the typo is.
    assert_eq!((d.line, d.col), pos(&text, "\"offest\""));
}

#[test]
fn zero_page_size_is_rejected() {
    let text = replace_once(*SERVICENOW, "page_size = 100", "page_size = 0");
    let d = manifest_error(&text);
    assert_eq!(
        d.message,
        "`streams.0.pagination`: `page_size` must be at least 1"
    );
    assert_eq!(d.line, pos(&text, "[streams.pagination]").0);
}

#[test]
fn manifest_without_streams_is_rejected() {
    let text = "version = 1\nsystem = \"x\"\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"https://x.example\"\nstreams = []\n";
    let d = manifest_error(text);
    assert!(d.message.contains("at least one `[[streams]]`"), "{d}");
    assert_eq!(d.line, 6);
}
