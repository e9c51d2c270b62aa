//! The writers' transport against a real RabbitMQ (127.0.0.1:5672, or
//! SWITCHBOARD_TEST_AMQP_URL): manual acks, retries through delay queues,
//! the dead-letter queue and its tools, and nothing lost when a writer dies.
//! Each test declares its own topology and deletes it at the end.

#[path = "writer_amqp/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::transport::{AmqpError, Replay, dlq};

use harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_is_applied_once_and_acked() {
    let broker = Broker::new(&[100]).await;
    let ids: Vec<String> = (0..30).map(|i| format!("ok-{i}")).collect();
    for id in &ids {
        broker.publish_event(id).await;
    }
    let handler = Scripted::new(|_| Act::Apply);
    let writer = broker.start(handler.clone(), PATIENT);
    wait_until("all 30 applied", || handler.seen().len() >= 30).await;
    writer.stop().await;

    let mut counts = BTreeMap::new();
    for s in handler.seen() {
        assert_eq!(s.attempt, 1);
        assert_eq!(s.routing_key, "it.target.create");
        *counts.entry(s.id).or_insert(0) += 1;
    }
    assert_eq!(counts.len(), 30);
    assert!(counts.values().all(|n| *n == 1), "each once: {counts:?}");
    assert_eq!(broker.ready(&broker.work()).await, 0, "all acked");
    assert_eq!(broker.ready(&broker.topology.dlq()).await, 0);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_wait_in_the_delay_queues_then_apply_once() {
    let broker = Broker::new(&[150, 300]).await;
    broker.publish_event("flaky").await;
    let handler = Scripted::new(|m| match m.attempt {
        1 | 2 => Act::Retry,
        _ => Act::Apply,
    });
    let writer = broker.start(handler.clone(), PATIENT);
    wait_until("the third attempt", || handler.seen().len() >= 3).await;
    writer.stop().await;

    let seen = handler.seen();
    let attempts: Vec<u32> = seen.iter().map(|s| s.attempt).collect();
    assert_eq!(attempts, [1, 2, 3], "applied once, on the third try");
    assert!(seen.iter().all(|s| s.id == "flaky"));
    // The original routing key survives the trip through the delay queue.
    assert!(seen.iter().all(|s| s.routing_key == "it.target.create"));
    // A message only waits this long by expiring out of a delay queue.
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(150));
    assert!(seen[2].at - seen[1].at >= Duration::from_millis(300));
    assert_eq!(broker.ready(&broker.work()).await, 0);
    for d in &broker.delays {
        let queue = broker.topology.delay_queue(CONNECTOR, *d);
        assert_eq!(broker.ready(&queue).await, 0, "{queue}");
    }
    assert_eq!(broker.ready(&broker.topology.dlq()).await, 0);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_without_consuming_and_replayed_once() {
    let broker = Broker::new(&[100]).await;
    let accept = Arc::new(AtomicBool::new(false));
    let handler = {
        let accept = accept.clone();
        Scripted::new(move |_| match accept.load(Ordering::SeqCst) {
            true => Act::Apply,
            false => Act::Dead,
        })
    };
    let writer = broker.start(handler.clone(), PATIENT);
    broker.publish_event("dead-1").await;
    broker.publish_event("dead-2").await;
    broker.wait_ready(&broker.topology.dlq(), 2).await;

    let listed = broker.list().await;
    assert_eq!(listed.len(), 2);
    let first = &listed[0];
    assert_eq!(first.message_id, "dead-1", "oldest first");
    assert_eq!(first.reason, "target refused the data");
    assert_eq!(first.connector, CONNECTOR);
    assert_eq!(first.routing_key, "it.target.create");
    assert_eq!(first.attempts, 1);
    assert_eq!(first.payload["id"], json!("dead-1"));
    let failed_at = first.failed_at.expect("failure time recorded");
    assert!((chrono::Utc::now() - failed_at).num_seconds().abs() < 60);
    assert_eq!(broker.list().await, listed, "listing consumes nothing");
    assert_eq!(broker.ready(&broker.topology.dlq()).await, 2);

    accept.store(true, Ordering::SeqCst);
    let report = dlq::replay(&amqp_url(), &broker.topology, Replay::Id("dead-1".into()))
        .await
        .unwrap();
    assert_eq!(report.replayed, ["dead-1"]);
    assert_eq!(report.remaining, 1);
    wait_until("dead-1 replayed", || handler.times("dead-1") == 2).await;
    let replayed = handler.seen().into_iter().rfind(|s| s.id == "dead-1");
    assert_eq!(replayed.map(|s| s.attempt), Some(1), "attempts start over");
    let left = broker.list().await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message_id, "dead-2", "the other one stays");

    let unknown = dlq::replay(&amqp_url(), &broker.topology, Replay::Id("nope".into())).await;
    match unknown {
        Err(e @ AmqpError::UnknownDeadLetter { count: 1, .. }) => {
            assert!(e.to_string().contains("nope"), "{e}");
        }
        other => panic!("expected an unknown dead letter, got {other:?}"),
    }

    let all = dlq::replay(&amqp_url(), &broker.topology, Replay::All)
        .await
        .unwrap();
    assert_eq!(all.replayed, ["dead-2"]);
    wait_until("dead-2 replayed", || handler.times("dead-2") == 2).await;
    writer.stop().await;
    assert_eq!(handler.times("dead-1"), 2, "replayed once");
    assert!(broker.list().await.is_empty());
    assert_eq!(broker.ready(&broker.work()).await, 0);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_down_for_a_while_is_waited_out_then_applied_once() {
    let broker = Broker::new(&[50, 100]).await;
    broker.publish_event("patient").await;
    let up = Arc::new(AtomicBool::new(false));
    let handler = {
        let up = up.clone();
        Scripted::new(move |_| match up.load(Ordering::SeqCst) {
            true => Act::Apply,
            false => Act::Retry,
        })
    };
    let writer = broker.start(handler.clone(), PATIENT);
    // Far more tries than the five that once made it a dead letter.
    wait_until("eight failed tries", || handler.seen().len() >= 8).await;
    up.store(true, Ordering::SeqCst);
    let tries = handler.seen().len();
    wait_until("applied after the outage", || handler.seen().len() > tries).await;
    writer.stop().await;

    let seen = handler.seen();
    assert!(seen.iter().all(|s| s.id == "patient"));
    let attempts: Vec<u32> = seen.iter().map(|s| s.attempt).collect();
    assert_eq!(attempts, (1..=seen.len() as u32).collect::<Vec<_>>());
    // The waits grow to the last delay and stay there.
    assert!(seen[2].at - seen[1].at >= Duration::from_millis(100));
    assert_eq!(broker.ready(&broker.work()).await, 0);
    assert_eq!(
        broker.ready(&broker.topology.dlq()).await,
        0,
        "no dead letter"
    );
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_down_past_the_outage_budget_is_a_dead_letter_that_says_so() {
    let broker = Broker::new(&[50, 100]).await;
    broker.publish_event("hopeless").await;
    let handler = Scripted::new(|_| Act::Retry);
    let budget = Duration::from_millis(600);
    let writer = broker.start(handler.clone(), budget);
    broker.wait_ready(&broker.topology.dlq(), 1).await;
    writer.stop().await;

    let seen = handler.seen();
    let attempts: Vec<u32> = seen.iter().map(|s| s.attempt).collect();
    assert_eq!(attempts, (1..=seen.len() as u32).collect::<Vec<_>>());
    let (first, last) = (&seen[0], &seen[seen.len() - 1]);
    assert!(
        last.at - first.at >= budget,
        "retried until the budget was spent: {:?}",
        last.at - first.at
    );
    // Not much longer: the try after the budget ran out was the last.
    assert!(last.at - first.at < budget + Duration::from_millis(400));
    let listed = broker.list().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].attempts as usize, seen.len());
    let reason = &listed[0].reason;
    assert!(
        reason.contains("did not answer for")
            && reason.contains("outage budget 600 ms")
            && reason.contains("target down"),
        "{reason}"
    );
    assert_eq!(listed[0].routing_key, "it.target.create");
    assert_eq!(broker.ready(&broker.work()).await, 0);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_json_goes_to_the_dlq() {
    let broker = Broker::new(&[100]).await;
    broker.publish("garbled", b"not json {").await;
    let handler = Scripted::new(|_| Act::Apply);
    let writer = broker.start(handler.clone(), PATIENT);
    broker.wait_ready(&broker.topology.dlq(), 1).await;
    writer.stop().await;

    assert!(handler.seen().is_empty(), "the handler never sees it");
    let listed = broker.list().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].message_id, "garbled");
    assert!(
        listed[0].reason.contains("not JSON"),
        "{}",
        listed[0].reason
    );
    assert_eq!(listed[0].payload, Value::String("not json {".into()));
    assert_eq!(broker.ready(&broker.work()).await, 0);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_in_hand_when_the_writer_dies_is_redelivered() {
    let broker = Broker::new(&[100]).await;
    broker.publish_event("in-hand").await;
    let hanging = Scripted::new(|_| Act::Hang);
    let first = broker.start(hanging.clone(), PATIENT);
    wait_until("the first writer holds it", || {
        hanging.times("in-hand") == 1
    })
    .await;
    // A crash: the task and its connection vanish without an ack.
    first.task.abort();
    let _ = first.task.await;

    let handler = Scripted::new(|_| Act::Apply);
    let second = broker.start(handler.clone(), PATIENT);
    wait_until("redelivered", || handler.times("in-hand") == 1).await;
    second.stop().await;
    assert_eq!(broker.ready(&broker.work()).await, 0);
    assert_eq!(broker.ready(&broker.topology.dlq()).await, 0);
    broker.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_finishes_the_message_in_hand_and_returns_the_rest() {
    let broker = Broker::new(&[100]).await;
    for id in ["slow-1", "slow-2", "slow-3"] {
        broker.publish_event(id).await;
    }
    let handler = Scripted::new(|_| Act::Slow(Duration::from_millis(500)));
    let writer = broker.start(handler.clone(), PATIENT);
    wait_until("the first is in hand", || !handler.seen().is_empty()).await;
    writer.stop().await;

    assert_eq!(handler.seen().len(), 1, "no new message after stop");
    // The one in hand was acked; the prefetched ones went back.
    broker.wait_ready(&broker.work(), 2).await;
    broker.delete().await;
}
