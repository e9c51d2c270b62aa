//! Writers: routed work applied to its target system.
//!
//! A [`Writer`] serves one target connector. Given a message it renders the
//! record through the outbound mapping for the message's action, performs
//! the action, and records the delivery with the link from the origin to
//! what it created, all keyed by the message's event id. Both transports
//! call the same writer: the RabbitMQ consumer (`transport::consumer`) and
//! the in-process one (`local`), so both give the same guarantees.
//!
//! Idempotency: a delivery row is written (`applying`) before the call and
//! turned `applied` with the link in one transaction after it. A message
//! seen again is acknowledged without a call when applied, and sent to the
//! dead-letter queue when a call was cut off in a way that may have applied
//! it (a timeout, a 500): a person checks the target and replays, rather
//! than the hub risking a second work order.

pub mod local;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::connector::{Connector, ConnectorError};
use crate::events;
use crate::mapping::OutboundMapping;
use crate::store::{Applied, Begin, HUB, NewLink, Progress, Store};
use crate::transport::{Failure, Inbound, WorkHandler};
use crate::writeback::{WriteError, perform, render};

/// Writers by the connector (system) they serve.
pub type Writers = HashMap<String, Arc<dyn WorkHandler>>;

/// Applies routed work to one connector.
#[derive(Debug)]
pub struct Writer {
    store: Store,
    connector: Arc<dyn Connector>,
    /// Outbound mappings by action.
    outbound: HashMap<String, Arc<OutboundMapping>>,
}

impl Writer {
    pub fn new(
        store: Store,
        connector: Arc<dyn Connector>,
        outbound: impl IntoIterator<Item = Arc<OutboundMapping>>,
    ) -> Self {
        let system = connector.system().to_string();
        let outbound = outbound
            .into_iter()
            .filter(|m| m.system == system)
            .map(|m| (m.action.clone(), m))
            .collect();
        Self {
            store,
            connector,
            outbound,
        }
    }

    fn system(&self) -> &str {
        self.connector.system()
    }

    async fn apply(&self, m: &Inbound, action: &str, data: &Value) -> Result<(), Failure> {
        let system = self.system();
        let mapping = self.outbound.get(action).ok_or_else(|| {
            Failure::Dead(format!(
                "{system} has no outbound mapping for action `{action}`: add mappings/{system}-{}.toml",
                action.replace('_', "-")
            ))
        })?;
        let store_failed = |e: crate::store::StoreError| Failure::Retry(format!("store: {e}"));
        match self
            .store
            .begin_delivery(&m.event_id, system, action)
            .await
            .map_err(store_failed)?
        {
            Begin::Applied => {
                self.emit(&m.event_id, action, "duplicate", None);
                return Ok(());
            }
            Begin::InDoubt => {
                return Err(Failure::Dead(format!(
                    "an earlier attempt was cut off mid-call and may have been applied in {system}; \
                     check there, then `switchboard dlq replay {}`",
                    m.event_id
                )));
            }
            Begin::Fresh => {}
        }
        let target_id = data.get("target_id").and_then(Value::as_str);
        let record = data.get("record").unwrap_or(&Value::Null);
        let body = match render(mapping, record) {
            Ok(b) => b,
            Err(e) => return Err(self.failed(&m.event_id, e).await),
        };
        // What lands on an existing record (a comment, progress) comes back
        // when that system is read again: noted first, so the read knows it
        // as the hub's own even while this call is still going.
        // A new record's text (a request memo that opens its trail) comes
        // back the same way: noted with the link, once its id is known.
        let notes = body
            .as_ref()
            .map(crate::routing::echo::notes_in)
            .unwrap_or_default();
        if let Some(id) = target_id
            && let Err(e) = self
                .store
                .record_sent(system, id, &m.event_id, &notes)
                .await
        {
            let _ = self.store.abandon_delivery(&m.event_id).await;
            return Err(store_failed(e));
        }
        let outcome = match body {
            None => None,
            Some(body) => match perform(self.connector.as_ref(), mapping, body, target_id).await {
                Ok(o) => Some(o),
                Err(e) => return Err(self.failed(&m.event_id, e).await),
            },
        };
        let created = outcome.as_ref().and_then(|o| o.id.clone());
        let origin = Origin::of(data);
        // Only a create starts a link: updates and comments land on a
        // record that is already the origin or its target.
        let link = match (&origin, target_id, &created) {
            (Some(o), None, Some(id)) => Some(NewLink {
                from_system: o.system.clone(),
                from_stream: o.stream.clone(),
                from_id: o.external_id.clone(),
                to_system: system.to_string(),
                to_id: id.clone(),
                relation: if o.system == HUB { "task" } else { "routed" }.into(),
                event_id: m.event_id.clone(),
            }),
            _ => None,
        };
        let note = match (&origin, &link) {
            (Some(o), Some(l)) => Some(Progress {
                origin_system: o.system.clone(),
                origin_stream: o.stream.clone(),
                origin_id: o.external_id.clone(),
                note_id: format!("routed:{}", m.event_id),
                body: format!(
                    "Routed to {} in {system} ({action}): {}",
                    data.pointer("/target/department")
                        .and_then(Value::as_str)
                        .unwrap_or(system),
                    l.to_id
                ),
                status: None,
                at: chrono::Utc::now(),
                public: true,
            }),
            _ => None,
        };
        let applied = Applied {
            event_id: m.event_id.clone(),
            target_id: created.clone().or(target_id.map(str::to_string)),
            sent: match (&link, target_id) {
                (Some(l), None) => Some((l.to_system.clone(), l.to_id.clone(), notes)),
                _ => None,
            },
            link,
            note,
        };
        // Applied in the target but not recorded: the row stays `applying`,
        // so a redelivery is held as in doubt, never applied again.
        self.store.finish_delivery(&applied).await.map_err(|e| {
            Failure::Dead(format!(
                "applied in {system} (id {}) but the store could not record it: {e}; \
                 check the link by hand before replaying",
                created.as_deref().unwrap_or("unknown")
            ))
        })?;
        self.emit(&m.event_id, action, "applied", None);
        Ok(())
    }

    /// Classify a failed write; forget the delivery when the target surely
    /// did not apply it, so a retry starts clean.
    async fn failed(&self, event_id: &str, e: WriteError) -> Failure {
        let in_doubt = matches!(&e, WriteError::Connector(c) if c.may_have_applied());
        if in_doubt {
            return Failure::Dead(format!(
                "outcome unknown, it may have been applied: {e}; check {} before `switchboard dlq replay {event_id}`",
                self.system()
            ));
        }
        if let Err(store) = self.store.abandon_delivery(event_id).await {
            return Failure::Retry(format!("{e}; and the store: {store}"));
        }
        // Refused credentials are the operator's to fix, not the data's:
        // waited out like an outage, so fixing them resumes the work.
        let auth = matches!(&e, WriteError::Connector(ConnectorError::Auth { .. }));
        if e.is_transient() || auth {
            Failure::Retry(e.to_string())
        } else {
            Failure::Dead(e.to_string())
        }
    }

    fn emit(&self, event_id: &str, action: &str, outcome: &str, reason: Option<&str>) {
        events::WorkDelivered {
            connector: self.system(),
            action,
            event_id,
            outcome,
            reason,
        }
        .emit();
    }
}

#[async_trait::async_trait]
impl WorkHandler for Writer {
    async fn handle(&self, m: &Inbound) -> Result<(), Failure> {
        let data = m.payload.get("data").unwrap_or(&Value::Null);
        let target = |k: &str| {
            data.pointer(&format!("/target/{k}"))
                .and_then(Value::as_str)
        };
        let (Some(connector), Some(action)) = (target("connector"), target("action")) else {
            return Err(Failure::Dead(
                "not routed work: the event has no data.target.connector and data.target.action"
                    .into(),
            ));
        };
        if connector != self.system() {
            return Err(Failure::Dead(format!(
                "routed to `{connector}`, but reached the writer for `{}`",
                self.system()
            )));
        }
        let result = self.apply(m, action, data).await;
        if let Err(f) = &result {
            let outcome = match f {
                Failure::Retry(_) => "retry",
                Failure::Dead(_) => "dead",
            };
            self.emit(&m.event_id, action, outcome, Some(f.reason()));
        }
        result
    }
}

/// The record routed work came from, as the message names it.
struct Origin {
    system: String,
    stream: String,
    external_id: String,
}

impl Origin {
    fn of(data: &Value) -> Option<Self> {
        let text = |k: &str| {
            data.pointer(&format!("/origin/{k}"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Some(Self {
            system: text("system")?,
            stream: text("stream")?,
            external_id: text("external_id")?,
        })
    }
}
