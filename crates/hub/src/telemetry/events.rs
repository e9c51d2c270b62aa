//! Named telemetry events. Each `emit()` writes the log line and updates the
//! metrics together, so a dashboard and the logs never disagree.

use std::time::Duration;

use metrics::{counter, gauge, histogram};

use super::text::Escaped;

use crate::sync::SyncReport;

/// One page written to the store.
pub struct PageCommitted<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub page: usize,
    pub stored: usize,
    pub unchanged: usize,
    pub quarantined: usize,
}

impl PageCommitted<'_> {
    pub fn emit(&self) {
        tracing::debug!(
            connector = %self.connector, stream = %self.stream, page = self.page,
            stored = self.stored, unchanged = self.unchanged, quarantined = self.quarantined,
            "page committed"
        );
        let labels = [
            ("connector", self.connector.to_string()),
            ("stream", self.stream.to_string()),
        ];
        counter!("switchboard_pages_total", &labels).increment(1);
        counter!("switchboard_records_stored_total", &labels).increment(self.stored as u64);
        counter!("switchboard_records_unchanged_total", &labels).increment(self.unchanged as u64);
        counter!("switchboard_records_quarantined_total", &labels)
            .increment(self.quarantined as u64);
    }
}

/// A run of one stream ended, completely or stopped for shutdown: at info, a
/// sync's one line per stream (what other events say at debug is in its fields).
pub struct SyncFinished<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub report: &'a SyncReport,
    pub elapsed: Duration,
}

impl SyncFinished<'_> {
    pub fn emit(&self) {
        let r = self.report;
        tracing::info!(
            connector = %self.connector, stream = %self.stream, pages = r.pages,
            fetched = r.fetched, stored = r.stored, unchanged = r.unchanged,
            quarantined = r.quarantined, skipped = r.skipped, tombstoned = r.tombstoned,
            restored = r.restored, held_back = r.held_back, baseline = r.baseline,
            interrupted = r.interrupted, elapsed_ms = self.elapsed.as_millis() as u64,
            "sync finished"
        );
        let labels = [
            ("connector", self.connector.to_string()),
            ("stream", self.stream.to_string()),
        ];
        histogram!("switchboard_sync_duration_seconds", &labels).record(self.elapsed.as_secs_f64());
        if !r.interrupted {
            gauge!("switchboard_sync_last_success_timestamp_seconds", &labels)
                .set(chrono::Utc::now().timestamp() as f64);
        }
    }
}

/// A run of one stream failed; its committed pages stay committed.
pub struct SyncFailed<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub error: &'a dyn std::error::Error,
}

impl SyncFailed<'_> {
    pub fn emit(&self) {
        tracing::error!(
            connector = %self.connector, stream = %self.stream, error = %self.error,
            "sync failed"
        );
        let labels = [
            ("connector", self.connector.to_string()),
            ("stream", self.stream.to_string()),
        ];
        counter!("switchboard_sync_failures_total", &labels).increment(1);
    }
}

/// Streams whose run failed will run again after `wait`, before their
/// next scheduled run.
pub struct SyncRetryScheduled<'a> {
    pub connector: &'a str,
    pub streams: &'a [&'a str],
    pub wait: Duration,
}

impl SyncRetryScheduled<'_> {
    pub fn emit(&self) {
        tracing::info!(
            connector = %self.connector, streams = %self.streams.join(","),
            wait_ms = self.wait.as_millis() as u64, "failed streams run again soon"
        );
        counter!("switchboard_sync_retries_total", "connector" => self.connector.to_string())
            .increment(self.streams.len() as u64);
    }
}

/// A stream another instance holds, or ran since the schedule's last
/// tick (docs/SCALING.md): this instance leaves it.
pub struct StreamElsewhere<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
}

impl StreamElsewhere<'_> {
    pub fn emit(&self) {
        tracing::debug!(connector = %self.connector, stream = %self.stream, "stream run elsewhere");
        counter!("switchboard_stream_turns_elsewhere_total",
            "connector" => self.connector.to_string(), "stream" => self.stream.to_string())
        .increment(1);
    }
}

/// A run's lease could not be renewed: the run stops at its next page so
/// that another instance taking the stream never fetches alongside it.
pub struct LeaseLost<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
}

impl LeaseLost<'_> {
    pub fn emit(&self) {
        tracing::warn!(connector = %self.connector, stream = %self.stream, "stream lease lost, run stops");
        counter!("switchboard_stream_leases_lost_total",
            "connector" => self.connector.to_string(), "stream" => self.stream.to_string())
        .increment(1);
    }
}

/// A source re-sorted records while we paged; the cursor is held back.
pub struct ShiftDetected<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub cursor: &'a str,
}

impl ShiftDetected<'_> {
    pub fn emit(&self) {
        // Debug: `sync finished` says `held_back=true` at info.
        tracing::debug!(
            connector = %self.connector, stream = %self.stream, cursor = %self.cursor,
            "records changed while paging; next run re-reads from before the shift"
        );
        counter!("switchboard_sync_shifts_total", "connector" => self.connector.to_string())
            .increment(1);
    }
}

/// A record whose cursor field is missing or does not read in the
/// cursor's format: it cannot move the cursor. Warned about on the first
/// such record of a run (more would flood the log), counted on every one.
pub struct CursorMissing<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub key: &'a str,
    pub fields: &'a crate::connector::CursorSpec,
    pub first: bool,
}

impl CursorMissing<'_> {
    pub fn emit(&self) {
        if self.first {
            tracing::warn!(
                connector = %self.connector, stream = %self.stream, key = %self.key,
                fields = %self.fields.source(),
                "cursor field missing or unreadable; the record cannot advance the cursor"
            );
        }
        counter!(
            "switchboard_cursor_missing_total",
            "connector" => self.connector.to_string(),
            "stream" => self.stream.to_string()
        )
        .increment(1);
    }
}

/// The database refused a record for what it holds (a value too large
/// for an index, say): it is quarantined alone and the rest of its page
/// is stored.
pub struct RecordRefused<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub external_id: &'a str,
    pub reason: &'a str,
}

impl RecordRefused<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            connector = %self.connector, stream = %self.stream,
            external_id = %Escaped(self.external_id), reason = %Escaped(self.reason),
            "the store refused a record; it is quarantined, the rest of its page is stored"
        );
    }
}

/// A routing rule's or value stream's condition failed on a record: the
/// change went to the dead letters instead of being routed.
pub struct RuleFailed<'a> {
    /// `rule <name>` or `value stream <name>`.
    pub failed: &'a str,
    pub connector: &'a str,
    pub external_id: &'a str,
    pub error: &'a str,
    /// The dead letter's id, for `dlq replay`.
    pub dead_letter: &'a str,
}

impl RuleFailed<'_> {
    pub fn emit(&self) {
        tracing::error!(
            failed = %Escaped(self.failed), connector = %self.connector,
            external_id = %Escaped(self.external_id), error = %Escaped(self.error),
            dead_letter = %self.dead_letter,
            "routing failed on a change; it is in the dead letters: fix routing.toml, then `switchboard dlq replay ID`"
        );
        counter!("switchboard_routing_rule_errors_total", "rule" => self.failed.to_string())
            .increment(1);
    }
}

/// A stream's first completed run with routing enabled was taken as its
/// baseline: the records it stored were not routed, and later changes are.
pub struct BaselineTaken<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    /// Records the run stored without routing them.
    pub stored: usize,
}

impl BaselineTaken<'_> {
    pub fn emit(&self) {
        // Debug: `sync finished` says `baseline=true` at info.
        tracing::debug!(
            connector = %self.connector, stream = %self.stream, stored = self.stored,
            "first run with routing taken as the baseline: its records were not routed, later changes are"
        );
        counter!("switchboard_routing_baselines_total", "connector" => self.connector.to_string())
            .increment(1);
    }
}

/// A confidential case was not routed to a department not cleared for it.
pub struct RouteWithheld<'a> {
    pub connector: &'a str,
    pub external_id: &'a str,
    pub department: &'a str,
    pub class: &'a str,
}

impl RouteWithheld<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            connector = %self.connector, external_id = %self.external_id,
            department = %self.department, class = %self.class,
            "confidential work not routed: the department is not cleared for its class"
        );
        counter!("switchboard_routes_withheld_total", "department" => self.department.to_string())
            .increment(1);
    }
}

/// Characters no store can keep (NUL) were replaced in a page or delivery
/// (`crate::text`): the records were stored, with U+FFFD in their place.
pub struct TextReplaced<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub characters: usize,
}

impl TextReplaced<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            connector = %self.connector, stream = %self.stream, characters = self.characters,
            "text the store cannot keep was replaced with U+FFFD"
        );
        let labels = [
            ("connector", self.connector.to_string()),
            ("stream", self.stream.to_string()),
        ];
        counter!("switchboard_text_replaced_total", &labels).increment(self.characters as u64);
    }
}

/// A stream's quarantined records were mapped again, by `quarantine retry`
/// or after a mapping reload.
pub struct QuarantineRetried<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    /// `command` or `reload`.
    pub trigger: &'a str,
    pub mapping_version: &'a str,
    pub report: &'a crate::sync::RetryReport,
}

impl QuarantineRetried<'_> {
    pub fn emit(&self) {
        let r = self.report;
        tracing::info!(
            connector = %self.connector, stream = %self.stream, trigger = %self.trigger,
            mapping_version = %self.mapping_version, retried = r.retried, stored = r.stored,
            quarantined = r.quarantined, skipped = r.skipped, changed = r.changed,
            "quarantine retried"
        );
        for (outcome, n) in [
            ("stored", r.stored),
            ("quarantined", r.quarantined),
            ("skipped", r.skipped),
        ] {
            counter!(
                "switchboard_quarantine_retried_total",
                "connector" => self.connector.to_string(),
                "stream" => self.stream.to_string(),
                "outcome" => outcome
            )
            .increment(n as u64);
        }
    }
}

/// Records in quarantine per stream, as the store holds them now: set at
/// every `/metrics` scrape, so alerts see what is waiting, not what a
/// counter added up since start.
pub struct QuarantineGauge<'a> {
    pub counts: &'a [crate::store::QuarantineCount],
}

impl QuarantineGauge<'_> {
    pub fn emit(&self) {
        // A stream whose last record left quarantine while its label set is
        // exported would otherwise keep its last value.
        static SHOWN: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
        let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
        for (connector, stream) in shown.iter() {
            if !self
                .counts
                .iter()
                .any(|c| &c.source_system == connector && &c.source_stream == stream)
            {
                gauge!("switchboard_quarantined_records", "connector" => connector.clone(), "stream" => stream.clone())
                    .set(0.0);
            }
        }
        for c in self.counts {
            gauge!(
                "switchboard_quarantined_records",
                "connector" => c.source_system.clone(),
                "stream" => c.source_stream.clone()
            )
            .set(c.records as f64);
            let key = (c.source_system.clone(), c.source_stream.clone());
            if !shown.contains(&key) {
                shown.push(key);
            }
        }
        let total: i64 = self.counts.iter().map(|c| c.records).sum();
        tracing::debug!(
            records = total,
            streams = self.counts.len(),
            "quarantine counted"
        );
    }
}

/// Records deleted at the source were tombstoned, or listed again and made
/// live (`sync/deletions.rs`).
pub struct Tombstoned<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    /// `status`, `endpoint` or `reconcile`: how the deletion was seen.
    pub how: &'static str,
    pub tombstoned: u64,
    pub restored: usize,
}

impl Tombstoned<'_> {
    pub fn emit(&self) {
        if self.tombstoned == 0 && self.restored == 0 {
            return;
        }
        // Debug: `sync finished` carries the counts at info.
        tracing::debug!(
            connector = %self.connector, stream = %self.stream, how = self.how,
            tombstoned = self.tombstoned, restored = self.restored,
            "deletions recorded"
        );
        counter!("switchboard_tombstones_total", "connector" => self.connector.to_string(), "how" => self.how)
            .increment(self.tombstoned);
        counter!("switchboard_tombstones_restored_total", "connector" => self.connector.to_string())
            .increment(self.restored as u64);
    }
}

/// A reconciliation's listing lacked more of the stored records than
/// `max_fraction` allows: nothing was tombstoned, as a broken listing must
/// never empty the store.
pub struct ReconcileRefused<'a> {
    pub connector: &'a str,
    pub stream: &'a str,
    pub listed: u64,
    pub live: i64,
    pub missing: i64,
    pub max_fraction: f64,
}

impl ReconcileRefused<'_> {
    pub fn emit(&self) {
        tracing::error!(
            connector = %self.connector, stream = %self.stream, listed = self.listed,
            live = self.live, missing = self.missing, max_fraction = self.max_fraction,
            "reconciliation refused: the listing lacks too many stored records; nothing tombstoned"
        );
        counter!("switchboard_reconcile_refused_total", "connector" => self.connector.to_string())
            .increment(1);
    }
}
