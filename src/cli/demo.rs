//! `switchboard demo`: the embedded first run.
//!
//! Honest by construction: the simulated ServiceNow, Jira Service
//! Management, TOPdesk (IT), Personio (HR), Odoo (Finance) and Maximo
//! (Facilities) are real HTTP servers on loopback, and everything after them is the production path (the shipped
//! manifests and mappings, the `rest` and `jsonrpc` connectors, the sync engine, the SQLite
//! store, the daemon). Only the instance URLs and credentials are
//! overridden, exactly as an admin would for their own instances.

use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::{Cli, load_catalog, load_config};
use crate::sim::estate::Estate;
use crate::sim::servicenow::ServiceNowSim;
use crate::store::{CountedTable, Store};
use crate::sync::{ProgressFn, SyncJob, SyncReport};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Sync once, print the summary and exit (0 when every stream synced).
    #[arg(long)]
    once: bool,
    /// How many incidents the simulated ServiceNow starts with.
    #[arg(long, default_value_t = 500)]
    incidents: usize,
    /// The demo's own store. A sqlite file is recreated at every start so the
    /// summary shows exactly this run; the configured store is never touched.
    #[arg(long, default_value = "sqlite://switchboard-demo.db")]
    store: String,
}

pub async fn run(cli: &Cli, args: &DemoArgs) -> anyhow::Result<()> {
    let mut cfg = load_config(cli)?;
    // Every 10 seconds, so incremental syncs show up while you watch.
    let estate = Estate::spawn(args.incidents, Some("*/10 * * * * *".to_string()))
        .await
        .context("failed to start the simulators")?;
    estate.configure(&mut cfg.settings);
    println!(
        "simulated ServiceNow at {} ({} incidents), Jira Service Management at {}, TOPdesk at {}, \
         Personio at {}, Odoo at {}, Maximo at {}",
        estate.servicenow.base_url,
        args.incidents,
        estate.jira.base_url,
        estate.topdesk.base_url,
        estate.personio.base_url,
        estate.odoo.base_url,
        estate.maximo.base_url
    );
    let catalog = load_catalog(&cfg)?;
    reset_sqlite(&args.store)?;
    let store = Store::connect(&args.store, 4).await?;
    store.migrate().await?;
    store.declare_owners(&catalog.owners()).await?;
    println!("store: {}", args.store);
    let connectors = catalog.jobs().context("failed to build connectors")?;

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let show: ProgressFn<'_> = &|job: &SyncJob, r: &SyncReport| {
        bar.set_message(format!(
            "{}/{}: page {}, {} fetched, {} stored, {} quarantined",
            job.system(),
            job.stream.name,
            r.pages,
            r.fetched,
            r.stored,
            r.quarantined
        ));
    };
    let never = CancellationToken::new();
    let mut failed = 0;
    for c in &connectors {
        for (stream, result) in crate::daemon::sync_connector(&store, c, &never, show).await {
            match result {
                // suspend(), not println(): the latter prints nothing without a terminal.
                Ok(r) => bar.suspend(|| {
                    println!(
                        "synced {}/{stream}: {} pages, {} fetched, {} stored, {} unchanged, {} quarantined",
                        c.system, r.pages, r.fetched, r.stored, r.unchanged, r.quarantined
                    )
                }),
                Err(e) => {
                    failed += 1;
                    bar.suspend(|| println!("FAILED {}/{stream}: {e}", c.system));
                }
            }
        }
    }
    bar.finish_and_clear();
    print_summary(&store).await?;
    if failed > 0 {
        anyhow::bail!("{failed} stream(s) failed to sync");
    }
    if args.once {
        estate.shutdown().await;
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind(cfg.settings.http.listen)
        .await
        .with_context(|| format!("failed to listen on {}", cfg.settings.http.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "\nserving http://{addr}/status (also /healthz, /readyz). The simulator now changes a few \
         incidents every 15 s; watch the incremental syncs below. Ctrl-C to stop."
    );
    let stop = CancellationToken::new();
    tokio::spawn(super::stop_on_signal(stop.clone()));
    tokio::spawn(simulate_activity(
        estate.servicenow.sim.clone(),
        stop.clone(),
    ));
    let reload = cfg.settings.paths.reload_every();
    crate::daemon::run(store, connectors, listener, reload, stop).await?;
    estate.shutdown().await;
    Ok(())
}

/// Delete a SQLite demo file and its WAL companions; other URLs are left alone.
fn reset_sqlite(url: &str) -> anyhow::Result<()> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot reset demo store {file}")),
        }
    }
    Ok(())
}

async fn print_summary(store: &Store) -> anyhow::Result<()> {
    let counts = store.status_counts().await?;
    let total = store.count(CountedTable::WorkItems).await?;
    let quarantined = store.count(CountedTable::Quarantine).await?;
    let people = store.count(CountedTable::People).await?;
    let placeholders = store.count(CountedTable::Placeholders).await?;
    println!(
        "\nwork items in the store: {total} ({quarantined} records in quarantine)\n\
         people: {} from HR and ERP, {placeholders} known only by reference so far",
        people - placeholders
    );
    println!("  {:<12} {:<12} {:>6}", "department", "status", "count");
    for c in counts {
        println!(
            "  {:<12} {:<12} {:>6}",
            c.department.as_deref().unwrap_or("-"),
            c.status,
            c.count
        );
    }
    Ok(())
}

/// Move a few incidents along their lifecycle, as agents would.
async fn simulate_activity(sim: ServiceNowSim, stop: CancellationToken) {
    let mut tick = 0usize;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            _ = stop.cancelled() => return,
        }
        let incidents = sim.records("incident");
        for i in 0..3 {
            let Some(rec) = incidents.get((tick * 3 + i) * 7 % incidents.len().max(1)) else {
                continue;
            };
            let Some(id) = rec.get("sys_id").and_then(Value::as_str) else {
                continue;
            };
            let next = match rec.get("state").and_then(Value::as_str) {
                Some("1") => "2",
                Some("2") => "6",
                Some("6") => "7",
                _ => "2",
            };
            let mut fields = Map::new();
            fields.insert("state".into(), Value::String(next.into()));
            sim.update("incident", id, fields);
        }
        tick += 1;
    }
}
