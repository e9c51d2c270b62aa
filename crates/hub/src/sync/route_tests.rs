//! `Router::plan` without IO: change events, rules, loop prevention, value
//! streams, confidentiality and stable ids, each read off the returned plan.

use serde_json::Map;

use super::*;
use crate::diag::SourceFile;
use crate::model::{Activity, OrgUnit, Person, WorkItem};
use crate::store::Progress;

#[path = "route_tests/clearance.rs"]
mod clearance;
#[path = "route_tests/value_streams.rs"]
mod value_streams;

const SNOW: (&str, &str) = ("servicenow", "incident");
const HR: (&str, &str) = ("personio", "employees");
const MAXIMO: (&str, &str) = ("maximo", "workorders");

/// Every change to facilities' Maximo, so each event shows in the outbox.
const CATCH_ALL: &str = r#"
[[rules]]
name = "all"
to = { department = "facilities", connector = "maximo", action = "create_workorder" }
[default]
"#;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn now() -> DateTime<Utc> {
    at("2026-03-02T09:00:00Z")
}

/// A router over `body` (a routing file without its `version` line).
fn router(body: &str) -> Router {
    let text = format!("version = 1\n{body}");
    let routing = Routing::from_source(&SourceFile::new("routing.toml", text))
        .unwrap_or_else(|d| panic!("{d}"));
    let departments = [("servicenow", "it"), ("maximo", "facilities")]
        .map(|(s, d)| (s.to_string(), d.to_string()));
    Router {
        routing: crate::routing::RoutingSlot::new(std::sync::Arc::new(routing)),
        departments: BTreeMap::from(departments),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn ticket(status: &str) -> WorkItem {
    WorkItem {
        kind: "incident".into(),
        title: "No heating on floor 3".into(),
        status: status.into(),
        priority: Some(4),
        department: Some("it".into()),
        attributes: obj(json!({"number": "INC1"})),
        ..WorkItem::default()
    }
}

fn item(status: &str) -> Canonical {
    Canonical::WorkItem(ticket(status))
}

fn ada(active: Option<bool>) -> Person {
    Person {
        display_name: Some("Ada Lovelace".into()),
        email: Some("ada@example.com".into()),
        active,
        ..Person::default()
    }
}

fn person(active: Option<bool>) -> Canonical {
    Canonical::Person(ada(active))
}

fn stored(state: &str) -> Stored {
    Stored {
        content_hash: "h0".into(),
        mapping_version: "v1".into(),
        state: Some(state.into()),
        end_date: None,
    }
}

fn linked_to(system: &str, stream: &str, id: &str) -> LinkEnd {
    LinkEnd::Target {
        origin_system: system.into(),
        origin_stream: stream.into(),
        origin_id: id.into(),
        relation: "routed".into(),
    }
}

/// Plan one change of `(system, stream)` at `when`.
fn plan_at(r: &Router, (system, stream): (&str, &str), c: Change, when: DateTime<Utc>) -> Plan {
    r.plan(system, stream, &[c], when)
}

fn change<'a>(id: &'a str, record: &'a Canonical, before: Option<&'a Stored>) -> Change<'a> {
    let link = None;
    Change {
        external_id: id,
        canonical: record,
        before,
        link,
        sent: &[],
    }
}

fn plan(r: &Router, from: (&str, &str), record: &Canonical, before: Option<&Stored>) -> Plan {
    plan_at(r, from, change("INC1", record, before), now())
}

/// The one message of a plan.
fn only(plan: &Plan) -> &OutboxMessage {
    assert_eq!(plan.outbox.len(), 1, "{:#?}", plan.outbox);
    let m = &plan.outbox[0];
    assert_eq!(m.payload["id"], json!(m.event_id));
    m
}

/// The change event carried by the plan's one message: kind, from, to.
fn event(plan: &Plan) -> Value {
    let e = &only(plan).payload["data"]["event"];
    json!([e["kind"], e["from_status"], e["to_status"]])
}

/// The plan routes nothing and changes nothing.
fn nothing(p: &Plan) {
    assert!(p.outbox.is_empty() && p.effects.is_empty(), "{p:#?}");
}

/// A value stream: a hire opens a case with a task per department.
const ONBOARDING: &str = r#"
[default]
[[value_streams]]
name = "onboarding"
on = ["person_hired"]
case_title = "Onboarding: {display_name}"
[[value_streams.tasks]]
name = "accounts"
to = { department = "it", connector = "servicenow", action = "create_incident" }
title = "Create accounts for {display_name} ({email})"
priority = 2
due_in_days = 3
[[value_streams.tasks]]
name = "desk"
to = { department = "facilities", connector = "maximo", action = "create_workorder" }
title = "Desk for {display_name}"
set = { "attributes.maximo_siteid" = "BEDFORD" }
"#;

#[test]
fn a_new_work_item_is_created() {
    let p = plan(&router(CATCH_ALL), SNOW, &item("new"), None);
    assert_eq!(event(&p), json!(["created", null, "new"]));
}

#[test]
fn the_same_status_is_an_update() {
    let p = plan(&router(CATCH_ALL), SNOW, &item("new"), Some(&stored("new")));
    assert_eq!(event(&p), json!(["updated", "new", "new"]));
}

#[test]
fn another_status_is_a_status_change() {
    let p = plan(
        &router(CATCH_ALL),
        SNOW,
        &item("in_progress"),
        Some(&stored("new")),
    );
    assert_eq!(event(&p), json!(["status_changed", "new", "in_progress"]));
}

#[test]
fn a_new_active_person_is_hired() {
    for active in [Some(true), None] {
        let p = plan(&router(CATCH_ALL), HR, &person(active), None);
        assert_eq!(event(&p), json!(["person_hired", null, "active"]));
    }
}

#[test]
fn a_new_inactive_person_raises_nothing() {
    let p = plan(&router(CATCH_ALL), HR, &person(Some(false)), None);
    nothing(&p);
}

#[test]
fn a_person_going_inactive_is_leaving() {
    let p = plan(
        &router(CATCH_ALL),
        HR,
        &person(Some(false)),
        Some(&stored("active")),
    );
    assert_eq!(event(&p), json!(["person_leaving", "active", "inactive"]));
}

#[test]
fn an_org_unit_raises_nothing() {
    let unit = Canonical::OrgUnit(OrgUnit {
        name: "Facilities".into(),
        ..OrgUnit::default()
    });
    let p = plan(&router(CATCH_ALL), HR, &unit, None);
    nothing(&p);
}

const HEATING: &str = r#"
[[rules]]
name = "leaks"
when = "record.title.matches('(?i)leak')"
to = { department = "it", connector = "servicenow", action = "create_incident" }
[[rules]]
name = "heating"
on = ["created"]
when = "record.title.matches('(?i)heating')"
to = { department = "facilities", connector = "maximo", action = "create_workorder" }
priority = 2
sla_hours = 8
set = { "attributes.maximo_siteid" = "BEDFORD", "location.building" = "B2" }
[default]
"#;

#[test]
fn a_matching_rule_routes_one_message() {
    let mut heating = ticket("new");
    heating.activities = Some(vec![Activity {
        key: "c1".into(),
        kind: "comment".into(),
        ..Activity::default()
    }]);
    let p = plan(&router(HEATING), SNOW, &Canonical::WorkItem(heating), None);
    let m = only(&p);
    assert_eq!(m.routing_key, "facilities.maximo.create_workorder");
    assert_eq!(m.payload["sbrule"], "heating");
    let data = &m.payload["data"];
    let origin = json!({"system": "servicenow", "stream": "incident", "external_id": "INC1"});
    assert_eq!(data["origin"], origin);
    assert_eq!(data["target_id"], Value::Null);
    assert_eq!(data["event"]["kind"], "created");
    assert_eq!(data["sla_hours"], 8);
    let record = &data["record"];
    assert_eq!(record["external_id"], "INC1");
    assert_eq!(record["priority"], 2, "the rule's priority overrides 4");
    let attributes = json!({"number": "INC1", "maximo_siteid": "BEDFORD"});
    assert_eq!(record["attributes"], attributes);
    assert_eq!(record["location"], json!({"building": "B2"}));
    assert!(record.get("activities").is_none(), "{record}");
    assert!(p.effects.is_empty());
}

#[test]
fn a_created_only_rule_does_not_fire_on_update() {
    let p = plan(&router(HEATING), SNOW, &item("new"), Some(&stored("new")));
    assert!(p.outbox.is_empty(), "{:#?}", p.outbox);
}

#[test]
fn the_default_without_a_target_routes_nothing() {
    let text = "[[rules]]\nname = \"never\"\nwhen = \"false\"\nto = { department = \"it\", connector = \"jira\", action = \"create_issue\" }\n[default]\n";
    let p = plan(&router(text), SNOW, &item("new"), None);
    nothing(&p);
}

#[test]
fn an_origin_is_not_routed_again() {
    let new = item("new");
    let origin = Change {
        link: Some(&LinkEnd::Origin { targets: vec![] }),
        ..change("INC1", &new, None)
    };
    nothing(&plan_at(&router(HEATING), SNOW, origin, now()));
}

const PROGRESS: &str = "[progress]\nservicenow = \"comment_incident\"\n";

fn work_order(status: &str) -> Canonical {
    Canonical::WorkItem(WorkItem {
        kind: "work_order".into(),
        title: "No heating on floor 3".into(),
        status: status.into(),
        department: Some("facilities".into()),
        attributes: obj(json!({"wonum": "1042"})),
        ..WorkItem::default()
    })
}

fn progress(system: &str, stream: &str, id: &str, status: &str, own: Option<&str>) -> Effect {
    Effect::Progress(Progress {
        origin_system: system.into(),
        origin_stream: stream.into(),
        origin_id: id.into(),
        note_id: format!("progress:maximo:workorders:WO1042:{status}"),
        body: format!(
            "facilities work order 1042 (No heating on floor 3) in maximo: {}",
            status.replace('_', " ")
        ),
        status: own.map(str::to_string),
        at: now(),
        public: true,
    })
}

/// Plan a change of work order WO1042, which a writer created for `link`.
fn on_target(r: &Router, status: &str, before: Option<&str>, link: &LinkEnd) -> Plan {
    let (before, wo) = (before.map(stored), work_order(status));
    let c = Change {
        link: Some(link),
        ..change("WO1042", &wo, before.as_ref())
    };
    plan_at(r, MAXIMO, c, now())
}

#[test]
fn a_target_is_not_routed_but_its_status_goes_back_to_the_origin() {
    let r = router(&format!("{CATCH_ALL}{PROGRESS}"));
    let link = linked_to("servicenow", "incident", "INC1");
    let p = on_target(&r, "in_progress", Some("new"), &link);
    let note = progress("servicenow", "incident", "INC1", "in_progress", None);
    assert_eq!(p.effects, [note]);
    let m = only(&p);
    assert_eq!(m.routing_key, "it.servicenow.comment_incident");
    assert_eq!(m.payload["sbrule"], "progress");
    let data = &m.payload["data"];
    assert_eq!(data["target_id"], "INC1");
    assert_eq!(data["event"]["kind"], "status_changed");
    let here = json!({"system": "maximo", "stream": "workorders", "external_id": "WO1042"});
    assert_eq!(data["origin"], here);
}

#[test]
fn a_target_seen_first_reports_its_status() {
    let r = router(&format!("{CATCH_ALL}{PROGRESS}"));
    let link = linked_to("servicenow", "incident", "INC1");
    let p = on_target(&r, "new", None, &link);
    let note = progress("servicenow", "incident", "INC1", "new", None);
    assert_eq!(p.effects, [note]);
    assert_eq!(only(&p).routing_key, "it.servicenow.comment_incident");
}

#[test]
fn an_update_of_a_target_reports_nothing() {
    let r = router(&format!("{CATCH_ALL}{PROGRESS}"));
    let link = linked_to("servicenow", "incident", "INC1");
    let p = on_target(&r, "new", Some("new"), &link);
    nothing(&p);
}

#[test]
fn an_origin_without_a_progress_action_gets_the_note_only() {
    let link = linked_to("topdesk", "incident", "T7");
    let p = on_target(&router(CATCH_ALL), "resolved", Some("new"), &link);
    let note = progress("topdesk", "incident", "T7", "resolved", None);
    assert_eq!(p.effects, [note]);
    assert!(p.outbox.is_empty(), "{:#?}", p.outbox);

    // An action, but no department known for the origin system.
    let mut r = router(&format!("{CATCH_ALL}{PROGRESS}"));
    r.departments.clear();
    let link = linked_to("servicenow", "incident", "INC1");
    let p = on_target(&r, "resolved", Some("new"), &link);
    assert_eq!(p.effects.len(), 1, "{:#?}", p.effects);
    assert!(p.outbox.is_empty(), "{:#?}", p.outbox);
}

#[test]
fn the_same_change_gets_the_same_id() {
    let r = router(HEATING);
    let once = plan(&r, SNOW, &item("new"), None);
    let (new, later) = (item("new"), at("2026-03-02T10:30:00Z"));
    let again = plan_at(&r, SNOW, change("INC1", &new, None), later);
    assert_eq!(only(&once).event_id, only(&again).event_id);
    assert_eq!(only(&once).event_id.len(), 32);
}

#[test]
fn another_status_gets_another_id() {
    let r = router(CATCH_ALL);
    let before = stored("new");
    let moved = plan(&r, SNOW, &item("in_progress"), Some(&before));
    let waiting = plan(&r, SNOW, &item("waiting"), Some(&before));
    assert_ne!(only(&moved).event_id, only(&waiting).event_id);
}

#[test]
fn a_target_comment_is_noted_on_the_origin_as_public_only_if_it_was() {
    let r = router(&format!("{CATCH_ALL}{PROGRESS}"));
    let link = linked_to("servicenow", "incident", "INC1");
    let comment = |key: &str, visibility: Option<&str>| Activity {
        key: key.into(),
        kind: "comment".into(),
        body: Some(format!("comment {key}")),
        visibility: visibility.map(str::to_string),
        ..Activity::default()
    };
    let Canonical::WorkItem(mut wo) = work_order("in_progress") else {
        unreachable!()
    };
    wo.activities = Some(vec![
        comment("reply", Some("public")),
        comment("note", Some("internal")),
        comment("unsaid", None),
    ]);
    let (before, wo) = (stored("in_progress"), Canonical::WorkItem(wo));
    let c = Change {
        link: Some(&link),
        ..change("WO1042", &wo, Some(&before))
    };
    let p = plan_at(&r, MAXIMO, c, now());
    let notes: Vec<(String, bool)> = p
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Progress(n) => Some((n.body.rsplit(": ").next()?.to_string(), n.public)),
            _ => None,
        })
        .collect();
    assert_eq!(
        notes,
        [
            ("comment reply".to_string(), true),
            ("comment note".to_string(), false),
            ("comment unsaid".to_string(), false),
        ]
    );
    // Only the public one is posted to the origin system: the others stay
    // where they were written.
    let posted: Vec<String> = p
        .outbox
        .iter()
        .filter_map(|m| m.payload.pointer("/data/record/attributes/progress_note"))
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(posted.len(), 1, "{:?}", p.outbox);
    assert!(posted[0].ends_with("comment reply"), "{posted:?}");
}
