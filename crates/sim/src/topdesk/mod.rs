//! TOPdesk REST API simulator: an in-memory environment (incidents, their
//! progress trails, the supporting lookup lists, a clock, a request log,
//! injected faults and test hooks) behind the real API's paths
//! (`/tas/api/incidents…`), parameters, status codes and error bodies, for
//! integration tests and `switchboard demo`. This module owns the public
//! handle and the shared state; `http` owns the wire behaviour (`http/list`
//! the lists, `http/writes` create and update, `http/rules` what TOPdesk
//! derives on write), `fiql` the `query` language and `seed` the initial data
//! (`seed/catalog` the lookup lists and persons, `seed/data` the vocabulary).
//!
//! Followed: the TOPdesk API documentation at developers.topdesk.com (the
//! incident API explorer: `GET/POST /incidents`, `GET/PATCH/PUT
//! /incidents/id/{id}`, `…/actions`, `…/progresstrail`; the tutorial's FIQL
//! query and application password sections; the fair-use terms), checked
//! against clients that run against real environments (Cortex XSOAR's TOPdesk
//! integration and its recorded incident and action payloads, TOPdeskPy,
//! Pipedream's TOPdesk components). Assumptions where those are silent are
//! noted where they are made.

pub mod fiql;
mod http;
pub mod seed;
#[cfg(test)]
mod tests;

use crate::controls::{Controls, HasControls, Sim};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use seed::{Catalog, blank_incident, fmt_time};

/// How the simulated environment is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The operator's login name.
    pub username: String,
    /// An application password of that operator.
    pub password: String,
    /// Number of seeded incidents.
    pub incidents: usize,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            username: "switchboard".into(),
            password: "sim-app-password".into(),
            incidents: 50,
            seed: 7,
        }
    }
}

/// A failure the next authenticated API requests answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`: TOPdesk's fair-use policy reserves the right
    /// to throttle; it documents no rate-limit headers, so none are sent.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with the API's JSON error body.
    ServerError,
    /// 503 from the front end (maintenance, an upgrade): HTML, not JSON.
    Unavailable,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded.
    pub query: BTreeMap<String, String>,
    pub status: u16,
}

/// The simulator's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    catalog: Catalog,
    /// Incidents in insertion order.
    incidents: Vec<Map<String, Value>>,
    /// Incident id -> progress trail entries, oldest first.
    trails: BTreeMap<String, Vec<Value>>,
    /// `yymm` -> last incident number handed out that month.
    numbers: BTreeMap<String, u32>,
    controls: Controls<Fault, RequestLog, TopdeskSim>,
}

impl State {
    /// The clock, to the second: TOPdesk stores modification dates so.
    fn now(&self) -> DateTime<Utc> {
        let t = self.controls.clock().unwrap_or_else(Utc::now);
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.incidents
            .iter()
            .position(|r| r.get("id").and_then(Value::as_str) == Some(id))
    }

    fn find(&self, id: &str) -> Option<&Map<String, Value>> {
        self.position(id).map(|i| &self.incidents[i])
    }

    /// Stores `record` over a blank incident, filling what it leaves out
    /// (id, number, line, processing status, dates, creator) as the API does
    /// on create; given values, such as an explicit `modificationDate`, stay.
    fn insert(&mut self, record: Map<String, Value>) -> String {
        let given = |k: &str| record.get(k).is_some_and(|v| !v.is_null() && v != "");
        let id = match record.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        let now = self.now();
        let mut inc = blank_incident(&id);
        if !given("number") {
            let created = record
                .get("creationDate")
                .and_then(Value::as_str)
                .and_then(seed::parse_time)
                .unwrap_or(now);
            let number = seed::next_number(&mut self.numbers, created);
            inc.insert("number".into(), json!(number));
        }
        if !given("processingStatus")
            && let Some((status, _)) = self.catalog.status("Logged")
        {
            inc.insert("processingStatus".into(), status);
        }
        for k in ["callDate", "creationDate", "modificationDate"] {
            inc.insert(k.into(), json!(fmt_time(now)));
        }
        let me = self.catalog.api_operator.clone();
        inc.insert("creator".into(), me.clone());
        inc.insert("modifier".into(), me);
        for (k, v) in record {
            inc.insert(k, v);
        }
        inc.insert("id".into(), json!(id));
        self.trails.entry(id.clone()).or_default();
        self.incidents.push(inc);
        id
    }
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, TopdeskSim> {
        &mut self.controls
    }
}

/// A handle on one simulated environment; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s.
/// A list request, for `after_list_request`, is an incident list request
/// answered with incidents or 204 (authenticated, not faulted, well-formed).
pub type TopdeskSim = Sim<State>;

/// `TopdeskSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<TopdeskSim>;

impl TopdeskSim {
    /// A seeded environment on the real clock.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// A seeded environment whose clock is frozen at `now`, so seed
    /// timestamps (offsets back from the clock) are reproducible too.
    pub fn with_clock(config: SimConfig, now: DateTime<Utc>) -> Self {
        Self::build(config, Some(now))
    }

    fn build(config: SimConfig, clock: Option<DateTime<Utc>>) -> Self {
        let seeded = seed::seed(
            config.seed,
            config.incidents,
            clock.unwrap_or_else(Utc::now),
        );
        let state = State {
            config,
            catalog: seeded.catalog,
            incidents: seeded.incidents,
            trails: seeded.trails,
            numbers: seeded.numbers,
            controls: Controls::new(clock),
        };
        Sim::from_state(state)
    }

    /// Binds 127.0.0.1:0 and serves in a background task until the handle is
    /// dropped or `shutdown` is called.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// Stores an incident as it is given (see `seed::incident_modified_at`),
    /// filling in id, number and whatever else it leaves out; returns the id.
    pub fn insert(&self, record: Map<String, Value>) -> String {
        self.lock().insert(record)
    }

    /// Changes an incident as an operator would through `PATCH
    /// /tas/api/incidents/id/{id}`: `patch` is that request's body (lookups
    /// by `{"id"}` or `{"name"}`, `action` adds to the progress trail), and
    /// the same rules apply (flags follow the processing status, a new
    /// `modificationDate`). Returns the incident, or the API's error message.
    pub fn update(&self, id: &str, patch: Value) -> Result<Value, String> {
        let mut st = self.lock();
        http::apply_update(&mut st, id, &patch).map_err(|e| e.message)
    }

    /// Sets fields as they are, bypassing the API's rules (for data the API
    /// would refuse, such as a processing status it does not know), and
    /// stamps a new `modificationDate`. False when absent.
    pub fn set_raw(&self, id: &str, fields: Map<String, Value>) -> bool {
        let mut st = self.lock();
        let now = fmt_time(st.now());
        let Some(i) = st.position(id) else {
            return false;
        };
        let inc = &mut st.incidents[i];
        for (k, v) in fields {
            if k != "id" {
                inc.insert(k, v);
            }
        }
        inc.insert("modificationDate".into(), json!(now));
        true
    }

    /// Delete an incident, as archiving and purging would.
    pub fn delete(&self, id: &str) -> bool {
        let mut st = self.lock();
        let Some(i) = st.position(id) else {
            return false;
        };
        st.incidents.remove(i);
        st.trails.remove(id);
        true
    }

    /// The stored incident.
    pub fn get(&self, id: &str) -> Option<Value> {
        self.lock().find(id).map(|r| Value::Object(r.clone()))
    }

    pub fn count(&self) -> usize {
        self.lock().incidents.len()
    }

    /// Every incident, in insertion order.
    pub fn records(&self) -> Vec<Value> {
        self.lock()
            .incidents
            .iter()
            .cloned()
            .map(Value::Object)
            .collect()
    }

    /// An incident's progress trail (requests and actions), oldest first.
    pub fn trail(&self, id: &str) -> Vec<Value> {
        self.lock().trails.get(id).cloned().unwrap_or_default()
    }

    /// The environment's registered persons, as incidents show them as callers.
    pub fn persons(&self) -> Vec<Value> {
        self.lock().catalog.persons.clone()
    }

    /// Entries of one supporting list (`priority`, `processingStatus`,
    /// `operatorGroup`, `category`, …) as incidents show them.
    pub fn lookup_list(&self, field: &str) -> Vec<Value> {
        self.lock()
            .catalog
            .lists
            .get(field)
            .cloned()
            .unwrap_or_default()
    }
}
