//! IBM Maximo Manage simulator: facilities work orders behind the REST
//! (OSLC JSON) API's object structure MXWO, at `/maximo/oslc/os/mxwo` and
//! its MAS alias `/maximo/api/os/mxwo`, for integration tests, `switchboard
//! simulate maximo` and trying a manifest. It keeps state (work orders, their
//! work logs and status history, a clock), checks API keys, filters with
//! `oslc.where`, sorts, selects and pages as the server does, and answers
//! with Maximo's `{"Error": {…}}` bodies. This module owns the public handle
//! and the shared state; `http` owns the wire (`http/list` reads,
//! `http/writes` creates, updates and the changeStatus action), `where_clause`
//! the query language, `select` the property lists, `model` what a work order
//! is, `errors` the messages, `seed` the initial data.
//!
//! Followed:
//! - IBM Maximo REST API Guide, <https://ibm-maximo-dev.github.io/maximo-restapi-documentation/>:
//!   `query/selecting`, `query/filtering`, `query/sort_and_paging`,
//!   `crud/create_and_update`, `action/action`, `authentication/apikey`,
//!   `authentication/auth`, `batcherror`;
//! - Maximo NextGen REST API, <https://developer.ibm.com/static/site-id/155/maximodev/restguide/Maximo_Nextgen_REST_API.html>;
//! - API keys, <https://www.ibm.com/docs/SSZQTT_7.6.1/com.ibm.mif.doc/gp_intfrmwk/c_api_keys_comp.html>
//!   (`apikey` header or query parameter) and the `/api/*` mapping of the
//!   OSLC servlet, <https://www.ibm.com/support/pages/creating-and-using-rest-api-keys-secure-application-server-environment>;
//! - partial update and `patchtype: MERGE`, <https://www.ibm.com/docs/en/max-it/continuous-delivery?topic=resources-partial-update-oslc-resource>;
//! - resource ids, <https://sharptree.io/blog/2023/2023-06-20-resource-ids>;
//! - `or` and `opmodeor`, BMXAA8744E, <https://moremaximo.com/question/apios-rest-call-with-or-in-the-oslcwhere-clause-is-failing>;
//! - where-clause dates and null tests, <https://bportaluri.com/2021/04/mxloader-rest-query-where.html>;
//! - allowed work order status changes, <https://ibm.com/support/pages/maximo-support-desk-allowable-status-changes-work-orders>
//!   and changing status by PATCH rather than the action, <https://community.ibm.com/community/user/discussion/changing-the-status-of-a-work-order-via-api-error-bmxaa7901e>;
//! - stable paging and normal paging, <https://eam360.com/pagination-in-maximo-api>;
//! - response shapes recorded by a client library's tests
//!   (Network-Rail-Business-Systems/maximo-query `tests/stubs/responses`).
//!
//! Not simulated: stable paging (`stablePaging=true`), saved queries,
//! related-object paths in `oslc.where`/`oslc.select` (`location.status`),
//! `oslc.searchTerms`, bulk requests, attachments, sessions and cookies
//! (`maxauth` is checked on every request), and domain synonyms (each
//! status is its own internal value).

pub mod errors;
mod http;
pub mod model;
pub mod seed;
pub mod select;
#[cfg(test)]
mod tests;
pub mod where_clause;

use crate::controls::{Controls, HasControls, Sim};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use model::{blank_work_order, fmt_time, record_id};

/// How the simulated server is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The API key every request must carry (`apikey` header or parameter).
    pub api_key: String,
    /// Native-authentication user, for the `maxauth` header.
    pub username: String,
    pub password: String,
    /// Number of seeded work orders.
    pub work_orders: usize,
    pub seed: u64,
    /// The server's time zone: dates are written in it, with its offset.
    pub timezone: Tz,
    /// `mxe.oslc.maxpagesize`: the most members a page holds, whatever
    /// `oslc.pageSize` asks for. `None` is the shipped default (no limit).
    pub max_page_size: Option<usize>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            api_key: "sim-maximo-api-key".into(),
            username: "maxadmin".into(),
            password: "sim-maxadmin".into(),
            work_orders: 60,
            seed: 11,
            timezone: chrono_tz::America::New_York,
            max_page_size: None,
        }
    }
}

/// A failure the next authenticated requests answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`, as MAS's gateway throttles.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with Maximo's error body (a failed database fetch).
    ServerError,
    /// 503 from the application server while Manage restarts: HTML.
    Unavailable,
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded.
    pub query: BTreeMap<String, String>,
    /// Request headers, names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    pub status: u16,
}

/// The simulator's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    /// Work orders in insertion order, lean, dates rendered in the server's zone.
    records: Vec<Map<String, Value>>,
    next_workorderid: i64,
    next_wonum: u64,
    next_worklogid: i64,
    /// `_rowstamp` of the latest write; every write takes a higher one.
    rowstamp: u64,
    controls: Controls<Fault, RequestLog, MaximoSim>,
    /// Locations created after the seed (the Locations application), by site.
    added_locations: Vec<(String, String)>,
}

impl State {
    /// Whether `location` exists at `siteid`, seeded or added since.
    pub(crate) fn knows_location(&self, siteid: &str, location: &str) -> bool {
        model::site(siteid).is_some_and(|(_, _, locs)| locs.contains(&location))
            || self
                .added_locations
                .iter()
                .any(|(s, l)| s == siteid && l == location)
    }

    /// The clock, to the second: Maximo stores dates so.
    fn now(&self) -> DateTime<Utc> {
        let t = self.controls.clock().unwrap_or_else(Utc::now);
        DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
    }

    fn tz(&self) -> Tz {
        self.config.timezone
    }

    fn now_text(&self) -> String {
        fmt_time(self.now(), self.tz())
    }

    fn position(&self, rest_id: &str) -> Option<usize> {
        self.records.iter().position(|r| record_id(r) == rest_id)
    }

    fn next_rowstamp(&mut self) -> String {
        self.rowstamp += 1;
        self.rowstamp.to_string()
    }

    /// What every write leaves on the record it touched.
    fn stamp(&mut self, i: usize, by: &str) {
        let now = self.now_text();
        let rowstamp = self.next_rowstamp();
        let rec = &mut self.records[i];
        rec.insert("changedate".into(), json!(now));
        rec.insert("changeby".into(), json!(by));
        rec.insert("_rowstamp".into(), json!(rowstamp));
    }

    /// Stores `record` as given over a blank work order, filling the keys,
    /// ids and dates it leaves out; returns its rest id.
    fn insert(&mut self, record: Map<String, Value>) -> String {
        let given = |k: &str| {
            record
                .get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let wonum = match given("wonum") {
            Some(w) => w.to_string(),
            None => {
                self.next_wonum += 1;
                (self.next_wonum - 1).to_string()
            }
        };
        let siteid = given("siteid").unwrap_or("BEDFORD").to_string();
        self.next_workorderid += 1;
        let mut rec = blank_work_order(self.next_workorderid - 1, &wonum, &siteid);
        let now = self.now_text();
        for k in ["reportdate", "statusdate", "changedate"] {
            rec.insert(k.into(), json!(now));
        }
        rec.insert("changeby".into(), json!(seed::API_USER));
        rec.insert("_rowstamp".into(), json!(self.next_rowstamp()));
        for (k, v) in record {
            if k != "workorderid" {
                rec.insert(k, v);
            }
        }
        let id = record_id(&rec);
        self.records.push(rec);
        id
    }
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, MaximoSim> {
        &mut self.controls
    }
}

/// A handle on one simulated server; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s.
/// A list request, for `after_list_request`, is a collection query answered
/// 200 (authenticated, not faulted, well-formed).
pub type MaximoSim = Sim<State>;

/// `MaximoSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<MaximoSim>;

impl MaximoSim {
    /// A seeded server on the real clock.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// A seeded server whose clock is frozen at `now`, so seed dates
    /// (offsets back from the clock) are reproducible too.
    pub fn with_clock(config: SimConfig, now: DateTime<Utc>) -> Self {
        Self::build(config, Some(now))
    }

    fn build(config: SimConfig, clock: Option<DateTime<Utc>>) -> Self {
        let seeded = seed::seed(
            config.seed,
            config.work_orders,
            clock.unwrap_or_else(Utc::now),
            config.timezone,
        );
        let state = State {
            config,
            records: seeded.records,
            next_workorderid: seeded.next_workorderid,
            next_wonum: seeded.next_wonum,
            next_worklogid: seeded.next_worklogid,
            rowstamp: seeded.rowstamp,
            controls: Controls::new(clock),
            added_locations: Vec::new(),
        };
        Sim::from_state(state)
    }

    /// Binds 127.0.0.1:0 and serves in a background task until the handle is
    /// dropped or `shutdown` is called.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// Stores a work order as given (lean attribute names, dates as
    /// `fmt_time` writes them), filling what it leaves out: `wonum` from the
    /// autokey, `siteid` BEDFORD, `workorderid`, dates now. Returns its rest id.
    pub fn insert(&self, record: Map<String, Value>) -> String {
        self.lock().insert(record)
    }

    /// Changes a work order as `POST …/mxwo/{id}` with `x-method-override:
    /// PATCH` and `patchtype: MERGE` would: the same rules apply (status
    /// changes checked and recorded, work logs merged by `worklogid`, a new
    /// `changedate`). Returns the stored work order or the error message.
    pub fn update(&self, rest_id: &str, patch: Value) -> Result<Value, String> {
        let mut st = self.lock();
        http::apply_update(&mut st, rest_id, &patch, true).map_err(|e| e.message)
    }

    /// Creates a location at a site, as Facilities would in the Locations
    /// application: work orders may name it from then on.
    pub fn add_location(&self, siteid: &str, location: &str) {
        self.lock()
            .added_locations
            .push((siteid.to_string(), location.to_uppercase()));
    }

    /// Sets attributes as they are, bypassing the rules (a status the domain
    /// does not know, say), and stamps a new `changedate`. False when absent.
    pub fn set_raw(&self, rest_id: &str, fields: Map<String, Value>) -> bool {
        let mut st = self.lock();
        let Some(i) = st.position(rest_id) else {
            return false;
        };
        for (k, v) in fields {
            if !matches!(k.as_str(), "workorderid" | "wonum" | "siteid") {
                st.records[i].insert(k, v);
            }
        }
        st.stamp(i, seed::API_USER);
        true
    }

    /// Deletes a work order, as an administrator purging it would.
    pub fn delete(&self, rest_id: &str) -> bool {
        let mut st = self.lock();
        let Some(i) = st.position(rest_id) else {
            return false;
        };
        st.records.remove(i);
        true
    }

    /// The stored work order (lean, with its `worklog` and `wostatus`).
    pub fn get(&self, rest_id: &str) -> Option<Value> {
        let st = self.lock();
        st.position(rest_id)
            .map(|i| Value::Object(st.records[i].clone()))
    }

    pub fn count(&self) -> usize {
        self.lock().records.len()
    }

    /// Every work order, in insertion order.
    pub fn records(&self) -> Vec<Value> {
        self.lock()
            .records
            .iter()
            .cloned()
            .map(Value::Object)
            .collect()
    }

    /// The current time as the server writes dates.
    pub fn now_text(&self) -> String {
        self.lock().now_text()
    }
}
