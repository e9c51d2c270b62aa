use super::*;

// ---------------------------------------------------------------------------
// Empty, null and missing values
// ---------------------------------------------------------------------------

#[test]
fn empty_null_and_missing_values_use_the_rule_default() {
    let m = mapping(&work_item_mapping(
        "department = { path = \"dept\", default = \"IT\" }",
        "",
    ));
    for rec in [
        json!({"t": "x", "dept": ""}),
        json!({"t": "x", "dept": null}),
        json!({"t": "x"}),
    ] {
        let w = work_item(m.apply(&rec).expect("maps"));
        assert_eq!(w.department.as_deref(), Some("IT"), "record {rec}");
    }
    let w = work_item(m.apply(&json!({"t": "x", "dept": "HR"})).expect("maps"));
    assert_eq!(w.department.as_deref(), Some("HR"));
}

#[test]
fn empty_null_and_missing_values_without_default_leave_field_none() {
    let m = mapping(&work_item_mapping(
        "description = { path = \"d\" }\nopened_at = { path = \"o\", timestamp = \"rfc3339\" }\npriority = { path = \"p\" }",
        "[attributes]\nextra = { path = \"e\" }\n",
    ));
    for rec in [
        json!({"t": "x", "d": "", "o": "", "p": "", "e": ""}),
        json!({"t": "x", "d": null, "o": null, "p": null, "e": null}),
        json!({"t": "x"}),
    ] {
        let w = work_item(m.apply(&rec).expect("maps"));
        assert_eq!(w.description, None, "record {rec}");
        assert_eq!(w.opened_at, None, "record {rec}");
        assert_eq!(w.priority, None, "record {rec}");
        assert!(w.attributes.is_empty(), "record {rec}: {:?}", w.attributes);
    }
}

#[test]
fn required_title_empty_without_default_fails_record() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ const = \"new\" }}\n"
    ));
    for rec in [json!({"t": ""}), json!({"t": null}), json!({})] {
        let err = m.apply(&rec).unwrap_err();
        assert_eq!(err.file, FILE);
        assert_eq!(err.rule, "fields.title", "record {rec}");
        assert!(err.message.contains("required field is empty"), "{err}");
    }
    let w = work_item(m.apply(&json!({"t": "Printer jam"})).expect("maps"));
    assert_eq!(w.title, "Printer jam");
}

#[test]
fn empty_values_skip_transforms_and_take_the_default() {
    let m = mapping(&work_item_mapping(
        "",
        "[attributes]\ncost = { path = \"cost\", transforms = [\"parse_number\"] }\nflag = { path = \"flag\", transforms = [\"parse_bool\"], default = false }\n",
    ));
    let w = work_item(
        m.apply(&json!({"cost": "", "flag": null}))
            .expect("empty is not malformed"),
    );
    assert_eq!(w.attributes.get("cost"), None);
    assert_eq!(w.attributes["flag"], json!(false));
    // A value that is there but malformed still fails.
    assert!(m.apply(&json!({"cost": "12,x"})).is_err());
}
