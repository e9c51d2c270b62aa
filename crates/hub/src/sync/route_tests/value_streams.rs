//! Value streams in `Router::plan`: a hire starts a case with a task per
//! department, and progress on a task carries its status.

use super::*;

const CASE: &str = "onboarding:personio:employees:42";

#[test]
fn a_hire_starts_a_case_and_a_task_per_department() {
    let hire = person(Some(true));
    let p = plan_at(&router(ONBOARDING), HR, change("42", &hire, None), now());
    let spawned: Vec<(&str, &str, &Value)> = (p.effects.iter())
        .filter_map(|e| match e {
            Effect::Spawn {
                stream,
                external_id: id,
                item,
            } => Some((*stream, id.as_str(), item)),
            _ => None,
        })
        .collect();
    let (accounts, desk) = (format!("{CASE}#accounts"), format!("{CASE}#desk"));
    let ids: Vec<(&str, &str)> = spawned.iter().map(|(s, id, _)| (*s, *id)).collect();
    assert_eq!(
        ids,
        [("cases", CASE), ("tasks", &accounts), ("tasks", &desk)]
    );
    assert_eq!(spawned[0].2["title"], "Onboarding: Ada Lovelace");
    assert_eq!(spawned[1].2["attributes"]["case"], CASE);

    assert_eq!(p.outbox.len(), 2, "{:#?}", p.outbox);
    let (a, d) = (&p.outbox[0], &p.outbox[1]);
    assert_eq!(a.routing_key, "it.servicenow.create_incident");
    assert_eq!(d.routing_key, "facilities.maximo.create_workorder");
    for (m, id) in [(a, &accounts), (d, &desk)] {
        let origin = json!({"system": "switchboard", "stream": "tasks", "external_id": id});
        assert_eq!(m.payload["data"]["origin"], origin);
        assert_eq!(m.payload["data"]["record"]["attributes"]["case"], CASE);
    }
    assert_eq!(a.payload["sbrule"], "onboarding/accounts");
    let task = &a.payload["data"]["record"];
    assert_eq!(
        task["title"],
        "Create accounts for Ada Lovelace (ada@example.com)"
    );
    assert_eq!(task["priority"], 2);
    assert_eq!(task["due_at"], "2026-03-05T09:00:00Z");
    let desk_record = &d.payload["data"]["record"];
    assert_eq!(desk_record["attributes"]["maximo_siteid"], "BEDFORD");
}

#[test]
fn progress_on_a_task_carries_its_status() {
    let task = format!("{CASE}#desk");
    let link = linked_to("switchboard", "tasks", &task);
    let p = on_target(&router(CATCH_ALL), "resolved", Some("in_progress"), &link);
    let note = progress("switchboard", "tasks", &task, "resolved", Some("resolved"));
    assert_eq!(p.effects, [note]);
    assert!(p.outbox.is_empty(), "{:#?}", p.outbox);
}
