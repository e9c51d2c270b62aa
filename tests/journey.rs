//! Work across departments, end to end on the embedded transport: the
//! shipped manifests, mappings and `routing.toml`, the simulated estate,
//! the sync engine, the outbox and the writers, on both stores.
//!
//! - The heating round trip: an IT ticket about heating becomes a Maximo
//!   work order; the work order's progress comes back to the ticket; and
//!   the polls after that route nothing again.
//! - Onboarding: a hire in Personio becomes three tasks in three systems
//!   under one case, and the case closes when they do.
//! - A refusal from the target is a dead letter, and replaying it once the
//!   target is fixed applies it exactly once.

mod common;

use serde_json::{Map, Value, json};
use switchboard::sim::maximo::model::rest_id;

use common::Backend;
use common::hub::{Hub, execute, texts};

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

async fn heating_round_trip(backend: Backend) {
    let hub = Hub::start(backend).await;
    // The first polls are the baseline: history is stored, nothing routed.
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    assert_eq!(hub.outbox_total().await, 0, "a baseline routes nothing");
    let orders_before = hub.estate.maximo.sim.count();

    let sn = &hub.estate.servicenow.sim;
    let ticket = sn.insert(
        "incident",
        fields(&[
            ("short_description", "No heating on floor 3"),
            ("description", "Radiators are cold since this morning."),
            ("state", "1"),
            ("impact", "2"),
            ("urgency", "2"),
        ]),
    );
    hub.sync("servicenow").await;
    assert_eq!(
        hub.outbox_total().await,
        1,
        "the heating ticket is routed once"
    );
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");

    // A work order in Maximo, linked to the ticket.
    let maximo = &hub.estate.maximo.sim;
    assert_eq!(maximo.count(), orders_before + 1);
    let order = maximo
        .records()
        .into_iter()
        .find(|w| w["description"] == "No heating on floor 3")
        .expect("the work order exists in Maximo");
    assert_eq!(
        order["siteid"], "BEDFORD",
        "the rule's `set` supplied the site"
    );
    let workorderid = order["workorderid"].to_string();
    let links = texts(
        hub.store(),
        "SELECT from_system || '/' || from_id || ' -> ' || to_system || '/' || to_id || ' ' || relation FROM links",
    )
    .await;
    assert_eq!(
        links,
        vec![format!(
            "servicenow/{ticket} -> maximo/{workorderid} routed"
        )]
    );

    // Facilities starts work in its own tool.
    let rest_id = rest_id(
        order["siteid"].as_str().unwrap_or_default(),
        order["wonum"].as_str().unwrap_or_default(),
    );
    maximo
        .update(&rest_id, json!({"status": "INPRG"}))
        .expect("Maximo takes the status");
    hub.sync("maximo").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "the progress is posted: {r:?}");
    let incident = sn.get("incident", &ticket).expect("ticket exists");
    let comment = incident["comments"].as_str().unwrap_or_default();
    assert!(
        comment.contains("work order") && comment.contains("in progress"),
        "the ticket shows the work order's progress: {incident}"
    );
    // And so does the canonical item, with the routing note before it.
    let notes = hub
        .store()
        .hub_notes("servicenow", "incident", &ticket)
        .await
        .unwrap();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].starts_with("Routed to facilities in maximo"),
        "{notes:?}"
    );
    assert!(notes[1].contains("in progress"), "{notes:?}");

    // A technician logs work in Maximo: the entry the requester may read
    // reaches the ticket, once, however often the work order is polled
    // again; the internal one stays in Maximo (and on the hub's journey).
    maximo
        .update(
            &rest_id,
            json!({"worklog": [
                {"description": "Valve replaced, radiators warming up", "createby": "JSMITH", "clientviewable": true},
                {"description": "Boiler pressure low: check weekly", "createby": "JSMITH", "clientviewable": false}
            ]}),
        )
        .expect("Maximo takes the work log");
    hub.sync("maximo").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "the comment is posted: {r:?}");
    let incident = sn.get("incident", &ticket).expect("ticket exists");
    let comment = incident["comments"].as_str().unwrap_or_default();
    assert!(
        comment.contains("JSMITH: Valve replaced, radiators warming up"),
        "the ticket shows Facilities' comment: {incident}"
    );
    assert!(
        !comment.contains("Boiler pressure"),
        "an internal note stays where it was written: {incident}"
    );
    maximo
        .update(&rest_id, json!({"status": "COMP"}))
        .expect("Maximo takes the status");
    hub.sync("maximo").await;
    let r = hub.deliver().await;
    assert_eq!(
        r.applied, 1,
        "only the new status goes back, not the comment again: {r:?}"
    );

    // The ticket changed (our comments), the work order did not: polling
    // both again routes nothing, and again after that.
    let outbox = hub.outbox_total().await;
    for _ in 0..2 {
        hub.sync("servicenow").await;
        hub.sync("maximo").await;
        assert_eq!(hub.outbox_total().await, outbox, "no ping-pong");
        assert_eq!(hub.deliver().await.claimed, 0);
    }
    assert_eq!(maximo.count(), orders_before + 1, "one work order, ever");
    hub.estate.shutdown().await;
}

#[tokio::test]
async fn heating_round_trip_sqlite() {
    heating_round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn heating_round_trip_postgres() {
    heating_round_trip(Backend::Postgres).await;
}

async fn onboarding(backend: Backend) {
    let hub = Hub::start(backend).await;
    for system in ["personio", "servicenow", "maximo", "odoo"] {
        hub.sync(system).await;
    }
    assert_eq!(hub.outbox_total().await, 0, "a baseline routes nothing");
    let (incidents, orders, pos) = (
        hub.estate.servicenow.sim.count("incident"),
        hub.estate.maximo.sim.count(),
        hub.estate.odoo.sim.count("purchase.order"),
    );

    let hire = hub
        .estate
        .personio
        .sim
        .hire("Ada", "Lovelace", "ada.lovelace@example.com");
    hub.sync("personio").await;
    assert_eq!(hub.outbox_total().await, 3, "one task per department");
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (3, 0), "{r:?}");

    // Three tasks, in three systems, each linked to its task in the hub.
    assert_eq!(hub.estate.servicenow.sim.count("incident"), incidents + 1);
    assert_eq!(hub.estate.maximo.sim.count(), orders + 1);
    assert_eq!(hub.estate.odoo.sim.count("purchase.order"), pos + 1);
    let case = format!("onboarding:personio:employees:{hire}");
    let links = texts(
        hub.store(),
        "SELECT from_id || ' -> ' || to_system FROM links WHERE relation = 'task' ORDER BY to_system",
    )
    .await;
    assert_eq!(
        links,
        vec![
            format!("{case}#desk-and-badge -> maximo"),
            format!("{case}#laptop -> odoo"),
            format!("{case}#accounts -> servicenow"),
        ]
    );
    let case_status = || async {
        texts(
            hub.store(),
            &format!(
                "SELECT status FROM work_items WHERE source_system = 'switchboard' \
                 AND source_stream = 'cases' AND external_id = '{case}'"
            ),
        )
        .await
    };
    assert_eq!(case_status().await, vec!["new"]);

    // Each department closes its task in its own tool.
    let incident = hub
        .estate
        .servicenow
        .sim
        .records("incident")
        .into_iter()
        .find(|i| {
            i["short_description"]
                .as_str()
                .is_some_and(|t| t.contains("Ada Lovelace"))
        })
        .expect("the accounts task is a ServiceNow incident");
    let sys_id = incident["sys_id"].as_str().unwrap().to_string();
    hub.estate.servicenow.sim.update(
        "incident",
        &sys_id,
        fields(&[("state", "6"), ("close_code", "Solved (Permanently)")]),
    );
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    hub.sync("odoo").await;
    assert_eq!(
        case_status().await,
        vec!["in_progress"],
        "one of three done"
    );

    let order = hub
        .estate
        .maximo
        .sim
        .records()
        .into_iter()
        .find(|w| {
            w["description"]
                .as_str()
                .is_some_and(|t| t.contains("Ada Lovelace"))
        })
        .expect("the desk task is a Maximo work order");
    let rid = rest_id(
        order["siteid"].as_str().unwrap_or_default(),
        order["wonum"].as_str().unwrap_or_default(),
    );
    for status in ["INPRG", "COMP"] {
        hub.estate
            .maximo
            .sim
            .update(&rid, json!({"status": status}))
            .expect("Maximo takes the status");
    }
    let po = hub
        .estate
        .odoo
        .sim
        .records("purchase.order")
        .into_iter()
        .max_by_key(|p| p["id"].as_i64())
        .expect("the laptop order");
    hub.estate
        .odoo
        .sim
        .write(
            "purchase.order",
            &[po["id"].as_i64().unwrap()],
            json!({"state": "done"}),
        )
        .expect("Odoo takes the state");
    hub.sync("maximo").await;
    hub.sync("odoo").await;
    assert_eq!(case_status().await, vec!["closed"], "every task is done");
    let tasks = texts(
        hub.store(),
        "SELECT status FROM work_items WHERE source_system = 'switchboard' \
         AND source_stream = 'tasks' ORDER BY external_id",
    )
    .await;
    assert_eq!(
        tasks,
        vec!["resolved", "resolved", "closed"],
        "accounts, desk, laptop"
    );
    // Nothing went back out: a task's origin is the hub itself.
    assert_eq!(hub.outbox_total().await, 3);
    hub.estate.shutdown().await;
}

#[tokio::test]
async fn onboarding_sqlite() {
    onboarding(Backend::Sqlite).await;
}

#[tokio::test]
async fn onboarding_postgres() {
    onboarding(Backend::Postgres).await;
}

async fn a_refusal_is_a_dead_letter_and_replays_once(backend: Backend) {
    // Route heating to a location Facilities has not created in Maximo yet.
    let dir = tempfile::tempdir().unwrap();
    let routing = dir.path().join("routing.toml");
    let shipped = std::fs::read_to_string(common::repo().join("routing.toml")).unwrap();
    let edited = shipped.replace(
        r#"set = { "attributes.maximo_siteid" = "BEDFORD", "attributes.maximo_worktype" = "CM" }"#,
        r#"set = { "attributes.maximo_siteid" = "BEDFORD", "attributes.maximo_worktype" = "CM", "attributes.maximo_location" = "BR999" }"#,
    );
    assert_ne!(
        shipped, edited,
        "the heating rule's `set` is where the test expects"
    );
    std::fs::write(&routing, edited).unwrap();
    let hub = Hub::start_with(backend, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let maximo = &hub.estate.maximo.sim;
    let orders = maximo.count();

    hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "Radiator leak in BR999"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    let r = hub.deliver().await;
    assert_eq!(
        (r.applied, r.retried, r.dead),
        (0, 0, 1),
        "a refusal is not retried: {r:?}"
    );
    let dead = hub.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].routing_key, "facilities.maximo.create_workorder");
    assert!(
        dead[0].reason.contains("400") && dead[0].reason.contains("BMXAA2661E"),
        "the reason is Maximo's own: {}",
        dead[0].reason
    );
    assert_eq!(
        hub.deliver().await.claimed,
        0,
        "a dead letter waits for a person"
    );
    assert_eq!(maximo.count(), orders);

    // Facilities creates the location; the admin replays the dead letter.
    maximo.add_location("BEDFORD", "BR999");
    let revived = hub
        .store()
        .revive_outbox(Some(&dead[0].event_id))
        .await
        .unwrap();
    assert_eq!(revived, vec![dead[0].event_id.clone()]);
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    assert_eq!(maximo.count(), orders + 1);
    assert!(hub.store().dead_letters().await.unwrap().is_empty());

    // A second replay finds nothing, and a message delivered again (a
    // crash after the work order was made, before the row was marked)
    // is recognised: still one work order.
    assert!(hub.store().revive_outbox(None).await.unwrap().is_empty());
    execute(
        hub.store(),
        "UPDATE outbox SET sent_at = NULL, available_at = created_at",
    )
    .await;
    let r = hub.deliver().await;
    assert_eq!(
        (r.claimed, r.applied),
        (1, 1),
        "acknowledged as done: {r:?}"
    );
    assert_eq!(maximo.count(), orders + 1, "never a second work order");
    hub.estate.shutdown().await;
}

#[tokio::test]
async fn a_refusal_is_a_dead_letter_and_replays_once_sqlite() {
    a_refusal_is_a_dead_letter_and_replays_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_refusal_is_a_dead_letter_and_replays_once_postgres() {
    a_refusal_is_a_dead_letter_and_replays_once(Backend::Postgres).await;
}

async fn offboarding(backend: Backend) {
    let hub = Hub::start(backend).await;
    for system in ["personio", "servicenow", "maximo"] {
        hub.sync(system).await;
    }
    let personio = &hub.estate.personio.sim;
    let leaver = personio
        .employees()
        .into_iter()
        .find(|e| e.status == "active")
        .expect("an active employee");
    assert!(personio.update(leaver.id, |e| e.status = "inactive".into()));
    hub.sync("personio").await;
    assert_eq!(hub.outbox_total().await, 2, "accounts, badge and desk");
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (2, 0), "{r:?}");
    let case = format!("offboarding:personio:employees:{}", leaver.id);
    let links = texts(
        hub.store(),
        "SELECT from_id || ' -> ' || to_system FROM links ORDER BY to_system",
    )
    .await;
    assert_eq!(
        links,
        vec![
            format!("{case}#badge-and-desk -> maximo"),
            format!("{case}#accounts -> servicenow"),
        ]
    );
    // Polling HR again does not start it twice.
    hub.sync("personio").await;
    assert_eq!(hub.outbox_total().await, 2);
    hub.estate.shutdown().await;
}

#[tokio::test]
async fn offboarding_sqlite() {
    offboarding(Backend::Sqlite).await;
}

#[tokio::test]
async fn offboarding_postgres() {
    offboarding(Backend::Postgres).await;
}
