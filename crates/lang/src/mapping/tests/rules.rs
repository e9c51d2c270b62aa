use super::*;

// ---------------------------------------------------------------------------
// Coalesce, templates, transform chains, explain
// ---------------------------------------------------------------------------

#[test]
fn coalesce_takes_the_first_present_and_non_empty_path() {
    let m = mapping(&work_item_mapping(
        "requester = { coalesce = [\"caller.email\", \"caller.user_name\", \"opened_by\"] }",
        "",
    ));
    let req = |rec: Value| work_item(m.apply(&rec).expect("maps")).requester_ref;
    assert_eq!(
        req(json!({"caller": {"email": "", "user_name": "ada"}, "opened_by": "x"})),
        Some("ada".into())
    );
    assert_eq!(req(json!({"opened_by": "x"})), Some("x".into()));
    assert_eq!(req(json!({})), None);
}

#[test]
fn template_renders_paths_and_falls_back_to_default_when_all_are_missing() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"case\" }}\nstatus = {{ const = \"new\" }}\ntitle = {{ template = \"{{number}}: {{short}}\", default = \"(untitled)\" }}\n"
    ));
    let title = |rec: Value| work_item(m.apply(&rec).expect("maps")).title;
    assert_eq!(
        title(json!({"number": "INC1", "short": "VPN down"})),
        "INC1: VPN down"
    );
    assert_eq!(title(json!({})), "(untitled)");
}

#[test]
fn transforms_run_before_the_value_map() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"s\", transforms = [\"trim\", \"lower\"], map = \"s\" }}\n\n[maps.s]\nopen = \"open\"\ndone = \"closed\"\n"
    ));
    let w = work_item(m.apply(&json!({"t": "x", "s": "  DONE "})).expect("maps"));
    assert_eq!(w.status, "closed");
}

#[test]
fn transform_chain_over_every_array_element() {
    let m = mapping(&work_item_mapping(
        "",
        "[attributes]\ncomments = { path = \"comments[*].body\", transforms = [\"html_to_text\", { truncate = 5 }] }\ntags = { path = \"tags\", transforms = [{ split = \";\" }, \"upper\", { join = \"|\" }] }\n",
    ));
    let rec = json!({"t": "x", "comments": [{"body": "<p>Hello world</p>"}, {"body": "a&amp;b"}], "tags": "vpn; wifi"});
    let w = work_item(m.apply(&rec).expect("maps"));
    assert_eq!(w.attributes.get("comments"), Some(&json!(["Hello", "a&b"])));
    assert_eq!(w.attributes.get("tags"), Some(&json!("VPN|WIFI")));
}

#[test]
fn failing_transform_names_rule_path_and_value() {
    let m = mapping(&work_item_mapping(
        "",
        "[attributes]\ncost = { path = \"cost\", transforms = [\"parse_number\"] }\n",
    ));
    let err = m.apply(&json!({"t": "x", "cost": "12 EUR"})).unwrap_err();
    assert_eq!(err.rule, "attributes.cost");
    assert_eq!(err.source_path, " (from `cost` = \"12 EUR\")");
    assert!(err.message.contains("parse_number"), "{err}");
}

#[test]
fn bad_sources_and_transforms_are_located() {
    let text = work_item_mapping(
        "department = { coalesce = [\"a\"] }\nservice = { template = \"{a\" }\nlocation = { path = \"x\", transforms = [\"trimm\"] }",
        "[attributes]\nn = { path = \"n\", transforms = [{ regex_extract = \"(\" }] }\n",
    );
    let err = compile(&text).unwrap_err();
    // Unknown transform names are a parse error: reported alone, with a hint.
    let d = &err.0[0];
    assert!(d.message.contains("unknown variant `trimm`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `trim`?"));

    let text = text.replace("\"trimm\"", "\"trim\"");
    let diags = diagnostics(&text);
    assert!(
        diag_with(&diags, "at least two paths")
            .message
            .starts_with("`fields.department`")
    );
    assert!(
        diag_with(&diags, "without `}`")
            .message
            .starts_with("`fields.service`")
    );
    let re = diag_with(&diags, "invalid regex");
    assert!(
        re.message.starts_with("`attributes.n.transforms.0`"),
        "{re}"
    );
}

#[test]
fn explain_shows_each_rule_input_and_output() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ path = \"s\", map = \"s\" }}\n\n[maps.s]\n\"1\" = \"new\"\n"
    ));
    let steps = m.explain(&json!({"t": "Printer", "s": "9"}));
    let by_rule = |r: &str| steps.iter().find(|e| e.rule == r).expect("rule explained");
    let kind = by_rule("fields.kind");
    assert_eq!(
        (kind.source.as_deref(), kind.output.clone()),
        (None, Ok(Some(json!("incident"))))
    );
    let title = by_rule("fields.title");
    assert_eq!(title.source.as_deref(), Some("t"));
    assert_eq!(title.input, Some(json!("Printer")));
    let status = by_rule("fields.status");
    assert!(
        status
            .output
            .as_ref()
            .unwrap_err()
            .contains("not in map `s`")
    );
}

#[test]
fn explain_tells_a_false_when_from_a_missing_source() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ const = \"new\" }}\ndescription = {{ path = \"d\", when = \"record.t == 'x'\" }}\nassignee_group = {{ path = \"g\" }}\n"
    ));
    let steps = m.explain(&json!({"t": "Printer", "d": "text"}));
    let by_rule = |r: &str| steps.iter().find(|e| e.rule == r).expect("rule explained");
    let description = by_rule("fields.description");
    assert_eq!(description.when_false.as_deref(), Some("record.t == 'x'"));
    assert_eq!(
        (&description.input, &description.output),
        (&None, &Ok(None))
    );
    let group = by_rule("fields.assignee_group");
    assert_eq!((&group.when_false, &group.input), (&None, &None));
    let steps = m.explain(&json!({"t": "x", "d": "text"}));
    let description = steps
        .iter()
        .find(|e| e.rule == "fields.description")
        .unwrap();
    assert_eq!(description.when_false, None);
    assert_eq!(description.input, Some(json!("text")));
}

#[test]
fn cel_when_expr_and_skip_if() {
    let m = mapping(&format!(
        "{HEAD}skip_if = \"has(record.category) && record.category == 'test'\"\n\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ const = \"new\" }}\nassignee_group = {{ const = \"major-incident\", when = \"record.impact == '1' && record.urgency == '1'\" }}\npriority = {{ expr = \"record.impact == '1' ? 1 : 3\" }}\n\n[attributes]\nweight = {{ expr = \"record.count * 2\" }}\n"
    ));
    let rec = json!({"t": "x", "impact": "1", "urgency": "1", "count": 21});
    assert_eq!(m.skips(&rec), Ok(false));
    let w = work_item(m.apply(&rec).expect("maps"));
    assert_eq!(w.assignee_group.as_deref(), Some("major-incident"));
    assert_eq!(w.priority, Some(1));
    assert_eq!(w.attributes.get("weight"), Some(&json!(42)));

    let calm = json!({"t": "x", "impact": "3", "urgency": "1", "count": 1});
    let w = work_item(m.apply(&calm).expect("maps"));
    assert_eq!((w.assignee_group, w.priority), (None, Some(3)));

    assert_eq!(m.skips(&json!({"category": "test"})), Ok(true));
    // A condition that cannot be evaluated fails the record, naming the rule.
    let err = m
        .apply(&json!({"t": "x", "urgency": "1", "count": 1}))
        .unwrap_err();
    assert_eq!(err.rule, "fields.assignee_group");
    assert!(err.message.contains("CEL"), "{err}");
}

#[test]
fn bad_cel_is_located() {
    let text = format!(
        "{HEAD}skip_if = \"category == 'x'\"\n\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\", when = \"record.a ==\" }}\nstatus = {{ expr = \"record.s +\" }}\n"
    );
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    let skip = diag_with(&diags, "unknown variable `category`");
    assert_eq!(skip.line, pos(&text, "skip_if").0);
    assert!(
        diag_with(&diags, "invalid CEL expression `record.a ==`")
            .message
            .starts_with("`fields.title.when`")
    );
    assert!(
        diag_with(&diags, "invalid CEL expression `record.s +`")
            .message
            .starts_with("`fields.status`")
    );
}

#[test]
fn cel_beyond_the_limits_is_located() {
    // Thousands of `+` terms compiled under `check` and then overflowed a
    // runtime worker's stack on the first record.
    let long = vec!["record.n"; 3000].join(" + ");
    let deep = vec!["record.n"; 200].join("+");
    let text = format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ expr = \"{long}\" }}\nstatus = {{ expr = \"{deep}\" }}\n"
    );
    let diags = diagnostics(&text);
    assert_eq!(diags.len(), 2, "{diags:#?}");
    let size = diag_with(&diags, "the limit is 4096");
    assert!(size.message.starts_with("`fields.title`"), "{size:?}");
    assert_eq!(size.line, pos(&text, "title").0);
    let depth = diag_with(&diags, "levels deep; the limit is 40");
    assert_eq!(depth.line, pos(&text, "status").0);
}

#[test]
fn confidential_fields_are_recorded_when_they_hold_a_value() {
    let m = mapping(&work_item_mapping(
        "description = { path = \"d\", confidential = \"hr\" }",
        "[attributes]\nsalary = { path = \"salary\", confidential = \"finance\" }\nnote = { path = \"note\" }\n",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "d": "medical leave", "salary": 5000, "note": "n"}))
            .expect("maps"),
    );
    assert_eq!(
        Value::Object(w.classified),
        json!({"description": "hr", "attributes.salary": "finance"})
    );
    // An empty classified field has nothing to protect and is not listed.
    let w = work_item(m.apply(&json!({"t": "x", "salary": 1})).expect("maps"));
    assert_eq!(
        Value::Object(w.classified),
        json!({"attributes.salary": "finance"})
    );
}

#[test]
fn bad_class_name_is_located() {
    let text = work_item_mapping(
        "description = { path = \"d\", confidential = \"Human Resources\" }",
        "",
    );
    let d = diag_with(&diagnostics(&text), "is not a class name").clone();
    assert!(
        d.message.starts_with("`fields.description.confidential`"),
        "{d}"
    );
}

#[test]
fn org_units_refuse_confidential_fields() {
    let text = "version = 1\nsystem = \"erp\"\nstream = \"d\"\nentity = \"org_unit\"\n\n[fields]\nname = { path = \"n\", confidential = \"hr\" }\n";
    let diags = diagnostics(text);
    let d = diag_with(&diags, "org units carry no confidential fields");
    assert_eq!(d.line, 7);
}
