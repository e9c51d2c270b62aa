//! The command line: `run`, `demo`, `check` and `migrate`.
//!
//! Each command is a thin edge over the library: it loads config, calls the
//! modules, and turns their typed errors into one clear message and an exit
//! code. Nothing here is needed by tests of the pipeline itself.

#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "demo")]
mod demo_files;
mod dlq;
#[cfg(feature = "demo")]
pub mod estate;
mod init;
mod map;
mod once;
mod probe;
mod quarantine;
mod remap;
mod report;
mod route;
#[cfg(feature = "demo")]
mod simulate;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::catalog::Catalog;
use crate::config::{self, LoadedConfig, LogFormat};
use crate::diag::Diagnostics;
use crate::store::Store;

/// The help's examples. The `demo` and `simulate` lines are the macro's
/// arguments: a build without the `demo` feature (no simulators in it) has
/// neither command, so its help leaves them out.
macro_rules! examples {
    ($demo:literal, $simulate:literal) => {
        concat!(
            "Examples:\n",
            $demo,
            "  switchboard init my-project             a starter project: config, connectors (all disabled), mappings, routing
  switchboard check                       validate switchboard.toml, connectors/ and mappings/
  SWITCHBOARD__STORE__URL=postgres://switchboard@db/switchboard switchboard run
  switchboard run --once                  one sync of every connector, for cron jobs (exit 3: records in quarantine)
  switchboard quarantine retry --all      map quarantined records again after fixing their mapping
  switchboard status                      a table of streams: last run, lag, quarantine, next run
  switchboard sync servicenow             sync one connector now, with progress
  switchboard report --from 2026-07-01 --to 2026-10-01 --format csv   a quarter's KPIs by department
  switchboard map --mapping mappings/servicenow-incident.toml --input sample.jsonl --explain
  switchboard map --mapping mappings/servicenow-incident.toml --input sample.jsonl \
    | switchboard map --mapping mappings/servicenow-update-incident.toml --input -
                                          round trip: native -> canonical -> write-back body
",
            $simulate,
            "
Files: switchboard.toml (see switchboard.example.toml), connectors/<system>.toml,
mappings/<system>-<stream>.toml (inbound), mappings/<system>-<action>.toml (outbound).
Docs: README.md, docs/ARCHITECTURE.md, docs/MAPPING.md and docs/OPERATIONS.md."
        )
    };
}

#[cfg(feature = "demo")]
const EXAMPLES: &str = examples!(
    "  switchboard demo --once                 try it, in any folder: simulated IT, HR, Finance and Facilities systems
                                          -> SQLite, then a summary (-v: with the detailed log)
",
    "  switchboard simulate servicenow         a local ServiceNow to point a manifest at
"
);

#[cfg(not(feature = "demo"))]
const EXAMPLES: &str = examples!("", "");

/// Switchboard: one front door over many service desks.
///
/// Connectors pull changes from each department's system (ITSM, HR, ERP,
/// facilities) on a schedule; mapping files turn them into one canonical model
/// in a central SQL store.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, propagate_version = true, after_help = EXAMPLES)]
pub struct Cli {
    /// Config file. Default: ./switchboard.toml if it exists, else built-in
    /// defaults (SQLite store, no broker, HTTP on 127.0.0.1:8080). Any key can
    /// be overridden with SWITCHBOARD__SECTION__KEY, e.g. SWITCHBOARD__STORE__URL.
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log format; overrides [log] format.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: sync every enabled connector at start and on its cron
    /// schedule, serve /healthz, /readyz, /status and /metrics, and, with
    /// route what changed (`routing.toml`) and deliver it to the target
    /// systems: through RabbitMQ when [broker] is set, else in-process.
    /// Stops cleanly on Ctrl-C or SIGTERM, never leaving a half-written page:
    /// /readyz says "draining", stream leases are given back, and what is
    /// still running after [daemon] shutdown_grace_secs (25) is cut off.
    /// Several instances on one PostgreSQL share the streams: docs/SCALING.md.
    Run(RunArgs),
    /// Start simulated ServiceNow, Jira Service Management, TOPdesk (IT),
    /// Personio (HR), Odoo (Finance) and Maximo (Facilities) on loopback,
    /// run the real pipeline against them into a fresh SQLite file, and show
    /// what landed, per department. Works in any folder: where there is no
    /// connectors/ folder it uses the project files built into the binary,
    /// and it says where its store is (switchboard-demo.db here, or in a
    /// temporary folder if it cannot be written here). `-v` adds the log.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
    /// Write a starter project into DIR (default: the current folder):
    /// switchboard.toml (from the shipped example), connectors/, mappings/,
    /// routing.toml and services.toml, as embedded in this binary. Every
    /// connector is written disabled (`enabled = false`), so the project
    /// passes `switchboard check` as written and syncs nothing until a
    /// connector is configured. Refuses to overwrite a file unless --force.
    Init(init::InitArgs),
    /// Validate the config file, every connector manifest and every mapping,
    /// without contacting any system. Errors are `file:line:col: message`.
    /// With `--connect`, also reach every enabled system, changing nothing:
    /// send each stream's first request as a first run would (the cursor's
    /// `initial` through its template), and print the records it returned
    /// and the first one mapped.
    Check(CheckArgs),
    /// Apply database migrations to the configured store, then exit.
    Migrate,
    /// Apply one mapping to sample records and print the results as JSON
    /// lines: canonical records for an inbound mapping, write-back bodies for
    /// an outbound one (whose input is canonical records, as an inbound
    /// mapping prints them). Exits non-zero if any record fails. `--explain`
    /// shows, per rule, the value read and the value produced.
    Map(map::MapArgs),
    /// Try canonical records against the routing rules (`routing.toml`) and
    /// show, rule by rule, which one takes the work and why. Changes nothing.
    Route(route::RouteArgs),
    /// Dead letters: routed work a target refused or that kept failing.
    /// `dlq list` shows them with the reason; `dlq replay ID` (or `--all`)
    /// sends them back once the cause is fixed.
    Dlq(dlq::DlqArgs),
    /// Records a mapping rejected: `quarantine list`, `quarantine show ID`
    /// (reason and raw payload), and `quarantine retry ID` (or `--system`,
    /// `--stream`, `--all`) to map them again once the mapping is fixed.
    Quarantine(quarantine::QuarantineArgs),
    /// A table of every enabled connector's streams: last run, how long it
    /// took, records fetched and stored, lag, records in quarantine, next
    /// run and last error (`--json`: as `GET /api/v1/connectors`).
    Status(status::StatusArgs),
    /// Sync one connector now (all its streams, or `--stream`), deliver
    /// what it routed, and print a line per stream as `run --once` does;
    /// progress on a terminal. Exit codes as `run --once`.
    Sync(status::SyncArgs),
    /// Map every raw payload the store holds again with the current
    /// mappings, without asking the sources: after a mapping edit, for the
    /// records a sync would not read again. `remap [SYSTEM [STREAM]]`.
    /// Exits 3 if the mapping now rejects some (they are in quarantine).
    Remap(remap::RemapArgs),
    /// Read one stream from its source again from a point (`--from CURSOR`,
    /// in the cursor's format), or from its start, then deliver what it
    /// routed, as `sync` does.
    Resync(remap::ResyncArgs),
    /// KPIs for a window (docs/KPIS.md) by department, week or system:
    /// volume, first response and resolution times, backlog, SLA, reopens,
    /// journeys. `--format table|csv|json|html`, `--output FILE`.
    Report(report::ReportArgs),
    /// Serve a simulated vendor API on its own, e.g. to try a manifest
    /// against before pointing it at the real system.
    #[cfg(feature = "demo")]
    Simulate(simulate::SimulateArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Also send each enabled stream's first request, as a first run would, and show its first record mapped.
    #[arg(long)]
    pub connect: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Sync every enabled connector once and exit, without serving HTTP: for
    /// cron jobs and Kubernetes CronJobs. Prints a line per stream (fetched,
    /// stored, unchanged, quarantined, skipped, and records in quarantine).
    /// A stream another instance holds the lease of is left to it, and its
    /// line names that instance. Exits 1 if a stream failed, else 3 if any stream it synced has
    /// records in quarantine (from this run or an earlier one: see
    /// `switchboard quarantine list`), else 0.
    #[arg(long)]
    pub once: bool,
    /// With `--once` and a `[broker]`: how long, in seconds, to run the
    /// writers after the sync so that the work it routed reaches the target
    /// systems. What is not delivered by then waits in RabbitMQ for the
    /// daemon (`switchboard run`), and one line says how much.
    #[arg(long, value_name = "SECS", default_value_t = once::DELIVER_FOR_SECS, requires = "once")]
    pub deliver_for: u64,
}

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(ref args) => return check(&cli, args).await,
        Command::Run(ref args) => run(&cli, args).await,
        Command::Migrate => migrate(&cli).await,
        #[cfg(feature = "demo")]
        Command::Demo(ref args) => demo::run(&cli, args).await,
        Command::Init(ref args) => init::run(args),
        #[cfg(feature = "demo")]
        Command::Simulate(ref args) => simulate::run(args).await,
        Command::Map(ref args) => map::run(args),
        Command::Route(ref args) => route::run(&cli, args).await,
        Command::Dlq(ref args) => dlq::run(&cli, args).await,
        Command::Quarantine(ref args) => quarantine::run(&cli, args).await,
        Command::Status(ref args) => status::status(&cli, args).await,
        Command::Sync(ref args) => status::sync(&cli, args).await,
        Command::Remap(ref args) => remap::remap(&cli, args).await,
        Command::Resync(ref args) => remap::resync(&cli, args).await,
        Command::Report(ref args) => report::run(&cli, args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<quarantine::InQuarantine>() {
            Some(waiting) => {
                eprintln!("{waiting}");
                ExitCode::from(quarantine::EXIT_QUARANTINED)
            }
            None => {
                print_error(&e);
                ExitCode::FAILURE
            }
        },
    }
}

/// The error and its causes, each once. Diagnostics print one per line
/// with their snippets (they escape what they quote from files); any other
/// error is one line, escaped, so nothing a source sent can fake a line.
fn print_error(e: &anyhow::Error) {
    use crate::telemetry::text::{Escaped, error_chain};
    let text = error_chain(e.chain());
    if e.chain().any(|c| c.is::<Diagnostics>()) {
        eprintln!("error: {text}");
    } else {
        eprintln!("error: {}", Escaped(text));
    }
}

/// The catalog did not check: its problems, then how many.
#[derive(Debug, thiserror::Error)]
#[error("{0}\n{n} problem(s) found; nothing was started", n = .0.0.len())]
struct Refused(#[source] Diagnostics);

fn load_config(cli: &Cli) -> anyhow::Result<LoadedConfig> {
    let cfg = config::load(cli.config.as_deref())?;
    let format = cli.log_format.unwrap_or(cfg.settings.log.format);
    crate::telemetry::init(format, &cfg.settings.log.level);
    Ok(cfg)
}

/// Load and validate everything admins edit; on failure print every problem.
fn load_catalog(cfg: &LoadedConfig) -> anyhow::Result<Catalog> {
    Catalog::load(cfg).map_err(|d| Refused(d).into())
}

async fn check(cli: &Cli, args: &CheckArgs) -> ExitCode {
    let cfg = match config::load(cli.config.as_deref()) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // The identity provider's keys are files the config names: checked
    // here like the catalogue's, and reported with its problems.
    let jwt = crate::api::jwt::Verifier::load(&cfg);
    match (Catalog::load(&cfg), jwt) {
        (Ok(c), Ok(jwt)) => {
            let streams: usize = c.manifests.iter().map(|m| m.config.streams().len()).sum();
            let enabled = c.manifests.iter().filter(|m| m.header.enabled).count();
            // Without services.toml nothing is offered, and nothing is said.
            let offerings = c
                .services
                .as_ref()
                .map(|s| format!(", {} service offering(s)", s.offerings.len()))
                .unwrap_or_default();
            let keys = jwt
                .map(|v| format!(", {} identity provider key(s)", v.key_count()))
                .unwrap_or_default();
            println!(
                "ok: config {}, {} connector(s) ({enabled} enabled), {} stream(s), {} mapping(s), {} outbound mapping(s), {}{offerings}{keys}",
                cfg.file
                    .as_ref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_else(|| "(built-in defaults)".into()),
                c.manifests.len(),
                streams,
                c.mappings.len(),
                c.outbound.len(),
                match &c.routing {
                    Some(r) => format!("{} routing rule(s)", r.rules.len()),
                    None => format!("no routing file ({})", cfg.routing_file().display()),
                }
            );
            if args.connect {
                return probe::check_connections(&c).await;
            }
            ExitCode::SUCCESS
        }
        (catalog, jwt) => {
            let mut problems = catalog.err().map(|d| d.0).unwrap_or_default();
            problems.extend(jwt.err().map(|d| d.0).unwrap_or_default());
            let d = Diagnostics(problems);
            eprintln!("{d}");
            eprintln!("{} problem(s) found", d.0.len());
            ExitCode::FAILURE
        }
    }
}

async fn connect_store(cfg: &LoadedConfig) -> anyhow::Result<Store> {
    let url = cfg.settings.store.url.resolve().context("store url")?;
    let store = Store::connect(url.expose(), cfg.settings.store.max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

async fn migrate(cli: &Cli) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    connect_store(&cfg).await?;
    tracing::info!("migrations applied");
    Ok(())
}

async fn run(cli: &Cli, args: &RunArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let catalog = load_catalog(&cfg)?;
    // Before anything starts, as `check` would refuse them.
    let jwt = crate::api::jwt::Verifier::load(&cfg).map_err(Refused)?;
    let store = connect_store(&cfg).await?;
    store.declare_owners(&catalog.owners()).await?;
    let connectors = catalog.jobs().context("failed to build connectors")?;
    if args.once {
        let writers = catalog.writers(&store, &connectors);
        let deliver_for = std::time::Duration::from_secs(args.deliver_for);
        return once::run_once(&cfg, &store, &connectors, &writers, deliver_for, &|_, _| {}).await;
    }
    let listener = tokio::net::TcpListener::bind(cfg.settings.http.listen)
        .await
        .with_context(|| format!("failed to listen on {}", cfg.settings.http.listen))?;
    let stop = CancellationToken::new();
    tokio::spawn(stop_on_signal(stop.clone()));
    let delivery = start_delivery(&cfg, &catalog, &store, &connectors, &stop)?;
    let reload = cfg.settings.paths.reload_every();
    let routing_reload = routing_reload(&cfg, &catalog, &connectors);
    let tokens = crate::api::Tokens::from_settings(&cfg.settings.api)
        .context("[api] tokens")?
        .with_jwt(jwt);
    let api = crate::api::ApiState {
        store: store.clone(),
        tokens: std::sync::Arc::new(tokens),
        services: catalog.services.clone().map(std::sync::Arc::new),
        router: connectors
            .iter()
            .flat_map(|c| &c.jobs)
            .find_map(|j| j.router.clone()),
        connectors: Vec::new(),
        broker: match &cfg.settings.broker {
            Some(b) => Some(crate::api::DeadLetterBroker {
                url: b.url.resolve().context("[broker] url")?,
                topology: crate::transport::Topology::for_prefix(&b.prefix),
            }),
            None => None,
        },
    };
    let options = crate::daemon::Options {
        reload_every: reload,
        routing_reload,
        settings: cfg.settings.daemon.clone(),
        broker: match &cfg.settings.broker {
            Some(b) => Some(b.url.resolve().context("[broker] url")?),
            None => None,
        },
        delivery,
    };
    let surface = crate::daemon::Surface {
        api,
        web: cfg.settings.web.clone(),
    };
    crate::daemon::run(store, connectors, listener, options, surface, stop).await
}

/// Reload `routing.toml` when it changes: the slot the jobs share, and a
/// loader that checks the whole catalog again.
fn routing_reload(
    cfg: &LoadedConfig,
    catalog: &Catalog,
    connectors: &[crate::catalog::ConnectorJobs],
) -> Option<crate::daemon::reload::RoutingReload> {
    let routing = catalog.routing.as_ref()?;
    let router = connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find_map(|j| j.router.clone())?;
    let cfg = cfg.clone();
    Some(crate::daemon::reload::RoutingReload {
        slot: router.routing.clone(),
        file: routing.file.clone(),
        load: std::sync::Arc::new(move || Catalog::load(&cfg).map(|c| c.routing)),
    })
}

/// Deliver routed work: with `[broker]`, the outbox relay to RabbitMQ and
/// one consumer per target connector; without, the in-process transport.
fn start_delivery(
    cfg: &LoadedConfig,
    catalog: &Catalog,
    store: &Store,
    connectors: &[crate::catalog::ConnectorJobs],
    stop: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinSet<()>> {
    let writers = catalog.writers(store, connectors);
    let outage_budget = cfg.settings.delivery.outage_budget();
    let poll = cfg.settings.daemon.outbox_poll();
    let mut tasks = tokio::task::JoinSet::new();
    let Some(broker) = &cfg.settings.broker else {
        tasks.spawn(crate::writer::local::run_local(
            store.clone(),
            writers,
            crate::writer::local::LocalOptions {
                outage_budget,
                poll,
                ..crate::writer::local::LocalOptions::default()
            },
            stop.clone(),
        ));
        return Ok(tasks);
    };
    let url = broker.url.resolve().context("[broker] url")?;
    let topology = crate::transport::Topology::for_prefix(&broker.prefix);
    tasks.spawn(crate::transport::run_relay(
        store.clone(),
        url.clone(),
        crate::transport::RelayOptions {
            topology: topology.clone(),
            poll,
            ..crate::transport::RelayOptions::default()
        },
        stop.clone(),
    ));
    for (system, writer) in writers {
        let rate = connectors
            .iter()
            .find(|c| c.system == system)
            .and_then(|c| c.connector.rate_limit_per_sec());
        let options = crate::transport::WriterOptions {
            prefetch: crate::transport::prefetch_for(rate.map(f64::from)),
            outage_budget,
            topology: topology.clone(),
            ..crate::transport::WriterOptions::default()
        };
        tasks.spawn(crate::transport::run_writer(
            url.clone(),
            system,
            writer,
            options,
            stop.clone(),
        ));
    }
    Ok(tasks)
}

/// Cancel `stop` on Ctrl-C or SIGTERM (what systemd and Kubernetes send).
pub async fn stop_on_signal(stop: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
                stop.cancel();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutdown requested");
    stop.cancel();
}
