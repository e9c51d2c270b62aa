//! Tests for mapping files: applying the shipped ServiceNow mapping, per-record
//! errors, value conversion, and the compile-time diagnostics admins see.

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::diag::Diagnostic;

const FILE: &str = "mappings/t.toml";

fn compile(text: &str) -> Result<Mapping, Diagnostics> {
    Mapping::from_source(&SourceFile::new(FILE, text))
}

fn mapping(text: &str) -> Mapping {
    compile(text).unwrap_or_else(|e| panic!("mapping should compile:\n{e}"))
}

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match compile(text) {
        Ok(m) => panic!("mapping should not compile: {m:?}"),
        Err(d) => d.0,
    }
}

/// The one diagnostic whose message contains `needle`.
fn diag_with<'a>(diags: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.message.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic containing {needle:?}, got: {diags:#?}"
    );
    found[0]
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i + 1, col + 1);
        }
    }
    panic!("{needle:?} not in text")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

fn work_item(c: Canonical) -> WorkItem {
    match c {
        Canonical::WorkItem(w) => w,
        other => panic!("expected a work item, got {other:?}"),
    }
}

fn person(c: Canonical) -> Person {
    match c {
        Canonical::Person(p) => p,
        other => panic!("expected a person, got {other:?}"),
    }
}

const HEAD: &str = "version = 1\nsystem = \"sys\"\nstream = \"s\"\nentity = \"work_item\"\n";

/// A work-item mapping whose required fields are satisfied, plus `extra` lines
/// in `[fields]` and then `rest` after it (attributes, maps).
fn work_item_mapping(extra: &str, rest: &str) -> String {
    format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"title\", default = \"untitled\" }}\nstatus = {{ const = \"open\" }}\n{extra}\n{rest}"
    )
}

// ---------------------------------------------------------------------------
// The shipped ServiceNow incident mapping
// ---------------------------------------------------------------------------

fn shipped() -> Mapping {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("mappings/servicenow-incident.toml");
    Mapping::load(&path).unwrap_or_else(|e| panic!("shipped mapping should load:\n{e}"))
}

/// An in-progress incident as the Table API returns it with
/// `sysparm_display_value=false&sysparm_exclude_reference_link=true`.
fn sn_incident() -> Value {
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
fn lookup_indexes_arrays_and_stops_at_scalars() {
    let v = json!({"a": [{"b": 1}, {"b": 2}], "s": "text"});
    assert_eq!(lookup(&v, &split_path("a.1.b")), Some(&json!(2)));
    assert_eq!(lookup(&v, &split_path("a.2.b")), None);
    assert_eq!(lookup(&v, &split_path("s.0")), None);
    assert_eq!(lookup(&v, &[]), Some(&v));
}

#[test]
fn text_fields_take_the_text_of_scalar_values() {
    let m = mapping(&work_item_mapping("requester = { path = \"caller\" }", ""));
    let w = work_item(m.apply(&json!({"t": "x", "caller": 4711})).expect("maps"));
    assert_eq!(w.requester_ref.as_deref(), Some("4711"));
}

// ---------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------

#[test]
fn rfc3339_timestamp_with_offset_is_converted_to_utc() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"rfc3339\" }\nupdated_at = { path = \"u\", timestamp = \"RFC3339\" }",
        "",
    ));
    let w = work_item(
        m.apply(
            &json!({"t": "x", "o": "2024-06-01T14:30:00+02:00", "u": "2024-06-01T23:15:00-05:00"}),
        )
        .expect("maps"),
    );
    assert_eq!(w.opened_at, Some(utc(2024, 6, 1, 12, 30, 0)));
    assert_eq!(w.updated_at, Some(utc(2024, 6, 2, 4, 15, 0)));
}

#[test]
fn pattern_timestamp_is_read_as_utc() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%d.%m.%Y %H:%M\" }",
        "",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "o": "03.02.2024 07:05"}))
            .expect("maps"),
    );
    assert_eq!(w.opened_at, Some(utc(2024, 2, 3, 7, 5, 0)));
}

#[test]
fn timestamp_not_matching_pattern_fails_record_mentioning_format() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%Y-%m-%d %H:%M:%S\" }",
        "",
    ));
    let err = m
        .apply(&json!({"t": "x", "o": "2024/06/01 12:00"}))
        .unwrap_err();
    assert_eq!(err.rule, "fields.opened_at");
    assert_eq!(err.source_path, " (from `o` = \"2024/06/01 12:00\")");
    assert!(
        err.message
            .contains("does not match timestamp format `%Y-%m-%d %H:%M:%S`"),
        "{err}"
    );
}

#[test]
fn invalid_rfc3339_timestamp_fails_record() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"rfc3339\" }",
        "",
    ));
    let err = m
        .apply(&json!({"t": "x", "o": "2024-06-01 12:00:00"}))
        .unwrap_err();
    assert_eq!(err.rule, "fields.opened_at");
    assert!(err.message.contains("not an RFC 3339 timestamp"), "{err}");
    let err = m.apply(&json!({"t": "x", "o": 1717243200})).unwrap_err();
    assert!(err.message.contains("expected a timestamp string"), "{err}");
}

#[test]

fn pattern_timestamp_with_offset_is_converted_to_utc() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%Y-%m-%d %H:%M:%S %z\" }",
        "",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "o": "2024-06-01 14:30:00 +0200"}))
            .expect("maps"),
    );
    assert_eq!(w.opened_at, Some(utc(2024, 6, 1, 12, 30, 0)));
}

#[test]

fn attribute_timestamp_is_normalised_to_rfc3339_utc() {
    let m = mapping(&work_item_mapping(
        "",
        "[attributes]\nsla_due = { path = \"sla_due\", timestamp = \"%Y-%m-%d %H:%M:%S\" }\n",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "sla_due": "2024-06-01 12:00:00"}))
            .expect("maps"),
    );
    assert_eq!(
        w.attributes.get("sla_due"),
        Some(&json!("2024-06-01T12:00:00+00:00"))
    );
    assert!(
        m.apply(&json!({"t": "x", "sla_due": "next tuesday"}))
            .is_err(),
        "an unparseable timestamp attribute should fail the record"
    );
}

// ---------------------------------------------------------------------------
// Typed targets: priority, booleans, closed sets
// ---------------------------------------------------------------------------

#[test]
fn priority_outside_one_to_four_fails_record() {
    let m = mapping(&work_item_mapping("priority = { path = \"p\" }", ""));
    let err = m.apply(&json!({"t": "x", "p": "7"})).unwrap_err();
    assert_eq!(err.rule, "fields.priority");
    assert_eq!(err.source_path, " (from `p` = \"7\")");
    assert_eq!(err.message, "priority must be 1 to 4, got \"7\"");
    assert!(m.apply(&json!({"t": "x", "p": 0})).is_err());
    assert!(m.apply(&json!({"t": "x", "p": "high"})).is_err());
    let w = work_item(m.apply(&json!({"t": "x", "p": " 3 "})).expect("maps"));
    assert_eq!(w.priority, Some(3));
    let w = work_item(m.apply(&json!({"t": "x", "p": 1})).expect("maps"));
    assert_eq!(w.priority, Some(1));
}

#[test]
fn status_from_path_outside_closed_set_fails_record() {
    let m = mapping(&format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ const = \"t\" }}\nstatus = {{ path = \"s\" }}\n"
    ));
    let err = m.apply(&json!({"s": "done"})).unwrap_err();
    assert_eq!(err.rule, "fields.status");
    assert!(
        err.message.contains("`done` is not one of: new, open"),
        "{err}"
    );
    let w = work_item(m.apply(&json!({"s": "closed"})).expect("maps"));
    assert_eq!(w.status, "closed");
}

const PERSON: &str = "version = 1\nsystem = \"hr\"\nstream = \"employees\"\nentity = \"person\"\n\n[fields]\ndisplay_name = { path = \"name\" }\nemail = { path = \"mail\" }\nmanager = { path = \"manager.id\" }\nactive = { path = \"active\" }\n\n[attributes]\ncost_center = { path = \"cc\" }\n";

#[test]
fn person_mapping_maps_fields_and_bool_active() {
    let m = mapping(PERSON);
    assert_eq!(m.entity, Entity::Person);
    let p = person(
        m.apply(&json!({
            "name": "Ann Lee",
            "mail": "ann.lee@example.com",
            "manager": {"id": "E100"},
            "active": "true",
            "cc": 4200
        }))
        .expect("maps"),
    );
    let mut attributes = Map::new();
    attributes.insert("cost_center".into(), json!(4200));
    assert_eq!(
        p,
        Person {
            display_name: Some("Ann Lee".into()),
            email: Some("ann.lee@example.com".into()),
            manager_ref: Some("E100".into()),
            active: Some(true),
            attributes,
            ..Person::default()
        }
    );
}

#[test]
fn bool_target_reads_true_false_strings_and_json_booleans() {
    let m = mapping(PERSON);
    for (raw, expected) in [
        (json!("true"), true),
        (json!("false"), false),
        (json!("1"), true),
        (json!("0"), false),
        (json!(true), true),
        (json!(false), false),
    ] {
        let p = person(m.apply(&json!({ "active": raw.clone() })).expect("maps"));
        assert_eq!(p.active, Some(expected), "active = {raw}");
    }
    let err = m.apply(&json!({"active": "maybe"})).unwrap_err();
    assert_eq!(err.rule, "fields.active");
    assert!(err.message.contains("expected a boolean"), "{err}");
}

#[test]
fn person_has_no_required_fields() {
    let p = person(mapping(PERSON).apply(&json!({})).expect("maps"));
    assert_eq!(p, Person::default());
}

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
    // `title` itself is still missing, and reported in the same pass.
    diag_with(&diags, "requires field `title`");
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
    let d = diag_with(&diags, "give either `path` or `const`, not both");
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
        dept.message.contains("needs a `path` or a `const`"),
        "{dept}"
    );
    assert_eq!((dept.line, dept.col), pos(&text, "department ="));
    let svc = diags
        .iter()
        .find(|d| d.message.starts_with("`fields.service`"))
        .expect("service diagnostic");
    assert!(svc.message.contains("needs a `path` or a `const`"), "{svc}");
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
    let shown = Diagnostics(diags).to_string();
    assert_eq!(shown.lines().count(), 3, "{shown}");
}

// ---------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------

#[test]
fn content_version_changes_with_text_and_is_stable_otherwise() {
    let a = work_item_mapping("", "");
    let b = work_item_mapping("description = { path = \"d\" }", "");
    assert_eq!(mapping(&a).version, mapping(&a).version);
    assert_eq!(mapping(&a).version, content_version(&a));
    assert_ne!(mapping(&a).version, mapping(&b).version);
    // Any edit counts, even a comment: the version identifies the file's text.
    assert_ne!(
        content_version(&a),
        content_version(&format!("{a}# note\n"))
    );
    assert_eq!(content_version(&a).len(), 16);
    assert!(content_version(&a).chars().all(|c| c.is_ascii_hexdigit()));
}
