//! Routing again, on both stores, through the shipped files and the
//! simulated estate: what `switchboard dlq replay` and `switchboard route
//! --replay` do (the same library calls the commands make).
//!
//! - A condition that fails at run time sends the change to the dead
//!   letters instead of dropping it; after the fix, replaying it routes it,
//!   once.
//! - A letter a target refused is rendered again from the fixed
//!   `routing.toml`: the replay carries the fixed `set` values, under the
//!   letter's own id.
//! - A record the baseline stored is routed on purpose, once however often
//!   it is replayed; a record a writer created is refused.

mod common;

use std::sync::Arc;

use serde_json::{Map, Value, json};
use switchboard::routing::Routing;
use switchboard::store::{DeadRow, Requeue, Requeued};
use switchboard::sync::{Letter, ReplayError, Rerendered, Scope, SyncJob, rerender};

use common::Backend;
use common::hub::{Hub, scalar};

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn shipped_routing() -> String {
    std::fs::read_to_string(common::repo().join("routing.toml")).unwrap()
}

/// The shipped routing.toml with one edit, which must apply.
fn edited_routing(dir: &std::path::Path, from: &str, to: &str) -> std::path::PathBuf {
    let shipped = shipped_routing();
    let edited = shipped.replace(from, to);
    assert_ne!(shipped, edited, "the edit applies to the shipped file");
    let path = dir.join("routing.toml");
    std::fs::write(&path, edited).unwrap();
    path
}

/// The admin fixes routing.toml: the rules every job routes with now.
fn fix_routing(hub: &Hub, text: &str) {
    let source = switchboard::diag::SourceFile::new("routing.toml", text);
    let routing = Routing::from_source(&source).unwrap_or_else(|d| panic!("{d}"));
    let router = hub
        .connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find_map(|j| j.router.clone())
        .expect("routing is in place");
    router.routing.replace(Arc::new(routing));
}

fn jobs(hub: &Hub) -> Vec<&SyncJob> {
    hub.connectors.iter().flat_map(|c| &c.jobs).collect()
}

fn job<'h>(hub: &'h Hub, system: &str, stream: &str) -> &'h SyncJob {
    jobs(hub)
        .into_iter()
        .find(|j| j.system() == system && j.stream.name == stream)
        .unwrap_or_else(|| panic!("no job {system}/{stream}"))
}

/// What `dlq replay ID` does with a letter the store keeps.
async fn replay_letter(hub: &Hub, letter: &DeadRow) -> Requeued {
    let rendered = rerender(
        Letter {
            id: &letter.event_id,
            routing_key: &letter.routing_key,
            payload: &letter.payload,
        },
        &jobs(hub),
        hub.store(),
    )
    .await
    .unwrap_or_else(|e| panic!("the letter renders again: {e}"));
    let Rerendered::Plan(r) = rendered else {
        panic!("rendered again, not sent as it was: {rendered:?}");
    };
    hub.store()
        .requeue(Requeue {
            replaces: std::slice::from_ref(&letter.event_id),
            outbox: &r.plan.outbox,
            effects: &r.plan.effects,
            resend: r.resend,
        })
        .await
        .unwrap()
}

/// What `route --replay SYSTEM STREAM ID` does.
async fn route_again(
    hub: &Hub,
    system: &str,
    stream: &str,
    id: &str,
) -> Result<Requeued, ReplayError> {
    let r = job(hub, system, stream)
        .replan(hub.store(), id, None, Scope::Everything)
        .await?;
    Ok(hub
        .store()
        .requeue(Requeue {
            replaces: &[],
            outbox: &r.plan.outbox,
            effects: &r.plan.effects,
            resend: false,
        })
        .await
        .unwrap())
}

const HEATING_WHEN: &str = "record.kind == 'incident'\n  && record.department != 'facilities'";

async fn a_failing_condition_is_a_dead_letter_replayed_after_the_fix(backend: Backend) {
    // A condition that reads a field these tickets lack fails at run time.
    let dir = tempfile::tempdir().unwrap();
    let broken = format!("record.attributes.floor != '' && {HEATING_WHEN}");
    let routing = edited_routing(dir.path(), HEATING_WHEN, &broken);
    let hub = Hub::start_with(backend, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let maximo = &hub.estate.maximo.sim;
    let orders = maximo.count();

    let ticket = hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "No heating on floor 3"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    let dead = hub.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1, "the change is kept, not dropped: {dead:?}");
    let letter = &dead[0];
    assert_eq!(letter.routing_key, "unrouted");
    assert!(
        letter.reason.contains("heating-and-leaks-to-facilities")
            && letter.reason.contains("floor"),
        "the reason names the rule and the error: {}",
        letter.reason
    );
    assert_eq!(letter.payload["subject"], json!(ticket));
    let r = hub.deliver().await;
    assert_eq!(r.claimed, 0, "nothing went to a default or a later rule");
    assert_eq!(maximo.count(), orders);
    // `dlq replay --as-sent --all` does not send it anywhere either.
    assert!(hub.store().revive_outbox(None).await.unwrap().is_empty());

    // Replayed before the fix: still a dead letter, with the same reason.
    let again = replay_letter(&hub, letter).await;
    assert!(again.queued.is_empty(), "{again:?}");
    let dead = hub.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].event_id, letter.event_id);

    fix_routing(&hub, &shipped_routing());
    let done = replay_letter(&hub, &dead[0]).await;
    assert_eq!(done.queued.len(), 1, "{done:?}");
    assert!(hub.store().dead_letters().await.unwrap().is_empty());
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    assert_eq!(maximo.count(), orders + 1, "the work order exists");

    // Routing the same change again sends nothing twice.
    let twice = route_again(&hub, "servicenow", "incident", &ticket)
        .await
        .unwrap();
    assert_eq!(
        (twice.queued.len(), twice.unchanged.len()),
        (0, 1),
        "{twice:?}"
    );
    assert_eq!(hub.deliver().await.claimed, 0);
    assert_eq!(maximo.count(), orders + 1, "never a second work order");
    hub.estate.shutdown().await;
}

async fn a_replay_renders_the_letter_again_with_the_fixed_set(backend: Backend) {
    // The heating rule sends a location Maximo does not have: refused.
    let dir = tempfile::tempdir().unwrap();
    let set =
        r#"set = { "attributes.maximo_siteid" = "BEDFORD", "attributes.maximo_worktype" = "CM" }"#;
    let wrong = r#"set = { "attributes.maximo_siteid" = "BEDFORD", "attributes.maximo_worktype" = "CM", "attributes.maximo_location" = "BR999" }"#;
    let routing = edited_routing(dir.path(), set, wrong);
    let hub = Hub::start_with(backend, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let maximo = &hub.estate.maximo.sim;
    let orders = maximo.count();
    hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "Radiator leak in the lobby"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (0, 1), "{r:?}");
    let dead = hub.store().dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].payload["data"]["record"]["attributes"]["maximo_location"],
        "BR999"
    );

    // The admin removes the wrong location from the rule, and replays.
    fix_routing(&hub, &shipped_routing());
    let done = replay_letter(&hub, &dead[0]).await;
    assert_eq!(
        done.queued,
        vec![dead[0].event_id.clone()],
        "the letter's own id"
    );
    assert_eq!(
        hub.outbox_total().await,
        1,
        "the letter was replaced, not copied"
    );
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    assert_eq!(maximo.count(), orders + 1);
    let order = maximo
        .records()
        .into_iter()
        .find(|w| w["description"] == "Radiator leak in the lobby")
        .expect("the work order exists");
    assert_ne!(
        order["location"], "BR999",
        "the fixed rule's values: {order}"
    );
    assert_eq!(order["siteid"], "BEDFORD");
    assert!(hub.store().dead_letters().await.unwrap().is_empty());
    hub.estate.shutdown().await;
}

async fn a_baseline_record_is_routed_on_purpose_once(backend: Backend) {
    let hub = Hub::start(backend).await;
    // Raised before the first sync: the baseline stores it, unrouted.
    let ticket = hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "Heating broken in room 12"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    assert_eq!(hub.outbox_total().await, 0, "a baseline routes nothing");
    let maximo = &hub.estate.maximo.sim;
    let orders = maximo.count();

    let first = route_again(&hub, "servicenow", "incident", &ticket)
        .await
        .unwrap();
    assert_eq!(first.queued.len(), 1, "{first:?}");
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    assert_eq!(maximo.count(), orders + 1);

    let second = route_again(&hub, "servicenow", "incident", &ticket)
        .await
        .unwrap();
    assert_eq!(second.queued.len(), 0, "{second:?}");
    assert_eq!(hub.deliver().await.claimed, 0);
    // Even a message sent again (the outbox row lost) is applied once.
    common::hub::execute(
        hub.store(),
        "UPDATE outbox SET sent_at = NULL, available_at = created_at",
    )
    .await;
    hub.deliver().await;
    assert_eq!(maximo.count(), orders + 1, "never a second work order");

    // The work order the writer created is a link target: never routed.
    hub.sync("maximo").await;
    let order_id: i64 = scalar(
        hub.store(),
        "SELECT COUNT(*) FROM links WHERE to_system = 'maximo'",
    )
    .await;
    assert_eq!(order_id, 1);
    let target = common::hub::texts(hub.store(), "SELECT to_id FROM links").await;
    let refused = route_again(&hub, "maximo", "workorder", &target[0]).await;
    assert!(
        matches!(&refused, Err(ReplayError::LinkTarget { origin, .. }) if origin.contains(&ticket)),
        "{refused:?}"
    );
    let missing = route_again(&hub, "servicenow", "incident", "no-such-ticket").await;
    assert!(
        matches!(missing, Err(ReplayError::NotStored { .. })),
        "{missing:?}"
    );
    hub.estate.shutdown().await;
}

on_every_backend!(
    a_failing_condition_is_a_dead_letter_replayed_after_the_fix,
    a_replay_renders_the_letter_again_with_the_fixed_set,
    a_baseline_record_is_routed_on_purpose_once,
);
