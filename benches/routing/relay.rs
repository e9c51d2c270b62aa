//! Outbox -> RabbitMQ: `run_relay` beside a bare lapin publisher, in the
//! same run (see the top of `routing.rs`).

use std::time::{Duration, Instant};

use lapin::options::{ExchangeDeleteOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use switchboard::config::Secret;
use switchboard::store::OutboxMessage;
use switchboard::transport::{RelayOptions, Topology, run_relay};
use tokio_util::sync::CancellationToken;

use super::cpu::Cpu;
use super::{BenchStore, STORES, routed};

pub async fn relay_bench(amqp: &str, n: usize, batches: &[usize], windows: &[usize]) {
    // Our own exchanges and queues, so nothing here reaches a test's or a
    // running hub's consumers. Each work queue is a writer's (quorum, bound
    // to `*.maximo.*`): its confirms, after a Raft write, are what a hub
    // waits for. The peer gets an identical one of its own.
    let pid = std::process::id();
    let ours = Topology {
        exchange: format!("bench{pid}.work"),
        prefix: format!("bench{pid}"),
    };
    let peer = Topology {
        exchange: format!("bench{pid}peer.work"),
        prefix: format!("bench{pid}peer"),
    };
    let conn = lapin::Connection::connect(amqp, Default::default())
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ is not reachable at {amqp}: {e}"));
    let channel = conn.create_channel().await.expect("channel");
    for t in [&ours, &peer] {
        let declared = t.declare_writer(&channel, "maximo", &[]).await;
        declared.expect("declare the bench topology");
    }

    let messages: Vec<OutboxMessage> = (0..n).map(routed).collect();
    let bytes: usize = messages.iter().map(|m| m.payload.to_string().len()).sum();
    let broker = amqp.rsplit('@').next().unwrap_or_default();
    let size = bytes / n.max(1);
    println!("\noutbox -> RabbitMQ at {broker}: {n} messages of {size} bytes on average\n");
    println!(
        "| store | batch | window | messages | seconds | messages/s | CPU s: relay / broker / database | peer: lapin, window 256 (messages/s) | peer CPU s: peer / broker / database |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for name in STORES {
        for &batch in batches {
            for &window in windows {
                // The peer first, then ours, on a broker in the same state.
                let (peer_rate, peer_cpu) = peer_run(amqp, &channel, &peer, &messages).await;
                let bs = BenchStore::new(name, &format!("relay{batch}w{window}")).await;
                // Enqueued a page at a time, as a sync would; not timed.
                for chunk in messages.chunks(1_000) {
                    bs.store.enqueue(chunk).await.expect("enqueue");
                }
                let options = RelayOptions {
                    batch: batch as i64,
                    window,
                    topology: ours.clone(),
                    ..RelayOptions::default()
                };
                let stop = CancellationToken::new();
                let cpu = Cpu::now();
                let started = Instant::now();
                let url = Secret::new(amqp.to_string());
                let relay = tokio::spawn(run_relay(bs.store.clone(), url, options, stop.clone()));
                // Done when the queue holds all N (asked of the broker, which
                // costs the store nothing) and every row is marked sent.
                let queue = ours.work_queue("maximo");
                while held(&channel, &queue).await < n {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                while bs.store.outbox_pending().await.expect("pending") > 0 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let secs = started.elapsed().as_secs_f64();
                let cpu = Cpu::now().since(&cpu);
                stop.cancel();
                relay.await.expect("relay stops");
                // A fast relay that published twice would be a lie.
                assert_eq!(held(&channel, &queue).await, n, "{name}: messages queued");
                let purged = channel.queue_purge(queue.as_str().into(), Default::default());
                purged.await.expect("purge");
                println!(
                    "| {name} | {batch} | {window} | {n} | {secs:.2} | {:.0} | {cpu} | {peer_rate:.0} | {peer_cpu} |",
                    n as f64 / secs
                );
                bs.done().await;
            }
        }
    }
    for t in [&ours, &peer] {
        for q in [t.work_queue("maximo"), t.dlq()] {
            let deleted = channel.queue_delete(q.as_str().into(), Default::default());
            deleted.await.expect("delete queue");
        }
        let options = ExchangeDeleteOptions::default();
        let deleted = channel.exchange_delete(t.exchange.as_str().into(), options);
        deleted.await.expect("delete exchange");
    }
    let _ = conn.close(200, "bench done".into()).await;
}

/// How many messages `queue` holds.
async fn held(channel: &lapin::Channel, queue: &str) -> usize {
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let q = channel.queue_declare(queue.into(), passive, FieldTable::default());
    q.await.expect("queue exists").message_count() as usize
}

/// The peer: a bare lapin client on a connection of its own publishing
/// `messages` (the same bodies and properties, mandatory, persistent) with
/// at most 256 unconfirmed, into `topology`'s work queue. Messages a second
/// until the last confirm, and where the CPU went; the queue is emptied
/// after.
async fn peer_run(
    amqp: &str,
    admin: &lapin::Channel,
    topology: &Topology,
    messages: &[OutboxMessage],
) -> (f64, String) {
    const WINDOW: usize = 256;
    let conn = lapin::Connection::connect(amqp, Default::default())
        .await
        .expect("peer connects");
    let channel = conn.create_channel().await.expect("channel");
    channel
        .confirm_select(Default::default())
        .await
        .expect("confirm mode");
    let cpu = Cpu::now();
    let started = Instant::now();
    let mut pending = std::collections::VecDeque::with_capacity(WINDOW);
    let options = lapin::options::BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    for m in messages {
        if pending.len() == WINDOW {
            let confirm: lapin::PublisherConfirm = pending.pop_front().expect("one pending");
            assert!(confirm.await.expect("confirm").is_ack(), "peer nacked");
        }
        let properties = lapin::BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/cloudevents+json".into())
            .with_message_id(m.event_id.as_str().into());
        let body = m.payload.to_string();
        let sent = channel.basic_publish(
            topology.exchange.as_str().into(),
            m.routing_key.as_str().into(),
            options,
            body.as_bytes(),
            properties,
        );
        pending.push_back(sent.await.expect("peer publishes"));
    }
    for confirm in pending {
        assert!(confirm.await.expect("confirm").is_ack(), "peer nacked");
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = Cpu::now().since(&cpu);
    let queue = topology.work_queue("maximo");
    assert_eq!(
        held(admin, &queue).await,
        messages.len(),
        "peer: messages queued"
    );
    let purged = admin.queue_purge(queue.as_str().into(), Default::default());
    purged.await.expect("purge");
    let _ = conn.close(200, "peer done".into()).await;
    (messages.len() as f64 / secs, cpu)
}
