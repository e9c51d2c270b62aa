use super::*;

// ---------------------------------------------------------------------------
// Compile-time diagnostics
// ---------------------------------------------------------------------------

#[test]
fn unknown_target_field_is_located_with_did_you_mean() {
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\nstatus = {{ const = \"new\" }}\ntitel = {{ path = \"short_description\" }}\n"
    );
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "has no field `titel`");
    assert_eq!(d.file, Path::new(FILE));
    assert_eq!((d.line, d.col), pos(&text, "titel ="));
    assert_eq!(
        d.message,
        "`fields.titel`: `work_item` has no field `titel`"
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `title`?"));
    assert!(
        d.to_string()
            .starts_with(&format!("{FILE}:{}:1: ", pos(&text, "titel =").0)),
        "{d}"
    );
    // `titel` is `title` misspelt: one mistake, one error, so `title` is
    // not reported missing as well.
    assert_eq!(diags.len(), 1, "{diags:#?}");
}

#[test]
fn unknown_target_field_without_near_match_lists_fields() {
    let text = work_item_mapping("zzzzzzzz = { path = \"x\" }", "");
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "has no field `zzzzzzzz`");
    assert_eq!(d.line, pos(&text, "zzzzzzzz").0);
    let hint = d.hint.as_deref().unwrap_or_default();
    assert!(hint.starts_with("fields are: kind, title"), "{hint}");
}

#[test]
fn unknown_key_inside_rule_is_located_with_did_you_mean() {
    let text = work_item_mapping("description = { pth = \"d\" }", "");
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert!(d.message.contains("unknown field `pth`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `path`?"));
    assert_eq!((d.line, d.col), pos(&text, "pth"));
}

#[test]
fn rule_with_both_path_and_const_is_rejected() {
    let text = work_item_mapping("department = { path = \"dept\", const = \"IT\" }", "");
    let diags = diagnostics(&text);
    let d = diag_with(
        &diags,
        "give one source: `path`, `const`, `coalesce`, `template` or `expr`, not several",
    );
    assert_eq!((d.line, d.col), pos(&text, "department ="));
    assert!(d.message.starts_with("`fields.department`: "), "{d}");
}

#[test]
fn rule_with_neither_path_nor_const_is_rejected() {
    let text = work_item_mapping(
        "department = { default = \"IT\" }\nservice = { path = \"  \" }",
        "",
    );
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    let dept = diags
        .iter()
        .find(|d| d.message.starts_with("`fields.department`"))
        .expect("department diagnostic");
    assert!(
        dept.message
            .contains("needs a source: `path`, `const`, `coalesce`, `template` or `expr`"),
        "{dept}"
    );
    assert_eq!((dept.line, dept.col), pos(&text, "department ="));
    let svc = diags
        .iter()
        .find(|d| d.message.starts_with("`fields.service`"))
        .expect("service diagnostic");
    assert!(svc.message.contains("the path is empty"), "{svc}");
    assert_eq!(svc.line, pos(&text, "service =").0);
}

#[test]
fn unknown_map_name_is_located_at_map_key_with_hint() {
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"state\", map = \"stat\" }}\n\n[maps.state]\n\"1\" = \"new\"\n"
    );
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "no map named `stat`");
    assert_eq!(
        d.message,
        "`fields.status.map`: no map named `stat` in [maps]"
    );
    assert_eq!((d.line, d.col), pos(&text, "map = \"stat\""));
    assert_eq!(d.hint.as_deref(), Some("did you mean `state`?"));
}

#[test]
fn invalid_timestamp_format_is_located_at_timestamp_key() {
    let text = work_item_mapping("opened_at = { path = \"o\", timestamp = \"%Y-%Q\" }", "");
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "is not a valid timestamp format");
    assert!(
        d.message
            .starts_with("`fields.opened_at.timestamp`: `%Y-%Q`"),
        "{d}"
    );
    assert_eq!((d.line, d.col), pos(&text, "timestamp ="));
    // Only the bad format is reported, not also "needs a timestamp".
    assert_eq!(diags.len(), 1, "{diags:#?}");
}

#[test]
fn timestamp_format_without_directives_is_rejected() {
    let text = work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"YYYY-MM-DD HH:mm:ss\" }",
        "",
    );
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "is not a valid timestamp format");
    assert_eq!(d.line, pos(&text, "opened_at").0);
}

#[test]
fn date_only_timestamp_format_is_rejected_or_parses_as_midnight() {
    let text = work_item_mapping("due_at = { path = \"due\", timestamp = \"%Y-%m-%d\" }", "");
    if let Ok(m) = compile(&text) {
        let w = work_item(
            m.apply(&json!({"t": "x", "due": "2024-06-03"}))
                .expect("a format that compiles should parse matching values"),
        );
        assert_eq!(w.due_at, Some(utc(2024, 6, 3, 0, 0, 0)));
    }
}

#[test]
fn timestamp_target_without_timestamp_format_is_rejected() {
    let text = work_item_mapping("opened_at = { path = \"opened_at\" }", "");
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "a timestamp field needs `timestamp");
    assert!(d.message.starts_with("`fields.opened_at`: "), "{d}");
    assert_eq!((d.line, d.col), pos(&text, "opened_at ="));
}

#[test]
fn map_value_invalid_for_target_is_rejected() {
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"state\", map = \"state\" }}\n\n[maps.state]\n\"1\" = \"new\"\n\"7\" = \"done\"\n"
    );
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "map value \"done\"");
    assert!(d.message.contains("`done` is not one of: new, open"), "{d}");
    assert_eq!(d.line, pos(&text, "status =").0);
}

#[test]
fn priority_map_value_out_of_range_is_rejected() {
    let text = work_item_mapping(
        "priority = { path = \"p\", map = \"prio\" }",
        "[maps.prio]\n\"1\" = 1\n\"5\" = 5\n",
    );
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "map value 5");
    assert!(d.message.contains("priority must be 1 to 4"), "{d}");
    assert_eq!(d.line, pos(&text, "priority =").0);
}

#[test]
fn non_scalar_map_value_is_rejected_at_the_entry() {
    let text = work_item_mapping("", "[maps.m]\nlow = [1, 2]\n");
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "a map value must be a string, number or boolean");
    assert!(d.message.starts_with("`maps.m.low`"), "{d}");
    assert_eq!((d.line, d.col), pos(&text, "low = [1, 2]"));
}

/// Source codes such as ServiceNow states are numeric strings ("1", "2"), so
/// a map entry's key path looks like `maps.state.1`.
#[test]
fn non_scalar_map_value_under_numeric_key_is_located() {
    let text = work_item_mapping("", "[maps.state]\n\"1\" = [1, 2]\n");
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "a map value must be a string, number or boolean");
    assert!(d.message.starts_with("`maps.state.1`"), "{d}");
    assert_eq!(d.line, pos(&text, "\"1\" = [1, 2]").0);
}

#[test]
fn const_invalid_for_target_is_rejected() {
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"ticket\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ const = \"new\" }}\npriority = {{ const = 9 }}\n"
    );
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    let kind = diag_with(&diags, "const \"ticket\"");
    assert!(
        kind.message
            .contains("`ticket` is not one of: incident, request"),
        "{kind}"
    );
    assert_eq!((kind.line, kind.col), pos(&text, "kind ="));
    let prio = diag_with(&diags, "const 9");
    assert!(prio.message.contains("priority must be 1 to 4"), "{prio}");
    assert_eq!(prio.line, pos(&text, "priority =").0);
}

#[test]
fn default_invalid_for_target_is_rejected() {
    let text = work_item_mapping("priority = { path = \"p\", default = \"urgent\" }", "");
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "default \"urgent\"");
    assert_eq!(d.line, pos(&text, "priority =").0);
}

#[test]
fn missing_required_status_is_reported_at_fields_table() {
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\n"
    );
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert!(
        d.message.contains("`work_item` requires field `status`"),
        "{d}"
    );
    assert_eq!(d.line, pos(&text, "[fields]").0);
}

#[test]
fn all_missing_required_fields_are_reported_together() {
    let text = format!("{HEAD}\n[fields]\ndescription = {{ path = \"d\" }}\n");
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    for field in ["kind", "title", "status"] {
        diag_with(&diags, &format!("requires field `{field}`"));
    }
}

#[test]
fn unsupported_version_is_rejected_at_version_key() {
    let text = "# a mapping from the future\nversion = 2\nsystem = \"sys\"\nstream = \"s\"\nentity = \"work_item\"\n";
    let diags = diagnostics(text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!((d.line, d.col), (2, 1));
    assert!(d.message.contains("unsupported file version 2"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("set `version = 1`"));
}

#[test]
fn unknown_entity_is_rejected_with_hint() {
    let text = "version = 1\nsystem = \"sys\"\nstream = \"s\"\nentity = \"work_itme\"\n";
    let diags = diagnostics(text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert!(d.message.contains("unknown variant `work_itme`"), "{d}");
    assert_eq!(d.line, 4);
    assert_eq!(d.hint.as_deref(), Some("did you mean `work_item`?"));

    let text = "version = 1\nsystem = \"sys\"\nstream = \"s\"\nentity = \"ticket\"\n";
    let d = &diagnostics(text)[0];
    assert!(d.message.contains("unknown variant `ticket`"), "{d}");
    let hint = d.hint.as_deref().unwrap_or_default();
    assert!(
        hint.contains("work_item") && hint.contains("person"),
        "{hint}"
    );
}

#[test]
fn unknown_top_level_key_is_rejected_with_hint() {
    let text = format!("{HEAD}\n[feilds]\nkind = {{ const = \"incident\" }}\n");
    let diags = diagnostics(&text);
    let d = &diags[0];
    assert!(d.message.contains("unknown field `feilds`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `fields`?"));
    assert_eq!(d.line, pos(&text, "[feilds]").0);
}

#[test]
fn all_problems_of_a_file_are_reported_in_one_pass() {
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"s\", map = \"nope\" }}\nopened_at = {{ path = \"o\" }}\ncolour = {{ const = \"red\" }}\n"
    );
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    let lines: Vec<usize> = diags.iter().map(|d| d.line).collect();
    for needle in ["status =", "opened_at =", "colour ="] {
        assert!(
            lines.contains(&pos(&text, needle).0),
            "{needle}: {diags:#?}"
        );
    }
    // One headline per problem, each followed by its three-line caret snippet.
    let shown = Diagnostics(diags).to_string();
    let headlines = shown
        .lines()
        .filter(|l| l.starts_with("mappings/t.toml:"))
        .count();
    assert_eq!((headlines, shown.lines().count()), (3, 12), "{shown}");
}
