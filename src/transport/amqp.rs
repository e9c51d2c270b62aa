//! RabbitMQ through lapin: the topology the hub declares, and publishing
//! with publisher confirms.

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};

use super::EXCHANGE;
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
}

/// A confirm-mode channel on the work exchange.
pub struct Publisher {
    _connection: Connection,
    channel: Channel,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never printed.
        f.write_str("Publisher")
    }
}

impl Publisher {
    /// Connect, declare the durable topic exchange, and switch the channel
    /// to publisher confirms.
    pub async fn connect(url: &str) -> Result<Self, AmqpError> {
        let connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .map_err(AmqpError::Connect)?;
        let setup = |what| move |source| AmqpError::Setup { what, source };
        let channel = connection
            .create_channel()
            .await
            .map_err(setup("channel.open"))?;
        channel
            .exchange_declare(
                EXCHANGE.into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(setup("exchange.declare"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(setup("confirm.select"))?;
        Ok(Self {
            _connection: connection,
            channel,
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
            let m = &row.message;
            let properties = BasicProperties::default()
                .with_delivery_mode(2)
                .with_content_type("application/cloudevents+json".into())
                .with_message_id(m.event_id.as_str().into());
            let body = m.payload.to_string();
            let sent = self
                .channel
                .basic_publish(
                    EXCHANGE.into(),
                    m.routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    body.as_bytes(),
                    properties,
                )
                .await;
            pending.push(sent);
        }
        let mut out = Vec::with_capacity(rows.len());
        for (row, sent) in rows.iter().zip(pending) {
            let failed = |message: String| AmqpError::Publish {
                event_id: row.message.event_id.clone(),
                message,
            };
            out.push(match sent {
                Err(e) => Err(failed(e.to_string())),
                Ok(confirm) => match confirm.await {
                    Ok(c) if c.is_ack() => Ok(()),
                    Ok(_) => Err(failed("the broker nacked it".into())),
                    Err(e) => Err(failed(e.to_string())),
                },
            });
        }
        out
    }
}
