use super::*;

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

pub(super) const PERSON: &str = "version = 1\nsystem = \"hr\"\nstream = \"employees\"\nentity = \"person\"\n\n[fields]\ndisplay_name = { path = \"name\" }\nemail = { path = \"mail\" }\nmanager = { path = \"manager.id\" }\nactive = { path = \"active\" }\n\n[attributes]\ncost_center = { path = \"cc\" }\n";

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

#[test]
fn dates_are_days_as_written_and_anything_else_fails_the_record() {
    let m = mapping(&PERSON.replace(
        "active = { path = \"active\" }\n",
        "active = { path = \"active\" }\nstart_date = { path = \"hired\" }\nend_date = { path = \"left\", timestamp = \"%d.%m.%Y\" }\n",
    ));
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    for (raw, expected) in [
        ("2026-04-01", "2026-04-01"),
        // Personio's form: the day at the office, not the UTC instant.
        ("2026-04-01T00:00:00+02:00", "2026-04-01"),
        ("2026-04-01T23:30:00-05:00", "2026-04-01"),
    ] {
        let p = person(m.apply(&json!({ "hired": raw })).expect("maps"));
        assert_eq!(p.start_date, day(expected), "{raw}");
    }
    let p = person(m.apply(&json!({ "left": "30.06.2026" })).expect("maps"));
    assert_eq!(p.end_date, day("2026-06-30"));
    let canonical = serde_json::to_value(Canonical::Person(p)).unwrap();
    assert_eq!(canonical["end_date"], json!("2026-06-30"));

    for bad in [json!("2026-13-01"), json!("next monday"), json!(20260401)] {
        let err = m.apply(&json!({ "hired": bad.clone() })).unwrap_err();
        assert_eq!(err.rule, "fields.start_date", "{bad}");
        assert!(err.message.contains("date"), "{err}");
    }
    let err = m.apply(&json!({ "left": "2026-06-30" })).unwrap_err();
    assert!(err.message.contains("%d.%m.%Y"), "{err}");
}
