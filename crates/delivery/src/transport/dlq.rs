//! The dead-letter queue tools: list what is in `{prefix}.dlq`, and replay
//! one dead letter or all of them to the work exchange.
//!
//! Both take every message the queue held when they started, unacknowledged
//! (so a message arriving meanwhile cannot make them run forever), and hand
//! back what they did not act on with one requeueing nack: RabbitMQ puts a
//! classic queue's requeued messages back where they were. A replayed copy
//! is acknowledged in the DLQ only after the broker confirmed the new
//! message, so a failed replay leaves it where it was. Nothing here ever
//! drops a dead letter without replaying it: [`discard_replaced`] removes
//! only letters whose re-rendered replacements the outbox already holds.

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicGetOptions, BasicNackOptions};
use lapin::types::AMQPValue;
use lapin::{Channel, Connection};
use serde_json::Value;

use super::amqp::{AmqpError, open_confirmed, publish_one, setup, short};
use super::topology::{
    ATTEMPT_HEADER, ATTEMPTS_HEADER, CONNECTOR_HEADER, FAILED_AT_HEADER, FIRST_FAILED_AT_HEADER,
    REASON_HEADER, ROUTING_KEY_HEADER, Topology, carried_headers, copy_properties, header_str,
    header_u32,
};

/// One message in the DLQ, as a person reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The CloudEvents id; empty if the message had none.
    pub message_id: String,
    /// `<department>.<connector>.<action>`: where a replay sends it.
    pub routing_key: String,
    /// The writer that gave up on it.
    pub connector: String,
    pub reason: String,
    /// Tries made before it was dead-lettered.
    pub attempts: u32,
    /// When it was dead-lettered, if recorded.
    pub failed_at: Option<DateTime<Utc>>,
    /// The event; a body that is not JSON shows as a JSON string.
    pub payload: Value,
}

/// Which dead letters to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replay {
    /// Every dead letter with this message id (normally one).
    Id(String),
    All,
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// The message ids republished, in DLQ order.
    pub replayed: Vec<String>,
    /// Dead letters left in the DLQ.
    pub remaining: usize,
}

/// Every dead letter, oldest first. Removes nothing.
pub async fn list(url: &str, topology: &Topology) -> Result<Vec<DeadLetter>, AmqpError> {
    let (connection, channel) = open_confirmed(url).await?;
    let held = take_all(&channel, topology).await?;
    let letters = held.iter().map(dead_letter).collect();
    give_back(&channel, held.len()).await?;
    close(connection, channel).await;
    Ok(letters)
}

/// How many dead letters the DLQ holds, without reading them: cheap
/// enough for a status page.
pub async fn depth(url: &str, topology: &Topology) -> Result<u32, AmqpError> {
    let (connection, channel) = open_confirmed(url).await?;
    let queue = topology.declare_dlq(&channel).await?;
    close(connection, channel).await;
    Ok(queue.message_count())
}

/// Republish the chosen dead letters to the work exchange under their
/// original routing keys, as attempt 1, each confirmed before its DLQ copy
/// is acknowledged. The others stay, in order.
pub async fn replay(
    url: &str,
    topology: &Topology,
    which: Replay,
) -> Result<ReplayReport, AmqpError> {
    let (connection, channel) = open_confirmed(url).await?;
    let held = take_all(&channel, topology).await?;
    let mut replayed = Vec::new();
    let result = replay_held(&channel, topology, &held, &which, &mut replayed).await;
    // After a failure too: whatever was not acknowledged goes back.
    let returned = give_back(&channel, held.len() - replayed.len()).await;
    close(connection, channel).await;
    result?;
    returned?;
    Ok(ReplayReport {
        remaining: held.len() - replayed.len(),
        replayed,
    })
}

/// Take out of the DLQ the letters with these ids, once their re-rendered
/// replacements are committed to the outbox (`dlq replay` without
/// `--as-sent`): the replacement is the replay. The others stay, in order.
/// Returns the ids removed.
pub async fn discard_replaced(
    url: &str,
    topology: &Topology,
    ids: &[String],
) -> Result<Vec<String>, AmqpError> {
    let (connection, channel) = open_confirmed(url).await?;
    let held = take_all(&channel, topology).await?;
    let mut removed = Vec::new();
    let mut result = Ok(());
    for d in &held {
        let letter = dead_letter(d);
        if !ids.contains(&letter.message_id) {
            continue;
        }
        match d.ack(BasicAckOptions::default()).await {
            Ok(_) => removed.push(letter.message_id),
            Err(e) => {
                result = Err(setup("basic.ack")(e));
                break;
            }
        }
    }
    let returned = give_back(&channel, held.len() - removed.len()).await;
    close(connection, channel).await;
    result?;
    returned?;
    Ok(removed)
}

async fn replay_held(
    channel: &Channel,
    topology: &Topology,
    held: &[Delivery],
    which: &Replay,
    replayed: &mut Vec<String>,
) -> Result<(), AmqpError> {
    let chosen: Vec<(&Delivery, DeadLetter)> = held
        .iter()
        .map(|d| (d, dead_letter(d)))
        .filter(|(_, letter)| match which {
            Replay::All => true,
            Replay::Id(id) => &letter.message_id == id,
        })
        .collect();
    if let (Replay::Id(id), true) = (which, chosen.is_empty()) {
        return Err(AmqpError::UnknownDeadLetter {
            id: id.clone(),
            queue: topology.dlq(),
            count: held.len(),
        });
    }
    for (d, letter) in chosen {
        let mut headers = carried_headers(
            &d.properties,
            &[
                REASON_HEADER,
                CONNECTOR_HEADER,
                ATTEMPTS_HEADER,
                FAILED_AT_HEADER,
                // A replay starts a fresh outage budget.
                FIRST_FAILED_AT_HEADER,
                ROUTING_KEY_HEADER,
                "x-switchboard-last-error",
            ],
        );
        headers.insert(ATTEMPT_HEADER.into(), AMQPValue::LongLongInt(1));
        let properties = copy_properties(&d.properties, headers);
        publish_one(
            channel,
            &topology.exchange,
            &letter.routing_key,
            &d.data,
            properties,
            &letter.message_id,
        )
        .await?;
        let acked = d
            .ack(BasicAckOptions::default())
            .await
            .map_err(setup("basic.ack"))?;
        if !acked {
            return Err(AmqpError::Lost);
        }
        replayed.push(letter.message_id);
    }
    Ok(())
}

/// Get, unacknowledged, as many messages as the DLQ held at the start.
async fn take_all(channel: &Channel, topology: &Topology) -> Result<Vec<Delivery>, AmqpError> {
    let queue = topology.declare_dlq(channel).await?;
    let name = short(&topology.dlq())?;
    let mut held = Vec::with_capacity(queue.message_count() as usize);
    for _ in 0..queue.message_count() {
        let got = channel
            .basic_get(name.clone(), BasicGetOptions { no_ack: false })
            .await
            .map_err(setup("basic.get"))?;
        match got {
            Some(m) => held.push(m.delivery),
            None => break,
        }
    }
    Ok(held)
}

/// Requeue every message still held, in one nack (tag 0 with `multiple`:
/// all outstanding). Explicit rather than left to the channel's close, so
/// the queue has them back before we return.
async fn give_back(channel: &Channel, outstanding: usize) -> Result<(), AmqpError> {
    if outstanding == 0 {
        return Ok(());
    }
    channel
        .basic_nack(
            0,
            BasicNackOptions {
                multiple: true,
                requeue: true,
            },
        )
        .await
        .map_err(setup("basic.nack"))
}

async fn close(connection: Connection, channel: Channel) {
    let _ = channel.close(200, "done".into()).await;
    let _ = connection.close(200, "done".into()).await;
}

/// Read a DLQ message: the writer's headers when it put it there, else
/// what the broker's `x-death` history says (a quorum work queue moves a
/// message redelivered too often here itself).
fn dead_letter(d: &Delivery) -> DeadLetter {
    let p = &d.properties;
    let payload = serde_json::from_slice(&d.data)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&d.data).into_owned()));
    let death = last_death(d);
    let message_id = p
        .message_id()
        .as_ref()
        .map(|id| id.to_string())
        .or_else(|| payload.get("id").and_then(Value::as_str).map(String::from))
        .unwrap_or_default();
    let routing_key = header_str(p, ROUTING_KEY_HEADER)
        .or_else(|| death.as_ref().and_then(|x| x.routing_key.clone()))
        .unwrap_or_else(|| d.routing_key.to_string());
    let connector = header_str(p, CONNECTOR_HEADER)
        .or_else(|| routing_key.split('.').nth(1).map(String::from))
        .unwrap_or_default();
    let reason = header_str(p, REASON_HEADER)
        .or_else(|| {
            death.as_ref().map(|x| {
                format!(
                    "the broker dead-lettered it from `{}` ({})",
                    x.queue, x.reason
                )
            })
        })
        .unwrap_or_else(|| "unknown".into());
    let failed_at = header_str(p, FAILED_AT_HEADER)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| death.as_ref().and_then(|x| x.time));
    DeadLetter {
        message_id,
        routing_key,
        connector,
        reason,
        attempts: header_u32(p, ATTEMPTS_HEADER)
            .or_else(|| header_u32(p, ATTEMPT_HEADER))
            .unwrap_or(1),
        failed_at,
        payload,
    }
}

/// The most recent entry of the broker's `x-death` header.
struct Death {
    queue: String,
    reason: String,
    routing_key: Option<String>,
    time: Option<DateTime<Utc>>,
}

fn last_death(d: &Delivery) -> Option<Death> {
    let headers = d.properties.headers().as_ref()?;
    let AMQPValue::FieldArray(deaths) = headers.inner().get("x-death")? else {
        return None;
    };
    let AMQPValue::FieldTable(entry) = deaths.as_slice().first()? else {
        return None;
    };
    let field = |k: &str| match entry.inner().get(k) {
        Some(AMQPValue::LongString(s)) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        Some(AMQPValue::ShortString(s)) => Some(s.to_string()),
        _ => None,
    };
    let routing_key = match entry.inner().get("routing-keys") {
        Some(AMQPValue::FieldArray(keys)) => keys.as_slice().first().and_then(|k| match k {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            _ => None,
        }),
        _ => None,
    };
    let time = match entry.inner().get("time") {
        Some(AMQPValue::Timestamp(t)) => i64::try_from(*t)
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0)),
        _ => None,
    };
    Some(Death {
        queue: field("queue").unwrap_or_default(),
        reason: field("reason").unwrap_or_default(),
        routing_key,
        time,
    })
}
