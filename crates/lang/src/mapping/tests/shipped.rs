use super::*;

// ---------------------------------------------------------------------------
// The shipped ServiceNow incident mapping
// ---------------------------------------------------------------------------

pub(super) fn shipped() -> Mapping {
    let path = crate::repo_root().join("mappings/servicenow-incident.toml");
    Mapping::load(&path).unwrap_or_else(|e| panic!("shipped mapping should load:\n{e}"))
}

/// An in-progress incident as the Table API returns it with
/// `sysparm_display_value=false&sysparm_exclude_reference_link=true`.
pub(super) fn sn_incident() -> Value {
    json!({
        "sys_id": "9d385017c611228701d22104cc95c371",
        "number": "INC0010042",
        "short_description": "Outlook does not sync mail on laptop",
        "description": "Since this morning Outlook shows 'Disconnected' and no new mail arrives.",
        "state": "2",
        "incident_state": "2",
        "priority": "5",
        "impact": "3",
        "urgency": "3",
        "severity": "3",
        "category": "software",
        "subcategory": "email",
        "contact_type": "phone",
        "caller_id": "681ccaf9c0a8016400b98a06818d57c7",
        "opened_by": "681ccaf9c0a8016400b98a06818d57c7",
        "assigned_to": "5137153cc611227c000bbd1bd8cd2005",
        "assignment_group": "287ebd7da9fe198100f92cc8d1d2154e",
        "location": "25ab9c4d0a0a0bb300f7dabdc0ca7c1c",
        "business_service": "",
        "company": "31bea3d53790200044e0bfc8bcbe5dec",
        "opened_at": "2024-05-30 08:15:03",
        "resolved_at": "",
        "resolved_by": "",
        "closed_at": "",
        "closed_by": "",
        "due_date": "",
        "close_code": "",
        "close_notes": "",
        "active": "true",
        "reassignment_count": "1",
        "sys_created_on": "2024-05-30 08:15:03",
        "sys_created_by": "admin",
        "sys_updated_on": "2024-05-31 17:42:10",
        "sys_updated_by": "beth.anglin",
        "sys_mod_count": "4",
        "sys_class_name": "incident"
    })
}

#[test]
fn shipped_mapping_header_is_servicenow_incident_work_item() {
    let m = shipped();
    assert_eq!(m.system, "servicenow");
    assert_eq!(m.stream, "incident");
    assert_eq!(m.entity, Entity::WorkItem);
    let text = std::fs::read_to_string(&m.file).expect("read shipped mapping");
    assert_eq!(m.version, content_version(&text));
}

#[test]
fn shipped_mapping_maps_in_progress_servicenow_incident_exactly() {
    let got = shipped().apply(&sn_incident()).expect("incident maps");
    let mut attributes = Map::new();
    attributes.insert("number".into(), json!("INC0010042"));
    attributes.insert("category".into(), json!("software"));
    attributes.insert("impact".into(), json!("3"));
    attributes.insert("urgency".into(), json!("3"));
    // close_code is "" in the record, so it is left out rather than stored empty.
    let expected = Canonical::WorkItem(WorkItem {
        kind: "incident".into(),
        title: "Outlook does not sync mail on laptop".into(),
        description: Some(
            "Since this morning Outlook shows 'Disconnected' and no new mail arrives.".into(),
        ),
        status: "in_progress".into(),
        native_status: Some("2".into()),
        priority: Some(4),
        requester_ref: Some("681ccaf9c0a8016400b98a06818d57c7".into()),
        department: None,
        assignee_group: Some("287ebd7da9fe198100f92cc8d1d2154e".into()),
        service: None,
        location_ref: Some("25ab9c4d0a0a0bb300f7dabdc0ca7c1c".into()),
        external_url: None,
        opened_at: Some(utc(2024, 5, 30, 8, 15, 3)),
        updated_at: Some(utc(2024, 5, 31, 17, 42, 10)),
        resolved_at: None,
        closed_at: None,
        due_at: None,
        attributes,
        classified: Map::new(),
        requester_id: None,
        // The mapping reads the journal (`[children.journal]`); this
        // incident has none.
        activities: Some(Vec::new()),
        lookups: Vec::new(),
    });
    assert_eq!(got, expected);
}

#[test]
fn shipped_mapping_maps_resolved_critical_incident() {
    let mut rec = sn_incident();
    rec["state"] = json!("6");
    rec["priority"] = json!("1");
    rec["resolved_at"] = json!("2024-05-31 17:40:00");
    rec["close_code"] = json!("Solved (Permanently)");
    rec["due_date"] = json!("2024-06-03 12:00:00");
    let w = work_item(shipped().apply(&rec).expect("incident maps"));
    assert_eq!(w.status, "resolved");
    assert_eq!(w.native_status.as_deref(), Some("6"));
    assert_eq!(w.priority, Some(1));
    assert_eq!(w.resolved_at, Some(utc(2024, 5, 31, 17, 40, 0)));
    assert_eq!(w.due_at, Some(utc(2024, 6, 3, 12, 0, 0)));
    assert_eq!(w.closed_at, None);
    assert_eq!(
        w.attributes.get("close_code"),
        Some(&json!("Solved (Permanently)"))
    );
}

#[test]
fn shipped_mapping_uses_title_default_for_empty_short_description() {
    let mut rec = sn_incident();
    rec["short_description"] = json!("");
    let w = work_item(shipped().apply(&rec).expect("incident maps"));
    assert_eq!(w.title, "(no short description)");
}
