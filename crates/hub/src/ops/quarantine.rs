//! Quarantine repairs: the records a mapping rejected, listed, shown with
//! their raw payload, and retried once the mapping is fixed, without asking
//! the source again.
//!
//! A retry uses the mappings of the jobs it is given (the command line
//! loads the files as a run would; the daemon's API hands over the jobs it
//! runs, whose mappings hot reload keeps current), and writes through the
//! sync's page write (see `sync::retry`), so routing, lookups and the
//! unchanged-record check treat a retried record as if a sync had just
//! read it.

use tokio_util::sync::CancellationToken;

use crate::catalog::ConnectorJobs;
use crate::store::{
    CountedTable, QuarantineFilter, QuarantineRow, QuarantinedRecord, Store, StoreError,
};
use crate::sync::{RetryReport, SyncJob};
use crate::telemetry::events;

#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("no quarantined record {id} ({total} in quarantine)")]
    NotFound { id: i64, total: i64 },
    #[error(
        "no enabled connector `{system}` with a mapping for stream `{stream}` in this configuration, \
         so nothing can map its records again"
    )]
    NoJob { system: String, stream: String },
    #[error("failed to retry the quarantine of {system}/{stream}")]
    Retry {
        system: String,
        stream: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which quarantined records to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryWhich {
    /// One record by its id.
    One(i64),
    /// Every record of the streams both filters take; neither set is every
    /// stream (the edges ask for that explicitly: `--all`, `"all": true`).
    Streams {
        system: Option<String>,
        stream: Option<String>,
    },
}

impl RetryWhich {
    fn takes(&self, system: &str, stream: &str) -> bool {
        match self {
            RetryWhich::One(_) => false,
            RetryWhich::Streams {
                system: s,
                stream: t,
            } => {
                s.as_deref().is_none_or(|s| s == system) && t.as_deref().is_none_or(|t| t == stream)
            }
        }
    }
}

/// What a retry did for one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRetry {
    /// Mapped again with this mapping version.
    Retried {
        system: String,
        stream: String,
        mapping_version: String,
        report: RetryReport,
    },
    /// Nothing runs this stream here, so its records stay.
    NoJob {
        system: String,
        stream: String,
        records: i64,
    },
}

/// What a retry did in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetryOutcome {
    /// Per stream, in the order they were retried.
    pub streams: Vec<StreamRetry>,
    /// Stored and skipped, summed over the streams.
    pub total: RetryReport,
    /// Records of what was asked for still in quarantine afterwards.
    pub left: i64,
    /// Nothing the filter takes was in quarantine: nothing was done.
    pub nothing_waiting: bool,
}

/// The sync jobs of these connectors, for [`retry`].
pub fn jobs<'a>(connectors: impl IntoIterator<Item = &'a ConnectorJobs>) -> Vec<&'a SyncJob> {
    connectors.into_iter().flat_map(|c| &c.jobs).collect()
}

fn job<'a>(jobs: &[&'a SyncJob], system: &str, stream: &str) -> Option<&'a SyncJob> {
    jobs.iter()
        .copied()
        .find(|j| j.system() == system && j.stream.name == stream)
}

/// Quarantined records, oldest first, without payloads: up to `limit`
/// with ids above `after`.
pub async fn list(
    store: &Store,
    filter: QuarantineFilter<'_>,
    after: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<QuarantineRow>, QuarantineError> {
    Ok(store.quarantine_list_after(filter, after, limit).await?)
}

/// One quarantined record with the payload the source sent.
pub async fn show(store: &Store, id: i64) -> Result<QuarantinedRecord, QuarantineError> {
    match store.quarantined_record(id).await? {
        Some(r) => Ok(r),
        None => Err(not_found(store, id).await),
    }
}

async fn not_found(store: &Store, id: i64) -> QuarantineError {
    match store.count(CountedTable::Quarantine).await {
        Ok(total) => QuarantineError::NotFound { id, total },
        Err(e) => e.into(),
    }
}

/// Map the chosen quarantined records again with `jobs`' mappings and store
/// those that map. `trigger` names who asked, for the log; `on_stream`
/// hears each stream as it is done (the command line prints it at once).
/// `stop` is honoured between pages and between streams.
pub async fn retry(
    store: &Store,
    jobs: &[&SyncJob],
    which: &RetryWhich,
    trigger: &'static str,
    stop: &CancellationToken,
    on_stream: &mut (dyn FnMut(&StreamRetry) + Send),
) -> Result<RetryOutcome, QuarantineError> {
    if let RetryWhich::One(id) = which {
        return retry_one(store, jobs, *id, trigger, stop, on_stream).await;
    }
    let waiting = store.quarantine_counts().await?;
    let waiting: Vec<_> = waiting
        .into_iter()
        .filter(|c| c.records > 0 && which.takes(&c.source_system, &c.source_stream))
        .collect();
    let mut outcome = RetryOutcome::default();
    if waiting.is_empty() {
        outcome.nothing_waiting = true;
        return Ok(outcome);
    }
    for c in waiting {
        let (system, stream) = (c.source_system, c.source_stream);
        let Some(job) = job(jobs, &system, &stream) else {
            let done = StreamRetry::NoJob {
                system,
                stream,
                records: c.records,
            };
            on_stream(&done);
            outcome.streams.push(done);
            continue;
        };
        let done = retry_job(store, job, None, trigger, stop).await?;
        on_stream(&done);
        let StreamRetry::Retried { report, .. } = &done else {
            unreachable!("retry_job retries")
        };
        outcome.total.stored += report.stored;
        outcome.total.skipped += report.skipped;
        let interrupted = report.interrupted;
        outcome.streams.push(done);
        if interrupted {
            break;
        }
    }
    let after = store.quarantine_counts().await?;
    outcome.left = after
        .iter()
        .filter(|c| which.takes(&c.source_system, &c.source_stream))
        .map(|c| c.records)
        .sum();
    Ok(outcome)
}

async fn retry_one(
    store: &Store,
    jobs: &[&SyncJob],
    id: i64,
    trigger: &'static str,
    stop: &CancellationToken,
    on_stream: &mut (dyn FnMut(&StreamRetry) + Send),
) -> Result<RetryOutcome, QuarantineError> {
    let record = show(store, id).await?;
    let (system, stream) = (&record.row.source_system, &record.row.source_stream);
    let Some(job) = job(jobs, system, stream) else {
        return Err(QuarantineError::NoJob {
            system: system.clone(),
            stream: stream.clone(),
        });
    };
    let done = retry_job(store, job, Some(id), trigger, stop).await?;
    on_stream(&done);
    let mut outcome = RetryOutcome::default();
    if let StreamRetry::Retried { report, .. } = &done {
        outcome.total.stored = report.stored;
        outcome.total.skipped = report.skipped;
    }
    outcome.streams.push(done);
    outcome.left = store.quarantined_record(id).await?.is_some() as i64;
    Ok(outcome)
}

/// Retry a job's records (all, or the one `id`) and log the event.
async fn retry_job(
    store: &Store,
    job: &SyncJob,
    id: Option<i64>,
    trigger: &'static str,
    stop: &CancellationToken,
) -> Result<StreamRetry, QuarantineError> {
    let (system, stream) = (job.system(), job.stream.name.as_str());
    let report = job
        .retry_quarantined(store, id, stop)
        .await
        .map_err(|source| QuarantineError::Retry {
            system: system.into(),
            stream: stream.into(),
            source,
        })?;
    let mapping_version = job.mapping.current().version.clone();
    events::QuarantineRetried {
        connector: system,
        stream,
        trigger,
        mapping_version: &mapping_version,
        report: &report,
    }
    .emit();
    Ok(StreamRetry::Retried {
        system: system.into(),
        stream: stream.into(),
        mapping_version,
        report,
    })
}
