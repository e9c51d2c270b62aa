//! When to try an HTTP request again: the backoff between tries and a
//! server's `Retry-After`.

use std::time::Duration;

use backon::BackoffBuilder;
use metrics::counter;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// A transient HTTP failure that will be retried: its log line and metric
/// (a named event, as the hub's `telemetry/events.rs` has them).
pub struct HttpRetry<'a> {
    pub connector: &'a str,
    pub attempt: u32,
    pub wait: Duration,
    pub error: &'a dyn std::error::Error,
}

impl HttpRetry<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            connector = %self.connector, attempt = self.attempt,
            wait_ms = self.wait.as_millis() as u64, error = %self.error,
            "transient failure, retrying"
        );
        counter!("switchboard_http_retries_total", "connector" => self.connector.to_string())
            .increment(1);
    }
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Total tries per request, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// A server asking for a longer pause fails the run instead: the next
    /// scheduled run picks up where this one committed.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The waits between tries: see [`backoff_waits`].
    pub fn waits(&self) -> impl Iterator<Item = Duration> + use<> {
        backoff_waits(self.initial_backoff, self.max_backoff)
    }
}

/// Waits between tries: `first`, then doubling up to `max`, each stretched
/// by up to as much again at random so that clients that failed together
/// do not retry together; never shorter than `first`, never longer than
/// `max` (or `first`, if that is longer). Endless.
pub fn backoff_waits(first: Duration, max: Duration) -> impl Iterator<Item = Duration> {
    let cap = max.max(first);
    backon::ExponentialBuilder::new()
        .with_min_delay(first)
        .with_max_delay(cap)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
        .map(move |wait| wait.min(cap))
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let raw = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// A policy for tests: 5 attempts, backoff from `initial_ms` to `max_ms`.
#[cfg(test)]
pub(super) fn policy(initial_ms: u64, max_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        initial_backoff: Duration::from_millis(initial_ms),
        max_backoff: Duration::from_millis(max_ms),
        max_retry_after: Duration::from_secs(300),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_at_the_initial_backoff_and_double_up_to_the_cap() {
        let ms = |d: Duration| d.as_millis();
        for _ in 0..50 {
            let waits: Vec<Duration> = policy(5_000, 30_000).waits().take(6).collect();
            assert!((5_000..10_000).contains(&ms(waits[0])), "{waits:?}");
            assert!((10_000..20_000).contains(&ms(waits[1])), "{waits:?}");
            assert!((20_000..=30_000).contains(&ms(waits[2])), "{waits:?}");
            assert!(waits[3..].iter().all(|w| ms(*w) == 30_000), "{waits:?}");
        }
        // An initial backoff over the cap is still honoured.
        let first = policy(45_000, 30_000).waits().next();
        assert_eq!(first, Some(Duration::from_millis(45_000)));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
