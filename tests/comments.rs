//! Comments both ways between linked records, end to end on the embedded
//! transport, both stores: an IT ticket in ServiceNow routed to a second
//! desk in TOPdesk (the shipped manifests and mappings, a routing file of
//! the test's own).
//!
//! - The employee's later public comment on the ticket reaches the TOPdesk
//!   incident once; their work note does not.
//! - The operator's public reply in TOPdesk reaches the ticket once; their
//!   internal note stays in TOPdesk (and, internal, on the hub's journey).
//! - Nothing the hub wrote (progress, a forwarded comment, a reply) is
//!   taken for someone's comment when it is read back: however often both
//!   systems are polled, nothing crosses again.

mod common;

use serde_json::{Map, Value, json};

use common::Backend;
use common::hub::{Hub, scalar, texts};

const ROUTING: &str = r#"version = 1

[[rules]]
name = "printers-to-second-line"
on = ["created"]
when = "event.system == 'servicenow' && record.title.contains('Printer')"
to = { department = "it", connector = "topdesk", action = "create_incident" }

[default]

[progress]
servicenow = "comment_incident"
topdesk = "comment_incident"
"#;

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

/// How many times `text` is in the TOPdesk incident's progress trail.
fn in_trail(hub: &Hub, id: &str, text: &str) -> usize {
    hub.estate
        .topdesk
        .sim
        .trail(id)
        .iter()
        .filter(|e| e.to_string().contains(text))
        .count()
}

/// How many journal entries of the ticket hold `text`, in `element`.
fn in_journal(hub: &Hub, ticket: &str, element: &str, text: &str) -> usize {
    hub.estate
        .servicenow
        .sim
        .records("sys_journal_field")
        .iter()
        .filter(|e| e["element_id"] == ticket && e["element"] == element)
        .filter(|e| e["value"].as_str().is_some_and(|v| v.contains(text)))
        .count()
}

/// Poll both systems twice and deliver: nothing may cross.
async fn settled(hub: &Hub, why: &str) {
    let before = hub.outbox_total().await;
    for _ in 0..2 {
        hub.sync("servicenow").await;
        hub.sync("topdesk").await;
        let r = hub.deliver().await;
        assert_eq!(r.claimed, 0, "{why}: {r:?}");
    }
    assert_eq!(hub.outbox_total().await, before, "{why}");
}

async fn comments_cross_once_each_way(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let routing = dir.path().join("routing.toml");
    std::fs::write(&routing, ROUTING).unwrap();
    let hub = Hub::start_with(backend, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("topdesk").await;
    assert_eq!(hub.outbox_total().await, 0, "a baseline routes nothing");

    let sn = &hub.estate.servicenow.sim;
    let ticket = sn.insert(
        "incident",
        fields(&[
            ("short_description", "Printer on floor 2 is out of toner"),
            ("description", "It prints blank pages."),
            ("state", "1"),
            ("impact", "3"),
            ("urgency", "3"),
        ]),
    );
    hub.sync("servicenow").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "routed to TOPdesk: {r:?}");
    let incident = hub
        .estate
        .topdesk
        .sim
        .records()
        .into_iter()
        .find(|i| i["briefDescription"] == "Printer on floor 2 is out of toner")
        .expect("the TOPdesk incident exists");
    let id = incident["id"].as_str().unwrap().to_string();
    // TOPdesk's first sight of it goes back as progress: posted on the
    // ticket, and recognised there as the hub's when the journal is read.
    hub.sync("topdesk").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "progress posted: {r:?}");
    assert_eq!(
        in_journal(&hub, &ticket, "comments", "Printer on floor 2"),
        1
    );
    settled(&hub, "progress read back is not a comment to forward").await;

    // The employee adds a comment and an agent a work note, on the ticket.
    let say = |field: &str, text: &str| {
        assert!(sn.update("incident", &ticket, fields(&[(field, text)])));
    };
    say("comments", "It now jams on every second page.");
    say("work_notes", "Toner is on back order, internal only.");
    hub.sync("servicenow").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "one comment forwarded: {r:?}");
    assert_eq!(in_trail(&hub, &id, "It now jams on every second page."), 1);
    assert_eq!(in_trail(&hub, &id, "Toner is on back order"), 0);
    settled(&hub, "the forwarded comment read back in TOPdesk").await;
    assert_eq!(in_trail(&hub, &id, "It now jams on every second page."), 1);

    // The operator replies in TOPdesk, and notes something for colleagues.
    // TOPdesk dates its changes to the second: a later second, so the list
    // shows the incident changed (within one second it would not).
    let td = &hub.estate.topdesk.sim;
    td.set_now(chrono::Utc::now() + chrono::Duration::seconds(2));
    td.update(
        &id,
        json!({"action": "A new fuser is fitted tomorrow morning.", "actionInvisibleForCaller": false}),
    )
    .unwrap();
    td.update(
        &id,
        json!({"action": "Fuser ordered from the spares budget.", "actionInvisibleForCaller": true}),
    )
    .unwrap();
    hub.sync("topdesk").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "one reply posted back: {r:?}");
    assert_eq!(
        in_journal(
            &hub,
            &ticket,
            "comments",
            "A new fuser is fitted tomorrow morning."
        ),
        1
    );
    assert_eq!(in_journal(&hub, &ticket, "comments", "spares budget"), 0);
    settled(&hub, "the reply read back in ServiceNow").await;
    assert_eq!(
        in_journal(
            &hub,
            &ticket,
            "comments",
            "A new fuser is fitted tomorrow morning."
        ),
        1
    );
    assert_eq!(in_trail(&hub, &id, "It now jams on every second page."), 1);

    // The hub's journey of the ticket: the internal note is there for
    // agents, as internal; the forward is noted for agents too.
    let internal = texts(
        hub.store(),
        &format!(
            "SELECT a.body FROM activities a JOIN work_items w ON w.id = a.work_item_id \
             WHERE w.source_system = 'servicenow' AND w.external_id = '{ticket}' \
             AND a.source_system = 'switchboard' AND a.visibility = 'internal' ORDER BY a.body"
        ),
    )
    .await;
    assert!(
        internal.iter().any(|b| b.contains("spares budget")),
        "{internal:?}"
    );
    assert!(
        internal
            .iter()
            .any(|b| b.starts_with(&format!("Comment forwarded to topdesk {id}"))),
        "{internal:?}"
    );
    let public_spares = scalar(
        hub.store(),
        "SELECT COUNT(*) FROM activities WHERE body LIKE '%spares budget%' AND visibility = 'public'",
    )
    .await;
    assert_eq!(public_spares, 0, "an internal note never turns public");
    hub.estate.shutdown().await;
}

/// `[comments] forward = false`: the target's replies still come back, the
/// origin's comments stay where they were written.
async fn forwarding_can_be_turned_off(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let routing = dir.path().join("routing.toml");
    std::fs::write(
        &routing,
        format!("{ROUTING}\n[comments]\nforward = false\n"),
    )
    .unwrap();
    let hub = Hub::start_with(backend, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("topdesk").await;
    let sn = &hub.estate.servicenow.sim;
    let ticket = sn.insert(
        "incident",
        fields(&[("short_description", "Printer offline"), ("state", "1")]),
    );
    hub.sync("servicenow").await;
    hub.sync("topdesk").await;
    assert_eq!(hub.deliver().await.applied, 1, "routed");
    hub.sync("topdesk").await;
    assert_eq!(hub.deliver().await.applied, 1, "progress back");
    assert!(sn.update(
        "incident",
        &ticket,
        fields(&[("comments", "Still offline after a restart.")])
    ));
    settled(&hub, "nothing is forwarded").await;
    hub.estate.shutdown().await;
}

on_every_backend!(comments_cross_once_each_way, forwarding_can_be_turned_off);
