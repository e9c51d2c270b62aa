//! Tryton JSON-RPC simulator: a small `party.party` table behind trytond's
//! `POST /<database>/` endpoint, for tests of the `jsonrpc` kind against a
//! system whose login returns a session sent back in an `Authorization`
//! header, and whose timestamps are objects.
//!
//! Followed, from Tryton's documentation and source:
//! - "Remote Procedure Call" (docs.tryton.org/projects/server/en/latest/topics/rpc.html,
//!   also docs.tryton.org/7.4/server/topics/rpc.html): the URL ends with the
//!   database name and a `/`; `common.db.login` takes the user name and a
//!   dictionary of login parameters and returns the user ID and the session
//!   (nothing when the parameters do not authenticate); the `Session`
//!   authorization is base64 of `login:user_id:session`.
//! - trytond `protocols/jsonrpc.py` (`JSONEncoder`/`JSONDecoder`): a
//!   datetime travels as `{"__class__": "datetime", "year", "month", "day",
//!   "hour", "minute", "second", "microsecond"}` and a date as
//!   `{"__class__": "date", "year", "month", "day"}`, both ways (so a
//!   domain's value is such an object); answers are `{"id", "result"}` or
//!   `{"id", "error": [name, args]}`.
//! - trytond `protocols/dispatcher.py` and `security.py`: a model call
//!   without a valid session is answered HTTP 401; the last positional
//!   parameter of a model call is the context; `ModelStorage.search_read`
//!   is `(domain, offset, limit, order, fields_names)`, order a list of
//!   `[field, "ASC"|"DESC"]`; records carry `create_date` and `write_date`
//!   (null until first written).
//!
//! `rpc` owns the wire (envelope, sessions, faults, the request log),
//! `domain` the search language and the datetime objects.

mod domain;
mod rpc;
#[cfg(test)]
mod tests;

use crate::controls::{Controls, HasControls, Sim};
use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

pub use domain::{datetime_object, from_datetime_object};

pub type SimHandle = crate::server::SimHandle<TrytonSim>;

/// How the simulated database is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The database name, the first segment of the endpoint's path.
    pub db: String,
    pub login: String,
    pub password: String,
    /// Seeded parties, created an hour apart from `2026-11-01T08:00:00Z`;
    /// every third was written a day after its creation.
    pub parties: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            db: "tryton".into(),
            login: "admin".into(),
            password: "sim-tryton-password".into(),
            parties: 25,
        }
    }
}

/// A failure the next requests answer with, before trytond sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429, as trytond's login rate limit (`RateLimitException`) answers.
    TooManyRequests,
    /// 503 from a proxy while trytond restarts.
    Unavailable,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub path: String,
    pub status: u16,
    /// `common.db.login`, `model.party.party.search_read`, …
    pub method: Option<String>,
    /// The `Authorization` scheme sent (`Session`, `Basic`), if any.
    pub auth_scheme: Option<String>,
    /// Whether a `Session` authorization named a live session.
    pub session_valid: bool,
    pub params: Vec<Value>,
    /// Records returned by a search.
    pub returned: usize,
    pub error: Option<String>,
}

impl RequestLog {
    pub fn is_search(&self, model: &str) -> bool {
        self.method.as_deref() == Some(&format!("model.{model}.search_read"))
    }

    pub fn domain(&self) -> Option<&Value> {
        self.params.first()
    }

    pub fn offset(&self) -> Option<i64> {
        self.params.get(1).and_then(Value::as_i64)
    }

    pub fn limit(&self) -> Option<i64> {
        self.params.get(2).and_then(Value::as_i64)
    }
}

/// The database's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    /// `party.party` rows by id, datetimes as UTC.
    parties: BTreeMap<i64, Row>,
    /// Live sessions: token to (login, user id).
    sessions: BTreeMap<String, (String, i64)>,
    next_session: u64,
    controls: Controls<Fault, RequestLog, TrytonSim>,
}

/// A `party.party` record.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub email: Option<String>,
    pub active: bool,
    pub create_date: DateTime<Utc>,
    pub write_date: Option<DateTime<Utc>>,
}

impl Row {
    /// As `search_read` returns it, datetimes as objects.
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "rec_name": self.name,
            "name": self.name,
            "code": self.code,
            "email": self.email,
            "active": self.active,
            "create_date": datetime_object(self.create_date),
            "write_date": self.write_date.map(datetime_object),
        })
    }
}

/// The admin user's id in a fresh trytond database.
pub const USER_ID: i64 = 1;

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, TrytonSim> {
        &mut self.controls
    }
}

/// A handle on one simulated database; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s. A list request, for
/// `after_list_request`, is a `search_read` call answered without an error.
pub type TrytonSim = Sim<State>;

impl TrytonSim {
    pub fn new(config: SimConfig) -> Self {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).single();
        let start = start.unwrap_or(DateTime::UNIX_EPOCH);
        let parties = (1..=config.parties as i64)
            .map(|id| {
                let create_date = start + TimeDelta::hours(id - 1);
                let row = Row {
                    id,
                    name: format!("Party {id}"),
                    code: format!("P{id:04}"),
                    email: (id % 4 != 0).then(|| format!("party{id}@example.com")),
                    active: true,
                    create_date,
                    write_date: (id % 3 == 0).then(|| create_date + TimeDelta::days(1)),
                };
                (id, row)
            })
            .collect();
        Sim::from_state(State {
            config,
            parties,
            sessions: BTreeMap::new(),
            next_session: 1,
            controls: Controls::new(None),
        })
    }

    pub fn router(&self) -> axum::Router {
        rpc::router(self.clone())
    }

    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        let sim = TrytonSim::new(config);
        crate::server::serve(sim.clone(), sim.router(), "tryton").await
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    /// The logged `search_read` calls on `model`.
    pub fn searches(&self, model: &str) -> Vec<RequestLog> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_search(model))
            .collect()
    }

    pub fn party(&self, id: i64) -> Option<Row> {
        self.lock().parties.get(&id).cloned()
    }

    pub fn count(&self) -> usize {
        self.lock().parties.len()
    }

    /// Create a party now (see `set_now`), as the Tryton client would.
    pub fn create_party(&self, name: &str) -> i64 {
        let mut st = self.lock();
        let now = st.now();
        let id = st.parties.keys().next_back().copied().unwrap_or(0) + 1;
        st.parties.insert(
            id,
            Row {
                id,
                name: name.to_string(),
                code: format!("P{id:04}"),
                email: None,
                active: true,
                create_date: now,
                write_date: None,
            },
        );
        id
    }

    /// Change a party now: its `write_date` moves.
    pub fn write_party(&self, id: i64, change: impl FnOnce(&mut Row)) -> bool {
        let mut st = self.lock();
        let now = st.now();
        let Some(row) = st.parties.get_mut(&id) else {
            return false;
        };
        change(row);
        row.write_date = Some(now);
        true
    }

    /// The live sessions' tokens: credentials a test looks for in outputs.
    pub fn session_tokens(&self) -> Vec<String> {
        self.lock().sessions.keys().cloned().collect()
    }

    /// Every session ends (a server restart, a session timeout): the next
    /// call with one is answered 401 and the client must log in again.
    pub fn expire_sessions(&self) {
        self.lock().sessions.clear();
    }

    /// The next `times` requests answer with `fault`: `inject` under the
    /// name the Tryton tests have always used.
    pub fn fail_next(&self, fault: Fault, times: usize) {
        self.inject(fault, times);
    }
}

#[cfg(test)]
pub(crate) fn rpc_search(st: &State, params: &[Value]) -> Result<Vec<Value>, String> {
    rpc::search_read(st, params)
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        self.controls.clock().unwrap_or_else(Utc::now)
    }
}
