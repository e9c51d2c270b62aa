//! Routed work over the real RabbitMQ, end to end: the outbox relay, the
//! per-target writer queues, and the broker restarted (stopped and
//! started) while 1,000 routed items are in flight. Afterwards every item
//! is delivered, and none twice.
//!
//! This binary restarts the broker, so it holds the only test that does;
//! cargo runs test binaries one after another, so no other suite sees the
//! broker go away. It needs `rabbitmqctl` on the PATH (the CI machine and
//! `scripts/services` have it) and fails loudly without it.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::config::Secret;
use switchboard::transport::{RelayOptions, WriterOptions, dlq, run_relay, run_writer};
use tokio_util::sync::CancellationToken;

use common::Backend;
use common::broker::{amqp_url, delete_topology, test_topology};
use common::hub::{Hub, copy_edited, scalar};

const ITEMS: usize = 1000;

fn rabbitmqctl(args: &[&str]) {
    let out = Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs (RabbitMQ's CLI must be on the PATH)");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn wait_for(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_restart_loses_nothing_and_applies_nothing_twice() {
    // Maximo's shipped rate limit (4/s) would make 1,000 creates take
    // minutes; an admin facing a bulk backlog raises it the same way.
    let dir = tempfile::tempdir().unwrap();
    let connectors = copy_edited("connectors", dir.path(), |name, text| {
        if name == "maximo.toml" {
            text.replace("rate_limit_per_sec = 4", "rate_limit_per_sec = 0")
        } else {
            text
        }
    });
    let hub = Hub::start_with(Backend::Postgres, None, Some(connectors)).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let before = hub.estate.maximo.sim.count();

    let sn = &hub.estate.servicenow.sim;
    for i in 0..ITEMS {
        let mut fields = serde_json::Map::new();
        fields.insert(
            "short_description".into(),
            json!(format!("No heating in room {i}")),
        );
        fields.insert("state".into(), json!("1"));
        sn.insert("incident", fields);
    }
    hub.sync("servicenow").await;
    assert_eq!(
        hub.outbox_total().await,
        ITEMS as i64,
        "every ticket routed once"
    );

    // Names of our own, so nothing else on the broker reads our queues.
    let topology = test_topology("restart");
    let stop = CancellationToken::new();
    let url = Secret::new(amqp_url());
    let writer = hub.writers.get("maximo").expect("a Maximo writer").clone();
    let writer_task = tokio::spawn(run_writer(
        url.clone(),
        "maximo".into(),
        Arc::clone(&writer),
        WriterOptions {
            prefetch: 20,
            topology: topology.clone(),
            ..WriterOptions::default()
        },
        stop.clone(),
    ));
    let relay_task = tokio::spawn(run_relay(
        hub.store().clone(),
        url.clone(),
        RelayOptions {
            batch: 100,
            retry_in: Duration::from_millis(500),
            topology: topology.clone(),
            ..RelayOptions::default()
        },
        stop.clone(),
    ));

    // Restart the broker once a part has arrived: the rest is in flight,
    // in the outbox, in the queue, or in the writer's hands.
    let maximo = &hub.estate.maximo.sim;
    wait_for(
        "the first work orders",
        Duration::from_secs(60),
        async || maximo.count() >= before + 50,
    )
    .await;
    rabbitmqctl(&["stop_app"]);
    let during = maximo.count() - before;
    tokio::time::sleep(Duration::from_secs(2)).await;
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    assert!(
        during < ITEMS,
        "the restart came while items were in flight"
    );

    wait_for("every work order", Duration::from_secs(180), async || {
        maximo.count() >= before + ITEMS
    })
    .await;
    wait_for("the outbox to drain", Duration::from_secs(60), async || {
        hub.store().outbox_pending().await.unwrap() == 0
    })
    .await;
    // Let anything redelivered after the restart reach the writer too.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), writer_task).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), relay_task).await;

    let titles: Vec<String> = maximo
        .records()
        .iter()
        .filter_map(|w| w.get("description").and_then(Value::as_str))
        .filter(|d| d.starts_with("No heating in room "))
        .map(str::to_string)
        .collect();
    let distinct: std::collections::BTreeSet<&String> = titles.iter().collect();
    assert_eq!(titles.len(), ITEMS, "one work order per ticket, none twice");
    assert_eq!(distinct.len(), ITEMS);
    assert_eq!(
        scalar(
            hub.store(),
            "SELECT COUNT(*) FROM deliveries WHERE state = 'applied'"
        )
        .await,
        ITEMS as i64
    );
    assert_eq!(
        scalar(
            hub.store(),
            "SELECT COUNT(*) FROM links WHERE to_system = 'maximo'"
        )
        .await,
        ITEMS as i64
    );
    let dead = dlq::list(&amqp_url(), &topology)
        .await
        .expect("DLQ readable");
    assert!(dead.is_empty(), "nothing died: {dead:?}");
    delete_topology(&topology, &["maximo"]).await;
    hub.estate.shutdown().await;
}
