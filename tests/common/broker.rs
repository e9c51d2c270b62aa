//! The real RabbitMQ the broker tests share (127.0.0.1:5672, or
//! `SWITCHBOARD_TEST_AMQP_URL`), and cleaning up what a test declared.

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use switchboard::transport::Topology;

pub fn amqp_url() -> String {
    std::env::var("SWITCHBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// A test's own names, so tests on the shared broker never read each
/// other's queues.
pub fn test_topology(name: &str) -> Topology {
    let run = format!("sbtest{}{name}", std::process::id());
    Topology {
        exchange: format!("{run}.work"),
        prefix: run,
    }
}

/// Delete the exchange, the DLQ and `targets`' work and delay queues.
pub async fn delete_topology(t: &Topology, targets: &[&str]) {
    let delays = switchboard::transport::topology::default_delays();
    delete_topology_with(t, targets, &delays).await;
}

/// [`delete_topology`] for writers that used their own `delays`.
pub async fn delete_topology_with(t: &Topology, targets: &[&str], delays: &[std::time::Duration]) {
    let Ok(conn) =
        lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await
    else {
        return;
    };
    let Ok(ch) = conn.create_channel().await else {
        return;
    };
    let mut queues = vec![t.dlq()];
    for c in targets {
        queues.push(t.work_queue(c));
        queues.extend(delays.iter().map(|d| t.delay_queue(c, *d)));
    }
    for q in queues {
        let _ = ch
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = ch
        .exchange_delete(t.exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await;
}
