//! `run --once` and `sync NAME`: one sync, then hand on what it routed.
//! Embedded, the work is delivered to the writers in process (a retry
//! waits for the next run). With a broker, it is published, and the
//! writers run beside for a while, so that a cron job's routed work
//! reaches the target systems without a daemon; what is still in RabbitMQ
//! when that time is up waits there for the daemon, and one line says so.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::quarantine;
use crate::config::LoadedConfig;
use crate::store::Store;
use crate::transport::{Failure, Inbound, WorkHandler};

/// `--deliver-for`'s default: long enough for a target's first retry
/// (the first delay queue holds a message 5 s), short enough for cron.
pub const DELIVER_FOR_SECS: u64 = 60;

/// One sync of `connectors`, then deliver what it routed.
pub(super) async fn run_once(
    cfg: &LoadedConfig,
    store: &Store,
    connectors: &[crate::catalog::ConnectorJobs],
    writers: &crate::writer::Writers,
    deliver_for: Duration,
    progress: crate::sync::ProgressFn<'_>,
) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    tokio::spawn(super::stop_on_signal(stop.clone()));
    let mut failed = 0;
    let mut ran = Vec::new();
    // Beside daemons on the same store, a stream one of them is running
    // now is left to it (docs/SCALING.md).
    let instance = crate::daemon::lease::Instance::new(cfg.settings.daemon.lease_ttl());
    for c in connectors {
        let results = crate::daemon::sync_connector_as(store, c, &instance, &stop, progress).await;
        failed += results.iter().filter(|(_, r)| r.is_err()).count();
        ran.push((c.system.clone(), results));
    }
    match &cfg.settings.broker {
        None => {
            let options = crate::writer::local::LocalOptions::default();
            while !stop.is_cancelled() {
                let r = crate::writer::local::deliver_once(store, writers, &options).await?;
                if r.claimed == 0 {
                    break;
                }
            }
        }
        Some(broker) => {
            let url = broker.url.resolve().context("[broker] url")?;
            let options = crate::transport::WriterOptions {
                outage_budget: cfg.settings.delivery.outage_budget(),
                topology: crate::transport::Topology::for_prefix(&broker.prefix),
                ..crate::transport::WriterOptions::default()
            };
            let over = Broker {
                url,
                options,
                deadline: Instant::now() + deliver_for,
            };
            over.deliver(store, connectors, writers, &stop).await?;
        }
    }
    let waiting = quarantine::summarize_run(store, &ran).await?;
    store.close().await;
    if failed > 0 {
        anyhow::bail!("{failed} stream(s) failed; see the log above");
    }
    if waiting > 0 {
        return Err(quarantine::InQuarantine {
            records: waiting,
            what: "the streams this run synced",
        }
        .into());
    }
    Ok(())
}

struct Broker {
    url: crate::config::Secret,
    options: crate::transport::WriterOptions,
    deadline: Instant,
}

/// How often delivery is checked for an end.
const POLL: Duration = Duration::from_millis(100);

impl Broker {
    /// Publish the outbox and run every writer until each message this
    /// run published was applied or dead-lettered, or the deadline.
    async fn deliver(
        &self,
        store: &Store,
        connectors: &[crate::catalog::ConnectorJobs],
        writers: &crate::writer::Writers,
        stop: &CancellationToken,
    ) -> anyhow::Result<()> {
        let systems: Vec<String> = writers.keys().cloned().collect();
        crate::transport::declare_writers(&self.url, &systems, &self.options).await?;
        let done = Arc::new(Mutex::new(HashSet::new()));
        let writers_stop = stop.child_token();
        let mut tasks = tokio::task::JoinSet::new();
        for (system, writer) in writers {
            let rate = connectors
                .iter()
                .find(|c| &c.system == system)
                .and_then(|c| c.connector.rate_limit_per_sec());
            let options = crate::transport::WriterOptions {
                prefetch: crate::transport::prefetch_for(rate.map(f64::from)),
                ..self.options.clone()
            };
            let tracked = Tracked {
                inner: writer.clone(),
                done: done.clone(),
            };
            tasks.spawn(crate::transport::run_writer(
                self.url.clone(),
                system.clone(),
                Arc::new(tracked),
                options,
                writers_stop.clone(),
            ));
        }
        let topology = &self.options.topology;
        let publisher =
            crate::transport::Publisher::connect_with(self.url.expose(), topology).await?;
        let relay = crate::transport::RelayOptions {
            topology: topology.clone(),
            ..crate::transport::RelayOptions::default()
        };
        let mut published = HashSet::new();
        loop {
            let r = crate::transport::relay_once(store, &publisher, &relay).await?;
            published.extend(r.sent_events);
            let all_done = || {
                published
                    .iter()
                    .all(|e| done.lock().unwrap_or_else(|e| e.into_inner()).contains(e))
            };
            let out_of_time = Instant::now() >= self.deadline || stop.is_cancelled();
            if (r.claimed == 0 && all_done()) || out_of_time {
                break;
            }
            if r.claimed == 0 {
                tokio::time::sleep(POLL).await;
            }
        }
        writers_stop.cancel();
        while tasks.join_next().await.is_some() {}
        let waiting = {
            let done = done.lock().unwrap_or_else(|e| e.into_inner());
            published.iter().filter(|e| !done.contains(*e)).count()
        };
        let unsent = store.outbox_pending().await?;
        if waiting > 0 || unsent > 0 {
            println!(
                "{waiting} routed message(s) wait in RabbitMQ and {unsent} in the outbox: \
                 the daemon (`switchboard run`) delivers them"
            );
        } else if !published.is_empty() {
            println!("delivered {} routed message(s)", published.len());
        }
        Ok(())
    }
}

/// A writer that notes each message it finished with: applied (or
/// already applied), or given up on as a dead letter. A message to retry
/// later is not finished.
struct Tracked {
    inner: Arc<dyn WorkHandler>,
    done: Arc<Mutex<HashSet<String>>>,
}

#[async_trait::async_trait]
impl WorkHandler for Tracked {
    async fn handle(&self, message: &Inbound) -> Result<(), Failure> {
        let result = self.inner.handle(message).await;
        if !matches!(result, Err(Failure::Retry(_))) {
            self.done
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(message.event_id.clone());
        }
        result
    }
}
