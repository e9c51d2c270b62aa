//! `[daemon]`: how an instance shares the streams with the others on one
//! store, and how long it takes to stop (docs/SCALING.md).

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSettings {
    /// How long a stream lease holds without renewal, in seconds: how long
    /// the streams of an instance that died wait before another instance
    /// takes them over. Renewed every third of it while a run goes on.
    pub lease_secs: u64,
    /// After SIGTERM, how long the daemon may take to drain (finish the
    /// page in hand, give its leases back, stop consuming, ack what it
    /// applied) before it exits all the same. Set it below the
    /// orchestrator's own grace (Kubernetes' `terminationGracePeriodSeconds`
    /// is 30 s by default), so the drain ends before SIGKILL.
    pub shutdown_grace_secs: u64,
    /// How many streams this instance syncs at once, across its
    /// connectors; 0: no limit. A stream due while the instance is full
    /// waits for a free slot, and meanwhile another instance may take it:
    /// with several instances, a limit spreads a large first load instead
    /// of leaving it all to the instance that started first, and it bounds
    /// the pages in memory at once.
    pub max_streams_at_once: usize,
    /// The safety poll of routed delivery (the in-process transport and the
    /// relay to RabbitMQ), in seconds. A commit that enqueues work wakes
    /// delivery at once (on PostgreSQL across instances, by `NOTIFY`); the
    /// poll only catches a wake-up lost while a listener reconnected.
    pub outbox_poll_secs: u64,
}

/// Bounds `check` enforces, so a lease is never shorter than a renewal can
/// keep up with, nor a dead instance's streams held for hours.
pub const LEASE_SECS: std::ops::RangeInclusive<u64> = 3..=3600;
pub const SHUTDOWN_GRACE_SECS: std::ops::RangeInclusive<u64> = 1..=3600;
pub const MAX_STREAMS_AT_ONCE: usize = 10_000;
/// At least a second, so an idle daemon stays idle; at most an hour, so a
/// lost wake-up is not waited on for longer.
pub const OUTBOX_POLL_SECS: std::ops::RangeInclusive<u64> = 1..=3600;
/// `outbox_poll_secs`' default: the delivery crate's own.
pub use switchboard_delivery::DEFAULT_OUTBOX_POLL;

impl Default for DaemonSettings {
    fn default() -> Self {
        Self {
            lease_secs: 30,
            shutdown_grace_secs: 25,
            max_streams_at_once: 0,
            outbox_poll_secs: DEFAULT_OUTBOX_POLL.as_secs(),
        }
    }
}

impl DaemonSettings {
    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    pub fn outbox_poll(&self) -> Duration {
        Duration::from_secs(self.outbox_poll_secs)
    }
}
