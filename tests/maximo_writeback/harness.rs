//! The harness of `maximo_writeback.rs`: the simulator with quick backoff,
//! its connector, the canonical records a writer hands over, and what the
//! store holds after a sync.

use serde_json::{Value, json};
use switchboard::connector::Connector;
use switchboard::sim::maximo::model::rest_id;
use switchboard::sim::maximo::{MaximoSim, SimConfig, SimHandle};
use switchboard::store::Store;
use switchboard::sync::SyncReport;
use tokio_util::sync::CancellationToken;

use crate::common::{TestStore, connector_of, maximo_manifest, maximo_workorder_job};

/// Quick backoff and no client-side rate limit keep tests fast.
pub(crate) const QUICK: [(&str, &str); 2] = [
    ("initial_backoff_ms = 1000", "initial_backoff_ms = 50"),
    ("rate_limit_per_sec = 4", "rate_limit_per_sec = 0"),
];
pub(crate) const COLLECTION: &str = "/maximo/oslc/os/mxwo";

pub(crate) async fn sim() -> SimHandle {
    MaximoSim::spawn(SimConfig {
        work_orders: 5,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

pub(crate) fn connector(h: &SimHandle) -> std::sync::Arc<dyn Connector> {
    connector_of(&maximo_manifest(&h.base_url, &QUICK))
}

/// A facilities problem raised at the IT service desk, routed to Maximo
/// with the site and room the routing rule chose.
pub(crate) fn heating() -> Value {
    json!({
        "entity": "work_item", "kind": "incident", "title": "No heating on floor 3",
        "description": "Radiators cold since 7:00.\nRoom 3.14 is at 15 C.", "status": "new",
        "priority": 2, "department": "facilities", "due_at": "2026-11-21T17:00:00+00:00",
        "attributes": {"number": "INC0010042", "maximo_siteid": "BEDFORD", "maximo_location": "BR300"},
        "classified": {}
    })
}

/// Progress on an IT incident linked to the work order `siteid`/`wonum`,
/// as the writer hands it to the comment mapping.
pub(crate) fn it_progress(siteid: &str, wonum: &str, status: &str) -> Value {
    json!({
        "entity": "work_item", "kind": "incident", "title": "Replace badge reader at the lab door",
        "status": status, "department": "it",
        "attributes": {"number": "INC0010077", "siteid": siteid, "wonum": wonum}, "classified": {}
    })
}

/// The named attributes of `rec`, to compare in one go.
pub(crate) fn pick(rec: &Value, keys: &[&str]) -> Value {
    keys.iter()
        .map(|k| (k.to_string(), rec[*k].clone()))
        .collect()
}

pub(crate) fn text<'v>(rec: &'v Value, key: &str) -> &'v str {
    rec.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The simulator's work order whose WORKORDERID is `id`.
pub(crate) fn by_workorderid(h: &SimHandle, id: &str) -> Value {
    h.sim
        .records()
        .into_iter()
        .find(|r| {
            r["workorderid"]
                .as_i64()
                .is_some_and(|n| n.to_string() == id)
        })
        .unwrap_or_else(|| panic!("no work order {id}"))
}

/// A seeded work order the status handler lets move, as canonical JSON:
/// what the inbound mapping stores for it.
pub(crate) fn seeded_canonical(h: &SimHandle, status: &str) -> (String, Value) {
    let rec = h
        .sim
        .records()
        .into_iter()
        .find(|r| r["status"] == status)
        .unwrap_or_else(|| panic!("a seeded work order in {status}"));
    let canonical = crate::common::maximo_mapping().apply(&rec).expect("maps");
    (
        rest_id(text(&rec, "siteid"), text(&rec, "wonum")),
        serde_json::to_value(&canonical).unwrap(),
    )
}

pub(crate) async fn sync(h: &SimHandle, ts: &TestStore) -> SyncReport {
    let job = maximo_workorder_job(&maximo_manifest(&h.base_url, &QUICK));
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

/// The stored work item as an outbound mapping reads it: the canonical
/// fields the update needs and the attributes the inbound mapping kept.
pub(crate) async fn stored_item(store: &Store, workorderid: &str) -> Value {
    assert!(workorderid.chars().all(|c| c.is_ascii_digit()));
    let row: (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    ) = match store {
        Store::Postgres(pool) => {
            sqlx::query_as(
                "SELECT kind, title, status, native_status, department, attributes::text \
                 FROM work_items WHERE source_system = 'maximo' AND external_id = $1",
            )
            .bind(workorderid)
            .fetch_one(pool)
            .await
        }
        Store::Sqlite(pool) => {
            sqlx::query_as(
                "SELECT kind, title, status, native_status, department, attributes \
                 FROM work_items WHERE source_system = 'maximo' AND external_id = ?",
            )
            .bind(workorderid)
            .fetch_one(pool)
            .await
        }
    }
    .expect("the work item is stored");
    let (kind, title, status, native_status, department, attributes) = row;
    json!({
        "entity": "work_item", "kind": kind, "title": title, "status": status,
        "native_status": native_status, "department": department,
        "attributes": serde_json::from_str::<Value>(&attributes).expect("attributes are JSON"),
        "classified": {}
    })
}

/// The comment bodies stored for a work item, oldest first.
pub(crate) async fn comments(store: &Store, workorderid: &str) -> Vec<String> {
    let sql = "SELECT a.body FROM activities a JOIN work_items w ON a.work_item_id = w.id \
               WHERE w.source_system = 'maximo' AND w.external_id = $1 AND a.kind = 'comment' \
               ORDER BY a.occurred_at, a.id";
    let rows: Vec<(Option<String>,)> = match store {
        Store::Postgres(pool) => sqlx::query_as(sql).bind(workorderid).fetch_all(pool).await,
        Store::Sqlite(pool) => {
            sqlx::query_as(&sql.replace("$1", "?"))
                .bind(workorderid)
                .fetch_all(pool)
                .await
        }
    }
    .expect("activities query");
    rows.into_iter().filter_map(|(b,)| b).collect()
}
