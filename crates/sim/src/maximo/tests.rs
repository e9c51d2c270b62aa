//! Tests for the Maximo simulator. This file holds the shared helpers and
//! the read-side HTTP tests (auth, paging, filtering, sorting, selection,
//! single resources, error bodies) run with reqwest against a spawned
//! simulator; `tests/where_clause.rs` covers the query language as pure
//! functions and `tests/writes.rs` the write side, faults and hooks.

mod where_clause;
mod writes;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::model::{parse_time, rest_id};
use super::{MaximoSim, SimConfig, SimHandle};

const NOW: i64 = 1_709_303_400; // 2024-03-01 14:30:00 UTC
const KEY: &str = "sim-maximo-api-key";
const WO: &str = "/maximo/oslc/os/mxwo";

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(NOW, 0).single().unwrap_or_default()
}

fn sim(work_orders: usize) -> MaximoSim {
    MaximoSim::with_clock(
        SimConfig {
            work_orders,
            ..SimConfig::default()
        },
        now(),
    )
}

async fn start(work_orders: usize) -> SimHandle {
    sim(work_orders).serve().await.expect("bind simulator")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get(h: &SimHandle, path: &str, query: &[(&str, &str)]) -> reqwest::Response {
    client()
        .get(format!("{}{path}", h.base_url))
        .header("apikey", KEY)
        .query(query)
        .send()
        .await
        .expect("request")
}

async fn body(resp: reqwest::Response) -> Value {
    resp.json().await.expect("json body")
}

fn members(page: &Value) -> Vec<Value> {
    page["member"].as_array().cloned().unwrap_or_default()
}

fn wonums(page: &Value) -> Vec<String> {
    members(page)
        .iter()
        .map(|m| m["wonum"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn assert_error(body: &Value, status: &str, reason: &str) {
    let e = &body["Error"];
    assert_eq!(e["statusCode"], status, "{body}");
    assert_eq!(e["reasonCode"], reason, "{body}");
    let message = e["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(&format!("{reason} - ")), "{body}");
    let more = e["extendedError"]["moreInfo"]["href"]
        .as_str()
        .unwrap_or_default();
    assert!(
        more.ends_with(&format!("/maximo/oslc/error/messages/{reason}")),
        "{body}"
    );
}

#[tokio::test]
async fn refuses_requests_without_a_valid_key() {
    let h = start(3).await;
    let url = format!("{}{WO}?lean=1", h.base_url);
    let none = client().get(&url).send().await.expect("request");
    let wrong = client()
        .get(&url)
        .header("apikey", "nope")
        .send()
        .await
        .expect("request");
    for resp in [none, wrong] {
        assert_eq!(resp.status(), 401);
        assert_error(&body(resp).await, "401", "BMXAA0021E");
    }
    // The key may also come as a parameter, and the native user as maxauth.
    let param = client()
        .get(format!("{url}&apikey={KEY}"))
        .send()
        .await
        .expect("request");
    assert_eq!(param.status(), 200);
    let maxauth = client()
        .get(&url)
        .header("maxauth", "bWF4YWRtaW46c2ltLW1heGFkbWlu") // maxadmin:sim-maxadmin
        .send()
        .await
        .expect("request");
    assert_eq!(maxauth.status(), 200);
    let log = h.sim.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(log[1].headers["apikey"], "nope");
}

#[tokio::test]
async fn lists_hrefs_without_a_select_and_serves_the_api_alias() {
    let h = start(2).await;
    let page = body(get(&h, WO, &[("lean", "1")]).await).await;
    let first = &members(&page)[0];
    assert_eq!(first.as_object().map(|o| o.len()), Some(1), "{first}");
    let rec = &h.sim.records()[0];
    let id = rest_id(
        rec["siteid"].as_str().unwrap_or_default(),
        rec["wonum"].as_str().unwrap_or_default(),
    );
    assert_eq!(first["href"], format!("{}{WO}/{id}", h.base_url));
    assert_eq!(
        rest_id("BEDFORD", "1148"),
        "_QkVERk9SRC8xMTQ4",
        "as Maximo encodes it"
    );
    assert_eq!(page["href"], format!("{}{WO}", h.base_url));

    let alias = body(get(&h, "/maximo/api/os/MXWO", &[("lean", "1")]).await).await;
    assert_eq!(members(&alias).len(), 2);
    assert!(
        alias["href"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/maximo/api/os/mxwo")
    );
}

#[tokio::test]
async fn pages_with_page_numbers_and_next_links() {
    let h = start(25).await;
    let q = [
        ("lean", "1"),
        ("oslc.select", "wonum,changedate"),
        ("oslc.orderBy", "+wonum"),
        ("oslc.pageSize", "10"),
        ("collectioncount", "1"),
    ];
    let first = body(get(&h, WO, &q).await).await;
    let info = &first["responseInfo"];
    assert_eq!(
        (
            info["pagenum"].clone(),
            info["totalCount"].clone(),
            info["totalPages"].clone()
        ),
        (json!(1), json!(25), json!(3))
    );
    assert!(info.get("previousPage").is_none());
    let mut seen = wonums(&first);
    let mut next = info["nextPage"]["href"].as_str().map(str::to_string);
    let mut pages = 1;
    while let Some(url) = next {
        assert!(url.starts_with(&h.base_url), "{url}");
        assert!(
            url.contains("oslc.select=wonum%2Cchangedate"),
            "parameters carried: {url}"
        );
        let page: Value = client()
            .get(&url)
            .header("apikey", KEY)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        pages += 1;
        assert_eq!(page["responseInfo"]["pagenum"], pages);
        assert!(page["responseInfo"]["previousPage"]["href"].is_string());
        seen.extend(wonums(&page));
        next = page["responseInfo"]["nextPage"]["href"]
            .as_str()
            .map(str::to_string);
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (1000..1025).map(|n| n.to_string()).collect();
    assert_eq!(seen, expected, "every work order once, in order");
    let log = h.sim.requests();
    let pagenos: Vec<Option<&str>> = log
        .iter()
        .map(|r| r.query.get("pageno").map(String::as_str))
        .collect();
    assert_eq!(pagenos, vec![None, Some("2"), Some("3")]);

    // Past the last page: an empty page, no next link.
    let past = body(
        get(
            &h,
            WO,
            &[("lean", "1"), ("oslc.pageSize", "10"), ("pageno", "4")],
        )
        .await,
    )
    .await;
    assert!(members(&past).is_empty());
    assert!(past["responseInfo"].get("nextPage").is_none());
    // Without a page size, everything at once and no page links.
    let all = body(get(&h, WO, &[("lean", "1")]).await).await;
    assert_eq!(members(&all).len(), 25);
    assert!(all["responseInfo"].get("pagenum").is_none());
}

#[tokio::test]
async fn caps_pages_at_the_max_page_size() {
    let config = SimConfig {
        work_orders: 12,
        max_page_size: Some(5),
        ..SimConfig::default()
    };
    let h = MaximoSim::with_clock(config, now())
        .serve()
        .await
        .expect("bind");
    let page = body(get(&h, WO, &[("lean", "1"), ("oslc.pageSize", "100")]).await).await;
    assert_eq!(members(&page).len(), 5);
    assert!(page["responseInfo"]["nextPage"]["href"].is_string());
}

#[tokio::test]
async fn filters_sorts_and_selects() {
    let h = start(40).await;
    let page = body(
        get(
            &h,
            WO,
            &[
                ("lean", "1"),
                (
                    "oslc.select",
                    "wonum,siteid,status,changedate,worklog{description,createdate}",
                ),
                (
                    "oslc.where",
                    "siteid=\"BEDFORD\" and status in [\"APPR\",\"INPRG\"]",
                ),
                ("oslc.orderBy", "-changedate,+wonum"),
            ],
        )
        .await,
    )
    .await;
    let rows = members(&page);
    let expected = h
        .sim
        .records()
        .iter()
        .filter(|r| r["siteid"] == "BEDFORD" && (r["status"] == "APPR" || r["status"] == "INPRG"))
        .count();
    assert!(expected > 0);
    assert_eq!(rows.len(), expected);
    let times: Vec<DateTime<Utc>> = rows
        .iter()
        .map(|r| {
            parse_time(r["changedate"].as_str().unwrap_or_default(), chrono_tz::UTC)
                .unwrap_or_default()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    for r in &rows {
        assert_eq!(r["siteid"], "BEDFORD");
        assert!(
            r["status_description"].is_string(),
            "domain description comes along: {r}"
        );
        assert!(
            r.get("description").is_none(),
            "only what was selected: {r}"
        );
        assert!(r["_rowstamp"].is_string());
        let changed = r["changedate"].as_str().unwrap_or_default();
        assert!(
            changed.ends_with("-05:00") || changed.ends_with("-04:00"),
            "{changed}"
        );
        for log in r["worklog"].as_array().into_iter().flatten() {
            assert!(
                log["description"].is_string() && log["createdate"].is_string(),
                "{log}"
            );
            assert!(log.get("logtype").is_none(), "{log}");
        }
    }
    assert!(
        rows.iter().any(|r| r["worklog"].is_array()),
        "some have work logs"
    );

    // A date bound, as the connector sends it.
    let since = "2024-02-25T00:00:00+00:00";
    let newer = body(
        get(
            &h,
            WO,
            &[
                ("lean", "1"),
                ("oslc.select", "changedate"),
                ("oslc.where", &format!("changedate>=\"{since}\"")),
            ],
        )
        .await,
    )
    .await;
    let bound = parse_time(since, chrono_tz::UTC).unwrap_or_default();
    let want = h
        .sim
        .records()
        .iter()
        .filter(|r| {
            parse_time(r["changedate"].as_str().unwrap_or_default(), chrono_tz::UTC)
                .unwrap_or_default()
                >= bound
        })
        .count();
    assert_eq!(members(&newer).len(), want);
}

#[tokio::test]
async fn answers_namespaced_json_without_lean() {
    let h = start(3).await;
    let page = body(
        get(
            &h,
            WO,
            &[("oslc.select", "wonum,status"), ("oslc.pageSize", "2")],
        )
        .await,
    )
    .await;
    let first = &page["rdfs:member"][0];
    assert!(first["spi:wonum"].is_string(), "{page}");
    assert!(first["rdf:about"].is_string(), "{page}");
    assert!(
        page["oslc:responseInfo"]["oslc:nextPage"]["rdf:resource"].is_string(),
        "{page}"
    );
}

#[tokio::test]
async fn reports_bad_queries_with_the_servers_error_body() {
    let h = start(3).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("oslc.where", "status=\"APPR\" or siteid=\"TEXAS\"")],
            "BMXAA8744E",
        ),
        (&[("oslc.where", "status=")], "BMXAA8744E"),
        (&[("oslc.where", "colour=\"red\"")], "BMXAA8742E"),
        (&[("oslc.orderBy", " changedate")], "BMXAA8745E"),
        (&[("oslc.pageSize", "ten")], "BMXAA8745E"),
    ];
    for (query, reason) in cases {
        let resp = get(&h, WO, query).await;
        assert_eq!(resp.status(), 400, "{query:?}");
        assert_error(&body(resp).await, "400", reason);
    }
    let parse = body(
        get(
            &h,
            WO,
            &[("oslc.where", "status=\"APPR\" or siteid=\"TEXAS\"")],
        )
        .await,
    )
    .await;
    let message = parse["Error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Encountered \" <IDENTIFIER> \"or \"\" at line 1, column 15."),
        "{message}"
    );
    // opmodeor turns the ands into ors.
    let either = body(
        get(
            &h,
            WO,
            &[
                ("lean", "1"),
                ("opmodeor", "1"),
                ("oslc.where", "wonum=\"1000\" and wonum=\"1002\""),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(members(&either).len(), 2);
}

#[tokio::test]
async fn serves_single_work_orders() {
    let h = start(3).await;
    let rec = h.sim.records()[1].clone();
    let id = rest_id(
        rec["siteid"].as_str().unwrap_or_default(),
        rec["wonum"].as_str().unwrap_or_default(),
    );
    let one = body(get(&h, &format!("{WO}/{id}"), &[("lean", "1")]).await).await;
    assert_eq!(one["wonum"], rec["wonum"]);
    assert!(
        one["wostatus"].is_array(),
        "child objects come by default: {one}"
    );
    let some = body(
        get(
            &h,
            &format!("{WO}/{id}"),
            &[("lean", "1"), ("oslc.properties", "wonum")],
        )
        .await,
    )
    .await;
    assert!(some.get("status").is_none());
    let missing = get(&h, &format!("{WO}/_QkVERk9SRC85OTk5"), &[("lean", "1")]).await;
    assert_eq!(missing.status(), 404);
    assert_error(&body(missing).await, "404", "BMXAA8727E");
    let elsewhere = get(&h, "/maximo/oslc/os/mxasset", &[]).await;
    assert_eq!(elsewhere.status(), 404);
}

#[test]
fn seeds_deterministically_across_sites_and_statuses() {
    let a = sim(60).records();
    let b = sim(60).records();
    assert_eq!(a, b);
    let sites: std::collections::BTreeSet<&str> =
        a.iter().filter_map(|r| r["siteid"].as_str()).collect();
    assert!(sites.len() >= 3, "{sites:?}");
    let statuses: std::collections::BTreeSet<&str> =
        a.iter().filter_map(|r| r["status"].as_str()).collect();
    for s in ["WAPPR", "APPR", "INPRG", "WMATL", "COMP", "CLOSE", "CAN"] {
        assert!(statuses.contains(s), "{s} seeded: {statuses:?}");
    }
    let latest = now() - chrono::Duration::minutes(1);
    for r in &a {
        let changed = parse_time(r["changedate"].as_str().unwrap_or_default(), chrono_tz::UTC)
            .unwrap_or_default();
        assert!(changed <= latest, "{r}");
        assert_eq!(
            r["historyflag"],
            json!(matches!(r["status"].as_str(), Some("CLOSE" | "CAN")))
        );
    }
    assert!(
        a.iter()
            .any(|r| r["worklog"].as_array().is_some_and(|l| !l.is_empty()))
    );
}
