//! The outbox relay against a real RabbitMQ (127.0.0.1:5672, or
//! SWITCHBOARD_TEST_AMQP_URL) and both stores: every routed message is
//! published persistent, under its routing key and id, confirmed, and then
//! never published again.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use serde_json::{Value, json};
use switchboard::config::Secret;
use switchboard::store::OutboxMessage;
use switchboard::store::Store;
use switchboard::transport::{Publisher, RelayOptions, Topology, relay_once, run_relay};
use tokio_util::sync::CancellationToken;

use common::broker::{delete_topology, test_topology};
use common::proxy::CutProxy;
use common::{Backend, TestStore};

fn amqp_url() -> String {
    std::env::var("SWITCHBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// An exclusive queue bound to the work exchange with `key`; it lives as
/// long as the connection returned.
async fn bound_queue(queue: &str, key: &str) -> (Connection, lapin::Channel) {
    bound_queue_on(&Topology::default(), queue, key).await
}

/// [`bound_queue`] on `topology`'s exchange.
async fn bound_queue_on(
    topology: &Topology,
    queue: &str,
    key: &str,
) -> (Connection, lapin::Channel) {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("consumer connects");
    let channel = conn.create_channel().await.unwrap();
    // The relay declares the exchange when it connects, which may be after
    // this bind; and another test may have deleted it since.
    topology
        .declare_exchange(&channel)
        .await
        .expect("the work exchange is declared");
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    channel
        .queue_bind(
            queue.into(),
            topology.exchange.as_str().into(),
            key.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (conn, channel)
}

/// Wait until nothing in the outbox is pending, failing with `what` after
/// `limit`.
async fn drained(store: &Store, limit: Duration, what: &str) {
    let deadline = Instant::now() + limit;
    while store.outbox_pending().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Take every message from `queue`: how many times each message id came.
async fn taken_by_id(channel: &lapin::Channel, queue: &str) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    while let Some(got) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let id = got.delivery.properties.message_id().clone().unwrap();
        *seen.entry(id.to_string()).or_default() += 1;
    }
    seen
}

fn message(run: &str, department: &str, i: usize) -> OutboxMessage {
    let id = format!("{run}-{department}-{i}");
    OutboxMessage {
        event_id: id.clone(),
        routing_key: format!("{department}.system.create"),
        payload: json!({"specversion": "1.0", "id": id, "data": {"n": i}}),
        not_before: None,
    }
}

async fn relays_every_message_once_with_confirms(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let run = format!("{backend:?}-{}", std::process::id());
    let publisher = Publisher::connect(&amqp_url())
        .await
        .expect("RabbitMQ answers (scripts/services starts it)");

    // A consumer's queue for Facilities work only.
    let queue = format!("test-facilities-{run}");
    let (_conn, channel) = bound_queue(&queue, "facilities.#").await;

    let mut messages: Vec<_> = (0..50).map(|i| message(&run, "facilities", i)).collect();
    messages.extend((0..5).map(|i| message(&run, "finance", i)));
    ts.store.enqueue(&messages).await.unwrap();

    let options = RelayOptions {
        batch: 20,
        ..RelayOptions::default()
    };
    let (mut sent, mut failed) = (0, 0);
    loop {
        let r = relay_once(&ts.store, &publisher, &options).await.unwrap();
        sent += r.sent;
        failed += r.failed;
        if r.claimed == 0 {
            break;
        }
    }
    // No queue takes finance work: the broker returns it (mandatory), and
    // its rows wait in the outbox for a writer instead of being dropped.
    assert_eq!((sent, failed), (50, 5));
    assert_eq!(ts.store.outbox_pending().await.unwrap(), 5);

    let mut ids = BTreeSet::new();
    while let Some(got) = channel
        .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let d = got.delivery;
        assert!(d.routing_key.as_str().starts_with("facilities."));
        assert_eq!(*d.properties.delivery_mode(), Some(2), "persistent");
        let id = d
            .properties
            .message_id()
            .clone()
            .expect("message id")
            .to_string();
        let body: Value = serde_json::from_slice(&d.data).unwrap();
        assert_eq!(
            body["id"],
            json!(id),
            "the CloudEvents id is the message id"
        );
        assert!(ids.insert(id), "each message once");
    }
    assert_eq!(ids.len(), 50, "the finance messages went elsewhere");

    // Sent rows are never published again.
    let again = relay_once(&ts.store, &publisher, &options).await.unwrap();
    assert_eq!(again.claimed, 0);
}

/// The daemon's relay loop drains the outbox, and stops when told.
async fn the_relay_loop_drains_the_outbox(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let run = format!("loop-{backend:?}-{}", std::process::id());
    // A writer's queue for the work, as the hub declares one per target.
    let _queue = bound_queue(&format!("test-it-{run}"), "it.#").await;
    let stop = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        ts.store.clone(),
        Secret::new(amqp_url()),
        RelayOptions::default(),
        stop.clone(),
    ));
    let messages: Vec<_> = (0..30).map(|i| message(&run, "it", i)).collect();
    ts.store.enqueue(&messages).await.unwrap();
    drained(
        &ts.store,
        Duration::from_secs(20),
        "the relay did not drain the outbox",
    )
    .await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), relay)
        .await
        .expect("the relay stops promptly")
        .unwrap();
}

/// With no broker the relay keeps trying and loses nothing.
async fn without_a_broker_nothing_is_lost(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let stop = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        ts.store.clone(),
        Secret::new("amqp://guest:guest@127.0.0.1:1/%2f"),
        RelayOptions::default(),
        stop.clone(),
    ));
    ts.store
        .enqueue(&[message("nobroker", "it", 0)])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ts.store.outbox_pending().await.unwrap(), 1);
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), relay)
        .await
        .expect("the relay stops promptly")
        .unwrap();
}

/// Three instances' relays (each its own pool, as three processes would
/// have) drain one outbox at once: every message reaches the queue once.
async fn three_relays_publish_each_message_once(backend: Backend) {
    const MESSAGES: usize = 1000;
    let ts = TestStore::new(backend).await;
    let run = format!("three-{backend:?}-{}", std::process::id());
    let queue = format!("test-hr-{run}");
    let (_conn, channel) = bound_queue(&queue, "hr.#").await;
    let messages: Vec<_> = (0..MESSAGES).map(|i| message(&run, "hr", i)).collect();
    ts.store.enqueue(&messages).await.unwrap();

    let stop = CancellationToken::new();
    let mut relays = Vec::new();
    for _ in 0..3 {
        let store = switchboard::store::Store::connect(&ts.url, 4)
            .await
            .unwrap();
        relays.push(tokio::spawn(run_relay(
            store,
            Secret::new(amqp_url()),
            RelayOptions {
                batch: 25,
                ..RelayOptions::default()
            },
            stop.clone(),
        )));
    }
    drained(
        &ts.store,
        Duration::from_secs(60),
        "the relays did not drain the outbox",
    )
    .await;
    stop.cancel();
    for r in relays {
        tokio::time::timeout(Duration::from_secs(10), r)
            .await
            .expect("each relay stops")
            .unwrap();
    }
    let seen = taken_by_id(&channel, &queue).await;
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
    assert_eq!(seen.len(), MESSAGES, "every message published");
}

/// The connection to the broker drops (every socket closed, as a load
/// balancer's reset would) while the relay holds a window of publishes
/// unconfirmed. The relay reconnects; the rows it held are published
/// again, and only those; no row is marked sent that the broker did not
/// confirm, so every message is in the queue.
async fn a_connection_dropped_mid_window_loses_nothing(backend: Backend) {
    const MESSAGES: usize = 6000;
    const WINDOW: usize = 1024;
    let ts = TestStore::new(backend).await;
    let topology = test_topology(&format!("drop{backend:?}"));
    let run = format!("drop-{backend:?}-{}", std::process::id());
    let queue = format!("{}.drop-it", topology.prefix);
    let (_conn, channel) = bound_queue_on(&topology, &queue, "it.#").await;
    let messages: Vec<_> = (0..MESSAGES).map(|i| message(&run, "it", i)).collect();
    ts.store.enqueue(&messages).await.unwrap();

    let broker = url::Url::parse(&amqp_url()).unwrap();
    let upstream = format!(
        "{}:{}",
        broker.host_str().unwrap(),
        broker.port().unwrap_or(5672)
    );
    let proxy = CutProxy::start(&upstream).await;
    let mut through = broker.clone();
    through.set_port(Some(proxy.addr.port())).unwrap();
    through.set_host(Some("127.0.0.1")).unwrap();

    let stop = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        ts.store.clone(),
        Secret::new(through.to_string()),
        RelayOptions {
            batch: 200,
            window: WINDOW,
            retry_in: Duration::from_millis(200),
            topology: topology.clone(),
            ..RelayOptions::default()
        },
        stop.clone(),
    ));
    // Cut once a quarter is through: the relay is then publishing at full
    // speed, with claims outstanding.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = ts.store.outbox_pending().await.unwrap() as usize;
        assert!(pending > 0, "the relay finished before the cut");
        if pending <= MESSAGES * 3 / 4 {
            break;
        }
        assert!(Instant::now() < deadline, "the relay did not start");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    proxy.cut();

    drained(
        &ts.store,
        Duration::from_secs(60),
        "the relay did not drain the outbox after the cut",
    )
    .await;
    assert!(proxy.accepted() >= 2, "the relay reconnected");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), relay)
        .await
        .expect("the relay stops promptly")
        .unwrap();

    let seen = taken_by_id(&channel, &queue).await;
    delete_topology(&topology, &[]).await;
    let missing: Vec<_> = messages
        .iter()
        .filter(|m| !seen.contains_key(&m.event_id))
        .map(|m| m.event_id.as_str())
        .collect();
    assert!(missing.is_empty(), "lost at the cut: {missing:?}");

    // Rows claimed more than once: those the cut caught unconfirmed.
    let sql = "SELECT event_id FROM outbox WHERE attempts > 1";
    let retried: BTreeSet<String> = match &ts.store {
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
    }
    .unwrap()
    .into_iter()
    .collect();
    assert!(
        !retried.is_empty(),
        "the cut caught no claimed, unconfirmed rows"
    );
    assert!(
        retried.len() <= WINDOW,
        "more rows claimed again ({}) than the window held",
        retried.len()
    );
    let twice: Vec<_> = seen
        .iter()
        .filter(|(id, n)| **n > 1 && !retried.contains(*id))
        .collect();
    assert!(
        twice.is_empty(),
        "published twice without being claimed twice: {twice:?}"
    );
}

on_every_backend!(
    a_connection_dropped_mid_window_loses_nothing,
    relays_every_message_once_with_confirms,
    three_relays_publish_each_message_once,
    the_relay_loop_drains_the_outbox,
    without_a_broker_nothing_is_lost,
);
