//! Tests for the ServiceNow simulator. This file holds the shared helpers
//! and the read-side HTTP tests (auth, paging, filtering, field shaping,
//! errors) run with reqwest against a spawned simulator; `tests/query.rs`
//! covers the encoded-query parser and evaluator as pure functions and
//! `tests/writes.rs` the write side, faults, hooks and seed data.

mod catalog;
mod query;
mod writes;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::seed::{fmt_time, incident_with_updated_on};
use super::{ServiceNowSim, SimConfig, SimHandle};

const NOW: i64 = 1_717_243_200; // 2024-06-01 12:00:00 UTC

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

async fn start(incidents: usize) -> SimHandle {
    let config = SimConfig {
        incidents,
        ..SimConfig::default()
    };
    ServiceNowSim::with_clock(config, now())
        .serve()
        .await
        .expect("bind simulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(h: &SimHandle, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    client()
        .get(format!("{}{path}", h.base_url))
        .basic_auth("admin", Some("sim-password"))
        .query(query)
        .send()
        .await
        .expect("request")
}

async fn body(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn rel_link(link: &str, rel: &str) -> Option<String> {
    link.split(',')
        .find(|part| part.ends_with(&format!("rel=\"{rel}\"")))
        .and_then(|part| part.split_once('>'))
        .map(|(url, _)| url.trim_start_matches('<').to_string())
}

#[tokio::test]
async fn rejects_missing_or_wrong_credentials() {
    let h = start(3).await;
    let url = format!("{}/api/now/table/incident", h.base_url);
    let no_auth = client().get(&url).send().await.expect("request");
    let wrong = client()
        .get(&url)
        .basic_auth("admin", Some("nope"))
        .send()
        .await
        .expect("request");
    for resp in [no_auth, wrong] {
        assert_eq!(resp.status(), 401);
        assert_eq!(
            header(&resp, "www-authenticate"),
            "BASIC realm=\"Service-now\""
        );
        assert_eq!(
            body(resp).await,
            json!({"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"})
        );
    }
    let log = h.sim.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str(), log[0].status),
        ("GET", "/api/now/table/incident", 401)
    );
    h.shutdown().await;
}

#[tokio::test]
async fn pages_with_total_count_and_link_header() {
    let h = start(25).await;
    let first = get(
        &h,
        "/api/now/table/incident",
        &[
            ("sysparm_limit", "10"),
            ("sysparm_query", "active=true^ORactive=false"),
        ],
    )
    .await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-total-count"), "25");
    let link = header(&first, "link");
    let base = format!(
        "{}/api/now/table/incident?sysparm_query=active%3Dtrue%5EORactive%3Dfalse&sysparm_limit=10",
        h.base_url
    );
    assert_eq!(
        rel_link(&link, "first"),
        Some(format!("{base}&sysparm_offset=0"))
    );
    assert_eq!(
        rel_link(&link, "next"),
        Some(format!("{base}&sysparm_offset=10"))
    );
    assert_eq!(
        rel_link(&link, "last"),
        Some(format!("{base}&sysparm_offset=20"))
    );
    assert_eq!(rel_link(&link, "prev"), None);
    assert_eq!(
        body(first).await["result"].as_array().map(Vec::len),
        Some(10)
    );

    // Following rel="next" visits every record exactly once and stops.
    let mut seen = Vec::new();
    let mut url = Some(format!(
        "{}/api/now/table/incident?sysparm_limit=10",
        h.base_url
    ));
    while let Some(u) = url.take() {
        let resp = client()
            .get(&u)
            .basic_auth("admin", Some("sim-password"))
            .send()
            .await
            .expect("request");
        let link = header(&resp, "link");
        url = rel_link(&link, "next");
        if url.is_none() {
            assert!(rel_link(&link, "prev").is_some_and(|p| p.ends_with("sysparm_offset=10")));
        }
        for r in body(resp).await["result"].as_array().into_iter().flatten() {
            seen.push(r["sys_id"].as_str().unwrap_or("").to_string());
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
    assert!(
        seen.iter()
            .all(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn filters_and_orders_by_sys_updated_on() {
    let h = start(40).await;
    let t = |secs: i64| fmt_time(now() - Duration::seconds(secs));
    let newest = h
        .sim
        .insert("incident", incident_with_updated_on("Newest", &t(5)));
    let tie_a = h
        .sim
        .insert("incident", incident_with_updated_on("Tie A", &t(20)));
    let tie_b = h
        .sim
        .insert("incident", incident_with_updated_on("Tie B", &t(20)));
    let query = format!("sys_updated_on>={}^ORDERBYsys_updated_on", t(30));
    let resp = get(&h, "/api/now/table/incident", &[("sysparm_query", &query)]).await;
    assert_eq!(
        header(&resp, "x-total-count"),
        "3",
        "seeded records are all older than a minute"
    );
    let ids: Vec<String> = body(resp).await["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["sys_id"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        ids,
        vec![tie_a, tie_b, newest],
        "ascending, ties in insertion order"
    );

    let all = body(
        get(
            &h,
            "/api/now/table/incident",
            &[("sysparm_query", "ORDERBYDESCsys_updated_on")],
        )
        .await,
    )
    .await;
    let stamps: Vec<&str> = all["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["sys_updated_on"].as_str())
        .collect();
    assert_eq!(stamps.len(), 43);
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]));
    assert!(
        stamps.windows(2).any(|w| w[0] == w[1]),
        "seed data shares some update seconds"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn restricts_fields_and_renders_reference_fields() {
    let h = start(10).await;
    let resp = get(
        &h,
        "/api/now/table/incident",
        &[
            ("sysparm_fields", "number,short_description,bogus"),
            ("sysparm_limit", "3"),
        ],
    )
    .await;
    for r in body(resp).await["result"].as_array().into_iter().flatten() {
        let keys: Vec<&String> = r
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, vec!["number", "short_description"]);
    }
    let inc = h.sim.records("incident")[0].clone();
    let id = inc["sys_id"].as_str().unwrap_or("");
    let caller = inc["caller_id"].as_str().unwrap_or("");
    let path = format!("/api/now/table/incident/{id}");
    let linked = body(get(&h, &path, &[]).await).await;
    assert_eq!(
        linked["result"]["caller_id"],
        json!({"link": format!("{}/api/now/table/sys_user/{caller}", h.base_url), "value": caller})
    );
    let plain = body(get(&h, &path, &[("sysparm_exclude_reference_link", "true")]).await).await;
    assert_eq!(plain["result"]["caller_id"], json!(caller));
    let user = h.sim.get("sys_user", caller).unwrap_or_default();
    let shown = body(
        get(
            &h,
            &path,
            &[
                ("sysparm_display_value", "true"),
                ("sysparm_exclude_reference_link", "true"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(shown["result"]["caller_id"], user["name"]);
    let both = body(get(&h, &path, &[("sysparm_display_value", "all")]).await).await;
    assert_eq!(both["result"]["caller_id"]["value"], json!(caller));
    assert_eq!(
        both["result"]["number"],
        json!({"display_value": inc["number"], "value": inc["number"]})
    );
    h.shutdown().await;
}

#[tokio::test]
async fn gets_one_record_or_the_documented_errors() {
    let h = start(5).await;
    let inc = h.sim.records("incident")[2].clone();
    let id = inc["sys_id"].as_str().unwrap_or("");
    let one = body(
        get(
            &h,
            &format!("/api/now/table/incident/{id}"),
            &[("sysparm_exclude_reference_link", "true")],
        )
        .await,
    )
    .await;
    assert_eq!(one["result"], inc);
    let missing = get(
        &h,
        "/api/now/table/incident/0123456789abcdef0123456789abcdef",
        &[],
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        body(missing).await,
        json!({"error": {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"}, "status": "failure"})
    );
    let bad_table = get(&h, "/api/now/table/no_such_table", &[]).await;
    assert_eq!(bad_table.status(), 400);
    assert_eq!(
        body(bad_table).await,
        json!({"error": {"message": "Invalid table no_such_table", "detail": null}, "status": "failure"})
    );
    let filtered = body(
        get(
            &h,
            "/api/now/v2/table/incident",
            &[("number", inc["number"].as_str().unwrap_or(""))],
        )
        .await,
    )
    .await;
    assert_eq!(
        filtered["result"].as_array().map(Vec::len),
        Some(1),
        "name-value pairs filter like sysparm_query"
    );
    h.shutdown().await;
}
