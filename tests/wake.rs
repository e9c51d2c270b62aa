//! Routed work is delivered when it is committed, not at the next poll:
//! the delivery loops run with a safety poll of a minute, and each case
//! expects delivery within 10 s. On PostgreSQL an enqueue from another
//! process (another instance, its own pool) wakes this one's loop too. And
//! a relay whose publishes the broker nacks mid-window marks only what was
//! confirmed sent, publishing the rest again later: nothing is lost.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use serde_json::json;
use switchboard::config::Secret;
use switchboard::model::{Canonical, WorkItem};
use switchboard::store::{OutboxMessage, PageWrite, StagedRecord, Store};
use switchboard::transport::{EXCHANGE, Failure, Inbound, RelayOptions, WorkHandler, run_relay};
use switchboard::writer::Writers;
use switchboard::writer::local::{LocalOptions, run_local};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore};

/// Far longer than any case waits: a delivery within the bound came from a
/// wake-up, not from the poll.
const POLL: Duration = Duration::from_secs(60);
const BOUND: Duration = Duration::from_secs(10);
/// Long enough for a loop to have made its first, empty, claim and be
/// waiting (and, on PostgreSQL, to be listening).
const SETTLE: Duration = Duration::from_millis(1500);

fn message(run: &str, i: usize) -> OutboxMessage {
    let id = format!("{run}-{i}");
    OutboxMessage {
        event_id: id.clone(),
        routing_key: "facilities.maximo.create_workorder".into(),
        payload: json!({"specversion": "1.0", "id": id, "data": {"n": i}}),
        not_before: None,
    }
}

/// The target: notes the event ids it was given.
#[derive(Default)]
struct Target(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl WorkHandler for Target {
    async fn handle(&self, m: &Inbound) -> Result<(), Failure> {
        self.0.lock().unwrap().push(m.event_id.clone());
        Ok(())
    }
}

impl Target {
    async fn wait_for(&self, id: &str, why: &str) {
        let deadline = Instant::now() + BOUND;
        while !self.0.lock().unwrap().iter().any(|e| e == id) {
            assert!(
                Instant::now() < deadline,
                "{why}: not delivered within {BOUND:?} (the poll is {POLL:?})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The in-process delivery, polling once a minute, on `store`.
fn deliver(store: &Store, stop: &CancellationToken) -> (Arc<Target>, tokio::task::JoinHandle<()>) {
    let target = Arc::new(Target::default());
    let writers: Writers = [("maximo".to_string(), target.clone() as Arc<dyn WorkHandler>)].into();
    let options = LocalOptions {
        poll: POLL,
        ..LocalOptions::default()
    };
    let task = tokio::spawn(run_local(store.clone(), writers, options, stop.clone()));
    (target, task)
}

fn page(run: &str, i: usize) -> PageWrite<'static> {
    PageWrite {
        system: "sn",
        stream: "incident",
        mapping_version: "v1",
        records: vec![StagedRecord {
            external_id: format!("{run}-{i}"),
            content_hash: format!("hash-{i}"),
            payload_json: json!({ "id": i }).to_string(),
            outcome: Ok(Canonical::WorkItem(WorkItem {
                kind: "incident".into(),
                title: "No heating".into(),
                status: "new".into(),
                ..Default::default()
            })),
        }],
        cursor: None,
        delivery: None,
        outbox: vec![message(run, i)],
        effects: Vec::new(),
    }
}

async fn a_page_write_wakes_the_in_process_delivery(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let stop = CancellationToken::new();
    let (target, task) = deliver(&ts.store, &stop);
    tokio::time::sleep(SETTLE).await;
    // Twice: the loop goes back to waiting after a delivery, and is woken
    // again.
    for i in 0..2 {
        ts.store.apply_page(page("page", i)).await.unwrap();
        target
            .wait_for(&format!("page-{i}"), "a page's routed work")
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the loop stops promptly")
        .unwrap();
}

/// A row retried later is delivered when it comes due, not at the poll.
async fn a_held_row_is_delivered_when_due(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let stop = CancellationToken::new();
    let (target, task) = deliver(&ts.store, &stop);
    tokio::time::sleep(SETTLE).await;
    let mut held = message("held", 0);
    held.not_before = Some(chrono::Utc::now() + chrono::Duration::seconds(2));
    ts.store.enqueue(&[held]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        target.0.lock().unwrap().is_empty(),
        "held work waits for its time"
    );
    target.wait_for("held-0", "a row held for 2 s").await;
    stop.cancel();
    task.await.unwrap();
}

on_every_backend!(
    a_page_write_wakes_the_in_process_delivery,
    a_held_row_is_delivered_when_due,
    a_nacked_window_is_published_again_and_nothing_is_lost,
);

/// Set in the child process [`another_instance_wakes_this_one`] starts:
/// the store to enqueue into, from that process's own pool.
const CHILD_URL: &str = "SWITCHBOARD_TEST_WAKE_ENQUEUE_URL";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instance_wakes_this_one() {
    let ts = TestStore::new(Backend::Postgres).await;
    let stop = CancellationToken::new();
    let (target, task) = deliver(&ts.store, &stop);
    tokio::time::sleep(SETTLE).await;
    // Another process, as another replica would be: only PostgreSQL's
    // NOTIFY can reach this one's loop from there.
    let status = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "enqueue_as_another_instance", "--ignored"])
        .env(CHILD_URL, &ts.url)
        .status()
        .await
        .unwrap();
    assert!(status.success(), "the other instance enqueued");
    target
        .wait_for("other-0", "work enqueued by another instance")
        .await;
    stop.cancel();
    task.await.unwrap();
}

/// Not a test of its own: the other instance of
/// [`another_instance_wakes_this_one`].
#[tokio::test]
#[ignore = "run by another_instance_wakes_this_one"]
async fn enqueue_as_another_instance() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    let store = Store::connect(&url, 1).await.unwrap();
    assert_eq!(store.enqueue(&[message("other", 0)]).await.unwrap(), 1);
    store.close().await;
}

fn amqp_url() -> String {
    std::env::var("SWITCHBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A queue that holds `max` messages and has the broker nack any publish
/// beyond (`reject-publish`), so a relay's window is part acked, part
/// nacked.
async fn small_queue(queue: &str, key: &str, max: i64) -> (Connection, lapin::Channel) {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("RabbitMQ answers (scripts/services starts it)");
    let channel = conn.create_channel().await.unwrap();
    switchboard::transport::Topology::default()
        .declare_exchange(&channel)
        .await
        .unwrap();
    let mut args = FieldTable::default();
    args.insert("x-max-length".into(), AMQPValue::LongLongInt(max));
    args.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), options, args)
        .await
        .unwrap();
    let bind = QueueBindOptions::default();
    channel
        .queue_bind(
            queue.into(),
            EXCHANGE.into(),
            key.into(),
            bind,
            FieldTable::default(),
        )
        .await
        .unwrap();
    (conn, channel)
}

async fn a_nacked_window_is_published_again_and_nothing_is_lost(backend: Backend) {
    const MESSAGES: usize = 60;
    const ROOM: i64 = 10;
    let ts = TestStore::new(backend).await;
    let run = format!("nack-{backend:?}-{}", std::process::id());
    let queue = format!("test-{run}");
    let key = format!("{run}.maximo.create");
    let (_conn, channel) = small_queue(&queue, &key, ROOM).await;
    let messages: Vec<_> = (0..MESSAGES)
        .map(|i| OutboxMessage {
            routing_key: key.clone(),
            ..message(&run, i)
        })
        .collect();

    let stop = CancellationToken::new();
    let relay = tokio::spawn(run_relay(
        ts.store.clone(),
        Secret::new(amqp_url()),
        RelayOptions {
            batch: 8,
            window: 32,
            retry_in: Duration::from_millis(500),
            poll: POLL,
            ..RelayOptions::default()
        },
        stop.clone(),
    ));
    tokio::time::sleep(SETTLE).await;
    ts.store.enqueue(&messages).await.unwrap();

    // The queue fills to its limit; the broker nacks the rest of the
    // window, and those rows stay pending: only confirmed rows are sent.
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let held = || async {
        let q = channel.queue_declare(queue.as_str().into(), passive, FieldTable::default());
        q.await.unwrap().message_count() as i64
    };
    let deadline = Instant::now() + BOUND;
    while held().await < ROOM {
        assert!(Instant::now() < deadline, "the relay was not woken");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The queue's count shows before the relay settles the batch: wait
    // for the acked rows to be marked, then check that nothing else is.
    let expected = MESSAGES as i64 - ROOM;
    let deadline = Instant::now() + BOUND;
    while ts.store.outbox_pending().await.unwrap() > expected {
        assert!(Instant::now() < deadline, "acked rows not marked sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..3 {
        let pending = ts.store.outbox_pending().await.unwrap();
        assert_eq!(
            pending, expected,
            "rows marked sent are exactly those the queue took"
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
    }

    // Drained, the queue takes the rest as the relay tries them again.
    let mut seen = BTreeMap::<String, usize>::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < MESSAGES {
        assert!(
            Instant::now() < deadline,
            "only {} of {MESSAGES} arrived",
            seen.len()
        );
        let got = channel
            .basic_get(queue.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap();
        match got {
            Some(got) => {
                let id = got.delivery.properties.message_id().clone().unwrap();
                *seen.entry(id.to_string()).or_default() += 1;
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let deadline = Instant::now() + BOUND;
    while ts.store.outbox_pending().await.unwrap() > 0 {
        assert!(Instant::now() < deadline, "rows left pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), relay)
        .await
        .expect("the relay stops promptly")
        .unwrap();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "a nacked message is not in the queue: {twice:?}"
    );
}
