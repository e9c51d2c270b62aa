//! A target down for ten minutes with routed work pending, end to end on
//! each transport: the heating tickets wait for Maximo, then every one
//! becomes one work order once Maximo answers again, by itself and with no
//! dead letter. Only a target down past the outage budget makes dead
//! letters, whose reason says so, and a replay then applies each once.
//!
//! Time is scaled: every delay and budget is the shipped one divided by
//! [`SCALE`], so the ten minutes take three seconds. The behaviour is the
//! shipped one (the same delay ladder, budget and writers).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::config::Secret;
use switchboard::transport::retry::{DEFAULT_OUTAGE_BUDGET, default_delays};
use switchboard::transport::{RelayOptions, WriterOptions, dlq, run_relay, run_writer};
use switchboard::writer::local::{LocalOptions, run_local};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use common::Backend;
use common::broker::{amqp_url, delete_topology_with, test_topology};
use common::hub::{Hub, copy_edited, scalar};

/// Real seconds per test second.
const SCALE: u32 = 200;
const TICKETS: usize = 20;

fn scaled(real: Duration) -> Duration {
    real / SCALE
}

fn delays() -> Vec<Duration> {
    default_delays().into_iter().map(scaled).collect()
}

/// Ten minutes of outage.
fn outage() -> Duration {
    scaled(Duration::from_secs(600))
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shipped hub, with Maximo's client quick to give a call up (the
/// transports wait the outage out, not the client) and not rate limited.
async fn hub(backend: Backend) -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let connectors = copy_edited("connectors", dir.path(), |name, text| {
        if name != "maximo.toml" {
            return text;
        }
        text.replace("rate_limit_per_sec = 4", "rate_limit_per_sec = 0")
            .replace("max_attempts = 5", "max_attempts = 2")
            .replace("initial_backoff_ms = 1000", "initial_backoff_ms = 10")
    });
    let hub = Hub::start_with(backend, None, Some(connectors)).await;
    // The baseline polls, while everything answers.
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    (hub, dir)
}

/// Raise heating tickets and route them: one outbox row each.
async fn raise_tickets(hub: &Hub) {
    for i in 0..TICKETS {
        let mut fields = serde_json::Map::new();
        fields.insert(
            "short_description".into(),
            json!(format!("No heating in room {i}")),
        );
        fields.insert("state".into(), json!("1"));
        hub.estate.servicenow.sim.insert("incident", fields);
    }
    hub.sync("servicenow").await;
    assert_eq!(hub.outbox_total().await, TICKETS as i64, "each routed once");
}

/// Work orders for the tickets, by title: each must appear once.
fn heating_orders(hub: &Hub) -> Vec<String> {
    let mut titles: Vec<String> = hub
        .estate
        .maximo
        .sim
        .records()
        .iter()
        .filter_map(|w| w.get("description").and_then(Value::as_str))
        .filter(|d| d.starts_with("No heating in room "))
        .map(str::to_string)
        .collect();
    titles.sort();
    titles
}

async fn applied_once(hub: &Hub) {
    let titles = heating_orders(hub);
    let mut distinct = titles.clone();
    distinct.dedup();
    assert_eq!(
        titles.len(),
        TICKETS,
        "one work order per ticket: {titles:?}"
    );
    assert_eq!(distinct.len(), TICKETS, "none twice");
    let applied = "SELECT COUNT(*) FROM deliveries WHERE state = 'applied'";
    assert_eq!(scalar(hub.store(), applied).await, TICKETS as i64);
}

async fn in_process_outage_is_waited_out(backend: Backend) {
    let (mut hub, _dir) = hub(backend).await;
    hub.estate.maximo.go_down().await;
    raise_tickets(&hub).await;

    let stop = CancellationToken::new();
    let options = LocalOptions {
        delays: delays(),
        outage_budget: scaled(DEFAULT_OUTAGE_BUDGET),
        poll: Duration::from_millis(20),
        ..LocalOptions::default()
    };
    let delivery = tokio::spawn(run_local(
        hub.store().clone(),
        hub.writers.clone(),
        options,
        stop.clone(),
    ));
    tokio::time::sleep(outage()).await;
    let counts = hub.store().outbox_counts().await.unwrap();
    assert_eq!(
        (counts.pending, counts.dead),
        (TICKETS as i64, 0),
        "all of it waits for Maximo, none is a dead letter"
    );
    let tries = "SELECT CAST(COALESCE(MAX(attempts), 0) AS BIGINT) FROM outbox";
    assert!(
        scalar(hub.store(), tries).await >= 5,
        "the fifth failed try, which once made a dead letter, did not"
    );
    // Only the oldest row was tried at each step; the others waited with it.
    let tried = "SELECT COUNT(*) FROM outbox WHERE attempts > 0";
    assert_eq!(
        scalar(hub.store(), tried).await,
        1,
        "one call per retry step"
    );

    hub.estate.maximo.come_back().await.unwrap();
    wait_for(
        "every ticket's work order, once Maximo answers",
        outage() * 3,
        async || hub.store().outbox_pending().await.unwrap() == 0,
    )
    .await;
    stop.cancel();
    delivery.await.unwrap();
    applied_once(&hub).await;
    assert!(hub.store().dead_letters().await.unwrap().is_empty());
    hub.estate.shutdown().await;
}

async fn in_process_outage_past_the_budget_is_a_dead_letter(backend: Backend) {
    let (mut hub, _dir) = hub(backend).await;
    hub.estate.maximo.go_down().await;
    raise_tickets(&hub).await;

    // A budget far shorter than the outage.
    let stop = CancellationToken::new();
    let budget = outage() / 4;
    let options = LocalOptions {
        delays: delays(),
        outage_budget: budget,
        poll: Duration::from_millis(20),
        ..LocalOptions::default()
    };
    let delivery = tokio::spawn(run_local(
        hub.store().clone(),
        hub.writers.clone(),
        options,
        stop.clone(),
    ));
    wait_for("every ticket a dead letter", outage() * 2, async || {
        hub.store().outbox_counts().await.unwrap().dead == TICKETS as i64
    })
    .await;
    stop.cancel();
    delivery.await.unwrap();
    for letter in hub.store().dead_letters().await.unwrap() {
        assert!(
            letter.reason.contains("did not answer for")
                && letter.reason.contains("outage budget")
                && letter.reason.contains("maximo"),
            "the reason says the target stayed down: {}",
            letter.reason
        );
    }
    assert!(heating_orders(&hub).is_empty());

    // Maximo is back and a person replays them: each applied once.
    hub.estate.maximo.come_back().await.unwrap();
    let revived = hub.store().revive_outbox(None).await.unwrap();
    assert_eq!(revived.len(), TICKETS);
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (TICKETS, 0), "{r:?}");
    applied_once(&hub).await;
    hub.estate.shutdown().await;
}

on_every_backend!(
    in_process_outage_is_waited_out,
    in_process_outage_past_the_budget_is_a_dead_letter
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_is_waited_out() {
    let (mut hub, _dir) = hub(Backend::Postgres).await;
    hub.estate.maximo.go_down().await;
    raise_tickets(&hub).await;

    let topology = test_topology("outage");
    let stop = CancellationToken::new();
    let url = Secret::new(amqp_url());
    let mut tasks = JoinSet::new();
    let writer = Arc::clone(hub.writers.get("maximo").expect("a Maximo writer"));
    tasks.spawn(run_writer(
        url.clone(),
        "maximo".into(),
        writer,
        WriterOptions {
            delays: delays(),
            outage_budget: scaled(DEFAULT_OUTAGE_BUDGET),
            topology: topology.clone(),
            ..WriterOptions::default()
        },
        stop.clone(),
    ));
    tasks.spawn(run_relay(
        hub.store().clone(),
        url,
        RelayOptions {
            retry_in: Duration::from_millis(100),
            topology: topology.clone(),
            ..RelayOptions::default()
        },
        stop.clone(),
    ));
    // Handed to the broker: the outbox's part is done while Maximo is down.
    wait_for("the relay to publish", outage(), async || {
        hub.store().outbox_pending().await.unwrap() == 0
    })
    .await;
    tokio::time::sleep(outage()).await;
    let dead = dlq::list(&amqp_url(), &topology).await.unwrap();
    assert!(dead.is_empty(), "nothing died during the outage: {dead:?}");
    assert!(heating_orders(&hub).is_empty(), "Maximo was down");

    hub.estate.maximo.come_back().await.unwrap();
    wait_for(
        "every ticket's work order, once Maximo answers",
        outage() * 3,
        async || heating_orders(&hub).len() >= TICKETS,
    )
    .await;
    // Let anything still parked come back and be seen as applied.
    wait_for("the deliveries to be recorded", outage(), async || {
        let applied = "SELECT COUNT(*) FROM deliveries WHERE state = 'applied'";
        scalar(hub.store(), applied).await == TICKETS as i64
    })
    .await;
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    applied_once(&hub).await;
    let dead = dlq::list(&amqp_url(), &topology).await.unwrap();
    assert!(dead.is_empty(), "no dead letter: {dead:?}");
    delete_topology_with(&topology, &["maximo"], &delays()).await;
    hub.estate.shutdown().await;
}
