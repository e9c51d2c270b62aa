//! Details for a page's changed records (`[[streams.details]]`): asked of
//! the connector a few records at a time, in page order, before the
//! records are mapped. Unchanged records never get here.

use super::{SyncError, SyncJob};

/// Details fetched for one page's changed records at once.
const DETAIL_REQUESTS_AT_ONCE: usize = 4;

impl SyncJob {
    /// The details of each changed record, in order, when the stream has
    /// any: a few records at a time, within the connector's rate limit. A
    /// record whose details the system refused is quarantined alone (the
    /// reason is returned in its place); a transient failure that outlasted
    /// the retries fails the run, as a page's would.
    pub(super) async fn details(
        &self,
        stream: &str,
        changed: &[(String, String, String, serde_json::Value)],
    ) -> Result<Vec<Result<Vec<(String, serde_json::Value)>, String>>, SyncError> {
        use futures::StreamExt;
        if changed.is_empty() || !self.connector.has_details(stream) {
            return Ok(Vec::new());
        }
        // The futures first, then the stream over them: a closure in
        // `map` would make the run's future too general to spawn.
        let calls: Vec<_> = changed
            .iter()
            .map(|(_, _, _, payload)| self.connector.fetch_details(stream, payload))
            .collect();
        let fetched: Vec<_> = futures::stream::iter(calls)
            .buffered(DETAIL_REQUESTS_AT_ONCE)
            .collect()
            .await;
        fetched
            .into_iter()
            .map(|r| match r {
                Ok(pairs) => Ok(Ok(pairs)),
                Err(e) if e.is_transient() => Err(SyncError::Connector(e)),
                Err(e) => Ok(Err(format!("its details could not be read: {e}"))),
            })
            .collect()
    }
}
