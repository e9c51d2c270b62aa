//! ServiceNow Table API simulator: an in-memory instance (tables, clock,
//! request log, injected faults, test hooks) behind the real API's paths,
//! parameters, headers and error bodies, for integration tests and
//! `switchboard demo`. This module owns the public handle and the shared
//! state; `http` owns the wire behaviour (`http/records` the shaping of
//! records on the way in and out), `query` the encoded-query language and
//! `seed` the initial data (`seed/data` its vocabulary).

mod http;
pub mod query;
pub mod seed;
#[cfg(test)]
mod tests;

use crate::controls::{Controls, HasControls, Sim};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use seed::{Tables, fmt_time};

/// The table journal entries (comments, work notes) are kept in.
const JOURNAL: &str = "sys_journal_field";

/// The table the platform records each deleted record in (see
/// [`State::delete`]).
const AUDIT_DELETE: &str = "sys_audit_delete";

/// How the simulated instance is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub username: String,
    pub password: String,
    /// Number of seeded incidents.
    pub incidents: usize,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            username: "admin".into(),
            password: "sim-password".into(),
            incidents: 50,
            seed: 42,
        }
    }
}

/// A failure the next authenticated table requests answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After` and the `X-RateLimit-*` headers, as a rate-limit rule violation.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with the Table API's JSON error body.
    ServerError,
    /// 503, as sent by the instance's front end (HTML, not JSON).
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

/// Ordered row positions of one list query, valid while `generation` holds.
pub(crate) struct ListCache {
    pub(crate) key: String,
    pub(crate) generation: u64,
    pub(crate) rows: Vec<usize>,
}

/// The simulator's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    tables: Tables,
    controls: Controls<Fault, RequestLog, ServiceNowSim>,
    /// Each table's columns in first-seen order: the table's schema, kept
    /// up to date on write so a request need not scan every record for it.
    columns: BTreeMap<String, Vec<String>>,
    /// Bumped on every write, so a cached list order is known to be stale.
    generation: u64,
    /// The last list query's ordered row positions (see `http::list`).
    list_cache: Option<ListCache>,
    /// Last number handed out per prefix ("INC" -> 10050).
    numbers: BTreeMap<&'static str, u64>,
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        self.controls.clock().unwrap_or_else(Utc::now)
    }

    /// Inserts a record, filling whatever system fields are missing, and
    /// returns its sys_id. `user` is recorded as creator and updater.
    fn insert(&mut self, table: &str, mut record: Map<String, Value>, user: &str) -> String {
        let now = fmt_time(self.now());
        let mut fill = |k: &str, v: String| {
            if record
                .get(k)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                record.insert(k.to_string(), Value::String(v));
            }
        };
        fill("sys_id", uuid::Uuid::new_v4().simple().to_string());
        fill("sys_created_on", now.clone());
        fill("sys_updated_on", now);
        fill("sys_created_by", user.to_string());
        fill("sys_updated_by", user.to_string());
        fill("sys_mod_count", "0".into());
        fill("sys_class_name", table.to_string());
        if let Some(prefix) = number_prefix(table)
            && record
                .get("number")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            let n = self.next_number(prefix);
            record.insert("number".into(), Value::String(format!("{prefix}{n:07}")));
        }
        let sys_id = record
            .get("sys_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        note_columns(&mut self.columns, table, &record);
        self.generation += 1;
        self.journal(table, &sys_id, &record, user);
        self.tables
            .entry(table.to_string())
            .or_default()
            .push(record);
        sys_id
    }

    fn next_number(&mut self, prefix: &'static str) -> u64 {
        let n = self.numbers.entry(prefix).or_insert(10_000);
        *n += 1;
        *n
    }

    /// Applies `fields` to an existing record as an update by `user`; returns
    /// the updated record, or `None` when table or record is absent.
    fn update(
        &mut self,
        table: &str,
        sys_id: &str,
        fields: Map<String, Value>,
        user: &str,
    ) -> Option<Map<String, Value>> {
        let now = fmt_time(self.now());
        let row_fields = fields.clone();
        let row = self
            .tables
            .get_mut(table)?
            .iter_mut()
            .find(|r| r.get("sys_id").and_then(Value::as_str) == Some(sys_id))?;
        for (k, v) in fields {
            // sys_id is the record's identity, never rewritten by an update.
            if k != "sys_id" {
                row.insert(k, v);
            }
        }
        let mods = row
            .get("sys_mod_count")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0);
        row.insert(
            "sys_mod_count".into(),
            Value::String((mods + 1).to_string()),
        );
        row.insert("sys_updated_on".into(), Value::String(now));
        row.insert("sys_updated_by".into(), Value::String(user.to_string()));
        let row = row.clone();
        note_columns(&mut self.columns, table, &row);
        self.generation += 1;
        self.journal(table, sys_id, &row_fields, user);
        Some(row)
    }

    /// What the platform does with a journal field written on a record
    /// (`comments`, the customer-visible additional comments, and
    /// `work_notes`, the agents' own): each entry is a row of
    /// `sys_journal_field` naming the record (`element_id`), its table
    /// (`name`) and the field (`element`), with `value`, `sys_created_on`
    /// and `sys_created_by`. The Table API reads them from that table
    /// (docs.servicenow.com, "Journal fields" and the `sys_journal_field`
    /// table). The field on the record itself keeps the last entry, as
    /// this simulator always has.
    fn journal(&mut self, table: &str, sys_id: &str, fields: &Map<String, Value>, user: &str) {
        let now = fmt_time(self.now());
        for element in ["comments", "work_notes"] {
            let Some(value) = fields.get(element).and_then(Value::as_str) else {
                continue;
            };
            if value.trim().is_empty() || table == JOURNAL {
                continue;
            }
            let entry: Map<String, Value> = [
                ("sys_id", uuid::Uuid::new_v4().simple().to_string()),
                ("element_id", sys_id.to_string()),
                ("name", table.to_string()),
                ("element", element.to_string()),
                ("value", value.to_string()),
                ("sys_created_on", now.clone()),
                ("sys_created_by", user.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
            note_columns(&mut self.columns, JOURNAL, &entry);
            self.tables
                .entry(JOURNAL.to_string())
                .or_default()
                .push(entry);
        }
    }

    /// What `DELETE /api/now/table/{table}/{sys_id}` does (Table API,
    /// docs.servicenow.com/bundle/utah-api-reference/page/integrate/inbound-rest/concept/c_TableAPI.html:
    /// "Deletes the specified record", 204): the record vanishes from every
    /// query, and the platform keeps a row for it in `sys_audit_delete`
    /// ("Deleted Records", the table the Restore Deleted Records feature
    /// reads; see "Enable auditing for a system table",
    /// www.servicenow.com/docs/r/australia/platform-security/t_ConSysTablDelAud.html,
    /// and "Viewing Sys Audit tables" for `tablename` and `documentkey`)
    /// naming the table (`tablename`), the record (`documentkey`, its
    /// sys_id), its display value and when (`sys_created_on`). Tables
    /// starting `sys_` are not audited by default, so their deletions leave
    /// no row. False when there was no such record.
    fn delete(&mut self, table: &str, sys_id: &str, user: &str) -> bool {
        let Some(rows) = self.tables.get_mut(table) else {
            return false;
        };
        let Some(at) = rows
            .iter()
            .position(|r| r.get("sys_id").and_then(Value::as_str) == Some(sys_id))
        else {
            return false;
        };
        let gone = rows.remove(at);
        self.generation += 1;
        if table.starts_with("sys_") {
            return true;
        }
        let display = gone
            .get("number")
            .or_else(|| gone.get("name"))
            .and_then(Value::as_str)
            .unwrap_or(sys_id)
            .to_string();
        let now = fmt_time(self.now());
        let entry: Map<String, Value> = [
            ("sys_id", uuid::Uuid::new_v4().simple().to_string()),
            ("tablename", table.to_string()),
            ("documentkey", sys_id.to_string()),
            ("display_value", display),
            ("sys_created_on", now.clone()),
            ("sys_created_by", user.to_string()),
            ("sys_updated_on", now),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect();
        note_columns(&mut self.columns, AUDIT_DELETE, &entry);
        self.tables
            .entry(AUDIT_DELETE.to_string())
            .or_default()
            .push(entry);
        true
    }

    fn find(&self, table: &str, sys_id: &str) -> Option<&Map<String, Value>> {
        self.tables
            .get(table)?
            .iter()
            .find(|r| r.get("sys_id").and_then(Value::as_str) == Some(sys_id))
    }
}

/// Add any field of `record` that `table` has not had before to its columns.
fn note_columns(
    columns: &mut BTreeMap<String, Vec<String>>,
    table: &str,
    record: &Map<String, Value>,
) {
    let known = columns.entry(table.to_string()).or_default();
    for k in record.keys() {
        if !known.iter().any(|c| c == k) {
            known.push(k.clone());
        }
    }
}

/// Number prefixes the platform uses for task tables.
fn number_prefix(table: &str) -> Option<&'static str> {
    Some(match table {
        "incident" => "INC",
        "sc_request" => "REQ",
        "sc_req_item" => "RITM",
        "sc_task" => "SCTASK",
        "problem" => "PRB",
        "change_request" => "CHG",
        _ => return None,
    })
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, ServiceNowSim> {
        &mut self.controls
    }
}

/// A handle on one simulated instance; clones share the same state.
///
/// The test controls (`inject`, `requests`, `set_latency`, `set_now`,
/// `clear_now`, `after_list_request`) are [`Sim`]'s.
/// A list request, for `after_list_request`, is a GET list request that
/// reached a table: authenticated, not answered by an injected fault, on an
/// existing table.
pub type ServiceNowSim = Sim<State>;

/// `ServiceNowSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<ServiceNowSim>;

impl ServiceNowSim {
    /// A seeded instance on the real clock.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// A seeded instance whose clock is frozen at `now`, so seed timestamps
    /// (which are offsets back from the clock) are reproducible too.
    pub fn with_clock(config: SimConfig, now: DateTime<Utc>) -> Self {
        Self::build(config, Some(now))
    }

    fn build(config: SimConfig, clock: Option<DateTime<Utc>>) -> Self {
        let tables = seed::seed_tables(
            config.seed,
            config.incidents,
            clock.unwrap_or_else(Utc::now),
        );
        let mut numbers = BTreeMap::new();
        numbers.insert("INC", 10_000 + config.incidents as u64);
        numbers.insert(
            "REQ",
            10_000 + tables.get("sc_request").map_or(0, Vec::len) as u64,
        );
        let mut columns = BTreeMap::new();
        for (table, rows) in &tables {
            for row in rows {
                note_columns(&mut columns, table, row);
            }
        }
        let state = State {
            config,
            columns,
            tables,
            controls: Controls::new(clock),
            generation: 0,
            list_cache: None,
            numbers,
        };
        Sim::from_state(state)
    }

    /// Binds 127.0.0.1:0 and serves in a background task until the handle is
    /// dropped or `shutdown` is called.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// Inserts a record (creating the table if needed) and returns its
    /// sys_id. Missing `sys_id`, `number` and `sys_*` fields are filled in;
    /// given ones, such as an explicit `sys_updated_on`, are kept.
    pub fn insert(&self, table: &str, record: Map<String, Value>) -> String {
        let mut st = self.lock();
        let user = st.config.username.clone();
        st.insert(table, record, &user)
    }

    /// Updates fields of a record as the configured user would through the
    /// API (bumping `sys_mod_count`, `sys_updated_on` = sim now). False when absent.
    pub fn update(&self, table: &str, sys_id: &str, fields: Map<String, Value>) -> bool {
        let mut st = self.lock();
        let user = st.config.username.clone();
        st.update(table, sys_id, fields, &user).is_some()
    }

    /// Delete a record, as an agent or a retention job would, through
    /// the same path as the Table API's `DELETE` (a `sys_audit_delete` row
    /// is kept). False when absent.
    pub fn delete(&self, table: &str, sys_id: &str) -> bool {
        let mut st = self.lock();
        let user = st.config.username.clone();
        st.delete(table, sys_id, &user)
    }

    /// The stored record (reference fields as plain sys_ids).
    pub fn get(&self, table: &str, sys_id: &str) -> Option<Value> {
        self.lock()
            .find(table, sys_id)
            .map(|r| Value::Object(r.clone()))
    }

    pub fn count(&self, table: &str) -> usize {
        self.lock().tables.get(table).map_or(0, Vec::len)
    }

    /// Every record of `table`, in insertion order.
    pub fn records(&self, table: &str) -> Vec<Value> {
        self.lock().tables.get(table).map_or_else(Vec::new, |rows| {
            rows.iter().cloned().map(Value::Object).collect()
        })
    }
}
