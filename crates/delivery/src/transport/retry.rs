//! When routed work that failed transiently is tried again, and when it is
//! given up on: the same answer for the RabbitMQ writers and the in-process
//! transport.
//!
//! A target that does not answer is waited out. Each try waits a little
//! longer (the delay ladder, its last step repeating, so a long outage
//! costs few calls), for as long as the outage budget allows, counted from
//! the work's first failed attempt. Only a failure after the budget is
//! spent makes a dead letter, and its reason says so. Refusals and writes
//! that may have been applied never come here: they are dead letters at
//! once (`Failure::Dead`).

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long routed work waits for a target unless configured otherwise
/// (`[delivery] outage_budget_secs`).
pub const DEFAULT_OUTAGE_BUDGET: Duration = Duration::from_secs(6 * 3600);

/// The waits between tries unless told otherwise: 1 s, 5 s, 30 s, 2 min,
/// then every 10 min. Six hours of outage cost about 40 calls per message.
pub fn default_delays() -> Vec<Duration> {
    [1, 5, 30, 120, 600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// The delay before try `attempt + 1`: the level for `attempt`, the last
/// level repeating; `None` when there are no levels.
pub fn delay_for(delays: &[Duration], attempt: u32) -> Option<Duration> {
    let level = (attempt.max(1) - 1) as usize;
    delays.get(level).or(delays.last()).copied()
}

/// What to do with work whose try `attempt` just failed transiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Try again after this long.
    RetryIn(Duration),
    /// The budget is spent: a dead letter, with this reason.
    GiveUp(String),
}

/// Decide after a transient failure. `first_failed_at` is when the work
/// first failed (now, if this is its first failure).
pub fn after_failure(
    delays: &[Duration],
    budget: Duration,
    attempt: u32,
    first_failed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    reason: &str,
) -> Next {
    let waited = (now - first_failed_at).to_std().unwrap_or_default();
    if waited >= budget {
        return Next::GiveUp(format!(
            "the target did not answer for {} (outage budget {}, {attempt} attempts): {reason}; \
             replay it once the target answers again",
            human(waited),
            human(budget)
        ));
    }
    Next::RetryIn(delay_for(delays, attempt).unwrap_or(Duration::from_secs(5)))
}

/// A duration as people read it: `350 ms`, `42 s`, `7 min 5 s`, `6 h 2 min`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => format!("{} ms", d.as_millis()),
        1..60 => format!("{secs} s"),
        60..3600 if secs.is_multiple_of(60) => format!("{} min", secs / 60),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ if secs % 3600 < 60 => format!("{} h", secs / 3600),
        _ => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_last_delay_level_repeats() {
        let delays = [d(1), d(5), d(30)];
        assert_eq!(delay_for(&delays, 1), Some(d(1)));
        assert_eq!(delay_for(&delays, 3), Some(d(30)));
        assert_eq!(delay_for(&delays, 9), Some(d(30)));
        assert_eq!(delay_for(&delays, 0), Some(d(1)));
        assert_eq!(delay_for(&[], 2), None);
    }

    #[test]
    fn an_outage_is_waited_out_until_the_budget_is_spent() {
        let delays = default_delays();
        let first = Utc::now();
        let at = |secs: i64| first + chrono::Duration::seconds(secs);
        // Attempt 40, nearly six hours in: still waiting, ten minutes apart.
        assert_eq!(
            after_failure(
                &delays,
                DEFAULT_OUTAGE_BUDGET,
                40,
                first,
                at(5 * 3600),
                "refused"
            ),
            Next::RetryIn(d(600))
        );
        let Next::GiveUp(reason) = after_failure(
            &delays,
            DEFAULT_OUTAGE_BUDGET,
            41,
            first,
            at(6 * 3600 + 120),
            "connection refused",
        ) else {
            panic!("the budget is spent");
        };
        assert!(
            reason.contains("did not answer for 6 h 2 min")
                && reason.contains("outage budget 6 h")
                && reason.contains("41 attempts")
                && reason.contains("connection refused"),
            "{reason}"
        );
    }

    #[test]
    fn a_clock_that_went_back_counts_as_no_wait() {
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(30);
        assert_eq!(
            after_failure(&[d(1)], d(10), 1, later, now, "x"),
            Next::RetryIn(d(1))
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(Duration::from_millis(350)), "350 ms");
        assert_eq!(human(d(42)), "42 s");
        assert_eq!(human(d(600)), "10 min");
        assert_eq!(human(d(425)), "7 min 5 s");
        assert_eq!(human(d(6 * 3600)), "6 h");
        assert_eq!(human(d(6 * 3600 + 125)), "6 h 2 min");
    }
}
