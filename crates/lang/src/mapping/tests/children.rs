use super::*;

// ---------------------------------------------------------------------------
// Arrays of children: comments into activities, lines into an attribute
// ---------------------------------------------------------------------------

const COMMENTS: &str = r#"
[children.comments]
each = "comments"
into = "activities"

[children.comments.fields]
key = { path = "id" }
kind = { const = "comment" }
author = { path = "by" }
body = { path = "text", transforms = ["trim"] }
occurred_at = { path = "at", timestamp = "rfc3339" }
"#;

#[test]
fn each_comment_becomes_an_activity() {
    let m = mapping(&work_item_mapping("", COMMENTS));
    let rec = json!({"title": "VPN", "comments": [
        {"id": "c1", "by": "ada", "text": " first ", "at": "2026-01-01T10:00:00Z"},
        {"id": "c2", "by": "bob", "text": "second", "at": "2026-01-01T11:00:00+01:00"}
    ]});
    let w = work_item(m.apply(&rec).expect("maps"));
    let acts = w.activities.expect("activities are set");
    assert_eq!(acts.len(), 2);
    // Keys are prefixed with the array's name: two arrays cannot collide.
    assert_eq!(acts[0].key, "comments:c1");
    assert_eq!(acts[0].body.as_deref(), Some("first"));
    assert_eq!(acts[0].author_ref.as_deref(), Some("ada"));
    assert_eq!(acts[1].occurred_at, Some(utc(2026, 1, 1, 10, 0, 0)));
    assert_eq!(acts[1].kind, "comment");
}

#[test]
fn no_array_means_no_activities_and_the_list_is_still_authoritative() {
    let m = mapping(&work_item_mapping("", COMMENTS));
    for rec in [
        json!({"title": "x"}),
        json!({"title": "x", "comments": null}),
        json!({"title": "x", "comments": []}),
    ] {
        let w = work_item(m.apply(&rec).expect("maps"));
        // Some(empty): the source says there are none, so stored ones go.
        assert_eq!(w.activities, Some(vec![]), "record {rec}");
    }
    // A mapping without activity children leaves activities alone.
    let plain = mapping(&work_item_mapping("", ""));
    assert_eq!(
        work_item(plain.apply(&json!({})).expect("maps")).activities,
        None
    );
}

#[test]
fn a_child_without_a_key_is_keyed_by_its_position() {
    let m = mapping(&work_item_mapping(
        "",
        &COMMENTS.replace("key = { path = \"id\" }\n", ""),
    ));
    let rec = json!({"comments": [{"text": "a", "at": "2026-01-01T10:00:00Z"}, {"text": "b", "at": "2026-01-01T10:00:00Z"}]});
    let keys: Vec<String> = work_item(m.apply(&rec).expect("maps"))
        .activities
        .expect("set")
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(keys, ["comments:0", "comments:1"]);
}

#[test]
fn two_arrays_into_activities_keep_apart() {
    let history = r#"
[children.history]
each = "state_changes"
into = "activities"

[children.history.fields]
kind = { const = "status_change" }
to_status = { path = "to" }
occurred_at = { path = "at", timestamp = "rfc3339" }
"#;
    let m = mapping(&work_item_mapping(
        "",
        &format!(
            "{}{history}",
            COMMENTS.replace("key = { path = \"id\" }\n", "")
        ),
    ));
    let at = "2026-01-01T10:00:00Z";
    let rec = json!({
        "comments": [{"text": "a", "at": at}],
        "state_changes": [{"to": "2", "at": at}]
    });
    let keys: Vec<String> = work_item(m.apply(&rec).expect("maps"))
        .activities
        .expect("set")
        .into_iter()
        .map(|a| a.key)
        .collect();
    assert_eq!(keys, ["comments:0", "history:0"]);
}

#[test]
fn a_bad_child_fails_the_record_naming_the_element() {
    let m = mapping(&work_item_mapping("", COMMENTS));
    let rec = json!({"comments": [
        {"id": "c1", "text": "ok", "at": "2026-01-01T10:00:00Z"},
        {"id": "c2", "text": "bad", "at": "yesterday"}
    ]});
    let e = m.apply(&rec).expect_err("bad timestamp");
    assert_eq!(e.rule, "children.comments[1].fields.occurred_at");
    assert_eq!(e.source_path, " (from `comments[1].at` = \"yesterday\")");
    // A missing required field names the element too.
    let e = m
        .apply(&json!({"comments": [{"id": "c1", "text": "no time"}]}))
        .expect_err("occurred_at is required");
    assert_eq!(e.rule, "children.comments[0].fields.occurred_at");
    assert!(e.message.contains("required"), "{e}");
}

#[test]
fn order_lines_map_into_an_attribute_array() {
    let m = mapping(&work_item_mapping(
        "",
        r#"
[children.lines]
each = "order_line"
into = "attributes.lines"

[children.lines.fields]
product = { path = "product_id[1]" }
quantity = { path = "product_qty" }
unit = { path = "uom", map = "uom" }

[maps.uom]
"Units" = "pcs"
default = "other"
"#,
    ));
    let rec = json!({"order_line": [
        {"product_id": [7, "Laptop"], "product_qty": 2, "uom": "Units"},
        {"product_id": [9, "Dock"], "product_qty": 1, "uom": "Box"}
    ]});
    let w = work_item(m.apply(&rec).expect("maps"));
    assert_eq!(
        w.attributes["lines"],
        json!([
            {"product": "Laptop", "quantity": 2, "unit": "pcs"},
            {"product": "Dock", "quantity": 1, "unit": "other"}
        ])
    );
    assert_eq!(w.activities, None);
}

#[test]
fn explain_shows_each_element_rule() {
    let m = mapping(&work_item_mapping("", COMMENTS));
    let rec = json!({"comments": [{"id": "c1", "text": "hi", "at": "2026-01-01T10:00:00Z"}]});
    let rules: Vec<String> = m.explain(&rec).into_iter().map(|e| e.rule).collect();
    assert!(
        rules.contains(&"children.comments[0].fields.body".to_string()),
        "{rules:?}"
    );
}

#[test]
fn children_are_checked_when_the_mapping_compiles() {
    let text = work_item_mapping(
        "",
        r#"
[children.comments]
each = "comments[x]"
into = "activity"

[children.comments.fields]
kind = { const = "remark" }
bdy = { path = "text" }
"#,
    );
    let diags = diagnostics(&text);
    diag_with(&diags, "is not an index");
    let into = diag_with(&diags, "use `activities` or `attributes.<name>`");
    assert_eq!(into.line, pos(&text, "into = \"activity\"").0);
    let typo = diag_with(&diags, "has no field `bdy`");
    assert_eq!(typo.hint.as_deref(), Some("did you mean `body`?"));
    diag_with(&diags, "`remark` is not one of: comment, status_change");
    diag_with(&diags, "requires field `occurred_at`");
}

#[test]
fn only_work_items_have_activities() {
    let text = format!(
        "version = 1\nsystem = \"hr\"\nstream = \"e\"\nentity = \"person\"\n\n[fields]\nemail = {{ path = \"mail\" }}\n{COMMENTS}"
    );
    let diags = diagnostics(&text);
    diag_with(&diags, "only work items have activities");
}

#[test]
fn a_comment_says_who_may_read_it() {
    let fields = COMMENTS.replace(
        "kind = { const = \"comment\" }",
        "kind = { const = \"comment\" }\nvisibility = { path = \"shown_to\" }",
    );
    let m = mapping(&work_item_mapping("", &fields));
    let rec = json!({"title": "VPN", "comments": [
        {"id": "c1", "text": "we are on it", "at": "2026-01-01T10:00:00Z", "shown_to": "public"},
        {"id": "c2", "text": "check the contract", "at": "2026-01-01T10:01:00Z", "shown_to": "internal"},
        {"id": "c3", "text": "unsaid", "at": "2026-01-01T10:02:00Z"}
    ]});
    let acts = work_item(m.apply(&rec).expect("maps"))
        .activities
        .expect("activities are set");
    let seen: Vec<Option<&str>> = acts.iter().map(|a| a.visibility.as_deref()).collect();
    assert_eq!(seen, [Some("public"), Some("internal"), None]);
    // Anything but the two words is refused, never stored as if public.
    let rec = json!({"title": "VPN", "comments": [
        {"id": "c1", "text": "x", "at": "2026-01-01T10:00:00Z", "shown_to": "everyone"}
    ]});
    assert!(m.apply(&rec).is_err());
}
