//! Delivery of routed work: the outbox relay and the AMQP transport
//! (`transport/`: RabbitMQ through lapin, publisher confirms, a queue per
//! target), the in-process delivery used without a broker, and the writers
//! that apply a message to its target system (`writer/`, through
//! `writeback`: the outbound mapping, then the connector's action).
//!
//! A crate of its own (`switchboard-delivery`): it reads the outbox and
//! writes deliveries through the store and acts through the connectors;
//! it never syncs, schedules or serves HTTP. The hub re-exports its
//! modules as `transport`, `writer` and `writeback`.

pub mod events;
pub mod transport;
pub mod writeback;
pub mod writer;

use std::time::Duration;

// Paths read as they did inside the hub: `crate::store`, `crate::mapping`.
use switchboard_connector as connector;
use switchboard_lang::{mapping, routing};
use switchboard_store as store;

/// How often the relay and in-process delivery look at the outbox when no
/// commit woke them: a safety net for a lost wake-up. The default of
/// `[daemon] outbox_poll_secs`.
pub const DEFAULT_OUTBOX_POLL: Duration = Duration::from_secs(5);
