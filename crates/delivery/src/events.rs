//! The delivery crate's named telemetry events, as the hub's
//! `telemetry/events.rs` has the rest: each `emit()` writes the log line
//! and updates the metrics together, so a dashboard and the logs never
//! disagree.

use metrics::counter;

/// The broker returned a message no queue takes (a writer has not declared
/// its queue yet, or the key names no target): the sender keeps it for a
/// later try.
pub struct MessageReturned<'a> {
    pub routing_key: &'a str,
    pub event_id: &'a str,
}

impl MessageReturned<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            routing_key = %self.routing_key, event_id = %self.event_id,
            "broker returned the message: no queue takes its routing key yet"
        );
        counter!("switchboard_messages_returned_total").increment(1);
    }
}

/// Routed work applied to, retried on, or given up on by a target.
pub struct WorkDelivered<'a> {
    pub connector: &'a str,
    pub action: &'a str,
    pub event_id: &'a str,
    /// `applied`, `duplicate`, `retry` or `dead`.
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
}

impl WorkDelivered<'_> {
    pub fn emit(&self) {
        match self.reason {
            Some(reason) => tracing::warn!(
                connector = %self.connector, action = %self.action, event_id = %self.event_id,
                outcome = %self.outcome, reason = %reason, "routed work not applied"
            ),
            None => tracing::info!(
                connector = %self.connector, action = %self.action, event_id = %self.event_id,
                outcome = %self.outcome, "routed work delivered"
            ),
        }
        counter!(
            "switchboard_deliveries_total",
            "connector" => self.connector.to_string(),
            "outcome" => self.outcome.to_string()
        )
        .increment(1);
    }
}
