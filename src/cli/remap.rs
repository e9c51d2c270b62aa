//! `remap` and `resync`: after a mapping edit, map what the store holds
//! again (no source request), or read a stream from the source again from
//! a point. docs/MAPPING.md, "Editing a mapping while the daemon runs".

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::status::SyncArgs;
use super::{Cli, connect_store, load_catalog, load_config};
use crate::catalog::ConnectorJobs;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct RemapArgs {
    /// Only this connector (its system name); every enabled one without it.
    system: Option<String>,
    /// Only this stream of the connector.
    stream: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ResyncArgs {
    /// The connector's system name.
    system: String,
    /// The stream to read again.
    stream: String,
    /// Read from here: a value in the stream cursor's own format, such as
    /// `2026-11-01 00:00:00` for ServiceNow. Without it, from the cursor's
    /// `initial`: the whole stream.
    #[arg(long, value_name = "CURSOR")]
    from: Option<String>,
    /// With a `[broker]`: how long, in seconds, to run the writers after the
    /// sync, as `run --once --deliver-for` does.
    #[arg(long, value_name = "SECS", default_value_t = super::once::DELIVER_FOR_SECS)]
    deliver_for: u64,
}

pub async fn remap(cli: &Cli, args: &RemapArgs) -> anyhow::Result<()> {
    let cfg = load_config(cli)?;
    let catalog = load_catalog(&cfg)?;
    let store = connect_store(&cfg).await?;
    store.declare_owners(&catalog.owners()).await?;
    let connectors = catalog.jobs().context("failed to build connectors")?;
    let jobs = chosen(&connectors, args.system.as_deref(), args.stream.as_deref())?;
    let stop = CancellationToken::new();
    tokio::spawn(super::stop_on_signal(stop.clone()));
    let mut quarantined = 0;
    for job in jobs {
        let r = job.remap(&store, &stop).await?;
        println!(
            "{}/{}: {} remapped, {} stored, {} quarantined, {} skipped{}",
            job.system(),
            job.stream.name,
            r.remapped,
            r.stored,
            r.quarantined,
            r.skipped,
            match (r.changed, r.interrupted) {
                (_, true) => "; interrupted, run it again for the rest".to_string(),
                (0, false) => String::new(),
                (n, false) => format!("; {n} changed by a sync meanwhile (mapped by it)"),
            }
        );
        quarantined += r.quarantined;
        if r.interrupted {
            break;
        }
    }
    store.close().await;
    if quarantined > 0 {
        return Err(super::quarantine::InQuarantine {
            records: quarantined as i64,
            what: "what was remapped",
        }
        .into());
    }
    Ok(())
}

pub async fn resync(cli: &Cli, args: &ResyncArgs) -> anyhow::Result<()> {
    let sync = SyncArgs {
        name: args.system.clone(),
        stream: Some(args.stream.clone()),
        deliver_for: args.deliver_for,
    };
    super::status::sync_from(cli, &sync, Some(args.from.as_deref())).await
}

/// The streams to remap: every enabled connector's, or one connector's,
/// or one stream. A name that matches nothing is an error naming what does.
fn chosen<'a>(
    connectors: &'a [ConnectorJobs],
    system: Option<&str>,
    stream: Option<&str>,
) -> anyhow::Result<Vec<&'a crate::sync::SyncJob>> {
    let Some(system) = system else {
        return Ok(connectors.iter().flat_map(|c| &c.jobs).collect());
    };
    let Some(c) = connectors.iter().find(|c| c.system == system) else {
        let names: Vec<String> = connectors.iter().map(|c| c.system.clone()).collect();
        let hint = crate::diag::suggest(system, &names)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        anyhow::bail!(
            "no enabled connector `{system}`{hint}; enabled: {}",
            names.join(", ")
        );
    };
    let jobs: Vec<_> = c
        .jobs
        .iter()
        .filter(|j| stream.is_none_or(|s| j.stream.name == s))
        .collect();
    if jobs.is_empty() {
        let streams: Vec<&str> = c.jobs.iter().map(|j| j.stream.name.as_str()).collect();
        anyhow::bail!(
            "connector `{system}` has no stream `{}`; its streams: {}",
            stream.unwrap_or_default(),
            streams.join(", ")
        );
    }
    Ok(jobs)
}

/// Set the chosen stream's cursor for a resync, after checking `from` is
/// in the cursor's format.
pub(super) async fn reset_cursor(
    store: &Store,
    chosen: &ConnectorJobs,
    from: Option<&str>,
) -> anyhow::Result<()> {
    for job in &chosen.jobs {
        let Some(cursor) = &job.stream.cursor else {
            anyhow::bail!(
                "stream `{}/{}` has no cursor: every run reads it whole, so `switchboard sync {} --stream {}` reads it again",
                chosen.system,
                job.stream.name,
                chosen.system,
                job.stream.name
            );
        };
        if let Some(from) = from
            && !cursor.is_valid(from)
        {
            anyhow::bail!(
                "`--from {from}` is not a cursor of `{}/{}`: it is read as {}, such as `{}`",
                chosen.system,
                job.stream.name,
                describe(&cursor.format),
                cursor.initial
            );
        }
        store
            .set_cursor(&chosen.system, &job.stream.name, from)
            .await?;
        let shown = from.unwrap_or(&cursor.initial);
        println!(
            "{}/{}: reading again from `{shown}`",
            chosen.system, job.stream.name
        );
    }
    Ok(())
}

/// A cursor format as the manifest's `format` says it.
fn describe(format: &crate::connector::CursorFormat) -> String {
    use crate::connector::CursorFormat;
    match format {
        CursorFormat::DateTime(f) => format!("`{f}`"),
        CursorFormat::Rfc3339 => "RFC 3339".into(),
        CursorFormat::Integer => "an integer".into(),
        CursorFormat::Text => "text".into(),
    }
}
