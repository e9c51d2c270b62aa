//! One connector's runs: at start, then on its cron schedule, and a stream
//! whose run failed again soon after, with backoff.
//!
//! A failure is most often the source or the store being away for a
//! moment (a restart, a failover), so waiting for the next tick (up to a
//! schedule's interval) would leave the stream behind for nothing. The
//! failed streams alone are run again after a short wait that doubles with
//! each failure in a row (jittered; capped below half the schedule's
//! interval), and the waits start over once they succeed. A stream that
//! syncs fine runs only on the schedule. A server that asked for a longer
//! pause (`Retry-After`) gets it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use super::lease::{Instance, Turn, run_leased};
use crate::catalog::ConnectorJobs;
use crate::connector::ConnectorError;
use crate::connector::http::backoff_waits;
use crate::store::Store;
use crate::sync::SyncError;
use crate::telemetry::events;

/// How soon a failed stream is run again.
#[derive(Debug, Clone)]
pub struct StreamRetry {
    /// The wait after a first failure; it doubles with each failure in a
    /// row, stretched at random by up to as much again.
    pub first: Duration,
    /// The longest wait, and never more than half the schedule's interval:
    /// a scheduled run that comes sooner runs every stream instead.
    pub max: Duration,
}

impl Default for StreamRetry {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(5),
            max: Duration::from_secs(300),
        }
    }
}

impl StreamRetry {
    /// The waits for one run of failures.
    fn waits(&self, schedule: Option<&cron::Schedule>) -> impl Iterator<Item = Duration> + use<> {
        let cap = match schedule.and_then(interval) {
            Some(every) => self.max.min(every / 2),
            None => self.max,
        };
        backoff_waits(self.first, cap.max(self.first))
    }
}

/// The gap between the schedule's next two runs.
fn interval(schedule: &cron::Schedule) -> Option<Duration> {
    let mut next = schedule.upcoming(Utc);
    let (a, b) = (next.next()?, next.next()?);
    (b - a).to_std().ok()
}

/// Run `c`'s streams at start and on its schedule until `stop`, retrying
/// failed streams as [`StreamRetry`] says. Without a schedule the streams
/// run until each has succeeded once.
pub async fn run_connector(
    store: Store,
    c: Arc<ConnectorJobs>,
    retry: StreamRetry,
    instance: Arc<Instance>,
    stop: CancellationToken,
) {
    let every_stream: Vec<usize> = (0..c.jobs.len()).collect();
    let mut due = every_stream.clone();
    let mut waits = None;
    loop {
        let failed = run_streams(&store, &c, &due, &instance, &stop).await;
        if stop.is_cancelled() {
            return;
        }
        let tick = c.schedule.as_ref().and_then(|s| s.upcoming(Utc).next());
        let until_tick = tick.map(|t| (t - Utc::now()).to_std().unwrap_or_default());
        let wait = if failed.is_empty() {
            waits = None;
            let Some(until_tick) = until_tick else {
                tracing::info!(connector = %c.system, "no schedule: ran once");
                return;
            };
            due = every_stream.clone();
            until_tick
        } else {
            let next = waits
                .get_or_insert_with(|| retry.waits(c.schedule.as_ref()))
                .next()
                .unwrap_or(retry.max);
            // A server that asked for a pause gets at least that.
            let asked = failed.iter().filter_map(|(_, asked)| *asked).max();
            let retry_in = next.max(asked.unwrap_or_default());
            match until_tick {
                Some(until_tick) if until_tick <= retry_in => {
                    due = every_stream.clone();
                    until_tick
                }
                _ => {
                    due = failed.iter().map(|(i, _)| *i).collect();
                    let streams: Vec<&str> = due
                        .iter()
                        .map(|i| c.jobs[*i].stream.name.as_str())
                        .collect();
                    events::SyncRetryScheduled {
                        connector: &c.system,
                        streams: &streams,
                        wait: retry_in,
                    }
                    .emit();
                    retry_in
                }
            }
        };
        tracing::debug!(connector = %c.system, wait_ms = wait.as_millis() as u64, "next run scheduled");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.cancelled() => return,
        }
    }
}

/// Run the streams `due` (indices into `c.jobs`) in turn, each under its
/// lease: a stream another instance holds, or ran since the schedule's
/// last tick, is left to it. Returns the failed ones, each with the pause
/// its server asked for, if any. The run itself logs and counts a failure
/// and keeps it in `sync_state`.
async fn run_streams(
    store: &Store,
    c: &ConnectorJobs,
    due: &[usize],
    instance: &Instance,
    stop: &CancellationToken,
) -> Vec<(usize, Option<Duration>)> {
    let mut failed = Vec::new();
    let due_since = last_tick(c.schedule.as_ref(), Utc::now());
    for &i in due {
        if stop.is_cancelled() {
            break;
        }
        match run_leased(store, &c.jobs[i], instance, due_since, stop, &|_, _| {}).await {
            Turn::Ran(Ok(_)) | Turn::Elsewhere => {}
            Turn::Ran(Err(SyncError::Connector(ConnectorError::RateLimited {
                wait_secs, ..
            }))) => {
                failed.push((i, Some(Duration::from_secs(wait_secs))));
            }
            Turn::Ran(Err(_)) => failed.push((i, None)),
        }
    }
    failed
}

/// The schedule's latest tick at or before `now`: a run that succeeded
/// since then, on any instance, was this tick's. `None` without a
/// schedule (or one too irregular to look back on): any time will do.
fn last_tick(schedule: Option<&cron::Schedule>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let s = schedule?;
    let every = chrono::Duration::from_std(interval(s)?).ok()?;
    s.after(&(now - every * 2)).take_while(|t| *t <= now).last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::manifest::parse_schedule;

    #[test]
    fn retries_stay_below_half_the_schedule() {
        let retry = StreamRetry::default();
        let every_minute = parse_schedule("* * * * *").unwrap();
        assert_eq!(interval(&every_minute), Some(Duration::from_secs(60)));
        let waits: Vec<Duration> = retry.waits(Some(&every_minute)).take(8).collect();
        assert!(waits[0] >= Duration::from_secs(5), "{waits:?}");
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(30)),
            "{waits:?}"
        );
        assert_eq!(waits[7], Duration::from_secs(30));
        let hourly = parse_schedule("0 * * * *").unwrap();
        let waits: Vec<Duration> = retry.waits(Some(&hourly)).take(12).collect();
        assert_eq!(waits[11], Duration::from_secs(300), "{waits:?}");
    }
}
