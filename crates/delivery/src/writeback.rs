//! Write-back: a canonical record, through the outbound mapping for one
//! action of a system, into that system.
//!
//! The mapping decides what the body says; the connector's action decides
//! where and how it is sent. Routing (which record, which action, when)
//! is the router's; this module only carries one write out and says
//! whether a failure is worth retrying.

use serde_json::Value;

use crate::connector::{ActionInput, ActionOutcome, Connector, ConnectorError};
use crate::mapping::{OutboundMapping, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The record cannot be expressed in the target's terms (a status the
    /// target has no code for). Only a mapping or data fix helps.
    #[error("cannot render the body: {0}")]
    Render(#[from] RecordError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
}

impl WriteError {
    /// Worth trying again later, as opposed to a dead letter.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connector(e) if e.is_transient())
    }
}

/// Render `record` with `mapping` and perform its action on `connector`.
/// `Ok(None)` when the mapping's `skip_if` says there is nothing to send.
pub async fn write_back(
    connector: &dyn Connector,
    mapping: &OutboundMapping,
    record: &Value,
    target_id: Option<&str>,
) -> Result<Option<ActionOutcome>, WriteError> {
    let Some(body) = render(mapping, record)? else {
        return Ok(None);
    };
    Ok(Some(perform(connector, mapping, body, target_id).await?))
}

/// The body `mapping` makes of `record`; `None` when its `skip_if` says
/// there is nothing to send.
pub fn render(mapping: &OutboundMapping, record: &Value) -> Result<Option<Value>, WriteError> {
    Ok(mapping.render_value(record)?)
}

/// Send a rendered `body` with the mapping's action.
pub async fn perform(
    connector: &dyn Connector,
    mapping: &OutboundMapping,
    body: Value,
    target_id: Option<&str>,
) -> Result<ActionOutcome, WriteError> {
    let input = ActionInput {
        target_id: target_id.map(str::to_string),
        body,
    };
    Ok(connector.perform(&mapping.action, &input).await?)
}
