//! What the hub declares on RabbitMQ, and the headers its messages carry.
//!
//! Per target connector `c`: a quorum work queue `{prefix}.work.{c}` bound
//! to the topic exchange with `*.{c}.*`; one quorum delay queue per retry
//! level, `{prefix}.delay.{c}.{ms}`, whose messages expire back into the
//! work queue; and one classic dead-letter queue `{prefix}.dlq` for all of
//! them. Quorum queues dead-letter `at-least-once` (RabbitMQ 3.10 and
//! later), so a message moving between queues cannot be lost on the way.
//! Declaring is idempotent; this module declares, it never deletes.

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, ExchangeKind};

use super::EXCHANGE;
use super::amqp::{AmqpError, setup, short};
pub use super::retry::{default_delays, delay_for};

/// The try a message is on: 1 first, one more per retry.
pub const ATTEMPT_HEADER: &str = "x-switchboard-attempt";
/// The `<department>.<connector>.<action>` key a message was routed by: a
/// delay queue and the DLQ are reached under their own names, so the
/// delivery's routing key no longer says it.
pub const ROUTING_KEY_HEADER: &str = "x-switchboard-routing-key";
/// Why a dead letter failed.
pub const REASON_HEADER: &str = "x-switchboard-reason";
/// The connector whose writer gave up on a dead letter.
pub const CONNECTOR_HEADER: &str = "x-switchboard-connector";
/// How many tries a dead letter had.
pub const ATTEMPTS_HEADER: &str = "x-switchboard-attempts";
/// When a message was dead-lettered, RFC 3339.
pub const FAILED_AT_HEADER: &str = "x-switchboard-failed-at";
/// When a message first failed to apply, RFC 3339: its outage budget is
/// counted from here. Set by the first retry, carried by the rest.
pub const FIRST_FAILED_AT_HEADER: &str = "x-switchboard-first-failed-at";

/// The names the hub uses on one broker. Tests use their own so that they
/// can share a broker with each other and with a running hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The topic exchange routed work is published on.
    pub exchange: String,
    /// Starts every queue name.
    pub prefix: String,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            exchange: EXCHANGE.to_string(),
            prefix: "switchboard".to_string(),
        }
    }
}

impl Topology {
    /// The names of an installation whose `[broker] prefix` is `prefix`:
    /// `switchboard` gives the default ones.
    pub fn for_prefix(prefix: &str) -> Self {
        Self {
            exchange: format!("{prefix}.work"),
            prefix: prefix.to_string(),
        }
    }

    /// The queue one connector's writer consumes.
    pub fn work_queue(&self, connector: &str) -> String {
        format!("{}.work.{connector}", self.prefix)
    }

    /// Routing keys are `<department>.<connector>.<action>`: a connector's
    /// work comes from every department.
    pub fn binding_key(connector: &str) -> String {
        format!("*.{connector}.*")
    }

    /// Where a message waits `delay` before its next try.
    pub fn delay_queue(&self, connector: &str, delay: Duration) -> String {
        format!("{}.delay.{connector}.{}", self.prefix, delay.as_millis())
    }

    /// Where every writer's dead letters go.
    pub fn dlq(&self) -> String {
        format!("{}.dlq", self.prefix)
    }

    /// The durable topic exchange.
    pub async fn declare_exchange(&self, channel: &Channel) -> Result<(), AmqpError> {
        channel
            .exchange_declare(
                short(&self.exchange)?,
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(setup("exchange.declare"))
    }

    /// The dead-letter queue. Classic, not quorum: listing it returns
    /// every message unacknowledged, which a quorum queue would count
    /// against its delivery limit.
    pub async fn declare_dlq(&self, channel: &Channel) -> Result<lapin::Queue, AmqpError> {
        channel
            .queue_declare(
                short(&self.dlq())?,
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .map_err(setup("queue.declare"))
    }

    /// Everything one connector's writer needs: the exchange, the DLQ, the
    /// bound work queue and a delay queue per level.
    pub async fn declare_writer(
        &self,
        channel: &Channel,
        connector: &str,
        delays: &[Duration],
    ) -> Result<(), AmqpError> {
        self.declare_exchange(channel).await?;
        self.declare_dlq(channel).await?;
        let work = self.work_queue(connector);
        // A quorum queue may give up on a message redelivered too often
        // (RabbitMQ 4 does after 20 by default): it goes to the DLQ, not away.
        declare_quorum(channel, &work, quorum_args(&self.dlq())).await?;
        channel
            .queue_bind(
                short(&work)?,
                short(&self.exchange)?,
                short(&Self::binding_key(connector))?,
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(setup("queue.bind"))?;
        for delay in delays {
            let mut args = quorum_args(&work);
            // Nobody consumes a delay queue: a message leaves it by expiring,
            // back into the work queue.
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            );
            declare_quorum(channel, &self.delay_queue(connector, *delay), args).await?;
        }
        Ok(())
    }
}

/// A quorum queue that dead-letters through the default exchange to
/// `dead_letter_queue`, at least once. That strategy needs
/// `reject-publish`; the hub sets no length limit, so nothing is rejected.
fn quorum_args(dead_letter_queue: &str) -> FieldTable {
    let mut args = FieldTable::default();
    let mut text = |k: &str, v: &str| {
        args.insert(k.into(), AMQPValue::LongString(v.into()));
    };
    text("x-queue-type", "quorum");
    text("x-dead-letter-exchange", "");
    text("x-dead-letter-routing-key", dead_letter_queue);
    text("x-dead-letter-strategy", "at-least-once");
    text("x-overflow", "reject-publish");
    args
}

async fn declare_quorum(channel: &Channel, name: &str, args: FieldTable) -> Result<(), AmqpError> {
    channel
        .queue_declare(short(name)?, QueueDeclareOptions::durable(), args)
        .await
        .map_err(setup("queue.declare"))?;
    Ok(())
}

/// A text header, if present.
pub fn header_str(properties: &BasicProperties, name: &str) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// A whole-number header, whatever integer type the publisher chose.
pub fn header_u32(properties: &BasicProperties, name: &str) -> Option<u32> {
    let n: i64 = match properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::ShortShortInt(n) => (*n).into(),
        AMQPValue::ShortShortUInt(n) => (*n).into(),
        AMQPValue::ShortInt(n) => (*n).into(),
        AMQPValue::ShortUInt(n) => (*n).into(),
        AMQPValue::LongInt(n) => (*n).into(),
        AMQPValue::LongUInt(n) => (*n).into(),
        AMQPValue::LongLongInt(n) => *n,
        _ => return None,
    };
    u32::try_from(n).ok()
}

pub(super) fn text(value: impl Into<Vec<u8>>) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

/// The headers a copy carries on: the original's without the broker's
/// `x-death` history (the broker keeps that itself) and without what
/// `drop` names.
pub(super) fn carried_headers(properties: &BasicProperties, drop: &[&str]) -> FieldTable {
    let mut out = FieldTable::default();
    let Some(headers) = properties.headers() else {
        return out;
    };
    for (k, v) in headers {
        let name = k.as_str();
        let broker_history = name == "x-death"
            || name.starts_with("x-first-death-")
            || name.starts_with("x-last-death-");
        if !broker_history && !drop.contains(&name) {
            out.insert(k.clone(), v.clone());
        }
    }
    out
}

/// Properties for a copy of `original`: persistent, same id and metadata.
/// Not its expiration (a dead letter must not expire) nor its user id
/// (the broker refuses one that is not ours).
pub(super) fn copy_properties(original: &BasicProperties, headers: FieldTable) -> BasicProperties {
    let mut p = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(headers);
    if let Some(v) = original.content_type() {
        p = p.with_content_type(v.clone());
    }
    if let Some(v) = original.content_encoding() {
        p = p.with_content_encoding(v.clone());
    }
    if let Some(v) = original.message_id() {
        p = p.with_message_id(v.clone());
    }
    if let Some(v) = original.correlation_id() {
        p = p.with_correlation_id(v.clone());
    }
    if let Some(v) = original.timestamp() {
        p = p.with_timestamp(*v);
    }
    if let Some(v) = original.kind() {
        p = p.with_type(v.clone());
    }
    if let Some(v) = original.app_id() {
        p = p.with_app_id(v.clone());
    }
    if let Some(v) = original.priority() {
        p = p.with_priority(*v);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let t = Topology::default();
        assert_eq!(t.work_queue("topdesk"), "switchboard.work.topdesk");
        assert_eq!(
            t.delay_queue("topdesk", Duration::from_secs(5)),
            "switchboard.delay.topdesk.5000"
        );
        assert_eq!(t.dlq(), "switchboard.dlq");
        assert_eq!(Topology::binding_key("topdesk"), "*.topdesk.*");
    }
}
