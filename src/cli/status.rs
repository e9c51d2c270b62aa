//! `switchboard status` (a table of streams) and `switchboard sync NAME`
//! (one connector now): the operator's view of what `GET /api/v1/connectors`
//! and `POST /api/v1/connectors/{name}/sync` give over HTTP, on the same
//! code (`api::connector_statuses`, `daemon::sync_connector`).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Cli, connect_store, load_catalog, load_config};
use crate::api::{ConnectorStatus, connector_statuses};
use crate::sync::{SyncJob, SyncReport};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The statuses as JSON (the same shape as `GET /api/v1/connectors`).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// The connector's system name, as in its manifest (`system = ...`).
    pub(super) name: String,
    /// Only this stream of the connector.
    #[arg(long)]
    pub(super) stream: Option<String>,
    /// With a `[broker]`: how long, in seconds, to run the writers after
    /// the sync so that the work it routed reaches the target systems, as
    /// `run --once --deliver-for` does.
    #[arg(long, value_name = "SECS", default_value_t = super::once::DELIVER_FOR_SECS)]
    pub(super) deliver_for: u64,
}

pub async fn status(cli: &Cli, args: &StatusArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let catalog = load_catalog(&cfg)?;
    let store = connect_store(&cfg).await?;
    // Planned, not built: a status needs no secret and contacts no system.
    let statuses = connector_statuses(&store, &catalog.plans()).await?;
    store.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else {
        print!("{}", table(&statuses));
    }
    Ok(())
}

/// One row per stream; times as ages so a glance tells what is stale.
fn table(statuses: &[ConnectorStatus]) -> String {
    let mut rows = vec![
        [
            "CONNECTOR",
            "STREAM",
            "LAST RUN",
            "TOOK",
            "FETCHED",
            "STORED",
            "LAG",
            "QUARANTINED",
            "NEXT RUN",
            "LAST ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let now = chrono::Utc::now();
    let age = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| format!("{} ago", human((now - t.to_utc()).num_seconds())))
            .unwrap_or_else(|| "never".into())
    };
    for c in statuses {
        let next = c
            .next_run
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| format!("in {}", human((t.to_utc() - now).num_seconds())))
            .unwrap_or_else(|| "-".into());
        for s in &c.streams {
            let error = s
                .last_error
                .as_deref()
                .map(|e| crate::telemetry::text::Escaped(first_line(e)).to_string())
                .unwrap_or_default();
            rows.push(vec![
                c.system.clone(),
                s.name.clone(),
                age(&s.last_run_finished_at),
                s.last_run_seconds
                    .map(|t| format!("{t:.1}s"))
                    .unwrap_or_else(|| "-".into()),
                count(s.last_run_fetched),
                count(s.last_run_stored),
                s.lag_seconds.map(human).unwrap_or_else(|| "-".into()),
                s.quarantined.to_string(),
                next.clone(),
                error,
            ]);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn count(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 80 || text.lines().nth(1).is_some() {
        format!("{} …", line.chars().take(80).collect::<String>())
    } else {
        line.to_string()
    }
}

/// Seconds as the largest two units: `45s`, `3m 20s`, `2h 5m`, `3d 4h`.
pub(super) fn human(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

pub async fn sync(cli: &Cli, args: &SyncArgs) -> anyhow::Result<()> {
    sync_from(cli, args, None).await
}

/// `sync`, and `resync` (`reset`: the cursor to start from, `None` for
/// the cursor's `initial`): the stream's cursor is set first.
pub(super) async fn sync_from(
    cli: &Cli,
    args: &SyncArgs,
    reset: Option<Option<&str>>,
) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let catalog = load_catalog(&cfg)?;
    let store = connect_store(&cfg).await?;
    store.declare_owners(&catalog.owners()).await?;
    let connectors = catalog.jobs().context("failed to build connectors")?;
    let names: Vec<String> = connectors.iter().map(|c| c.system.clone()).collect();
    let Some(mut chosen) = connectors.iter().find(|c| c.system == args.name).cloned() else {
        let hint = crate::diag::suggest(&args.name, &names)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        anyhow::bail!(
            "no enabled connector `{}`{hint}; enabled: {}",
            args.name,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        );
    };
    if let Some(stream) = &args.stream {
        let streams: Vec<String> = chosen.jobs.iter().map(|j| j.stream.name.clone()).collect();
        chosen.jobs.retain(|j| &j.stream.name == stream);
        if chosen.jobs.is_empty() {
            anyhow::bail!(
                "connector `{}` has no stream `{stream}`; its streams: {}",
                args.name,
                streams.join(", ")
            );
        }
    }
    if let Some(from) = reset {
        super::remap::reset_cursor(&store, &chosen, from).await?;
    }
    // Routed work may go to any connector, so every writer is there.
    let writers = catalog.writers(&store, &connectors);
    let progress = Progress::new();
    let result = super::once::run_once(
        &cfg,
        &store,
        std::slice::from_ref(&chosen),
        &writers,
        Duration::from_secs(args.deliver_for),
        &|job, report| progress.page(job, report),
    )
    .await;
    progress.finish();
    result
}

/// Pages as they commit: a spinner per stream on a terminal, else a plain
/// line at most every few seconds (a log file is not a screen).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    /// The log is written around the spinner while it shows.
    _log_around_bar: Option<crate::telemetry::AroundGuard>,
    last_line: Mutex<Option<Instant>>,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let log_around_bar = bar
            .clone()
            .map(|bar| crate::telemetry::around_stderr(move |write| bar.suspend(write)));
        Self {
            bar,
            _log_around_bar: log_around_bar,
            last_line: Mutex::new(None),
        }
    }

    fn page(&self, job: &SyncJob, r: &SyncReport) {
        let text = format!(
            "{}/{}: {} page(s), {} fetched, {} stored, {} unchanged, {} quarantined",
            job.system(),
            job.stream.name,
            r.pages,
            r.fetched,
            r.stored,
            r.unchanged,
            r.quarantined
        );
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => {
                let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
                if last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
                    println!("{text}");
                    *last = Some(Instant::now());
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn durations_read_as_two_units() {
        assert_eq!(human(-5), "0s");
        assert_eq!(human(45), "45s");
        assert_eq!(human(200), "3m 20s");
        assert_eq!(human(7_500), "2h 5m");
        assert_eq!(human(273_600), "3d 4h");
    }
}
