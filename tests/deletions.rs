//! Issue 13, item 6: records deleted at the source become tombstones and a
//! `deleted` event, against the ServiceNow simulator and the shipped
//! manifest, on both stores: the `sys_audit_delete` endpoint with its own
//! cursor, a reconciliation of keys with its `max_fraction` guard, a status
//! value, and a tombstone listed again made live again. `check` refuses a
//! bad `[streams.deletions]` with the key and a did-you-mean.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::hub::{scalar, texts};
use common::{Backend, TestStore, servicenow_mapping};
use serde_json::{Map, Value, json};
use switchboard::config::{ConnectorOverride, SecretRef};
use switchboard::connector::Manifest;
use switchboard::diag::SourceFile;
use switchboard::routing::{Routing, RoutingSlot};
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig, SimHandle};
use switchboard::sync::{Router, SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

/// A rule for deletions only: the event routes nowhere else.
const ON_DELETED: &str = r#"version = 1
[[rules]]
name = "deleted-incidents-to-facilities"
on = ["deleted"]
when = "event.from_status != null"
to = { department = "facilities", connector = "maximo", action = "create_workorder" }

[default]
"#;

fn router() -> Arc<Router> {
    let routing = Routing::from_source(&SourceFile::new("routing.toml", ON_DELETED.to_string()))
        .unwrap_or_else(|d| panic!("{d}"));
    Arc::new(Router {
        routing: RoutingSlot::new(Arc::new(routing)),
        departments: BTreeMap::from([
            ("servicenow".to_string(), "it".to_string()),
            ("maximo".to_string(), "facilities".to_string()),
        ]),
    })
}

async fn sim() -> SimHandle {
    ServiceNowSim::spawn(SimConfig {
        incidents: 6,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The shipped manifest, its incident stream's `[streams.deletions]` (up
/// to the next stream) replaced by `deletions` when given.
fn manifest_text(deletions: Option<&str>) -> String {
    let path = common::repo().join("connectors/servicenow.toml");
    let text = std::fs::read_to_string(path).expect("shipped manifest");
    let Some(deletions) = deletions else {
        return text;
    };
    let start = text.find("[streams.deletions]").expect("shipped deletions");
    let end = text.find("# Catalogue requests").expect("next stream");
    format!("{}{deletions}\n\n{}", &text[..start], &text[end..])
}

fn manifest(base_url: &str, text: String) -> Manifest {
    let path = common::repo().join("connectors/servicenow.toml");
    let mut m =
        Manifest::from_source(&SourceFile::new(path, text)).unwrap_or_else(|d| panic!("{d}"));
    m.config
        .apply_override(&ConnectorOverride {
            base_url: Some(base_url.into()),
            username: Some(SecretRef::Literal("admin".into())),
            password: Some(SecretRef::Literal("sim-password".into())),
            ..Default::default()
        })
        .expect("override applies");
    m
}

fn job(h: &SimHandle, deletions: Option<&str>) -> SyncJob {
    let m = manifest(&h.base_url, manifest_text(deletions));
    let mut job = common::stream_job(&m, "incident", servicenow_mapping());
    job.router = Some(router());
    job
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

fn ids(h: &SimHandle) -> Vec<String> {
    h.sim
        .records("incident")
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .collect()
}

async fn tombstones(ts: &TestStore) -> Vec<String> {
    texts(
        &ts.store,
        "SELECT external_id FROM work_items WHERE deleted_at IS NOT NULL ORDER BY external_id",
    )
    .await
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The shipped manifest: deletions read from `sys_audit_delete`.
async fn endpoint_tombstones_and_routes(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let job = job(&h, None);
    let first = sync(&job, &ts).await;
    assert_eq!((first.stored, first.tombstoned), (6, 0), "{first:?}");
    let all = ids(&h);
    let statuses = texts(
        &ts.store,
        "SELECT status FROM work_items ORDER BY external_id",
    )
    .await;

    // One through the Table API's DELETE, one as an agent would.
    let client = reqwest::Client::new();
    let resp = client
        .delete(format!("{}/api/now/table/incident/{}", h.base_url, all[0]))
        .basic_auth("admin", Some("sim-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(h.sim.delete("incident", &all[1]));
    assert_eq!(h.sim.count("sys_audit_delete"), 2);

    let second = sync(&job, &ts).await;
    assert_eq!(second.tombstoned, 2, "{second:?}");
    assert_eq!(tombstones(&ts).await, sorted(all[..2].to_vec()));
    // Marked, not erased: the rows and their statuses stay.
    assert_eq!(
        texts(
            &ts.store,
            "SELECT status FROM work_items ORDER BY external_id"
        )
        .await,
        statuses
    );
    assert_eq!(
        scalar(
            &ts.store,
            "SELECT COUNT(*) FROM source_records WHERE deleted_at IS NOT NULL"
        )
        .await,
        2
    );
    // The API's item shows when (its row, as the API shapes it), on both
    // stores alike.
    let row = ts
        .store
        .work_item_by_key("servicenow", "incident", &all[0])
        .await
        .unwrap()
        .expect("still stored");
    let at = row.deleted_at.expect("deleted_at shown");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&at).is_ok() && at.ends_with('Z'),
        "{at}"
    );
    // A `deleted` event each, routed by the rule that names it.
    let routed = texts(
        &ts.store,
        "SELECT CAST(payload AS TEXT) FROM outbox ORDER BY event_id",
    )
    .await;
    assert_eq!(routed.len(), 2, "{routed:?}");
    for m in &routed {
        let m: Value = serde_json::from_str(m).unwrap();
        assert_eq!(m["data"]["event"]["kind"], "deleted", "{m}");
        assert!(m["data"]["event"]["to_status"].is_null(), "{m}");
    }

    // The deletion cursor is committed: the third run asks only from it.
    let cursor = ts
        .store
        .cursor("servicenow", "incident#deletions")
        .await
        .unwrap()
        .expect("deletion cursor committed");
    let third = sync(&job, &ts).await;
    assert_eq!(third.tombstoned, 0, "deleting twice is a no-op: {third:?}");
    assert_eq!(ts_outbox(&ts).await, 2, "no second event");
    let asked = h
        .sim
        .requests()
        .into_iter()
        .rfind(|r| r.path.ends_with("/sys_audit_delete"))
        .expect("the endpoint was read");
    let bound = chrono::NaiveDateTime::parse_from_str(&cursor, "%Y-%m-%d %H:%M:%S").unwrap()
        - chrono::Duration::seconds(60);
    let query = &asked.query["sysparm_query"];
    assert!(
        query.contains(&format!(
            "sys_created_on>={}",
            bound.format("%Y-%m-%d %H:%M:%S")
        )),
        "{query}"
    );
    assert!(query.starts_with("tablename=incident^"), "{query}");

    // Restored at the source (the same sys_id listed again): live again,
    // though its content is what was stored.
    // Restored a little later than the deletion, as a person would.
    h.sim
        .set_now(chrono::Utc::now() + chrono::Duration::seconds(5));
    let back = h.sim.get("incident", &all[2]).unwrap();
    let mut again: Map<String, Value> = back.as_object().unwrap().clone();
    // Restored now: the platform stamps it.
    again.remove("sys_updated_on");
    again.insert("sys_id".into(), json!(all[0]));
    again.insert("number".into(), json!("INC0099999"));
    h.sim.insert("incident", again);
    let fourth = sync(&job, &ts).await;
    assert_eq!(fourth.restored, 1, "{fourth:?}");
    assert_eq!(tombstones(&ts).await, vec![all[1].clone()]);
}

async fn ts_outbox(ts: &TestStore) -> i64 {
    scalar(&ts.store, "SELECT COUNT(*) FROM outbox").await
}

const RECONCILE: &str = r#"[streams.deletions.reconcile]
every = "1s"
query = { sysparm_fields = "sys_id" }"#;

/// Reconciliation: what the key listing lacks is tombstoned, unless that
/// is more than `max_fraction` of the live records.
async fn reconcile_tombstones_within_its_guard(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let job = job(&h, Some(RECONCILE));
    let first = sync(&job, &ts).await;
    assert_eq!((first.stored, first.tombstoned), (6, 0), "{first:?}");
    let all = ids(&h);
    // Keys only, paged.
    let listing = h
        .sim
        .requests()
        .into_iter()
        .rfind(|r| r.query.get("sysparm_fields").map(String::as_str) == Some("sys_id"))
        .expect("the keys were listed");
    assert!(!listing.query.contains_key("sysparm_query"), "{listing:?}");

    h.sim.delete("incident", &all[0]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = sync(&job, &ts).await;
    assert_eq!(second.tombstoned, 1, "{second:?}");
    assert_eq!(tombstones(&ts).await, vec![all[0].clone()]);
    assert_eq!(ts_outbox(&ts).await, 1, "a deleted event");

    // Three of the five live ones gone at once: over half, refused.
    for id in &all[1..4] {
        h.sim.delete("incident", id);
    }
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = sync(&job, &ts).await;
    assert!(third.reconcile_refused, "{third:?}");
    assert_eq!(third.tombstoned, 0);
    assert_eq!(tombstones(&ts).await, vec![all[0].clone()]);
    assert_eq!(
        scalar(&ts.store, "SELECT COUNT(*) FROM reconcile_keys").await,
        0,
        "staged keys are dropped"
    );

    // Not due yet: nothing is listed again within `every`.
    let listings = |h: &SimHandle| {
        h.sim
            .requests()
            .iter()
            .filter(|r| r.query.contains_key("sysparm_fields"))
            .count()
    };
    let before = listings(&h);
    let slow = job_with(&h, "every = \"1s\"", "every = \"24h\"");
    sync(&slow, &ts).await;
    assert_eq!(listings(&h), before, "a reconciliation waits `every`");
}

fn job_with(h: &SimHandle, from: &str, to: &str) -> SyncJob {
    let text = RECONCILE.replace(from, to);
    job(h, Some(&text))
}

/// A status value: a listed record whose field says deleted is a tombstone;
/// listed again without it, live again.
async fn status_value_tombstones_and_restores(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let job = job(
        &h,
        Some("[streams.deletions]\nfield = \"active\"\nequals = \"false\""),
    );
    // Closed incidents say `active = false` from the start: never live
    // here, so never stored.
    let first = sync(&job, &ts).await;
    let inactive: Vec<String> = h
        .sim
        .records("incident")
        .iter()
        .filter(|r| r["active"] == "false")
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        (first.stored, first.tombstoned),
        (6 - inactive.len(), 0),
        "{first:?}"
    );
    let open = h
        .sim
        .records("incident")
        .iter()
        .find(|r| r["active"] == "true")
        .map(|r| r["sys_id"].as_str().unwrap().to_string())
        .expect("an open incident");
    let mut archived = Map::new();
    archived.insert("active".into(), json!("false"));
    assert!(h.sim.update("incident", &open, archived));
    let second = sync(&job, &ts).await;
    assert_eq!(second.tombstoned, 1, "{second:?}");
    assert_eq!(tombstones(&ts).await, vec![open.clone()]);
    // The first run was the baseline; this one routes.
    assert_eq!(ts_outbox(&ts).await, 1, "a deleted event");

    let mut live = Map::new();
    live.insert("active".into(), json!("true"));
    assert!(h.sim.update("incident", &open, live));
    let third = sync(&job, &ts).await;
    assert_eq!(third.restored, 1, "{third:?}");
    assert!(tombstones(&ts).await.is_empty());
}

/// `check` names the file, line and key of a bad `[streams.deletions]`, with
/// a did-you-mean for a misspelt key.
async fn check_refuses_bad_deletions(_backend: Backend) {
    let refused = |deletions: &str| {
        let path = common::repo().join("connectors/servicenow.toml");
        let text = manifest_text(Some(deletions));
        match Manifest::from_source(&SourceFile::new(path, text)) {
            Ok(_) => panic!("accepted: {deletions}"),
            Err(d) => d.to_string(),
        }
    };
    let typo = refused(
        "[streams.deletions]\npath = \"/api/now/table/sys_audit_delete\"\nkye = \"documentkey\"",
    );
    assert!(typo.contains("servicenow.toml:"), "{typo}");
    assert!(typo.contains("kye"), "{typo}");
    assert!(typo.contains("did you mean `key`"), "{typo}");
    let half = refused("[streams.deletions]\nfield = \"active\"");
    assert!(half.contains("deletions.field"), "{half}");
    assert!(half.contains("needs `equals`"), "{half}");
    let every = refused("[streams.deletions.reconcile]\nevery = \"daily\"");
    assert!(every.contains("reconcile.every"), "{every}");
    let fraction = refused("[streams.deletions.reconcile]\nmax_fraction = 2.0");
    assert!(fraction.contains("max_fraction"), "{fraction}");
    // Only the `rest` kind reads it, and `check` says so for the others.
    let path = common::repo().join("connectors/hr-csv.toml");
    let text = std::fs::read_to_string(&path).unwrap()
        + "\n[streams.deletions]\nfield = \"status\"\nequals = \"deleted\"\n";
    let other = Manifest::from_source(&SourceFile::new(path, text))
        .expect_err("a file stream refuses deletions")
        .to_string();
    assert!(
        other.contains("deletions are not supported for kind `file` yet"),
        "{other}"
    );
    let path = common::repo().join("connectors/odoo.toml");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "\n[actions.",
        "\n[streams.deletions]\nfield = \"active\"\nequals = false\n\n[actions.",
        1,
    );
    let rpc = Manifest::from_source(&SourceFile::new(path, text))
        .expect_err("a jsonrpc stream refuses deletions")
        .to_string();
    assert!(
        rpc.contains("deletions are not supported for kind `jsonrpc` yet"),
        "{rpc}"
    );
}

/// The heating journey's work order deleted in Maximo (seen by a
/// reconciliation): the IT ticket it was raised for hears of it, once.
async fn a_deleted_target_tells_its_origin(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let connectors = common::hub::copy_edited("connectors", dir.path(), |name, text| {
        if name != "maximo.toml" {
            return text;
        }
        text.replacen(
            "\n[actions.create_workorder]",
            "\n[streams.deletions.reconcile]\nevery = \"1s\"\nquery = { \"oslc.select\" = \"workorderid\" }\n\n[actions.create_workorder]",
            1,
        )
    });
    let hub = common::hub::Hub::start_with(backend, None, Some(connectors)).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let sn = &hub.estate.servicenow.sim;
    let mut heating = Map::new();
    heating.insert("short_description".into(), json!("No heating on floor 3"));
    heating.insert("state".into(), json!("1"));
    let ticket = sn.insert("incident", heating);
    hub.sync("servicenow").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    hub.sync("maximo").await;
    hub.deliver().await;
    let maximo = &hub.estate.maximo.sim;
    let order = maximo
        .records()
        .into_iter()
        .find(|w| w["description"] == "No heating on floor 3")
        .expect("the work order exists in Maximo");
    let rest_id = switchboard::sim::maximo::model::rest_id(
        order["siteid"].as_str().unwrap_or_default(),
        order["wonum"].as_str().unwrap_or_default(),
    );

    assert!(maximo.delete(&rest_id));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    hub.sync("maximo").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "the deletion is posted: {r:?}");
    let incident = sn.get("incident", &ticket).expect("ticket exists");
    let comment = incident["comments"].as_str().unwrap_or_default();
    assert!(
        comment.contains("was deleted in maximo"),
        "the ticket hears of it: {incident}"
    );
    // Once: the next reconciliation finds it tombstoned already.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    hub.sync("maximo").await;
    assert_eq!(hub.deliver().await.claimed, 0);
}

on_every_backend!(
    endpoint_tombstones_and_routes,
    reconcile_tombstones_within_its_guard,
    status_value_tombstones_and_restores,
    check_refuses_bad_deletions,
    a_deleted_target_tells_its_origin,
);
