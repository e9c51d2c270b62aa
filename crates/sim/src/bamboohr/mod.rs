//! BambooHR simulator: an in-memory company (employees, deletions, a clock,
//! a request log, injected faults and test hooks) behind the paths,
//! parameters, auth, paging and error answers of BambooHR's public API,
//! under `/api/gateway.php/{companyDomain}/`, for integration tests,
//! `switchboard simulate bamboohr` and the connector's manifest.
//!
//! Followed (documentation.bamboohr.com and the official SDK generated
//! from the same OpenAPI document, github.com/BambooHR/bhr-api-python):
//! - https://documentation.bamboohr.com/docs/getting-started (API key as the
//!   Basic user name, any password)
//! - https://documentation.bamboohr.com/docs/api-details (base URL, status
//!   codes, throttling answered with 503) and BambooHR's "API Error Code
//!   Definitions" help page (`X-BambooHR-Error-Message`, 503 with
//!   `Retry-After`, 429 as the employee limit)
//! - https://documentation.bamboohr.com/docs/list-of-field-names
//! - https://documentation.bamboohr.com/reference/get-employees-directory
//!   (SDK docs/EmployeesApi.md: full directory, `onlyCurrent`, XML unless
//!   JSON is asked for), get-employee, create-employee, update-employee
//! - https://documentation.bamboohr.com/reference/get-changed-employee-ids,
//!   https://documentation.bamboohr.com/reference/last-change-information-1
//!   and https://documentation.bamboohr.com/reference/get-changed-employee-table-data-1
//! - https://documentation.bamboohr.com/reference/reports (custom report with
//!   the `lastChanged` filter)
//! - https://documentation.bamboohr.com/reference/get-data-from-dataset-v2
//!   (SDK docs/DatasetsApi.md: `fields`, OData `filter`, `orderBy`, body
//!   `page`/`pageSize`, `data`/`links`/`meta`, RFC 7807 errors)
//!
//! Where the docs are silent the module that decides says so. This module
//! owns the public handle and the shared state; `http` owns routing, auth,
//! faults and error answers, `read` the v1 reads, `datasets` the v2 dataset
//! query (`filter` its expression language), `writes` create and update,
//! `xml` the XML answers, `model` the fields and `seed` the company.

mod datasets;
mod filter;
mod http;
pub mod model;
mod read;
pub mod seed;
#[cfg(test)]
mod tests;
mod writes;
mod xml;

use crate::controls::{Controls, HasControls, Sim};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use model::Employee;

/// How the simulated company is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The subdomain the company signs in at (`acme` for acme.bamboohr.com).
    pub company_domain: String,
    /// The API key: the Basic user name.
    pub api_key: String,
    /// Number of seeded employees.
    pub employees: usize,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            company_domain: "acme".into(),
            api_key: "sim-api-key".into(),
            employees: 60,
            seed: 7,
        }
    }
}

/// A failure the next authenticated requests answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 503 with `Retry-After`: how BambooHR throttles requests it deems too
    /// frequent.
    Throttled { retry_after_secs: u64 },
    /// 429 with `Retry-After`. BambooHR documents 429 only as "the account
    /// has reached its employee limit"; this stands in for a proxy in front
    /// of it that rate-limits the usual way.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with an empty body.
    ServerError,
    /// 502: the load balancer could not reach the application.
    BadGateway,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body, when there was one.
    pub body: Option<Value>,
    pub status: u16,
}

impl RequestLog {
    /// The last value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A top-level member of the JSON body.
    pub fn body_field(&self, name: &str) -> Option<&Value> {
        self.body.as_ref().and_then(|b| b.get(name))
    }
}

/// The simulator's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    employees: BTreeMap<u64, Employee>,
    /// Deleted employee id -> when, for the changed-ids endpoint.
    deleted: BTreeMap<u64, DateTime<Utc>>,
    next_id: u64,
    next_number: u64,
    controls: Controls<Fault, RequestLog, BambooSim>,
}

impl State {
    /// The clock, to the second: change times are written so.
    fn now(&self) -> DateTime<Utc> {
        let t = self.controls.clock().unwrap_or_else(Utc::now);
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }

    /// Apply `change` to employee `id` as an edit in BambooHR: if any field
    /// changed, `lastChanged` moves to the clock. False when absent.
    fn edit(&mut self, id: u64, change: impl FnOnce(&mut Employee)) -> bool {
        let now = self.now();
        let Some(before) = self.employees.get(&id).cloned() else {
            return false;
        };
        let mut after = before.clone();
        change(&mut after);
        after.id = id;
        if after != before {
            after.last_changed = now;
        }
        self.employees.insert(id, after);
        true
    }

    /// A new employee with the next id and number, created at the clock.
    fn insert(&mut self, first: &str, last: &str, fill: impl FnOnce(&mut Employee)) -> u64 {
        let now = self.now();
        let (id, number) = (self.next_id, self.next_number);
        self.next_id += 1;
        self.next_number += 1;
        let mut e = seed::blank(id, number, first, last, now);
        fill(&mut e);
        e.id = id;
        e.created = now;
        e.last_changed = now;
        self.employees.insert(id, e);
        id
    }
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, BambooSim> {
        &mut self.controls
    }
}

/// A handle on one simulated company; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s.
/// A list request, for `after_list_request`, is a directory, dataset page,
/// changed-ids or custom-report request answered 200.
pub type BambooSim = Sim<State>;

/// `BambooSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<BambooSim>;

impl BambooSim {
    /// A seeded company on the real clock.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// A seeded company whose clock is frozen at `now`, so seed timestamps
    /// (offsets back from the clock) are reproducible too.
    pub fn with_clock(config: SimConfig, now: DateTime<Utc>) -> Self {
        Self::build(config, Some(now))
    }

    fn build(config: SimConfig, clock: Option<DateTime<Utc>>) -> Self {
        let company = seed::company(
            config.seed,
            config.employees,
            clock.unwrap_or_else(Utc::now),
        );
        let state = State {
            config,
            employees: company.employees,
            deleted: BTreeMap::new(),
            next_id: company.next_id,
            next_number: company.next_number,
            controls: Controls::new(clock),
        };
        Sim::from_state(state)
    }

    /// Binds 127.0.0.1:0 and serves until the handle is dropped or shut down.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// The API's base URL for a server at `base_url`:
    /// `{base_url}/api/gateway.php/{companyDomain}`.
    pub fn api_base(&self, base_url: &str) -> String {
        let domain = self.lock().config.company_domain.clone();
        format!(
            "{}/api/gateway.php/{domain}",
            base_url.trim_end_matches('/')
        )
    }

    /// Hires someone as HR would in the web app: a new id and employee
    /// number, active from today, created and changed at the clock.
    pub fn hire(&self, first: &str, last: &str, fill: impl FnOnce(&mut Employee)) -> u64 {
        self.lock().insert(first, last, fill)
    }

    /// Changes an employee as an edit in BambooHR would: `lastChanged`
    /// moves to the clock if anything changed. False when absent.
    pub fn update(&self, id: u64, change: impl FnOnce(&mut Employee)) -> bool {
        self.lock().edit(id, change)
    }

    /// Deletes an employee record (the changed-ids endpoint reports it).
    pub fn delete(&self, id: u64) -> bool {
        let mut st = self.lock();
        let now = st.now();
        let gone = st.employees.remove(&id).is_some();
        if gone {
            st.deleted.insert(id, now);
        }
        gone
    }

    pub fn get(&self, id: u64) -> Option<Employee> {
        self.lock().employees.get(&id).cloned()
    }

    /// Every employee, in id order.
    pub fn employees(&self) -> Vec<Employee> {
        self.lock().employees.values().cloned().collect()
    }

    pub fn count(&self) -> usize {
        self.lock().employees.len()
    }

    /// Employee `id` as one row of the `employee` dataset, with `fields`.
    pub fn dataset_row(&self, id: u64, fields: &[&str]) -> Option<Value> {
        let st = self.lock();
        let e = st.employees.get(&id)?;
        let mut row = Map::new();
        for f in fields {
            if let Some(v) = e.dataset_field(f, &st.employees) {
                row.insert((*f).to_string(), v);
            }
        }
        Some(serde_json::json!({"fields": row, "_restrictedFields": []}))
    }
}
