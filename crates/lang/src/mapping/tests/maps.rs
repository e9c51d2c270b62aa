use super::*;

// ---------------------------------------------------------------------------
// Value maps
// ---------------------------------------------------------------------------

#[test]
fn unmapped_state_fails_record_naming_file_rule_path_and_value() {
    let m = shipped();
    let mut rec = sn_incident();
    rec["state"] = json!("9");
    let err = m.apply(&rec).unwrap_err();
    assert_eq!(err.file, m.file.display().to_string());
    assert_eq!(err.rule, "fields.status");
    assert_eq!(err.source_path, " (from `state` = \"9\")");
    assert!(err.message.contains("not in map `state`"), "{err}");
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: rule `fields.status` (from `state` = \"9\"): ",
            m.file.display()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("mappings/servicenow-incident.toml"),
        "{shown}"
    );
    assert!(shown.contains("[maps.state]"), "{shown}");
}

#[test]
fn map_default_catches_unlisted_values() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"state\", map = \"state\" }}\n\n[maps.state]\n\"1\" = \"new\"\ndefault = \"open\"\n"
    ));
    let listed = work_item(m.apply(&json!({"t": "x", "state": "1"})).expect("maps"));
    assert_eq!(listed.status, "new");
    let unlisted = work_item(m.apply(&json!({"t": "x", "state": "9"})).expect("maps"));
    assert_eq!(unlisted.status, "open");
}

#[test]
fn map_keys_match_numbers_and_booleans_by_their_text() {
    let m = mapping(&work_item_mapping(
        "priority = { path = \"p\", map = \"prio\" }",
        "[attributes]\nvip = { path = \"vip\", map = \"yesno\" }\n\n[maps.prio]\n\"1\" = 1\n\"2\" = 3\n\n[maps.yesno]\n\"true\" = \"yes\"\n\"false\" = \"no\"\n",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "p": 2, "vip": true}))
            .expect("maps"),
    );
    assert_eq!(w.priority, Some(3));
    assert_eq!(w.attributes.get("vip"), Some(&json!("yes")));
}

/// A rule's `default` must be valid for the target (compile() checks it as
/// a target value), so it must be used as the target value when the source is
/// empty, not run through the rule's map as if it were a source value.
#[test]
fn default_of_mapped_rule_is_used_as_target_value() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"state\", map = \"state\", default = \"new\" }}\n\n[maps.state]\n\"1\" = \"open\"\n\"7\" = \"closed\"\n"
    ));
    let w = work_item(
        m.apply(&json!({"t": "x"}))
            .expect("missing state should fall back to the default status"),
    );
    assert_eq!(w.status, "new");
}
