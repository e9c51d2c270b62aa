//! One stream's run under a lease (`store/leases.rs`, docs/SCALING.md), so
//! that instances sharing a store share the streams: a stream runs on one
//! instance at a time, once per schedule tick whichever instance's tick
//! comes first, and an instance that dies loses its streams when their
//! leases expire (the next instance takes over from the committed cursor).
//! The lease is renewed while the run goes on; a lease lost all the same
//! (the store unreachable longer than the lease) stops the run between
//! pages, as a shutdown does, before another instance can be fetching the
//! same pages.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::store::{LeaseAsk, Store};
use crate::sync::{ProgressFn, SyncError, SyncJob, SyncReport};
use crate::telemetry::events;

/// This process among the instances on one store.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Unique among the instances: host, process and a random part, so a
    /// restarted process never takes its predecessor's leases for its own.
    pub id: String,
    /// How long a lease holds without renewal: how long a dead instance's
    /// streams wait before another takes them.
    pub lease_ttl: Duration,
    /// Slots for the streams this instance runs at once (`[daemon]
    /// max_streams_at_once`); `None`: no limit.
    slots: Option<Arc<Semaphore>>,
}

impl Instance {
    /// The default lease: renewed every 10 s, given up by a dead instance
    /// after 30 s.
    pub const LEASE_TTL: Duration = Duration::from_secs(30);

    pub fn new(lease_ttl: Duration) -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".into());
        let tag = uuid::Uuid::new_v4().simple().to_string();
        Self {
            id: format!("{host}/{}/{}", std::process::id(), &tag[..6]),
            lease_ttl,
            slots: None,
        }
    }

    /// Run at most `n` streams at once (0: no limit).
    pub fn with_max_streams(mut self, n: usize) -> Self {
        self.slots = (n > 0).then(|| Arc::new(Semaphore::new(n)));
        self
    }
}

impl Default for Instance {
    fn default() -> Self {
        Self::new(Self::LEASE_TTL)
    }
}

/// What became of a stream's turn.
pub enum Turn {
    /// This instance ran it.
    Ran(Result<SyncReport, SyncError>),
    /// Another instance holds it, or ran it since the schedule's last
    /// tick: nothing to do here.
    Elsewhere,
}

/// Run `job` if this instance can take its lease, renewing it meanwhile.
pub async fn run_leased(
    store: &Store,
    job: &SyncJob,
    instance: &Instance,
    due_since: Option<DateTime<Utc>>,
    stop: &CancellationToken,
    progress: ProgressFn<'_>,
) -> Turn {
    let (system, stream) = (job.system(), job.stream.name.as_str());
    // A full instance waits here, holding no lease, so that another
    // instance may take the stream meanwhile.
    let _slot = match &instance.slots {
        Some(slots) => tokio::select! {
            permit = slots.clone().acquire_owned() => permit.ok(),
            () = stop.cancelled() => return Turn::Elsewhere,
        },
        None => None,
    };
    let ask = |now| LeaseAsk {
        system,
        stream,
        holder: &instance.id,
        now,
        ttl: instance.lease_ttl,
        due_since,
    };
    match store.take_lease(&ask(Utc::now())).await {
        Ok(true) => {}
        Ok(false) => {
            events::StreamElsewhere {
                connector: system,
                stream,
            }
            .emit();
            return Turn::Elsewhere;
        }
        Err(e) => return Turn::Ran(Err(SyncError::Store(e))),
    }
    let run_stop = stop.child_token();
    let renewing = async {
        let every = (instance.lease_ttl / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            match store.renew_lease(&ask(Utc::now())).await {
                Ok(true) => {}
                // Lost, or not known to be kept: stop before another
                // instance fetches the same pages.
                Ok(false) | Err(_) => {
                    events::LeaseLost {
                        connector: system,
                        stream,
                    }
                    .emit();
                    run_stop.cancel();
                    return;
                }
            }
        }
    };
    let run = job.run(store, &run_stop, progress);
    tokio::pin!(run);
    tokio::pin!(renewing);
    let result = tokio::select! {
        r = &mut run => r,
        // Lost: the run stops at its next page, as at a shutdown.
        () = &mut renewing => run.await,
    };
    // A run stopped by a lost lease has nothing to give back; a failed one
    // is free at once for the retry, here or elsewhere.
    let ok = result.is_ok() && !run_stop.is_cancelled();
    if let Err(e) = store.release_lease(&ask(Utc::now()), ok).await {
        tracing::warn!(connector = %system, stream, error = %e, "lease not released; it expires");
    }
    Turn::Ran(result)
}
