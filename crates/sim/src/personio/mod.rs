//! Personio simulator: an in-memory company (employees, departments,
//! offices, issued tokens, clock, request log, injected faults) behind the
//! paths, parameters, paging, auth and error bodies of Personio's public API,
//! for integration tests and `switchboard demo`.
//!
//! Followed: the Personnel Data API v1 spec (`personio-personnel-data-api-oa3.yaml`
//! and `personio-auth-api.yaml` in github.com/personio/api-docs), the
//! developer hub's "Pagination Adoption Guide for V1 GET employees endpoint",
//! its changelog (pagination enforcement: limit at most 100, default 50;
//! stable 24-hour `papi-` tokens; rate limits on GET employees), and the v2
//! "Obtain Access Token" reference (`POST /v2/auth/token`). Where the docs are
//! silent the module that decides says so.
//!
//! This module owns the public handle and the shared state; `http` owns
//! routing, bearer checks, faults and error bodies, `auth` the two token
//! endpoints, `employees` the employee endpoints, `model` the wire shape of
//! an employee and `seed` the initial company.

mod auth;
mod employees;
mod http;
pub mod model;
pub mod seed;
#[cfg(test)]
mod tests;

use crate::controls::{Controls, HasControls, Sim};
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde_json::Value;

pub use model::{BIRTHDAY_ATTRIBUTE, Employee, Unit};

/// How the simulated company is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The API credentials' client id (`papi-…` in a real account).
    pub client_id: String,
    pub client_secret: String,
    /// Number of seeded employees.
    pub employees: usize,
    pub seed: u64,
    /// How long an issued token is accepted; Personio's last 24 hours.
    pub token_ttl_secs: u64,
    /// The company's time zone, in which the API writes dates and times.
    pub timezone: Tz,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "papi-sim-client".into(),
            client_secret: "papi-sim-secret".into(),
            employees: 40,
            seed: 7,
            token_ttl_secs: 86_400,
            timezone: chrono_tz::Europe::Berlin,
        }
    }
}

/// A failure the next authenticated employee requests answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`, as the GET employees rate limit answers.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with the v1 error body.
    ServerError,
    /// 503 from the load balancer in front of the API (HTML, not JSON).
    Unavailable,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded, in order; `attributes[]` repeats.
    pub query: Vec<(String, String)>,
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
}

/// An issued bearer token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) expires: DateTime<Utc>,
    /// Issued by `POST /v1/auth`, which hands the same token out again
    /// while it lives.
    pub(crate) v1: bool,
}

/// The simulator's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    employees: BTreeMap<u64, Employee>,
    departments: Vec<Unit>,
    offices: Vec<Unit>,
    subcompany: Unit,
    next_id: u64,
    controls: Controls<Fault, RequestLog, PersonioSim>,
    tokens: HashMap<String, Token>,
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        self.controls.clock().unwrap_or_else(Utc::now)
    }

    /// A new token valid for the configured lifetime.
    fn issue_token(&mut self, v1: bool) -> (String, u64) {
        let now = self.now();
        if v1 && let Some((token, t)) = self.tokens.iter().find(|(_, t)| t.v1 && t.expires > now) {
            return (token.clone(), (t.expires - now).num_seconds().max(0) as u64);
        }
        let token = format!("papi-{}", uuid::Uuid::new_v4().simple());
        let ttl = self.config.token_ttl_secs;
        let expires = now + Duration::seconds(ttl as i64);
        self.tokens.insert(token.clone(), Token { expires, v1 });
        (token, ttl)
    }

    fn token_valid(&self, token: &str) -> bool {
        let now = self.now();
        self.tokens.get(token).is_some_and(|t| t.expires > now)
    }

    /// Apply `change` to employee `id` as an edit in Personio: every
    /// attribute whose value changed is stamped with the clock, and so is
    /// `last_modified_at` if anything changed. False when absent.
    fn edit(&mut self, id: u64, change: impl FnOnce(&mut Employee)) -> bool {
        let tz = self.config.timezone;
        let now = self.now();
        let Some(before) = self.employees.get(&id).cloned() else {
            return false;
        };
        let mut after = before.clone();
        change(&mut after);
        after.id = id;
        let old = before.render(&self.employees, tz, None);
        let new = after.render(&self.employees, tz, None);
        let changed: Vec<String> = model::ATTRIBUTES
            .iter()
            .map(|(k, ..)| *k)
            .filter(|k| *k != "last_modified_at" && old["attributes"][k] != new["attributes"][k])
            .map(str::to_string)
            .collect();
        if !changed.is_empty() {
            for k in changed {
                after.changed.insert(k, now);
            }
            after.last_modified_at = now;
        }
        self.employees.insert(id, after);
        true
    }
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, PersonioSim> {
        &mut self.controls
    }
}

/// A handle on one simulated company; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s.
/// A list request, for `after_list_request`, is `GET /v1/company/employees`
/// answered with a success.
pub type PersonioSim = Sim<State>;

/// `PersonioSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<PersonioSim>;

impl PersonioSim {
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
            departments: company.departments,
            offices: company.offices,
            subcompany: company.subcompany,
            next_id: company.next_id,
            controls: Controls::new(clock),
            tokens: HashMap::new(),
        };
        Sim::from_state(state)
    }

    /// Binds 127.0.0.1:0 and serves until the handle is dropped or shut down.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// Adds an employee as HR would: a new id, `created_at` and
    /// `last_modified_at` at the clock. Returns the id.
    pub fn hire(&self, first_name: &str, last_name: &str, email: &str) -> u64 {
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        let now = st.now();
        let mut e = seed::blank(id, first_name, last_name, email, now);
        e.subcompany = Some(st.subcompany.clone());
        st.employees.insert(id, e);
        id
    }

    /// Changes an employee as an edit in Personio would, stamping the
    /// changed attributes and `last_modified_at` with the clock. False when absent.
    pub fn update(&self, id: u64, change: impl FnOnce(&mut Employee)) -> bool {
        self.lock().edit(id, change)
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

    /// Employee `id` as the list endpoint returns it (all attributes).
    pub fn render(&self, id: u64) -> Option<Value> {
        let st = self.lock();
        let tz = st.config.timezone;
        st.employees
            .get(&id)
            .map(|e| e.render(&st.employees, tz, None))
    }

    /// The company's departments, which create and update refer to by name.
    pub fn departments(&self) -> Vec<Unit> {
        self.lock().departments.clone()
    }

    /// A valid token, as if fetched from `POST /v2/auth/token`.
    pub fn issue_token(&self) -> String {
        self.lock().issue_token(false).0
    }

    /// Every token issued so far lapses now, as after their 24 hours.
    pub fn expire_tokens(&self) {
        let mut st = self.lock();
        let now = st.now();
        for t in st.tokens.values_mut() {
            t.expires = now;
        }
    }
}
