//! The daemon: wires the catalog's sync jobs to cron schedules and serves
//! the HTTP probes, until told to stop.
//!
//! Each connector gets one task that runs its streams in turn, so a stream
//! never syncs twice at once; `schedule` runs it, and a failed stream again
//! soon after, with backoff. Stopping cancels a token: tasks finish the page
//! in hand (its transaction commits or never started) and return.

pub mod http;
pub mod lease;
pub mod reload;
pub mod schedule;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::catalog::ConnectorJobs;
use crate::store::Store;
use crate::sync::{ProgressFn, SyncReport};

/// What the daemon serves beside its probes and webhooks.
pub struct Surface {
    /// The HTTP API under `/api/v1`.
    pub api: crate::api::ApiState,
    /// The pages (`/`, `/portal`): how people sign in.
    pub web: crate::config::WebSettings,
}

/// Run every connector on its schedule (and once at start) until `stop`.
pub async fn run(
    store: Store,
    connectors: Vec<ConnectorJobs>,
    listener: TcpListener,
    reload_every: Option<std::time::Duration>,
    routing_reload: Option<reload::RoutingReload>,
    surface: Surface,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    // One daemon per SQLite file; held until this function returns.
    let _single = store.claim_single_instance()?;
    let Surface { api, web } = surface;
    let addr: SocketAddr = listener.local_addr()?;
    // Install the recorder before the first event so no count is lost.
    crate::telemetry::metrics();
    tracing::info!(%addr, connectors = connectors.len(), "daemon started");
    let mut tasks = JoinSet::new();
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
    let instance = Arc::new(lease::Instance::default());
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
    let server_stop = stop.clone();
    let app = http::router(store.clone(), hooks)
        .merge(crate::web::router(api.clone(), &web))
        .merge(crate::api::router(api));
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { server_stop.cancelled().await });
    let server = tokio::spawn(async move { server.await });

    stop.cancelled().await;
    tracing::info!("stopping: finishing pages in flight");
    while let Some(res) = tasks.join_next().await {
        if let Err(e) = res {
            tracing::error!(error = %e, "connector task failed");
        }
    }
    server.await??;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Run every stream of a connector once. A failing stream does not stop the
/// others; its error is logged, counted, and kept in `sync_state`.
pub async fn sync_connector(
    store: &Store,
    c: &ConnectorJobs,
    stop: &CancellationToken,
    progress: ProgressFn<'_>,
) -> Vec<(String, Result<SyncReport, String>)> {
    let mut out = Vec::new();
    for job in &c.jobs {
        if stop.is_cancelled() {
            break;
        }
        let result = job.run(store, stop, progress).await;
        out.push((job.stream.name.clone(), result.map_err(|e| e.to_string())));
    }
    out
}
