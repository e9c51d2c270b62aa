//! Odoo external API simulator: an in-memory Odoo 17 database (departments,
//! employees, purchase orders and their lines, vendors, products, the
//! chatter) behind Odoo's `/jsonrpc` endpoint, for integration tests,
//! `switchboard demo` and `switchboard simulate odoo`. It answers the
//! `common` service (`version`, `login`, `authenticate`), the `object`
//! service (`execute_kw`, `execute`) with the ORM methods an integration
//! calls, and a small `db` service, with Odoo's request and error shapes.
//!
//! This module owns the public handle and the shared state; `rpc` owns the
//! wire (JSON-RPC envelope, faults, the request log; `rpc/services` the
//! `common`, `db` and `object` services and credential checks), `orm` the
//! model methods and their Python-style argument binding and the read side,
//! `write` create and write (`write/x2many` the x2many commands,
//! `write/unlink` deletion), `convert` the values writes accept, `actions`
//! `message_post` and the workflow buttons, `domain` (`domain/compile`,
//! `domain/eval`) and `order` the search language, `schema` the models and
//! fields (`schema/models` the table), `store` the rows and what Odoo
//! computes from them, `error` the error body, and `seed` the initial data.
//!
//! Followed, in Odoo's own source (github.com/odoo/odoo, 17.0 unless noted):
//! `odoo/http.py` (`JsonRPCDispatcher.dispatch`, `handle_error`, `_response`,
//! `serialize_exception`, `dispatch_rpc`, `Request._set_request_dispatcher`,
//! `make_json_response`), `odoo/addons/base/controllers/rpc.py` (the
//! `/jsonrpc` route), `odoo/service/common.py` (17.0 and 18.0:
//! `exp_login` delegating to `exp_authenticate`, which returns `False` on
//! `AccessDenied` and marks the call non-interactive so API keys are
//! accepted), `odoo/service/security.py` and `odoo/service/model.py`
//! (`dispatch`, `execute_kw`, `execute_cr`: "Object %s doesn't exist",
//! `_as_validation_error` for NOT NULL and foreign-key violations),
//! `odoo/osv/expression.py` (`normalize_domain`, `is_false`,
//! `_anyfy_leaves`, `normalize_leaf`, `check_leaf`, `TERM_OPERATORS`), and
//! `odoo/models.py` (`_check_qorder`, the "Invalid field %r on model %r"
//! checks of `read`, `create` and `write`, `check_access_rule`'s
//! MissingError); Odoo's `test_rpc` tests for the shape of a missing
//! required field over RPC; and the External API documentation
//! (odoo.com/documentation/17.0/developer/reference/external_api.html:
//! `common.version`/`authenticate`, `execute_kw` with `args` and `kwargs`,
//! `search_read`, `create`, `write`, API keys in place of the password).
//! Where those are silent the module that decides says so.

mod actions;
mod convert;
mod domain;
mod error;
mod order;
mod orm;
mod rpc;
mod schema;
pub mod seed;
mod store;
#[cfg(test)]
mod tests;
mod write;

use crate::controls::{Controls, HasControls, Sim};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

pub use error::OdooError;
pub use store::Row;

/// The API user's id: `admin` is uid 2 in every Odoo database (1 is OdooBot).
pub const UID: i64 = 2;
/// The API user's partner, the author of what it posts.
pub const USER_PARTNER: i64 = 3;
/// The one company.
pub const COMPANY: i64 = 1;

/// How the simulated database is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The database name every call names.
    pub db: String,
    /// The API user's login.
    pub login: String,
    pub password: String,
    /// An API key of that user, accepted wherever the password is (Odoo 14+).
    pub api_key: String,
    /// Seeded departments (some nested under others).
    pub departments: usize,
    /// Seeded employees, managers among them, some archived.
    pub employees: usize,
    /// Seeded purchase orders across every state, with their lines.
    pub purchase_orders: usize,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            db: "switchboard".into(),
            login: "admin".into(),
            password: "sim-password".into(),
            api_key: "4c1f0d9e2b7a6358e0f4a1b2c3d4e5f60718293a".into(),
            departments: 8,
            employees: 60,
            purchase_orders: 30,
            seed: 7,
        }
    }
}

/// A failure the next requests to `/jsonrpc` answer with, before Odoo sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After` and an HTML body, as nginx's `limit_req` in
    /// front of Odoo (or Odoo.sh's front end) answers; Odoo itself never does.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with werkzeug's HTML page: the worker failed outside dispatch
    /// (a memory limit, a crash), so no JSON-RPC body is written.
    ServerError,
    /// 503 with the proxy's HTML page, as while Odoo restarts or upgrades.
    Unavailable,
    /// HTTP 200 with a `psycopg2.errors.SerializationFailure` error body:
    /// a concurrent update that outlasted Odoo's five retries.
    SerializationFailure,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub http_method: String,
    pub path: String,
    pub status: u16,
    /// The JSON-RPC `id`.
    pub id: Value,
    /// `common`, `object` or `db`.
    pub service: Option<String>,
    /// The service method: `login`, `authenticate`, `execute_kw`, …
    pub method: Option<String>,
    pub db: Option<String>,
    pub uid: Option<Value>,
    /// For `object` calls, the model and the model method.
    pub model: Option<String>,
    pub model_method: Option<String>,
    /// The model method's positional arguments; for `common` calls, the
    /// service arguments with the password replaced by `"[redacted]"`.
    pub args: Vec<Value>,
    pub kwargs: Map<String, Value>,
    /// `error.data.name` when the answer was an error body.
    pub error: Option<String>,
}

impl RequestLog {
    /// Whether this was `model.method` through the object service.
    pub fn is_call(&self, model: &str, method: &str) -> bool {
        self.model.as_deref() == Some(model) && self.model_method.as_deref() == Some(method)
    }

    /// A model method argument by its Python name, positional or keyword
    /// (`domain`, `fields`, `offset`, `limit`, `order`, `ids`, `vals`, …).
    pub fn arg(&self, name: &str) -> Option<&Value> {
        let method = self.model_method.as_deref()?;
        let position = orm::param_names(method).iter().position(|p| *p == name);
        position
            .and_then(|i| self.args.get(i))
            .or_else(|| self.kwargs.get(name))
    }

    pub fn domain(&self) -> Option<&Value> {
        self.arg("domain")
    }

    pub fn offset(&self) -> Option<i64> {
        self.arg("offset").and_then(Value::as_i64)
    }

    pub fn limit(&self) -> Option<i64> {
        self.arg("limit").and_then(Value::as_i64)
    }

    pub fn order(&self) -> Option<&str> {
        self.arg("order").and_then(Value::as_str)
    }
}

/// The simulator's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    store: store::Store,
    controls: Controls<Fault, RequestLog, OdooSim>,
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        self.controls.clock().unwrap_or_else(Utc::now)
    }
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, OdooSim> {
        &mut self.controls
    }
}

/// A handle on one simulated database; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s.
/// A list request, for `after_list_request`, is a successful `search_read`
/// or `search` call.
pub type OdooSim = Sim<State>;

/// `OdooSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<OdooSim>;

impl OdooSim {
    /// A seeded database on the real clock.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// A seeded database whose clock is frozen at `now`, so seed timestamps
    /// (offsets back from the clock) are reproducible too.
    pub fn with_clock(config: SimConfig, now: DateTime<Utc>) -> Self {
        Self::build(config, Some(now))
    }

    fn build(config: SimConfig, clock: Option<DateTime<Utc>>) -> Self {
        let store = seed::seed(&config, clock.unwrap_or_else(Utc::now));
        let state = State {
            config,
            store,
            controls: Controls::new(clock),
        };
        Sim::from_state(state)
    }

    /// The API as an axum router, for embedding in another server.
    pub fn router(&self) -> axum::Router {
        rpc::router(self.clone())
    }

    /// Binds 127.0.0.1:0 and serves until the handle is dropped or shut down.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// Serves this (possibly pre-populated) database on 127.0.0.1:0.
    pub async fn serve(&self) -> std::io::Result<SimHandle> {
        crate::server::serve(self.clone(), self.router(), "odoo").await
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    /// The API user's uid, what `common.login` answers.
    pub fn uid(&self) -> i64 {
        UID
    }

    /// A record with every field, as `read` returns it (archived ones too).
    pub fn record(&self, model: &str, id: i64) -> Option<Value> {
        let st = self.lock();
        orm::read_all(&st.store, model, &[id]).into_iter().next()
    }

    /// Every record of a model, archived ones included, by id.
    pub fn records(&self, model: &str) -> Vec<Value> {
        let st = self.lock();
        let ids = st.store.ids(model);
        orm::read_all(&st.store, model, &ids)
    }

    /// How many records a model holds, archived ones included.
    pub fn count(&self, model: &str) -> usize {
        self.lock().store.ids(model).len()
    }

    pub fn employee(&self, id: i64) -> Option<Value> {
        self.record("hr.employee", id)
    }

    pub fn department(&self, id: i64) -> Option<Value> {
        self.record("hr.department", id)
    }

    pub fn purchase_order(&self, id: i64) -> Option<Value> {
        self.record("purchase.order", id)
    }

    /// An order's lines, as `read` returns them, in the lines' `_order`.
    pub fn order_lines(&self, order_id: i64) -> Vec<Value> {
        let st = self.lock();
        let ids = st
            .store
            .children("purchase.order.line", "order_id", order_id);
        orm::read_all(&st.store, "purchase.order.line", &ids)
    }

    /// The chatter of a record (`mail.message` rows), oldest first.
    pub fn messages_of(&self, model: &str, id: i64) -> Vec<Value> {
        let st = self.lock();
        let ids: Vec<i64> = st
            .store
            .ids("mail.message")
            .into_iter()
            .filter(|m| {
                st.store.row("mail.message", *m).is_some_and(|r| {
                    r.get("model") == Some(&json!(model)) && r.get("res_id") == Some(&json!(id))
                })
            })
            .collect();
        orm::read_all(&st.store, "mail.message", &ids)
    }

    /// Changes a record's stored values directly, as another Odoo user or
    /// an automated action would, and stamps `write_date`. The row holds raw
    /// values (see [`Row`]): a many2one is an id or `null`. False when absent.
    pub fn update(&self, model: &str, id: i64, change: impl FnOnce(&mut Row)) -> bool {
        let mut st = self.lock();
        let now = store::stamp(st.now());
        let Some(row) = st.store.row_mut(model, id) else {
            return false;
        };
        change(row);
        row.insert("id".into(), json!(id));
        row.insert("write_date".into(), json!(now));
        true
    }

    pub fn update_employee(&self, id: i64, change: impl FnOnce(&mut Row)) -> bool {
        self.update("hr.employee", id, change)
    }

    pub fn update_department(&self, id: i64, change: impl FnOnce(&mut Row)) -> bool {
        self.update("hr.department", id, change)
    }

    pub fn update_purchase_order(&self, id: i64, change: impl FnOnce(&mut Row)) -> bool {
        self.update("purchase.order", id, change)
    }

    /// `write` as the API user would call it, with the same checks.
    pub fn write(&self, model: &str, ids: &[i64], vals: Value) -> Result<(), OdooError> {
        let mut st = self.lock();
        orm::call(&mut st, model, "write", &[json!(ids), vals], &Map::new()).map(|_| ())
    }

    /// `create` as the API user would call it; returns the new id.
    pub fn create(&self, model: &str, vals: Value) -> Result<i64, OdooError> {
        let mut st = self.lock();
        let id = orm::call(&mut st, model, "create", &[vals], &Map::new())?;
        Ok(id.as_i64().unwrap_or_default())
    }

    /// Archives a record (`active = False`), stamping `write_date`.
    pub fn archive(&self, model: &str, id: i64) -> bool {
        self.update(model, id, |r| {
            r.insert("active".into(), json!(false));
        })
    }

    /// Deletes a record outright, bypassing the rules `unlink` applies.
    pub fn delete(&self, model: &str, id: i64) -> bool {
        write::delete(&mut self.lock(), model, id)
    }

    /// Ids `search` would answer for `domain`, with the default context and order.
    pub fn search(&self, model: &str, domain: Value) -> Result<Vec<i64>, OdooError> {
        let mut st = self.lock();
        let ids = orm::call(&mut st, model, "search", &[domain], &Map::new())?;
        Ok(ids
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_i64)
            .collect())
    }

    /// The logged `model.method` calls through the object service.
    pub fn calls(&self, model: &str, method: &str) -> Vec<RequestLog> {
        self.requests()
            .into_iter()
            .filter(|r| r.is_call(model, method))
            .collect()
    }
}
