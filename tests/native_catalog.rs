//! The systems' own catalogues end to end: the shipped ServiceNow
//! `catalog_item` and Jira `request_type` streams sync the simulators'
//! catalogues through the shipped mappings into the store (both backends),
//! and `GET /api/v1/services` lists them after the catalogue's offerings,
//! each with the link to ask for it in its own portal. A retired item
//! leaves the list at the next sync.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};
use switchboard::sim::{jira, servicenow};
use switchboard::sync::SyncJob;
use tokio_util::sync::CancellationToken;

use common::api::{get, serve};
use common::{Backend, TestStore, jira_manifest, servicenow_manifest, shipped_mapping, stream_job};

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_717_243_200, 0)
        .single()
        .unwrap_or_default()
}

async fn sync(job: &SyncJob, ts: &TestStore) {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds");
}

fn native(list: &Value) -> Vec<Value> {
    list["native"].as_array().cloned().unwrap_or_default()
}

async fn catalogues_are_synced_and_listed_with_their_links(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = servicenow::ServiceNowSim::with_clock(
        servicenow::SimConfig {
            incidents: 0,
            ..servicenow::SimConfig::default()
        },
        now(),
    )
    .serve()
    .await
    .expect("ServiceNow simulator starts");
    let jsm = jira::JiraSim::with_clock(
        jira::SimConfig {
            requests: 0,
            ..jira::SimConfig::default()
        },
        now(),
    )
    .serve()
    .await
    .expect("Jira simulator starts");
    let items = stream_job(
        &servicenow_manifest(&sn.base_url, &[]),
        "catalog_item",
        shipped_mapping("servicenow-catalog_item.toml"),
    );
    // Pages of two, so the request types take three pages to the last.
    let types = stream_job(
        &jira_manifest(&jsm.base_url, &[("page_size = 50", "page_size = 2")]),
        "request_type",
        shipped_mapping("jira-request_type.toml"),
    );
    sync(&items, &ts).await;
    sync(&types, &ts).await;

    let base = serve(ts.store.clone()).await;
    let (status, _, list) = get(&base, "/api/v1/services", Some("portal-token")).await;
    assert_eq!(status, 200, "{list}");
    assert!(!list["offerings"].as_array().unwrap().is_empty());
    assert_eq!(list["native_truncated"], false);
    let listed = native(&list);
    // Five active catalogue items (two are retired) and five request types,
    // all IT's (the connectors' department), by name.
    assert_eq!(listed.len(), 10, "{list}");
    let names: Vec<&str> = listed.iter().filter_map(|o| o["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
    assert!(!names.contains(&"BlackBerry") && !names.contains(&"Sales Laptop"));
    assert!(listed.iter().all(|o| o["department"] == "it"));

    let laptop = sn
        .sim
        .records("sc_cat_item")
        .into_iter()
        .find(|r| r["name"] == "Standard Laptop")
        .expect("seeded laptop");
    let sys_id = laptop["sys_id"].as_str().unwrap().to_string();
    let listed_laptop = listed
        .iter()
        .find(|o| o["name"] == "Standard Laptop")
        .expect("laptop listed");
    assert_eq!(listed_laptop["id"], format!("servicenow:{sys_id}"));
    assert_eq!(listed_laptop["system"], "servicenow");
    assert_eq!(
        listed_laptop["external_url"],
        format!("{}/sp?id=sc_cat_item&sys_id={sys_id}", sn.base_url)
    );
    let hardware = listed
        .iter()
        .find(|o| o["name"] == "Request new hardware")
        .expect("request type listed");
    assert_eq!(hardware["id"], "jira:3");
    assert_eq!(
        hardware["description"],
        "Laptops, monitors, docks, headsets and phones."
    );
    assert_eq!(
        hardware["external_url"],
        format!("{}/servicedesk/customer/portal/1/create/3", jsm.base_url)
    );

    // Retired at the source: the next incremental sync reads it and the
    // front door stops listing it.
    sn.sim.set_now(now() + Duration::minutes(5));
    let mut retire = Map::new();
    retire.insert("active".into(), json!("false"));
    assert!(sn.sim.update("sc_cat_item", &sys_id, retire));
    sync(&items, &ts).await;
    let (_, _, list) = get(&base, "/api/v1/services", Some("portal-token")).await;
    let listed = native(&list);
    assert_eq!(listed.len(), 9, "{list}");
    assert!(listed.iter().all(|o| o["name"] != "Standard Laptop"));

    // The OpenAPI document describes the list.
    let (_, _, doc) = get(&base, "/api/v1/openapi.json", None).await;
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["ServiceList"]["properties"]["native"].is_object(),
        "{schemas}"
    );
    let entry = &schemas["NativeService"]["properties"];
    for field in [
        "id",
        "system",
        "name",
        "description",
        "department",
        "category",
        "external_url",
    ] {
        assert!(entry[field].is_object(), "NativeService.{field}: {entry}");
    }
}

on_every_backend!(catalogues_are_synced_and_listed_with_their_links);
