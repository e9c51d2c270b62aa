//! RabbitMQ through lapin: connecting, and publishing with publisher
//! confirms. The names and arguments the hub declares live in `topology`.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use lapin::{Confirmation, PublisherConfirm};

use super::topology::Topology;
use crate::store::Claimed;

#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("cannot reach the broker: {0}")]
    Connect(#[source] lapin::Error),
    #[error("broker refused `{what}`: {source}")]
    Setup {
        what: &'static str,
        #[source]
        source: lapin::Error,
    },
    #[error("the connection to the broker was lost")]
    Lost,
    #[error("publish of `{event_id}` failed: {message}")]
    Publish { event_id: String, message: String },
    #[error("`{0}` is too long for an AMQP name (at most 255 bytes)")]
    Name(String),
    #[error("no dead letter has the id `{id}` ({count} dead letters in `{queue}`)")]
    UnknownDeadLetter {
        id: String,
        queue: String,
        count: usize,
    },
}

/// A confirm-mode channel on the work exchange.
pub struct Publisher {
    _connection: Connection,
    channel: Channel,
    exchange: String,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.write_str("Publisher")
    }
}

impl Publisher {
    /// [`Publisher::connect_with`] the default topology.
    pub async fn connect(url: &str) -> Result<Self, AmqpError> {
        Self::connect_with(url, &Topology::default()).await
    }

    /// Connect, declare the durable topic exchange, and switch the channel
    /// to publisher confirms.
    pub async fn connect_with(url: &str, topology: &Topology) -> Result<Self, AmqpError> {
        let (connection, channel) = open_confirmed(url).await?;
        topology.declare_exchange(&channel).await?;
        Ok(Self {
            _connection: connection,
            channel,
            exchange: topology.exchange.clone(),
        })
    }

    /// Whether the channel can still publish.
    pub fn is_connected(&self) -> bool {
        self.channel.status().connected()
    }

    /// Publish every row, then wait for the broker's answer to each: one
    /// result per row, in order. Persistent, so a broker restart keeps them.
    pub async fn publish_confirmed(&self, rows: &[Claimed]) -> Vec<Result<(), AmqpError>> {
        let mut pending = Vec::with_capacity(rows.len());
        for row in rows {
            pending.push(self.send(row).await);
        }
        let mut out = Vec::with_capacity(rows.len());
        for (row, sent) in rows.iter().zip(pending) {
            out.push(confirmed(row, sent).await);
        }
        out
    }

    /// Publish one row, persistent, without waiting for the broker's
    /// answer: [`confirmed`] waits for it, so a caller can keep many
    /// publishes outstanding.
    pub async fn send(&self, row: &Claimed) -> Result<PublisherConfirm, lapin::Error> {
        let m = &row.message;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/cloudevents+json".into())
            .with_message_id(m.event_id.as_str().into());
        let body = m.payload.to_string();
        self.channel
            .basic_publish(
                self.exchange.as_str().into(),
                m.routing_key.as_str().into(),
                // Mandatory: work no writer's queue would take comes
                // back, and its row stays in the outbox, instead of
                // being confirmed and dropped.
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body.as_bytes(),
                properties,
            )
            .await
    }
}

/// The broker's answer to `row`'s publish ([`Publisher::send`]): `Ok` only
/// when it took the message into a queue. A lost channel fails every
/// answer still outstanding.
pub async fn confirmed(
    row: &Claimed,
    sent: Result<PublisherConfirm, lapin::Error>,
) -> Result<(), AmqpError> {
    let failed = |message: String| AmqpError::Publish {
        event_id: row.message.event_id.clone(),
        message,
    };
    match sent {
        Err(e) => Err(failed(e.to_string())),
        Ok(confirm) => match confirm.await {
            Ok(Confirmation::Ack(None)) => Ok(()),
            Ok(Confirmation::Ack(Some(_))) => {
                returned(&row.message.routing_key, &row.message.event_id);
                Err(failed(format!(
                    "no writer's queue is bound for `{}` yet (unroutable)",
                    row.message.routing_key
                )))
            }
            Ok(_) => Err(failed("the broker nacked it".into())),
            Err(e) => Err(failed(e.to_string())),
        },
    }
}

/// The broker handed a message back: no queue takes its routing key. Ours
/// is one short line; lapin's own (the whole message, as bytes) is
/// filtered out in `telemetry`.
fn returned(routing_key: &str, event_id: &str) {
    crate::events::MessageReturned {
        routing_key,
        event_id,
    }
    .emit();
}

/// A connection and one channel in publisher-confirm mode.
/// Open a connection and close it: whether the broker answers and takes
/// the credentials, for `/readyz`.
pub async fn ping(url: &str) -> Result<(), AmqpError> {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(AmqpError::Connect)?;
    // Closing is courtesy; the broker answered either way.
    let _ = connection.close(200, "readiness probe".into()).await;
    Ok(())
}

pub(super) async fn open_confirmed(url: &str) -> Result<(Connection, Channel), AmqpError> {
    let connection = Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(AmqpError::Connect)?;
    let channel = connection
        .create_channel()
        .await
        .map_err(setup("channel.open"))?;
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(setup("confirm.select"))?;
    Ok((connection, channel))
}

/// Map a refused broker call to [`AmqpError::Setup`] naming the call.
pub(super) fn setup(what: &'static str) -> impl Fn(lapin::Error) -> AmqpError {
    move |source| AmqpError::Setup { what, source }
}

/// An exchange, queue or routing key as AMQP wants it: a name built from
/// config could pass the 255-byte limit, and lapin panics on those.
pub(super) fn short(name: &str) -> Result<ShortString, AmqpError> {
    ShortString::try_new(name).map_err(|_| AmqpError::Name(name.to_string()))
}

/// Publish one message and wait for the broker to take it. Mandatory: a
/// message no queue would take comes back as an error instead of being
/// confirmed and dropped, so the caller keeps its copy.
pub(super) async fn publish_one(
    channel: &Channel,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
    properties: BasicProperties,
    event_id: &str,
) -> Result<(), AmqpError> {
    let failed = |message: String| AmqpError::Publish {
        event_id: event_id.to_string(),
        message,
    };
    let confirm = channel
        .basic_publish(
            short(exchange)?,
            short(routing_key)?,
            BasicPublishOptions {
                mandatory: true,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    match confirm.await.map_err(|e| failed(e.to_string()))? {
        Confirmation::Ack(None) => Ok(()),
        Confirmation::Ack(Some(_)) => {
            returned(routing_key, event_id);
            Err(failed(format!(
                "no queue is bound for it on `{exchange}` (unroutable)"
            )))
        }
        Confirmation::Nack(_) => Err(failed("the broker nacked it".into())),
        Confirmation::NotRequested => Err(failed("the channel is not in confirm mode".into())),
    }
}
