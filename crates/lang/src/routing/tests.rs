use serde_json::{Value, json};

use super::*;

fn repo() -> PathBuf {
    crate::repo_root()
}

fn shipped() -> Routing {
    Routing::load(&repo().join("routing.toml")).unwrap_or_else(|d| panic!("{d}"))
}

fn event(kind: &str) -> Event {
    Event {
        kind: kind.into(),
        system: "servicenow".into(),
        stream: "incident".into(),
        from_status: None,
        to_status: None,
    }
}

fn incident(title: &str) -> Value {
    json!({"entity": "work_item", "kind": "incident", "title": title, "status": "new",
        "department": "it", "attributes": {}})
}

#[test]
fn a_heating_fault_goes_to_facilities_and_the_rest_stays() {
    let routing = shipped();
    let d = routing.route(&incident("No heating on floor 3"), &event("created"));
    assert_eq!(
        d.rule.map(|r| r.name.as_str()),
        Some("heating-and-leaks-to-facilities")
    );
    assert_eq!(
        d.target,
        Some(&Target {
            department: "facilities".into(),
            connector: "maximo".into(),
            action: "create_workorder".into(),
        })
    );
    assert_eq!(d.rule.and_then(|r| r.sla_hours), Some(8));
    assert_eq!(routing.clearance.get("hr"), Some(&vec!["hr".to_string()]));
    assert!(!routing.clearance.contains_key("facilities"));

    // Updates are not routed again; an unrelated incident stays in IT.
    let d = routing.route(&incident("No heating on floor 3"), &event("updated"));
    assert!(d.rule.is_none() && d.target.is_none());
    assert!(d.steps.iter().all(|s| s.outcome == Outcome::OtherEvent));
    let d = routing.route(&incident("VPN drops every hour"), &event("created"));
    assert!(d.target.is_none());
    assert_eq!(d.steps[0].outcome, Outcome::NoMatch);
}

#[test]
fn a_laptop_request_becomes_a_purchase_order() {
    let mut laptop = incident("New laptop for Finance analyst");
    laptop["kind"] = json!("request");
    let routing = shipped();
    let d = routing.route(&laptop, &event("created"));
    assert_eq!(d.target.map(|t| t.connector.as_str()), Some("odoo"));
    assert_eq!(d.rule.and_then(|r| r.priority), Some(3));
    assert_eq!(
        d.steps.len(),
        2,
        "the first rule was tried and did not match"
    );
}

#[test]
fn a_failing_condition_stops_routing_even_with_a_default() {
    let text = "version = 1\n[[rules]]\nname = \"r\"\nwhen = \"record.attributes.site == 'HQ'\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n[[rules]]\nname = \"later\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n[default]\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n";
    let routing = Routing::from_source(&SourceFile::new("routing.toml", text)).unwrap();
    let d = routing.route(&incident("x"), &event("created"));
    assert!(d.target.is_none(), "neither a later rule nor the default");
    assert_eq!(d.steps.len(), 1);
    assert_eq!(d.rule.map(|r| r.name.as_str()), Some("r"));
    assert!(d.failed.as_deref().is_some_and(|e| e.contains("site")));
    assert!(
        matches!(&d.steps[0].outcome, Outcome::Error(e) if e.contains("site")),
        "{:?}",
        d.steps
    );
}

#[test]
fn mistakes_are_named_with_their_line_and_a_hint() {
    let text = "version = 1\n\n[[rules]]\nname = \"r\"\non = [\"crated\"]\nwhen = \"record.kind == 'incident' &&\"\npriority = 7\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n\n[[rules]]\nname = \"r\"\nwhen = \"ticket.kind == 'x'\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n\n[default]\n";
    let errs = Routing::from_source(&SourceFile::new("routing.toml", text)).unwrap_err();
    let shown = errs.to_string();
    for needle in [
        "routing.toml:5:",
        "unknown event `crated`",
        "did you mean `created`?",
        "routing.toml:6:",
        "invalid CEL expression",
        "routing.toml:7:",
        "7: a priority runs from 1 (critical) to 4 (low)",
        "routing.toml:11:",
        "a rule named `r` comes earlier",
        "routing.toml:12:",
        "unknown variable `ticket`",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
    let unknown_key = "version = 1\n[[rules]]\nname = \"r\"\nwhen_ = \"true\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n[default]\n";
    let shown = Routing::from_source(&SourceFile::new("routing.toml", unknown_key))
        .unwrap_err()
        .to_string();
    assert!(
        shown.contains("routing.toml:4:") && shown.contains("did you mean `when`?"),
        "{shown}"
    );
}

fn hire() -> Value {
    json!({"entity": "person", "display_name": "Ada Lovelace", "email": "ada@example.com",
        "department": "Engineering", "attributes": {}, "classified": {}})
}

#[test]
fn a_hire_starts_onboarding_with_a_task_per_department() {
    let routing = shipped();
    let mut hired = event("person_hired");
    hired.system = "personio".into();
    let (started, errors) = routing.streams_started(&hire(), &hired);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        started.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["onboarding"]
    );
    let (none, _) = routing.streams_started(&hire(), &event("updated"));
    assert!(none.is_empty(), "an update starts nothing");

    let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let s = started[0].start(&hire(), "personio:employees:42", now);
    assert_eq!(s.case["title"], "Onboarding: Ada Lovelace");
    assert_eq!(s.case["kind"], "case");
    let tasks: Vec<(String, String, Value)> = s
        .tasks
        .iter()
        .map(|(t, item)| {
            (
                t.to.department.clone(),
                t.to.connector.clone(),
                item.clone(),
            )
        })
        .collect();
    assert_eq!(
        tasks
            .iter()
            .map(|(d, c, _)| format!("{d}/{c}"))
            .collect::<Vec<_>>(),
        ["it/servicenow", "facilities/maximo", "finance/odoo"]
    );
    assert_eq!(
        tasks[0].2["title"],
        "Create accounts for Ada Lovelace (ada@example.com)"
    );
    assert_eq!(tasks[0].2["priority"], 2);
    assert_eq!(tasks[0].2["due_at"], "2026-11-26T09:00:00Z");
    assert_eq!(
        tasks[2].2["attributes"]["origin_ref"],
        "personio:employees:42"
    );
    assert_eq!(tasks[2].2["attributes"]["value_stream"], "onboarding");
}

#[test]
fn a_case_follows_its_tasks() {
    for (tasks, want) in [
        (&[][..], "new"),
        (&["new", "new", "new"][..], "new"),
        (&["new", "in_progress", "new"][..], "in_progress"),
        (&["closed", "new", "new"][..], "in_progress"),
        (&["waiting", "new", "closed"][..], "waiting"),
        (&["waiting", "in_progress"][..], "in_progress"),
        (&["closed", "resolved", "cancelled"][..], "closed"),
        (&["cancelled", "cancelled"][..], "cancelled"),
    ] {
        assert_eq!(case_status(tasks), want, "{tasks:?}");
    }
}

#[test]
fn value_stream_mistakes_are_named() {
    let text = "version = 1\n[default]\n\n[[value_streams]]\nname = \"onboarding\"\non = [\"person_hire\"]\ncase_title = \"Onboarding\"\n\n[[value_streams.tasks]]\nname = \"a\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\ntitle = \"Accounts for {display_name\"\n";
    let shown = Routing::from_source(&SourceFile::new("routing.toml", text))
        .unwrap_err()
        .to_string();
    for needle in [
        "routing.toml:6:",
        "did you mean `person_hired`?",
        "routing.toml:7:",
        "has no `{path}`",
        "routing.toml:12:",
        "without",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
}

#[test]
fn fields_no_record_or_event_has_are_refused_with_the_nearest() {
    let text = "version = 1\n[[rules]]\nname = \"r\"\non = [\"created\"]\nwhen = \"record.titel.matches('heat') && event.knd == 'created' && record.attributes.anything == 'x'\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\n[default]\n\n[[value_streams]]\nname = \"onboarding\"\non = [\"person_hired\"]\nwhen = \"record.kind == 'incident'\"\ncase_title = \"Onboarding: {display_nam}\"\n\n[[value_streams.tasks]]\nname = \"a\"\nto = { department = \"it\", connector = \"servicenow\", action = \"create_incident\" }\ntitle = \"Accounts for {emial}\"\n";
    let shown = Routing::from_source(&SourceFile::new("routing.toml", text))
        .unwrap_err()
        .to_string();
    for needle in [
        "routing.toml:5:",
        "`record.titel`: a canonical work_item or person or org_unit has no `titel`",
        "did you mean `record.title`?",
        "`event.knd`: the change event has no `knd`",
        "did you mean `event.kind`?",
        // A person (the stream starts on person_hired) has no `kind`.
        "routing.toml:12:",
        "`record.kind`: a canonical person has no `kind`",
        "routing.toml:13:",
        "did you mean `{display_name}`?",
        "routing.toml:18:",
        "did you mean `{email}`?",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
    assert!(!shown.contains("has no `attributes`"), "{shown}");
}

#[test]
fn days_before_are_refused_out_of_range_or_off_their_event() {
    let stream = |on: &str, days: u32| {
        format!(
            "version = 1\n[default]\n\n[[value_streams]]\nname = \"onboarding\"\non = [\"{on}\"]\ncase_title = \"Onboarding: {{display_name}}\"\nstart_days_before = {days}\n\n[[value_streams.tasks]]\nname = \"a\"\nto = {{ department = \"it\", connector = \"servicenow\", action = \"create_incident\" }}\ntitle = \"Accounts for {{display_name}}\"\n"
        )
    };
    let refused = |text: String| {
        Routing::from_source(&SourceFile::new("routing.toml", text))
            .unwrap_err()
            .to_string()
    };
    let shown = refused(stream("person_hired", 366));
    for needle in [
        "routing.toml:8:",
        "start_days_before",
        "366: at most 365 days",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
    let shown = refused(stream("person_leaving", 14));
    for needle in [
        "routing.toml:8:",
        "start_days_before",
        "needs `on` to include `person_hired`",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
    let shown = refused(stream("person_hired", 14).replace("start_days_before", "end_days_before"));
    for needle in [
        "routing.toml:8:",
        "end_days_before",
        "needs `on` to include `person_leaving`",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
    let text = stream("person_hired", 365);
    let routing = Routing::from_source(&SourceFile::new("routing.toml", text));
    if let Err(d) = routing {
        panic!("a year ahead is allowed: {d}");
    }
}
