//! `switchboard demo`: the embedded first run.
//!
//! Honest by construction: the simulated ServiceNow, Jira Service
//! Management, TOPdesk (IT), Personio (HR), Odoo (Finance) and Maximo
//! (Facilities) are real HTTP servers on loopback, and everything after them is the production path (the shipped
//! manifests and mappings, the `rest` and `jsonrpc` connectors, the sync engine, the SQLite
//! store, the daemon). Only the instance URLs and credentials are
//! overridden, exactly as an admin would for their own instances.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};
use switchboard_sim::estate::Estate;
use switchboard_sim::servicenow::ServiceNowSim;
use tokio_util::sync::CancellationToken;

use super::{Cli, demo_files, load_catalog};
use crate::catalog::ConnectorJobs;
use crate::store::{CountedTable, Store};
use crate::sync::{ProgressFn, SyncJob, SyncReport};
use crate::writer::Writers;
use crate::writer::local::{LocalOptions, deliver_once};

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
    /// Default: switchboard-demo.db in the current folder or, if that is not
    /// writable, in a new temporary folder (the demo says which).
    #[arg(long)]
    store: Option<String>,
    /// Show the detailed log (the configured [log] level, or RUST_LOG) on
    /// stderr while the demo runs. Without it, only warnings and errors
    /// interrupt the demo's story until it starts serving.
    #[arg(short, long)]
    verbose: bool,
    /// Write the detailed log (the configured [log] level) to this file,
    /// from the start and without colour, instead of stderr; the terminal
    /// keeps the demo's story. Appends to a file that exists.
    #[arg(long, value_name = "FILE")]
    log_file: Option<std::path::PathBuf>,
}

pub async fn run(cli: &Cli, args: &DemoArgs) -> anyhow::Result<()> {
    let mut cfg = crate::config::load(cli.config.as_deref())?;
    let format = cli.log_format.unwrap_or(cfg.settings.log.format);
    // The story is the demo's own lines on stdout; the tracing log on
    // stderr would interleave with them on a terminal, so it waits for -v
    // (or RUST_LOG, which wins over any level).
    let story_level = if args.verbose {
        cfg.settings.log.level.clone()
    } else {
        "warn".to_string()
    };
    match &args.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            crate::telemetry::init_file(format, &cfg.settings.log.level, file);
            println!("log: {}", path.display());
        }
        None => crate::telemetry::init(format, &story_level),
    }
    // Kept alive to the end: the catalog, and the daemon's reloads, read there.
    let wanted = cfg.connectors_dir();
    let embedded = demo_files::embedded_if_missing(&mut cfg)?;
    if embedded.is_some() {
        println!(
            "project files: no {}/ folder here, so the demo uses the ones built into this \
             binary (`switchboard init` writes them out)",
            wanted.display()
        );
    }
    // Every 10 seconds, so incremental syncs show up while you watch.
    let estate = Estate::spawn(args.incidents)
        .await
        .context("failed to start the simulators")?;
    super::estate::configure(&estate, &mut cfg.settings, Some("*/10 * * * * *"));
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
    let url = match &args.store {
        Some(url) => url.clone(),
        None => {
            let (url, temporary) = demo_files::default_store()?;
            if temporary {
                println!(
                    "cannot write switchboard-demo.db in the current folder: the store goes to a temporary folder"
                );
            }
            url
        }
    };
    demo_files::reset_sqlite(&url)?;
    let store = Store::connect(&url, 4).await?;
    store.migrate().await?;
    store.declare_owners(&catalog.owners()).await?;
    println!("store: {url}");
    let connectors = catalog.jobs().context("failed to build connectors")?;

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let around = bar.clone();
    let log_around_bar = crate::telemetry::around_stderr(move |write| around.suspend(write));
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
                Ok(None) => bar.suspend(|| {
                    println!("left {}/{stream}: another instance is syncing it", c.system)
                }),
                Ok(Some(r)) => bar.suspend(|| {
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
    drop(log_around_bar);
    if failed > 0 {
        print_summary(&store).await?;
        anyhow::bail!("{failed} stream(s) failed to sync");
    }
    let writers = catalog.writers(&store, &connectors);
    journeys(&estate, &store, &connectors, &writers).await?;
    print_summary(&store).await?;
    if args.once {
        estate.shutdown().await;
        return Ok(());
    }

    let listener = tokio::net::TcpListener::bind(cfg.settings.http.listen)
        .await
        .with_context(|| format!("failed to listen on {}", cfg.settings.http.listen))?;
    let addr = listener.local_addr()?;
    // A token for this run only, so the API can be tried at once: every
    // scope, and every confidentiality class routing.toml names.
    let demo_token = uuid::Uuid::new_v4().simple().to_string();
    let mut api_settings = cfg.settings.api.clone();
    let mut scopes: Vec<String> = ["admin", "portal"].map(String::from).to_vec();
    if let Some(r) = &catalog.routing {
        scopes.extend(r.clearance.values().flatten().cloned());
    }
    scopes.sort();
    scopes.dedup();
    api_settings.tokens.push(crate::config::ApiToken {
        name: "demo".into(),
        token: Some(crate::config::SecretRef::Literal(demo_token.clone())),
        sha256: None,
        scopes,
    });
    // The last words on stdout while the daemon serves: a reader that
    // went away (`demo | head`) must not take the daemon down with it.
    let _ = writeln!(
        std::io::stdout(),
        "\nThe simulator now changes a few incidents every 15 s; the log below shows the \
         incremental syncs. Ctrl-C to stop.\n\n\
         Try the front door with this run's token: {demo_token}\n  \
         status page      http://{addr}/\n  \
         employee portal  http://{addr}/portal  (sign in with the token and any employee's \
         e-mail address, such as ann@example.com: raise a request, follow it; docs/PORTAL.md)\n  \
         API              http://{addr}/api/v1  (docs/API.md), for example\n    \
         curl -H 'Authorization: Bearer {demo_token}' http://{addr}/api/v1/work-items\n  \
         probes           http://{addr}/healthz, /readyz, /status (JSON), /metrics\n"
    );
    // The story is told: from here the log is what there is to watch.
    crate::telemetry::set_level(&cfg.settings.log.level);
    let stop = CancellationToken::new();
    tokio::spawn(super::stop_on_signal(stop.clone()));
    tokio::spawn(simulate_activity(
        estate.servicenow.sim.clone(),
        stop.clone(),
    ));
    let mut delivery = tokio::task::JoinSet::new();
    delivery.spawn(crate::writer::local::run_local(
        store.clone(),
        writers,
        LocalOptions::default(),
        stop.clone(),
    ));
    let tokens = crate::api::Tokens::from_settings(&api_settings)
        .context("[api] tokens: a secret it names is not set")?;
    let api = crate::api::ApiState {
        store: store.clone(),
        tokens: std::sync::Arc::new(tokens),
        services: catalog.services.clone().map(std::sync::Arc::new),
        router: connectors
            .iter()
            .flat_map(|c| &c.jobs)
            .find_map(|j| j.router.clone()),
        connectors: Vec::new(),
        broker: None,
    };
    let options = crate::daemon::Options {
        reload_every: cfg.settings.paths.reload_every(),
        settings: cfg.settings.daemon.clone(),
        delivery,
        ..Default::default()
    };
    let surface = crate::daemon::Surface {
        api,
        web: cfg.settings.web.clone(),
    };
    crate::daemon::run(store, connectors, listener, options, surface, stop).await?;
    estate.shutdown().await;
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

/// The two journeys the demo shows: a heating fault raised at the IT desk
/// becomes a Facilities work order whose progress comes back to the ticket,
/// and a hire in HR becomes three tasks in three departments under one
/// case. The simulators play the people; everything else is `run`'s path.
async fn journeys(
    estate: &Estate,
    store: &Store,
    connectors: &[ConnectorJobs],
    writers: &Writers,
) -> anyhow::Result<()> {
    let sync = |system: &'static str| async move {
        let never = CancellationToken::new();
        if let Some(c) = connectors.iter().find(|c| c.system == system) {
            for (stream, result) in
                crate::daemon::sync_connector(store, c, &never, &|_, _| {}).await
            {
                result.map_err(|e| anyhow::anyhow!("{system}/{stream}: {e}"))?;
            }
        }
        anyhow::Ok(())
    };
    let deliver = || async {
        let options = LocalOptions::default();
        let mut applied = 0;
        loop {
            let r = deliver_once(store, writers, &options).await?;
            applied += r.applied;
            if r.claimed == 0 {
                return anyhow::Ok(applied);
            }
        }
    };
    println!("\njourneys (routing.toml, delivered in-process: no broker configured)");

    // An employee reports a heating fault at the IT service desk.
    let mut ticket = Map::new();
    for (k, v) in [
        ("short_description", "No heating on floor 3"),
        (
            "description",
            "Radiators on the third floor are cold since this morning.",
        ),
        ("state", "1"),
    ] {
        ticket.insert(k.into(), Value::String(v.into()));
    }
    let sys_id = estate.servicenow.sim.insert("incident", ticket);
    sync("servicenow").await?;
    deliver().await?;
    let hops = store.hops("servicenow", &sys_id).await?;
    let number = estate
        .servicenow
        .sim
        .get("incident", &sys_id)
        .and_then(|i| i.get("number").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_default();
    match hops.first() {
        Some(h) => println!(
            "  heating: ServiceNow {number} \"No heating on floor 3\" -> {} work order {}",
            h.to_system, h.to_id
        ),
        None => println!("  heating: ServiceNow {number} was not routed (see routing.toml)"),
    }
    // Facilities starts the work in Maximo; the next polls carry it back.
    if let Some(order) = estate
        .maximo
        .sim
        .records()
        .into_iter()
        .find(|w| w.get("description").and_then(Value::as_str) == Some("No heating on floor 3"))
    {
        let text = |k: &str| {
            order
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let rest_id = switchboard_sim::maximo::model::rest_id(&text("siteid"), &text("wonum"));
        if let Err(e) = estate
            .maximo
            .sim
            .update(&rest_id, serde_json::json!({"status": "INPRG"}))
        {
            println!("  heating: Maximo refused the status change: {e}");
        }
        sync("maximo").await?;
        deliver().await?;
        let comment = estate
            .servicenow
            .sim
            .get("incident", &sys_id)
            .and_then(|i| {
                i.get("comments")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        println!(
            "  heating: Maximo set it in progress; the ServiceNow ticket now says \"{comment}\""
        );
        sync("servicenow").await?;
        sync("maximo").await?;
        println!(
            "  heating: polled both again: {} message(s) waiting, nothing routed back and forth",
            store.outbox_pending().await?
        );
    }

    // HR records a hire.
    let hire = estate
        .personio
        .sim
        .hire("Ada", "Lovelace", "ada.lovelace@example.com");
    sync("personio").await?;
    let applied = deliver().await?;
    let case = format!("onboarding:personio:employees:{hire}");
    println!(
        "  onboarding: Personio hire Ada Lovelace -> case {case}, {applied} task(s) delivered:"
    );
    for h in store.hops(crate::store::HUB, &case).await? {
        let task = h.from_id.rsplit('#').next().unwrap_or_default();
        println!("    {task:<15} -> {} {}", h.to_system, h.to_id);
    }
    for system in ["servicenow", "maximo", "odoo"] {
        sync(system).await?;
    }
    let dead = store.dead_letters().await?;
    if !dead.is_empty() {
        println!(
            "  {} dead letter(s); `switchboard dlq list` shows why",
            dead.len()
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
