use super::*;

// ---------------------------------------------------------------------------
// Constants, attributes, paths
// ---------------------------------------------------------------------------

#[test]
fn constants_fill_fields_and_attributes_whatever_the_record() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"request\" }}\ntitle = {{ const = \"Fixed title\" }}\nstatus = {{ const = \"waiting\" }}\npriority = {{ const = 2 }}\ndepartment = {{ const = \"Facilities\" }}\n\n[attributes]\nsource = {{ const = \"import\" }}\nweight = {{ const = 5 }}\n"
    ));
    let w = work_item(m.apply(&json!({})).expect("maps"));
    assert_eq!(w.kind, "request");
    assert_eq!(w.title, "Fixed title");
    assert_eq!(w.status, "waiting");
    assert_eq!(w.priority, Some(2));
    assert_eq!(w.department.as_deref(), Some("Facilities"));
    assert_eq!(w.attributes.get("source"), Some(&json!("import")));
    assert_eq!(w.attributes.get("weight"), Some(&json!(5)));
}

#[test]
fn attributes_keep_raw_json_values() {
    let m = mapping(&work_item_mapping(
        "",
        "[attributes]\ncount = { path = \"count\" }\nratio = { path = \"ratio\" }\nflag = { path = \"flag\" }\nmeta = { path = \"meta\" }\ntags = { path = \"tags\" }\n",
    ));
    let rec = json!({
        "t": "x",
        "count": 3,
        "ratio": 0.25,
        "flag": false,
        "meta": {"source": "email", "ids": [1, 2]},
        "tags": ["vpn", "remote"]
    });
    let w = work_item(m.apply(&rec).expect("maps"));
    let mut expected = Map::new();
    expected.insert("count".into(), json!(3));
    expected.insert("ratio".into(), json!(0.25));
    expected.insert("flag".into(), json!(false));
    expected.insert("meta".into(), json!({"source": "email", "ids": [1, 2]}));
    expected.insert("tags".into(), json!(["vpn", "remote"]));
    assert_eq!(w.attributes, expected);
}

#[test]
fn dotted_paths_follow_objects_and_numeric_array_indexes() {
    let m = mapping(&work_item_mapping(
        "requester = { path = \"caller.id\" }\ndescription = { path = \"comments.1.text\" }",
        "[attributes]\nfirst_author = { path = \"comments.0.author.name\" }\nmissing = { path = \"comments.5.text\" }\nnot_index = { path = \"comments.x.text\" }\n",
    ));
    let rec = json!({
        "t": "x",
        "caller": {"id": "u-17"},
        "comments": [
            {"text": "first", "author": {"name": "Ann"}},
            {"text": "second", "author": {"name": "Bob"}}
        ]
    });
    let w = work_item(m.apply(&rec).expect("maps"));
    assert_eq!(w.requester_ref.as_deref(), Some("u-17"));
    assert_eq!(w.description.as_deref(), Some("second"));
    assert_eq!(w.attributes.get("first_author"), Some(&json!("Ann")));
    assert_eq!(w.attributes.get("missing"), None);
    assert_eq!(w.attributes.get("not_index"), None);
}

#[test]
fn text_fields_take_the_text_of_scalar_values() {
    let m = mapping(&work_item_mapping("requester = { path = \"caller\" }", ""));
    let w = work_item(m.apply(&json!({"t": "x", "caller": 4711})).expect("maps"));
    assert_eq!(w.requester_ref.as_deref(), Some("4711"));
}
