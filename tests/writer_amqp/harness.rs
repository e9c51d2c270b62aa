//! The harness of `writer_amqp.rs`: a scripted `WorkHandler` that records
//! what it is handed, one test's own topology on the broker (deleted when
//! it goes), a running writer, and waiting for a condition.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use serde_json::json;
use switchboard::config::Secret;
use switchboard::transport::{
    Failure, Inbound, Topology, WorkHandler, WriterOptions, dlq, run_writer,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) const CONNECTOR: &str = "target";
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);
/// An outage budget no test here spends.
pub(crate) const PATIENT: Duration = Duration::from_secs(3600);

pub(crate) fn amqp_url() -> String {
    std::env::var("SWITCHBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// What the scripted handler does with one message.
pub(crate) enum Act {
    Apply,
    Retry,
    Dead,
    /// Never finishes: the writer dies with the message in hand.
    Hang,
    /// Finishes, slowly.
    Slow(Duration),
}

#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) id: String,
    pub(crate) attempt: u32,
    pub(crate) routing_key: String,
    pub(crate) at: Instant,
}

/// Records every message it is handed, then acts as scripted.
pub(crate) struct Scripted {
    pub(crate) seen: Mutex<Vec<Seen>>,
    pub(crate) script: Box<dyn Fn(&Inbound) -> Act + Send + Sync>,
}

impl Scripted {
    pub(crate) fn new(script: impl Fn(&Inbound) -> Act + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            script: Box::new(script),
        })
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub(crate) fn times(&self, id: &str) -> usize {
        self.seen().iter().filter(|s| s.id == id).count()
    }
}

#[async_trait::async_trait]
impl WorkHandler for Scripted {
    async fn handle(&self, m: &Inbound) -> Result<(), Failure> {
        self.seen.lock().unwrap().push(Seen {
            id: m.event_id.clone(),
            attempt: m.attempt,
            routing_key: m.routing_key.clone(),
            at: Instant::now(),
        });
        match (self.script)(m) {
            Act::Apply => Ok(()),
            Act::Retry => Err(Failure::Retry("target down".into())),
            Act::Dead => Err(Failure::Dead("target refused the data".into())),
            Act::Hang => std::future::pending().await,
            Act::Slow(d) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }
}

/// One test's own corner of the broker.
pub(crate) struct Broker {
    pub(crate) _connection: Connection,
    pub(crate) channel: Channel,
    pub(crate) topology: Topology,
    pub(crate) delays: Vec<Duration>,
    pub(crate) deleted: bool,
}

impl Broker {
    pub(crate) async fn new(delays: &[u64]) -> Self {
        let prefix = format!("test-{}-{}", std::process::id(), uuid::Uuid::new_v4());
        let topology = Topology {
            exchange: format!("{prefix}.exchange"),
            prefix,
        };
        let connection = Connection::connect(&amqp_url(), ConnectionProperties::default())
            .await
            .expect("RabbitMQ answers (rabbitmq-server -detached starts it)");
        let channel = connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        let delays: Vec<_> = delays.iter().map(|ms| Duration::from_millis(*ms)).collect();
        // Declared before anything is published, as the hub does at start.
        topology
            .declare_writer(&channel, CONNECTOR, &delays)
            .await
            .unwrap();
        Self {
            _connection: connection,
            channel,
            topology,
            delays,
            deleted: false,
        }
    }

    pub(crate) fn options(&self, outage_budget: Duration) -> WriterOptions {
        WriterOptions {
            prefetch: 5,
            outage_budget,
            delays: self.delays.clone(),
            topology: self.topology.clone(),
        }
    }

    pub(crate) fn start(&self, handler: Arc<Scripted>, outage_budget: Duration) -> Writer {
        let stop = CancellationToken::new();
        let task = tokio::spawn(run_writer(
            Secret::new(amqp_url()),
            CONNECTOR.to_string(),
            handler,
            self.options(outage_budget),
            stop.clone(),
        ));
        Writer { stop, task }
    }

    /// Publish as the relay does: persistent, id as message id, confirmed.
    pub(crate) async fn publish(&self, id: &str, body: &[u8]) {
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_message_id(id.into());
        let confirm = self
            .channel
            .basic_publish(
                self.topology.exchange.as_str().into(),
                format!("it.{CONNECTOR}.create").into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(confirm, Confirmation::Ack(None), "routed to the work queue");
    }

    pub(crate) async fn publish_event(&self, id: &str) {
        let event = json!({"specversion": "1.0", "id": id, "data": {"n": 1}});
        self.publish(id, event.to_string().as_bytes()).await;
    }

    /// Messages ready in a queue (not those a consumer holds).
    pub(crate) async fn ready(&self, queue: &str) -> u32 {
        self.channel
            .queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap()
            .message_count()
    }

    pub(crate) async fn wait_ready(&self, queue: &str, n: u32) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let got = self.ready(queue).await;
            if got == n {
                return;
            }
            assert!(Instant::now() < deadline, "{queue} holds {got}, not {n}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub(crate) fn work(&self) -> String {
        self.topology.work_queue(CONNECTOR)
    }

    pub(crate) async fn list(&self) -> Vec<dlq::DeadLetter> {
        dlq::list(&amqp_url(), &self.topology).await.unwrap()
    }

    pub(crate) fn declared(&self) -> Vec<String> {
        let mut queues = vec![self.work(), self.topology.dlq()];
        for d in &self.delays {
            queues.push(self.topology.delay_queue(CONNECTOR, *d));
        }
        queues
    }

    pub(crate) async fn delete(mut self) {
        teardown(&self.channel, &self.topology, &self.declared())
            .await
            .unwrap();
        self.deleted = true;
    }
}

impl Drop for Broker {
    /// A test that failed before `delete` still leaves the shared broker
    /// clean, on a runtime of its own since `drop` cannot await.
    fn drop(&mut self) {
        if self.deleted {
            return;
        }
        let (topology, queues) = (self.topology.clone(), self.declared());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let connection =
                    Connection::connect(&amqp_url(), ConnectionProperties::default()).await?;
                let channel = connection.create_channel().await?;
                teardown(&channel, &topology, &queues).await
            })
        })
        .join();
    }
}

pub(crate) async fn teardown(
    channel: &Channel,
    topology: &Topology,
    queues: &[String],
) -> lapin::Result<()> {
    for q in queues {
        channel
            .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    channel
        .exchange_delete(
            topology.exchange.as_str().into(),
            ExchangeDeleteOptions::default(),
        )
        .await
}

pub(crate) struct Writer {
    pub(crate) stop: CancellationToken,
    pub(crate) task: JoinHandle<()>,
}

impl Writer {
    pub(crate) async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the writer stops promptly")
            .unwrap();
    }
}

pub(crate) async fn wait_until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
