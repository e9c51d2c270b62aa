//! Tests for the TOPdesk simulator. This file holds the shared helpers and
//! the read-side HTTP tests (auth, paging, FIQL filtering, sorting, field
//! selection, single incidents, errors) run with reqwest against a spawned
//! simulator; `tests/fiql.rs` covers the query language as pure functions and
//! `tests/writes.rs` the write side, faults, hooks and seed data.

mod fiql;
mod writes;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::seed::{fmt_time, incident_modified_at, parse_time};
use super::{SimConfig, SimHandle, TopdeskSim};

const NOW: i64 = 1_708_698_900; // 2024-02-23 14:35:00 UTC

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

fn sim(incidents: usize) -> TopdeskSim {
    let config = SimConfig {
        incidents,
        ..SimConfig::default()
    };
    TopdeskSim::with_clock(config, now())
}

async fn start(incidents: usize) -> SimHandle {
    sim(incidents).serve().await.expect("bind simulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(h: &SimHandle, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    client()
        .get(format!("{}{path}", h.base_url))
        .basic_auth("switchboard", Some("sim-app-password"))
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

fn ids(page: &Value) -> Vec<String> {
    page.as_array()
        .into_iter()
        .flatten()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn rejects_missing_or_wrong_credentials() {
    let h = start(3).await;
    let url = format!("{}/tas/api/incidents", h.base_url);
    let no_auth = client().get(&url).send().await.expect("request");
    let wrong = client()
        .get(&url)
        .basic_auth("switchboard", Some("my-login-password"))
        .send()
        .await
        .expect("request");
    let bearer = client()
        .get(&url)
        .bearer_auth("sim-app-password")
        .send()
        .await
        .expect("request");
    for resp in [no_auth, wrong, bearer] {
        assert_eq!(resp.status(), 401);
        assert!(header(&resp, "content-type").starts_with("text/html"));
        let text = resp.text().await.unwrap_or_default();
        assert!(
            text.contains("lacks valid authentication credentials"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn pages_with_206_until_the_last_page() {
    let h = start(25).await;
    let mut seen = Vec::new();
    let mut statuses = Vec::new();
    for start in ["0", "10", "20"] {
        let resp = get(
            &h,
            "/tas/api/incidents",
            &[("pageStart", start), ("pageSize", "10")],
        )
        .await;
        statuses.push(resp.status().as_u16());
        seen.extend(ids(&body(resp).await));
    }
    assert_eq!(statuses, vec![206, 206, 200]);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25, "every incident exactly once");

    // The default page is ten incidents.
    let first = get(&h, "/tas/api/incidents", &[]).await;
    assert_eq!(first.status(), 206);
    assert_eq!(ids(&body(first).await).len(), 10);

    // Past the end there is nothing: 204 and no body.
    let past = get(&h, "/tas/api/incidents", &[("pageStart", "25")]).await;
    assert_eq!(past.status(), 204);
    assert!(past.text().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn nothing_matching_is_204() {
    let h = start(5).await;
    let resp = get(
        &h,
        "/tas/api/incidents",
        &[("query", "briefDescription=='No such incident'")],
    )
    .await;
    assert_eq!(resp.status(), 204);
    assert!(resp.text().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn page_size_is_limited_and_errors_are_message_arrays() {
    let h = start(3).await;
    for size in ["0", "10001", "ten"] {
        let resp = get(&h, "/tas/api/incidents", &[("pageSize", size)]).await;
        assert_eq!(resp.status(), 400, "pageSize={size}");
        let b = body(resp).await;
        assert!(
            b[0]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{b}"
        );
    }
    let max = get(&h, "/tas/api/incidents", &[("pageSize", "10000")]).await;
    assert_eq!(max.status(), 200);
}

#[tokio::test]
async fn filters_on_modification_date_in_order() {
    let h = start(40).await;
    let mut dates: Vec<DateTime<Utc>> = h
        .sim
        .records()
        .iter()
        .filter_map(|r| r["modificationDate"].as_str().and_then(parse_time))
        .collect();
    dates.sort();
    let from = dates[20];
    let expected = dates.iter().filter(|d| **d >= from).count();
    // The API's own rendering, an RFC 3339 `Z` and a colon offset all mean the same instant.
    let plus_one = (from + Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S+01:00")
        .to_string();
    for bound in [
        fmt_time(from),
        from.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        from.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
        plus_one,
    ] {
        let query = format!("modificationDate=ge={bound}");
        let resp = get(
            &h,
            "/tas/api/incidents",
            &[
                ("query", query.as_str()),
                ("sort", "modificationDate:asc,id:asc"),
                ("pageSize", "100"),
            ],
        )
        .await;
        assert_eq!(resp.status(), 200, "{query}");
        let page = body(resp).await;
        let got: Vec<(DateTime<Utc>, String)> = page
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["modificationDate"]
                        .as_str()
                        .and_then(parse_time)
                        .unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(got.len(), expected, "{query}");
        assert!(got.iter().all(|(d, _)| *d >= from));
        assert!(
            got.windows(2).all(|w| w[0] <= w[1]),
            "sorted by date, then id"
        );
    }
}

#[tokio::test]
async fn an_unencoded_plus_is_a_space_and_fails_to_parse() {
    let h = start(3).await;
    // `+` sent raw in the query string: the server reads a space.
    let url = format!(
        "{}/tas/api/incidents?query=modificationDate=ge=2024-01-01T00:00:00+0000",
        h.base_url
    );
    let resp = client()
        .get(url)
        .basic_auth("switchboard", Some("sim-app-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 400);
    let b = body(resp).await;
    assert!(
        b[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("Error parsing query"),
        "{b}"
    );
}

#[tokio::test]
async fn sorts_descending_and_by_nested_fields() {
    let h = start(15).await;
    let resp = get(
        &h,
        "/tas/api/incidents",
        &[("sort", "callDate:desc"), ("pageSize", "15")],
    )
    .await;
    let page = body(resp).await;
    let calls: Vec<DateTime<Utc>> = page
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["callDate"].as_str().and_then(parse_time))
        .collect();
    assert_eq!(calls.len(), 15);
    assert!(calls.windows(2).all(|w| w[0] >= w[1]));
    let bad = get(&h, "/tas/api/incidents", &[("sort", "callDate:sideways")]).await;
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn archived_and_partial_incidents_only_with_all() {
    let s = sim(4);
    let mut archived = incident_modified_at("Old archived call", "2023-01-01T10:00:00.000+0000");
    archived.insert("status".into(), json!("firstLineArchived"));
    s.insert(archived);
    let mut partial =
        incident_modified_at("Partial for the supplier", "2023-01-02T10:00:00.000+0000");
    partial.insert("status".into(), json!("partial"));
    s.insert(partial);
    let h = s.serve().await.expect("serve");
    let default = body(get(&h, "/tas/api/incidents", &[("pageSize", "50")]).await).await;
    assert_eq!(ids(&default).len(), 4);
    let all = body(
        get(
            &h,
            "/tas/api/incidents",
            &[("pageSize", "50"), ("all", "true")],
        )
        .await,
    )
    .await;
    assert_eq!(ids(&all).len(), 6);
}

#[tokio::test]
async fn fields_selects_what_comes_back() {
    let h = start(2).await;
    let page = body(
        get(
            &h,
            "/tas/api/incidents",
            &[("fields", "number,briefDescription")],
        )
        .await,
    )
    .await;
    for r in page.as_array().into_iter().flatten() {
        let keys: Vec<&String> = r
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 3, "{r}");
        assert!(
            r["number"].is_string() && r["briefDescription"].is_string() && r["id"].is_string()
        );
    }
}

#[tokio::test]
async fn single_incidents_by_id_and_number() {
    let h = start(3).await;
    let rec = h.sim.records()[1].clone();
    let id = rec["id"].as_str().unwrap_or_default();
    let number = rec["number"].as_str().unwrap_or_default();
    let by_id = get(&h, &format!("/tas/api/incidents/id/{id}"), &[]).await;
    assert_eq!(by_id.status(), 200);
    assert_eq!(body(by_id).await, rec);
    let by_number = get(&h, &format!("/tas/api/incidents/number/{number}"), &[]).await;
    assert_eq!(body(by_number).await, rec);
    let missing = get(
        &h,
        "/tas/api/incidents/id/00000000-0000-4000-8000-000000000000",
        &[],
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert!(body(missing).await[0]["message"].is_string());
}

#[tokio::test]
async fn unknown_paths_methods_and_lookup_lists() {
    let h = start(1).await;
    assert_eq!(get(&h, "/tas/api/nothing-here", &[]).await.status(), 404);
    assert_eq!(get(&h, "/api/incidents", &[]).await.status(), 404);
    let delete = client()
        .delete(format!(
            "{}/tas/api/incidents/id/{}",
            h.base_url,
            h.sim.records()[0]["id"].as_str().unwrap_or_default()
        ))
        .basic_auth("switchboard", Some("sim-app-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(delete.status(), 405);
    let statuses = body(get(&h, "/tas/api/incidents/statuses", &[]).await).await;
    let names: Vec<&str> = statuses
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Logged") && names.contains(&"Closed"),
        "{names:?}"
    );
    let version = body(get(&h, "/tas/api/version", &[]).await).await;
    assert!(version["version"].is_string());
}

#[tokio::test]
async fn records_have_the_api_shape() {
    let h = start(30).await;
    let page = body(get(&h, "/tas/api/incidents", &[("pageSize", "30")]).await).await;
    for r in page.as_array().into_iter().flatten() {
        let id = r["id"].as_str().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        let number = r["number"].as_str().unwrap_or_default();
        assert!(number.starts_with("I ") && number.len() == 10, "{number}");
        for k in ["callDate", "creationDate", "modificationDate", "targetDate"] {
            let v = r[k].as_str().unwrap_or_default();
            assert!(v.ends_with("+0000") && v.len() == 28, "{k} = {v}");
        }
        assert!(r["processingStatus"]["name"].is_string());
        assert!(
            r["closed"].is_boolean() && r["completed"].is_boolean() && r["onHold"].is_boolean()
        );
        assert_eq!(
            r["action"].as_str().unwrap_or_default(),
            format!("/tas/api/incidents/id/{id}/actions")
        );
        if r["closed"] == true {
            assert_eq!(r["completed"], true, "closed implies completed");
            assert!(r["closedDate"].is_string());
        }
    }
}
