//! The daemon: wires the catalog's sync jobs to cron schedules and serves
//! the HTTP probes, until told to stop.
//!
//! Each connector gets one task that runs its streams in turn, so a stream
//! never syncs twice at once; `schedule` runs it, and a failed stream again
//! soon after, with backoff. Stopping cancels a token: tasks finish the page
//! in hand (its transaction commits or never started), give their leases
//! back and return, within `[daemon] shutdown_grace_secs`; what is still
//! running then is cut off (nothing of it was committed or acked).

pub mod http;
pub mod lease;
pub mod ready;
pub mod reload;
pub mod schedule;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::catalog::ConnectorJobs;
use crate::config::{DaemonSettings, Secret};
use crate::store::Store;
use crate::sync::{ProgressFn, SyncReport};

/// What the daemon serves beside its probes and webhooks.
pub struct Surface {
    /// The HTTP API under `/api/v1`.
    pub api: crate::api::ApiState,
    /// The pages (`/`, `/portal`): how people sign in.
    pub web: crate::config::WebSettings,
}

/// How the daemon runs beside the connectors it is given.
#[derive(Default)]
pub struct Options {
    /// How often mapping files are checked for edits; `None`: never.
    pub reload_every: Option<Duration>,
    pub routing_reload: Option<reload::RoutingReload>,
    /// Lease time and shutdown grace (`[daemon]`).
    pub settings: DaemonSettings,
    /// The broker `/readyz` asks, when there is one.
    pub broker: Option<Secret>,
    /// Routed work's delivery (relay and writers, or the in-process
    /// transport), started by the caller on the same stop token: drained
    /// here with the syncs, within the same grace.
    pub delivery: JoinSet<()>,
}

/// Run every connector on its schedule (and once at start) until `stop`,
/// then drain within `[daemon] shutdown_grace_secs`.
pub async fn run(
    store: Store,
    connectors: Vec<ConnectorJobs>,
    listener: TcpListener,
    options: Options,
    surface: Surface,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    // One daemon per SQLite file; held until this function returns.
    let _single = store.claim_single_instance()?;
    let Surface { api, web } = surface;
    let Options {
        reload_every,
        routing_reload,
        settings,
        broker,
        delivery: mut tasks,
    } = options;
    let addr: SocketAddr = listener.local_addr()?;
    // Install the recorder before the first event so no count is lost.
    crate::telemetry::metrics();
    tracing::info!(%addr, connectors = connectors.len(), "daemon started");
    if let (Some(every), Some(r)) = (reload_every, routing_reload) {
        tasks.spawn(reload::watch_routing(r, every, stop.clone()));
    }
    if let Some(every) = reload_every {
        let jobs = connectors.iter().flat_map(|c| c.jobs.clone()).collect();
        tasks.spawn(reload::watch(
            jobs,
            every,
            Some(store.clone()),
            stop.clone(),
        ));
    }
    // Webhook connectors take deliveries on the HTTP server.
    let hooks = connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .filter(|j| j.connector.as_webhook().is_some())
        .map(|j| {
            let hook = http::Hook {
                connector: j.connector.clone(),
                mapping: j.mapping.clone(),
                department: j.department.clone(),
                router: j.router.clone(),
            };
            (j.system().to_string(), hook)
        })
        .collect();
    let connectors: Vec<Arc<ConnectorJobs>> = connectors.into_iter().map(Arc::new).collect();
    let mut api = api;
    api.connectors = connectors.clone();
    // Instances on one store share the streams through leases.
    let instance = Arc::new(
        lease::Instance::new(settings.lease_ttl()).with_max_streams(settings.max_streams_at_once),
    );
    tracing::info!(instance = %instance.id, "instance started");
    for c in connectors {
        tasks.spawn(schedule::run_connector(
            store.clone(),
            c,
            schedule::StreamRetry::default(),
            instance.clone(),
            stop.clone(),
        ));
    }
    // The server outlives `stop`: while the instance drains, `/readyz`
    // says so (a load balancer takes it out) and webhooks in flight or
    // still sent to it are taken, not refused.
    let server_stop = CancellationToken::new();
    let ready = ready::Readiness::new(broker, stop.clone());
    let app = http::router_with(store.clone(), hooks, ready)
        .merge(crate::web::router(api.clone(), &web))
        .merge(crate::api::router(api));
    let server = {
        let server_stop = server_stop.clone();
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { server_stop.cancelled().await })
    };
    let mut server = tokio::spawn(async move { server.await });

    stop.cancelled().await;
    let deadline = Instant::now() + settings.shutdown_grace();
    tracing::info!(
        grace_secs = settings.shutdown_grace_secs,
        "stopping: finishing pages and messages in hand, giving leases back"
    );
    let drained = tokio::time::timeout_at(deadline, async {
        while let Some(res) = tasks.join_next().await {
            if let Err(e) = res {
                tracing::error!(error = %e, "daemon task failed");
            }
        }
    })
    .await
    .is_ok();
    if !drained {
        // What is cut off here was not committed or not acked, so it is
        // done again elsewhere; the leases are given back so that is now,
        // not when they expire.
        tracing::warn!(
            tasks = tasks.len(),
            "the drain ran past [daemon] shutdown_grace_secs; stopping what is left"
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        match store.release_leases_of(&instance.id).await {
            Ok(n) => tracing::info!(leases = n, "leases given back"),
            Err(e) => tracing::warn!(error = %e, "leases not given back; they expire"),
        }
    }
    server_stop.cancel();
    // Requests in flight get what is left of the grace, and a second.
    let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1);
    match tokio::time::timeout(left, &mut server).await {
        Ok(joined) => joined??,
        Err(_) => {
            tracing::warn!("HTTP requests still open at the end of the grace; closed");
            server.abort();
        }
    }
    store.close().await;
    tracing::info!(drained, "stopped");
    Ok(())
}

/// How one stream's run ended: `Ok(None)` when another instance was running
/// it, so this one left it (the records are being synced all the same).
pub type StreamRun = Result<Option<SyncReport>, String>;

/// Run every stream of a connector once, under the streams' leases (a
/// stream a daemon is running now is left to it). A failing stream does not
/// stop the others; its error is logged, counted, and kept in `sync_state`.
pub async fn sync_connector(
    store: &Store,
    c: &ConnectorJobs,
    stop: &CancellationToken,
    progress: ProgressFn<'_>,
) -> Vec<(String, StreamRun)> {
    sync_connector_as(store, c, &lease::Instance::default(), stop, progress).await
}

/// [`sync_connector`] as `instance`, with its lease time.
pub async fn sync_connector_as(
    store: &Store,
    c: &ConnectorJobs,
    instance: &lease::Instance,
    stop: &CancellationToken,
    progress: ProgressFn<'_>,
) -> Vec<(String, StreamRun)> {
    let mut out = Vec::new();
    for job in &c.jobs {
        if stop.is_cancelled() {
            break;
        }
        let result = match lease::run_leased(store, job, instance, None, stop, progress).await {
            lease::Turn::Ran(r) => r.map(Some).map_err(|e| e.to_string()),
            lease::Turn::Elsewhere => Ok(None),
        };
        out.push((job.stream.name.clone(), result));
    }
    out
}
