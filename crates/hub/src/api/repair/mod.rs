//! Repairs through the API: quarantined records (`quarantine.rs`) and dead
//! letters (`dead_letters.rs`), listed for agents, shown, retried and
//! replayed by admins, through `ops`, the code path the `quarantine` and
//! `dlq` commands take. Every retry and replay is written to the audit log
//! with who asked and what was done before it is answered.

pub mod dead_letters;
pub mod quarantine;

use axum::body::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Caller, Problem, Remote};
use crate::config::Secret;
use crate::store::{AuditEntry, Store};
use crate::transport::Topology;

/// The broker whose dead-letter queue the API reads and replays.
#[derive(Debug, Clone)]
pub struct DeadLetterBroker {
    /// `[broker] url`, resolved.
    pub url: Secret,
    /// The names the hub uses on it (tests use their own).
    pub topology: Topology,
}

/// A JSON body, or the default when none was sent; one that does not
/// parse, or names a key the call does not take, is a 400.
fn body<T: DeserializeOwned + Default>(bytes: &Bytes) -> Result<T, Problem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::bad_request(format!("the body is not what this call takes: {e}")))
}

async fn audit(
    store: &Store,
    caller: &Caller,
    remote: &Remote,
    action: &str,
    target: &str,
    detail: Value,
) -> Result<(), Problem> {
    store
        .audit(&AuditEntry {
            actor: &caller.name,
            action,
            target: Some(target),
            detail,
            remote: remote.0.as_deref(),
        })
        .await?;
    Ok(())
}
