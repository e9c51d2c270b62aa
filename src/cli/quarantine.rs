//! `switchboard quarantine`: the records a mapping rejected, listed, shown
//! with their raw payload, and retried once the mapping is fixed, without
//! asking the source again. Also the per-stream summary and exit code of
//! `run --once`, which point here.
//!
//! The work is `ops::quarantine`'s (the API's retry takes the same path);
//! a retry here uses the mapping files as the catalog loads them for a run.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Cli, connect_store, load_catalog, load_config};
use crate::ops::quarantine as ops;
use crate::ops::{QuarantineError, RetryWhich, StreamRetry};
use crate::store::{QuarantineFilter, QuarantineRow, QuarantinedRecord, Store};
use crate::telemetry::text::Escaped;

/// The exit code of `run --once` and `quarantine retry` when they did
/// their work but records are in quarantine: 1 is a failure, 2 is clap's
/// usage error.
pub const EXIT_QUARANTINED: u8 = 3;

/// Records are in quarantine: not an error, but a cron job must notice.
#[derive(Debug, thiserror::Error)]
#[error(
    "{records} record(s) in quarantine for {what}; see `switchboard quarantine list`, \
     and docs/OPERATIONS.md#quarantine (exit code 3)"
)]
pub struct InQuarantine {
    pub records: i64,
    pub what: &'static str,
}

#[derive(Debug, clap::Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    command: QuarantineCommand,
}

#[derive(Debug, clap::Subcommand)]
enum QuarantineCommand {
    /// One line per quarantined record, oldest first: id, system/stream,
    /// external id, when it was last mapped, and the reason's first line.
    List {
        /// One JSON object per line, with the whole reason.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: StreamFilter,
    },
    /// One quarantined record: the whole reason, the mapping version that
    /// rejected it, when it was first and last mapped, and the raw payload
    /// the source sent (pretty JSON).
    Show {
        /// The record's id, as `list` shows it.
        id: i64,
    },
    /// Map quarantined records again with the mapping files as they are
    /// now, from the payloads the store kept (the source is not asked), and
    /// store those that map: one by id, the records of a system or stream,
    /// or `--all`. A record that still fails stays with the new reason; one
    /// the mapping now skips (`skip_if`) leaves quarantine. Retrying again
    /// applies nothing twice. Exits 3 if records remain in quarantine.
    #[command(group(
        clap::ArgGroup::new("which")
            .required(true)
            .multiple(true)
            .args(["id", "all", "system", "stream"])
    ))]
    Retry {
        /// The record's id, as `list` shows it.
        #[arg(conflicts_with_all = ["all", "system", "stream"])]
        id: Option<i64>,
        #[command(flatten)]
        filter: StreamFilter,
        /// Every stream's quarantined records.
        #[arg(long, conflicts_with_all = ["system", "stream"])]
        all: bool,
    },
}

/// Which streams: both flags narrow, either alone is fine.
#[derive(Debug, Clone, clap::Args)]
struct StreamFilter {
    /// Only this system (the manifest's `system`, e.g. `servicenow`).
    #[arg(long)]
    system: Option<String>,
    /// Only this stream (e.g. `incident`).
    #[arg(long)]
    stream: Option<String>,
}

impl StreamFilter {
    fn store_filter(&self) -> QuarantineFilter<'_> {
        QuarantineFilter {
            system: self.system.as_deref(),
            stream: self.stream.as_deref(),
            id: None,
        }
    }
}

pub async fn run(cli: &Cli, args: &QuarantineArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    match &args.command {
        QuarantineCommand::List { json, filter } => {
            let store = connect_store(&cfg).await?;
            let rows = ops::list(&store, filter.store_filter(), None, None).await;
            store.close().await;
            print_list(&rows?, *json);
        }
        QuarantineCommand::Show { id } => {
            let store = connect_store(&cfg).await?;
            let record = ops::show(&store, *id).await;
            store.close().await;
            print_record(&with_hint(record)?);
        }
        QuarantineCommand::Retry { id, filter, .. } => {
            // The catalog first: a broken mapping is reported before the
            // store is touched.
            let catalog = load_catalog(&cfg)?;
            let store = connect_store(&cfg).await?;
            let connectors = catalog.jobs().context("failed to build connectors")?;
            let stop = CancellationToken::new();
            tokio::spawn(super::stop_on_signal(stop.clone()));
            let which = match id {
                Some(id) => RetryWhich::One(*id),
                // Clap requires --all or a filter here; --all is the empty filter.
                None => RetryWhich::Streams {
                    system: filter.system.clone(),
                    stream: filter.stream.clone(),
                },
            };
            let jobs = ops::jobs(&connectors);
            let result =
                ops::retry(&store, &jobs, &which, "command", &stop, &mut print_stream).await;
            store.close().await;
            let outcome = with_hint(result)?;
            if outcome.nothing_waiting {
                println!("nothing in quarantine to retry");
            } else if id.is_none() {
                println!(
                    "retried: {} stored, {} skipped by the mapping; {} still in quarantine",
                    outcome.total.stored, outcome.total.skipped, outcome.left
                );
            }
            if outcome.left > 0 {
                return Err(InQuarantine {
                    records: outcome.left,
                    what: "what was retried",
                }
                .into());
            }
        }
    }
    Ok(())
}

/// A record that is not there is named with where to look.
fn with_hint<T>(result: Result<T, QuarantineError>) -> anyhow::Result<T> {
    match result {
        Err(QuarantineError::NotFound { id, total }) => anyhow::bail!(
            "no quarantined record {id} ({total} in quarantine; `switchboard quarantine list` shows them)"
        ),
        other => Ok(other?),
    }
}

/// One line per stream, as each is done.
fn print_stream(done: &StreamRetry) {
    match done {
        StreamRetry::NoJob {
            system,
            stream,
            records,
        } => {
            let why = QuarantineError::NoJob {
                system: system.clone(),
                stream: stream.clone(),
            };
            println!("{system}/{stream}: {records} record(s) left: {why}");
        }
        StreamRetry::Retried {
            system,
            stream,
            report,
            ..
        } => {
            let mut line = format!(
                "{system}/{stream}: {} retried: {} stored, {} still quarantined, {} skipped",
                report.retried, report.stored, report.quarantined, report.skipped
            );
            if report.changed > 0 {
                line += &format!(
                    ", {} changed by a sync meanwhile (retry again)",
                    report.changed
                );
            }
            if report.interrupted {
                line += "; stopped before the end";
            }
            println!("{line}");
        }
    }
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A reason's first line, short enough for a terminal line.
fn one_line(reason: &str) -> String {
    const MAX: usize = 160;
    let mut lines = reason.lines();
    let first = lines.next().unwrap_or_default().trim();
    let cut = match first.char_indices().nth(MAX) {
        Some((i, _)) => &first[..i],
        None => first,
    };
    let more = cut.len() < first.len() || lines.next().is_some();
    format!("{cut}{}", if more { " …" } else { "" })
}

fn print_list(rows: &[QuarantineRow], as_json: bool) {
    if as_json {
        for r in rows {
            println!(
                "{}",
                json!({"id": r.id, "system": r.source_system, "stream": r.source_stream,
                       "external_id": r.external_id, "reason": r.reason,
                       "mapping_version": r.mapping_version, "first_seen_at": time(&r.first_seen_at),
                       "last_seen_at": time(&r.last_seen_at), "attempts": r.attempts})
            );
        }
        return;
    }
    if rows.is_empty() {
        println!("nothing in quarantine");
        return;
    }
    for r in rows {
        println!(
            "{}  {}/{}  {}  {}  {}",
            r.id,
            r.source_system,
            r.source_stream,
            Escaped(&r.external_id),
            time(&r.last_seen_at),
            Escaped(one_line(&r.reason))
        );
    }
    println!(
        "\n{} record(s) in quarantine. `switchboard quarantine show ID` shows one with its payload; \
         fix the mapping, then `switchboard quarantine retry ID` (or --system/--stream, or --all).",
        rows.len()
    );
}

fn print_record(record: &QuarantinedRecord) {
    let (r, payload) = (&record.row, &record.payload);
    println!("quarantined record {}", r.id);
    println!("  stream:          {}/{}", r.source_system, r.source_stream);
    // A source's id and the values a reason quotes come from outside:
    // their control characters are shown escaped, never acted on.
    println!("  external id:     {}", Escaped(&r.external_id));
    println!(
        "  mapping version: {}",
        r.mapping_version.as_deref().unwrap_or("(not recorded)")
    );
    println!("  first seen:      {}", time(&r.first_seen_at));
    println!(
        "  last mapped:     {} (attempt {})",
        time(&r.last_seen_at),
        r.attempts
    );
    println!("reason:");
    for line in r.reason.lines() {
        println!("  {}", Escaped(line));
    }
    println!("payload:");
    println!(
        "{}",
        serde_json::to_string_pretty(payload).unwrap_or_else(|_| payload.to_string())
    );
}

/// A connector's system, and how the run of each of its streams ended
/// (as `daemon::sync_connector` returns it).
pub type ConnectorRun = (String, Vec<(String, crate::daemon::StreamRun)>);

/// `run --once`'s line per stream, and how many records the streams it
/// synced hold in quarantine now (from one query).
pub async fn summarize_run(store: &Store, ran: &[ConnectorRun]) -> anyhow::Result<i64> {
    let counts: BTreeMap<(String, String), i64> = store
        .quarantine_counts()
        .await?
        .into_iter()
        .map(|c| ((c.source_system, c.source_stream), c.records))
        .collect();
    // Only read when a stream was left to another instance, to name it.
    let left = ran
        .iter()
        .flat_map(|(_, s)| s)
        .any(|(_, r)| matches!(r, Ok(None)));
    let leases = if left {
        store.leases().await?
    } else {
        Vec::new()
    };
    let mut waiting = 0;
    for (system, streams) in ran {
        for (stream, result) in streams {
            let held = counts
                .get(&(system.clone(), stream.clone()))
                .copied()
                .unwrap_or(0);
            waiting += held;
            match result {
                Ok(Some(r)) => println!(
                    "{system}/{stream}: {} fetched, {} stored, {} unchanged, {} quarantined, {} skipped; \
                     {held} in quarantine",
                    r.fetched, r.stored, r.unchanged, r.quarantined, r.skipped
                ),
                Ok(None) => {
                    let lease = leases
                        .iter()
                        .find(|l| &l.source_system == system && &l.source_stream == stream);
                    let holder = lease.and_then(|l| l.holder.as_deref()).unwrap_or("?");
                    let until = lease
                        .and_then(|l| l.expires_ms)
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map_or("?".into(), |t| t.format("%H:%M:%SZ").to_string());
                    println!(
                        "{system}/{stream}: left alone, instance {holder} holds its lease until \
                         {until} (a daemon syncing it now, or a run killed before it gave the \
                         lease back); {held} in quarantine"
                    )
                }
                Err(e) => println!("{system}/{stream}: FAILED: {e}; {held} in quarantine"),
            }
        }
    }
    Ok(waiting)
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn a_reason_is_cut_to_its_first_line() {
        assert_eq!(one_line("bad value"), "bad value");
        assert_eq!(one_line("first\nsecond"), "first …");
        let long = "é".repeat(200);
        assert_eq!(one_line(&long), format!("{} …", "é".repeat(160)));
    }
}
