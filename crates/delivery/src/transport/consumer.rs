//! A connector's writer on RabbitMQ: consume its work queue and hand each
//! message to the [`WorkHandler`], one at a time.
//!
//! A message is acknowledged only after its outcome is safe on the broker:
//! applied, or a copy confirmed in a delay queue (to be tried again) or in
//! the DLQ (with the reason). If that copy is not confirmed the original is
//! not acknowledged, so it comes back: a message can be handled twice (the
//! handler deduplicates on the event id) but never lost. This module does
//! not decide what a failure means; the handler does, with [`Failure`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, Consumer};
use tokio_util::sync::CancellationToken;

use super::amqp::{AmqpError, open_confirmed, publish_one, setup, short};
use super::retry::{self, Next, default_delays};
use super::topology::{
    ATTEMPT_HEADER, ATTEMPTS_HEADER, CONNECTOR_HEADER, FAILED_AT_HEADER, FIRST_FAILED_AT_HEADER,
    REASON_HEADER, ROUTING_KEY_HEADER, Topology, carried_headers, copy_properties, header_str,
    header_u32, text,
};
use super::{Failure, Inbound, WorkHandler, sleep_or_stop};
use crate::connector::Secret;

/// The last error a retried message met, for whoever reads the queues.
const LAST_ERROR_HEADER: &str = "x-switchboard-last-error";
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// How a writer consumes.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Messages the broker sends ahead of the one being handled, so the
    /// next is ready; see [`prefetch_for`]. 0 counts as 1 (AMQP reads 0 as
    /// "unlimited").
    pub prefetch: u16,
    /// How long a message that keeps failing with `Retry` (the target
    /// does not answer) is retried, from its first failure, before it is a
    /// dead letter.
    pub outage_budget: Duration,
    /// The wait before try n+1 is `delays[n-1]`, the last one repeating;
    /// one delay queue each. Empty means [`default_delays`].
    pub delays: Vec<Duration>,
    /// The names on the broker.
    pub topology: Topology,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            prefetch: 10,
            outage_budget: retry::DEFAULT_OUTAGE_BUDGET,
            delays: default_delays(),
            topology: Topology::default(),
        }
    }
}

/// About one second of the target's rate limit: enough to keep the writer
/// busy, few enough that a stopped writer hands little back. 10 when the
/// rate is unknown.
pub fn prefetch_for(rate_per_sec: Option<f64>) -> u16 {
    match rate_per_sec {
        Some(rate) if rate.is_finite() && rate > 0.0 => rate.ceil().clamp(1.0, 50.0) as u16,
        _ => 10,
    }
}

/// Consume `connector`'s work queue until `stop`, declaring the topology
/// first. After a lost broker it reconnects with a doubling pause (up to
/// 30 s). On `stop` it finishes the message in hand and starts no other;
/// the ones prefetched go back to the queue.
pub async fn run_writer(
    url: Secret,
    connector: String,
    handler: Arc<dyn WorkHandler>,
    mut options: WriterOptions,
    stop: CancellationToken,
) {
    if options.delays.is_empty() {
        options.delays = default_delays();
    }
    options.prefetch = options.prefetch.max(1);
    let mut pause = FIRST_PAUSE;
    while !stop.is_cancelled() {
        let session = match Session::open(&url, &connector, &options).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(
                    connector = %connector, error = %e, retry_in_ms = pause.as_millis() as u64,
                    "writer cannot reach the broker"
                );
                if sleep_or_stop(pause, &stop).await {
                    return;
                }
                pause = (pause * 2).min(MAX_PAUSE);
                continue;
            }
        };
        let queue = options.topology.work_queue(&connector);
        tracing::info!(connector = %connector, queue = %queue, "writer consuming");
        let worker = Worker {
            channel: &session.channel,
            connector: &connector,
            handler: handler.as_ref(),
            options: &options,
        };
        let served = worker.serve(session.consumer.clone(), &stop, &mut pause);
        match served.await {
            Ok(()) => {
                session.close().await;
                tracing::info!(connector = %connector, "writer stopped");
                return;
            }
            Err(e) => {
                tracing::warn!(
                    connector = %connector, error = %e, retry_in_ms = pause.as_millis() as u64,
                    "writer lost the broker; reconnecting"
                );
                // Unacknowledged messages go back to the queue with the connection.
                drop(session);
                if sleep_or_stop(pause, &stop).await {
                    return;
                }
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}

/// Declare every writer's queues (work, delay, dead-letter) before anything
/// is published, so work routed before its writer consumed is kept in its
/// queue rather than returned as unroutable: `run --once` publishes first
/// and starts its writers beside.
pub async fn declare_writers(
    url: &Secret,
    connectors: &[String],
    options: &WriterOptions,
) -> Result<(), AmqpError> {
    let (connection, channel) = open_confirmed(url.expose()).await?;
    let delays = match options.delays.is_empty() {
        true => default_delays(),
        false => options.delays.clone(),
    };
    for connector in connectors {
        options
            .topology
            .declare_writer(&channel, connector, &delays)
            .await?;
    }
    let _ = channel.close(200, "declared".into()).await;
    let _ = connection.close(200, "declared".into()).await;
    Ok(())
}

/// One connection consuming one work queue.
struct Session {
    connection: Connection,
    channel: Channel,
    consumer: Consumer,
}

impl Session {
    async fn open(
        url: &Secret,
        connector: &str,
        options: &WriterOptions,
    ) -> Result<Self, AmqpError> {
        let (connection, channel) = open_confirmed(url.expose()).await?;
        let topology = &options.topology;
        topology
            .declare_writer(&channel, connector, &options.delays)
            .await?;
        channel
            .basic_qos(options.prefetch, BasicQosOptions::default())
            .await
            .map_err(setup("basic.qos"))?;
        let consumer = channel
            .basic_consume(
                short(&topology.work_queue(connector))?,
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(setup("basic.consume"))?;
        Ok(Self {
            connection,
            channel,
            consumer,
        })
    }

    /// Close politely so prefetched messages are requeued at once.
    async fn close(self) {
        let _ = self.channel.close(200, "writer stopping".into()).await;
        let _ = self.connection.close(200, "writer stopping".into()).await;
    }
}

/// What a writer needs while handling one message.
struct Worker<'a> {
    channel: &'a Channel,
    connector: &'a str,
    handler: &'a dyn WorkHandler,
    options: &'a WriterOptions,
}

/// What a delivery says about itself before the handler sees it.
struct Envelope {
    event_id: Option<String>,
    routing_key: String,
    attempt: u32,
    /// When it first failed, if it has.
    first_failed_at: Option<DateTime<Utc>>,
}

impl Worker<'_> {
    /// Handle deliveries until `stop` (`Ok`) or a broker error (`Err`).
    async fn serve(
        &self,
        mut consumer: Consumer,
        stop: &CancellationToken,
        pause: &mut Duration,
    ) -> Result<(), AmqpError> {
        loop {
            let next = tokio::select! {
                biased;
                _ = stop.cancelled() => return Ok(()),
                next = consumer.next() => next,
            };
            let delivery = match next {
                Some(Ok(d)) => d,
                Some(Err(e)) => {
                    return Err(AmqpError::Setup {
                        what: "basic.deliver",
                        source: e,
                    });
                }
                // The broker cancelled us, e.g. the queue was deleted.
                None => return Err(AmqpError::Lost),
            };
            // Not raced against `stop`: the message in hand is finished.
            self.process(delivery).await?;
            *pause = FIRST_PAUSE;
        }
    }

    async fn process(&self, delivery: Delivery) -> Result<(), AmqpError> {
        let properties = &delivery.properties;
        let envelope = Envelope {
            event_id: properties.message_id().as_ref().map(|id| id.to_string()),
            routing_key: header_str(properties, ROUTING_KEY_HEADER)
                .unwrap_or_else(|| delivery.routing_key.to_string()),
            attempt: header_u32(properties, ATTEMPT_HEADER).unwrap_or(1).max(1),
            first_failed_at: header_str(properties, FIRST_FAILED_AT_HEADER)
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
        };
        let payload: serde_json::Value = match serde_json::from_slice(&delivery.data) {
            Ok(v) => v,
            Err(e) => {
                let reason = format!("the body is not JSON: {e}");
                return self.bury(&delivery, &envelope, &reason).await;
            }
        };
        let fallback_id = payload.get("id").and_then(|v| v.as_str()).map(String::from);
        let Some(event_id) = envelope.event_id.clone().or(fallback_id) else {
            let reason = "no message id, and the body has no `id`";
            return self.bury(&delivery, &envelope, reason).await;
        };
        let envelope = Envelope {
            event_id: Some(event_id.clone()),
            ..envelope
        };
        let inbound = Inbound {
            event_id,
            routing_key: envelope.routing_key.clone(),
            payload,
            attempt: envelope.attempt,
        };
        match self.handler.handle(&inbound).await {
            Ok(()) => ack(&delivery).await,
            Err(Failure::Retry(reason)) => {
                let now = Utc::now();
                let first_failed_at = envelope.first_failed_at.unwrap_or(now);
                let next = retry::after_failure(
                    &self.options.delays,
                    self.options.outage_budget,
                    envelope.attempt,
                    first_failed_at,
                    now,
                    &reason,
                );
                match next {
                    Next::RetryIn(delay) => {
                        self.retry(&delivery, &envelope, first_failed_at, delay, &reason)
                            .await
                    }
                    Next::GiveUp(reason) => self.bury(&delivery, &envelope, &reason).await,
                }
            }
            Err(Failure::Dead(reason)) => self.bury(&delivery, &envelope, &reason).await,
        }
    }

    /// Park a copy in the delay queue for `delay`; it expires back into
    /// the work queue as the next attempt, carrying when it first failed.
    async fn retry(
        &self,
        d: &Delivery,
        e: &Envelope,
        first_failed_at: DateTime<Utc>,
        delay: Duration,
        reason: &str,
    ) -> Result<(), AmqpError> {
        // Only the declared levels have a queue: a delay that is not one
        // (no levels configured) waits in the first.
        let delay = if self.options.delays.contains(&delay) {
            delay
        } else {
            self.options.delays.first().copied().unwrap_or(FIRST_PAUSE)
        };
        let queue = self.options.topology.delay_queue(self.connector, delay);
        let mut headers = carried_headers(&d.properties, &[]);
        headers.insert(ATTEMPT_HEADER.into(), attempts(e.attempt + 1));
        headers.insert(ROUTING_KEY_HEADER.into(), text(e.routing_key.as_str()));
        headers.insert(LAST_ERROR_HEADER.into(), text(reason));
        headers.insert(
            FIRST_FAILED_AT_HEADER.into(),
            text(first_failed_at.to_rfc3339()),
        );
        self.copy_then_ack(d, e, &queue, headers).await?;
        tracing::info!(
            connector = %self.connector, event_id = %e.event_id.as_deref().unwrap_or("?"),
            attempt = e.attempt, delay_ms = delay.as_millis() as u64, reason = %reason,
            "work waits for a retry"
        );
        Ok(())
    }

    /// Move the message to the DLQ with why, where from and when.
    async fn bury(&self, d: &Delivery, e: &Envelope, reason: &str) -> Result<(), AmqpError> {
        let mut headers = carried_headers(&d.properties, &[LAST_ERROR_HEADER]);
        headers.insert(REASON_HEADER.into(), text(reason));
        headers.insert(CONNECTOR_HEADER.into(), text(self.connector));
        headers.insert(ATTEMPTS_HEADER.into(), attempts(e.attempt));
        headers.insert(ATTEMPT_HEADER.into(), attempts(e.attempt));
        headers.insert(ROUTING_KEY_HEADER.into(), text(e.routing_key.as_str()));
        headers.insert(
            FAILED_AT_HEADER.into(),
            text(chrono::Utc::now().to_rfc3339()),
        );
        self.copy_then_ack(d, e, &self.options.topology.dlq(), headers)
            .await?;
        tracing::warn!(
            connector = %self.connector, event_id = %e.event_id.as_deref().unwrap_or("?"),
            attempts = e.attempt, reason = %reason, "work dead-lettered"
        );
        Ok(())
    }

    /// Publish a copy to `queue` (default exchange), and acknowledge the
    /// original only once the broker confirmed the copy.
    async fn copy_then_ack(
        &self,
        d: &Delivery,
        e: &Envelope,
        queue: &str,
        headers: FieldTable,
    ) -> Result<(), AmqpError> {
        let properties = copy_properties(&d.properties, headers);
        let event_id = e.event_id.as_deref().unwrap_or("?");
        let copied = publish_one(self.channel, "", queue, &d.data, properties, event_id).await;
        if let Err(err) = copied {
            // Back to the queue for another try; the caller reconnects after
            // a pause, so a broker that keeps refusing is not hammered.
            let _ = d
                .nack(BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                })
                .await;
            return Err(err);
        }
        ack(d).await
    }
}

fn attempts(n: u32) -> AMQPValue {
    AMQPValue::LongLongInt(n.into())
}

async fn ack(d: &Delivery) -> Result<(), AmqpError> {
    match d.ack(BasicAckOptions::default()).await {
        Ok(true) => Ok(()),
        // The channel is gone: the broker requeues the message itself.
        Ok(false) => Err(AmqpError::Lost),
        Err(e) => Err(AmqpError::Setup {
            what: "basic.ack",
            source: e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetch_is_about_a_second_of_the_rate() {
        assert_eq!(prefetch_for(None), 10);
        assert_eq!(prefetch_for(Some(0.2)), 1);
        assert_eq!(prefetch_for(Some(4.5)), 5);
        assert_eq!(prefetch_for(Some(1000.0)), 50);
        assert_eq!(prefetch_for(Some(0.0)), 10);
        assert_eq!(prefetch_for(Some(f64::NAN)), 10);
    }
}
