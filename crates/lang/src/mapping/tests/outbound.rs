use super::*;

// ---------------------------------------------------------------------------
// Outbound mappings: canonical record to a native write-back body
// ---------------------------------------------------------------------------

const OUT_HEAD: &str = "version = 1\ndirection = \"outbound\"\nsystem = \"jira\"\naction = \"create_request\"\nentity = \"work_item\"\n";

fn outbound(text: &str) -> OutboundMapping {
    OutboundMapping::from_source(&SourceFile::new(FILE, text))
        .unwrap_or_else(|e| panic!("outbound mapping should compile:\n{e}"))
}

fn outbound_diagnostics(text: &str) -> Vec<Diagnostic> {
    match AnyMapping::from_source(&SourceFile::new(FILE, text)) {
        Ok(m) => panic!("mapping should not compile: {m:?}"),
        Err(d) => d.0,
    }
}

fn item() -> Canonical {
    Canonical::WorkItem(WorkItem {
        kind: "request".into(),
        title: "No heating on floor 3".into(),
        status: "in_progress".into(),
        priority: Some(1),
        due_at: Some(utc(2026, 7, 1, 15, 30, 0)),
        attributes: json!({"number": "INC42"})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        ..WorkItem::default()
    })
}

#[test]
fn dotted_names_nest_and_times_are_written_in_the_target_format() {
    let m = outbound(&format!(
        r#"{OUT_HEAD}
[fields]
"fields.summary" = {{ template = "{{attributes.number}}: {{title}}" }}
"fields.priority.name" = {{ path = "priority", map = "prio" }}
"fields.duedate" = {{ path = "due_at", timestamp = "%Y-%m-%d %H:%M", timezone = "Europe/Amsterdam" }}
serviceDeskId = {{ const = "10" }}

[maps.prio]
"1" = "Highest"
"2" = "High"
"3" = "Medium"
"4" = "Low"
"#
    ));
    let body = m.render(&item()).expect("renders").expect("not skipped");
    assert_eq!(
        body,
        json!({
            "serviceDeskId": "10",
            "fields": {
                "summary": "INC42: No heating on floor 3",
                "priority": {"name": "Highest"},
                "duedate": "2026-07-01 17:30"
            }
        })
    );
}

#[test]
fn a_status_the_target_cannot_express_is_an_error_not_a_pass_through() {
    let m = outbound(&format!(
        "{OUT_HEAD}\n[fields]\nstate = {{ path = \"status\", map = \"state\" }}\n\n[maps.state]\nnew = \"1\"\n"
    ));
    let e = m.render(&item()).expect_err("in_progress is not mapped");
    assert_eq!(e.rule, "fields.state");
    assert_eq!(e.source_path, " (from `status` = \"in_progress\")");
    assert!(e.message.contains("not in map `state`"), "{e}");
}

#[test]
fn skip_if_means_nothing_to_send_and_the_entity_must_match() {
    let m = outbound(&format!(
        "{OUT_HEAD}skip_if = \"record.status == 'in_progress'\"\n\n[fields]\nsummary = {{ path = \"title\" }}\n"
    ));
    assert_eq!(m.render(&item()).expect("renders"), None);
    let e = m
        .render_value(&json!({"entity": "person", "status": "new"}))
        .expect_err("a person is not a work item");
    assert!(
        e.message
            .contains("reads a work_item, the record is a person"),
        "{e}"
    );
}

#[test]
fn outbound_files_are_checked_against_the_canonical_model() {
    let text = format!(
        "{OUT_HEAD}stream = \"incident\"\n\n[fields]\nstate = {{ path = \"stauts\" }}\nowner = {{ path = \"requester\", confidential = \"hr\" }}\n"
    );
    let diags = outbound_diagnostics(&text);
    let typo = diag_with(&diags, "a canonical work_item has no `stauts`");
    assert_eq!(typo.hint.as_deref(), Some("did you mean `status`?"));
    assert_eq!(typo.line, pos(&text, "state =").0);
    let req = diag_with(&diags, "has no `requester`");
    assert!(
        req.hint
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean `requester_ref`?")),
        "{req:?}"
    );
    diag_with(
        &diags,
        "outbound mappings belong to an action, not a stream",
    );
    diag_with(&diags, "confidentiality is declared by the inbound mapping");

    let no_action = outbound_diagnostics(
        "version = 1\ndirection = \"outbound\"\nsystem = \"jira\"\nentity = \"work_item\"\n\n[fields]\nsummary = { path = \"title\" }\n",
    );
    diag_with(&no_action, "needs `action = \"…\"`");
}

#[test]
fn each_direction_refuses_the_other_s_keys() {
    let inbound_with_action =
        work_item_mapping("", "").replace("entity =", "action = \"x\"\nentity =");
    diag_with(
        &diagnostics(&inbound_with_action),
        "`action` belongs in outbound mappings",
    );
    let text = format!("{OUT_HEAD}\n[fields]\nsummary = {{ path = \"title\" }}\n");
    let as_inbound = diagnostics(&text);
    diag_with(&as_inbound, "this is an outbound mapping");
}

#[test]
fn the_checked_keys_are_the_serialized_ones() {
    use crate::model::{OrgUnit, Person};
    let keys = |c: Canonical| -> Vec<String> {
        let mut k: Vec<String> = serde_json::to_value(&c)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    let listed = |e: Entity| -> Vec<String> {
        let mut k: Vec<String> = super::target::canonical_keys(e)
            .iter()
            .map(|s| s.to_string())
            .collect();
        k.sort();
        k
    };
    // Optional keys that serialize only when set are set here.
    let w = WorkItem {
        requester_id: Some(1),
        activities: Some(vec![]),
        ..WorkItem::default()
    };
    assert_eq!(keys(Canonical::WorkItem(w)), listed(Entity::WorkItem));
    let p = Person {
        manager_id: Some(1),
        org_unit_id: Some(1),
        ..Person::default()
    };
    assert_eq!(keys(Canonical::Person(p)), listed(Entity::Person));
    let o = OrgUnit {
        parent_id: Some(1),
        ..OrgUnit::default()
    };
    assert_eq!(keys(Canonical::OrgUnit(o)), listed(Entity::OrgUnit));
}

#[test]
fn body_keys_that_collide_or_name_nothing_are_refused() {
    let text = format!(
        "{OUT_HEAD}\n[fields]\nstate = {{ path = \"status\" }}\n\"state.display\" = {{ path = \"title\" }}\n\"a..b\" = {{ path = \"title\" }}\n\".c\" = {{ path = \"title\" }}\n"
    );
    let diags = outbound_diagnostics(&text);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let collide = diags
        .iter()
        .find(|d| d.message.contains("goes inside `state`"))
        .expect("collision reported");
    assert_eq!(collide.line, line_of("\"state.display\""), "{collide}");
    let empty: Vec<_> = diags
        .iter()
        .filter(|d| d.message.contains("empty segment"))
        .collect();
    assert_eq!(empty.len(), 2, "{diags:#?}");
    assert_eq!(empty[0].line.min(empty[1].line), line_of("\"a..b\""));
}
