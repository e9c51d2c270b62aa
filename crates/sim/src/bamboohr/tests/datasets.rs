//! Get Data from Dataset (v2): body paging with `meta` and `links`, the
//! `filter` language and its type rules, `orderBy`, and problem answers.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{call, clock, spawn};
use crate::bamboohr::SimHandle;

const DATA: &str = "/v2/datasets/employee/data";

async fn query(h: &SimHandle, body: Value) -> (StatusCode, Value, String) {
    let resp = call(h, Method::POST, DATA)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
    (status, resp.json().await.unwrap_or(Value::Null), kind)
}

fn eeids(body: &Value) -> Vec<u64> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fields"]["eeid"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn pages_are_numbered_from_one_with_meta_and_links() {
    let h = spawn(25).await;
    let all: Vec<u64> = h.sim.employees().iter().map(|e| e.id).collect();
    let page = |n: u64| json!({"fields": ["eeid", "email"], "orderBy": "eeid asc", "page": n, "pageSize": 10});

    let (status, first, _) = query(&h, page(1)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(eeids(&first), all[..10]);
    assert_eq!(
        first["meta"],
        json!({"page": 1, "pageSize": 10, "totalPages": 3, "totalItems": 25})
    );
    assert!(first["links"]["next"].as_str().unwrap().contains("page=2"));
    assert!(
        first["links"].get("prev").is_none(),
        "no prev on the first page"
    );
    assert_eq!(first["data"][0]["_restrictedFields"], json!([]));
    let (_, last, _) = query(&h, page(3)).await;
    assert_eq!(eeids(&last), all[20..]);
    assert!(
        last["links"].get("next").is_none(),
        "no next on the last page"
    );
    assert!(last["links"]["prev"].as_str().unwrap().contains("page=2"));
    let (_, past, _) = query(&h, page(4)).await;
    assert_eq!(past["data"], json!([]));

    let (_, default, _) = query(&h, json!({"fields": ["eeid"]})).await;
    assert_eq!(default["meta"]["pageSize"], 100);
    for bad in [
        json!({"fields": ["eeid"], "pageSize": 1001}),
        json!({"fields": ["eeid"], "page": 0}),
    ] {
        let (status, body, kind) = query(&h, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(kind, "application/problem+json");
        assert_eq!(body["status"], 422);
    }
}

#[tokio::test]
async fn filter_on_last_changed_with_newest_first() {
    let h = spawn(20).await;
    h.sim.set_now(clock() + Duration::minutes(10));
    let active: Vec<u64> = h
        .sim
        .employees()
        .iter()
        .filter(|e| e.status == "Active")
        .map(|e| e.id)
        .collect();
    let (a, b) = (active[3], active[11]);
    assert!(h.sim.update(a, |e| e.job_title = "Team Lead".into()));
    h.sim.set_now(clock() + Duration::minutes(20));
    assert!(h.sim.update(b, |e| e.job_title = "Office Lead".into()));

    let (_, body, _) = query(
        &h,
        json!({
            "fields": ["eeid", "lastChanged", "jobInformationJobTitle"],
            "filter": "lastChanged ge '2026-03-02T10:00:00+00:00'",
            "orderBy": "lastChanged desc, eeid asc",
        }),
    )
    .await;
    assert_eq!(eeids(&body), vec![b, a]);
    assert_eq!(
        body["data"][1]["fields"]["lastChanged"],
        "2026-03-02T10:10:00+00:00"
    );
    assert_eq!(
        body["data"][1]["fields"]["jobInformationJobTitle"],
        "Team Lead"
    );

    let (_, gt, _) = query(
        &h,
        json!({"fields": ["eeid"], "filter": "lastChanged gt '2026-03-02T10:10:00Z'"}),
    )
    .await;
    assert_eq!(eeids(&gt), vec![b], "strictly after with gt");
    let (_, both, _) = query(
        &h,
        json!({"fields": ["eeid"], "filter": "status eq 'Active' and lastChanged ge '2026-03-02T10:00:00Z'"}),
    )
    .await;
    assert_eq!(eeids(&both).len(), 2);
    let (_, listed, _) = query(
        &h,
        json!({"fields": ["eeid"], "filter": "status in ('Active','Inactive')"}),
    )
    .await;
    assert_eq!(listed["meta"]["totalItems"], 20);
}

#[tokio::test]
async fn invalid_queries_are_refused_as_problems() {
    let h = spawn(5).await;
    let cases = [
        (
            json!({"fields": ["eeid"], "filter": "status eq 'Active' and eeid eq 1 or eeid eq 2"}),
            422,
            "INVALID_FILTER",
        ),
        (
            json!({"fields": ["eeid"], "filter": "firstName gt 'A'"}),
            422,
            "INVALID_FILTER",
        ),
        (
            json!({"fields": ["eeid"], "filter": "firstName in ('Ann','Bo')"}),
            422,
            "INVALID_FILTER",
        ),
        (
            json!({"fields": ["eeid"], "filter": "lastChanged ge 'yesterday'"}),
            422,
            "INVALID_FILTER",
        ),
        (
            json!({"fields": ["eeid"], "orderBy": "lastChanged desc"}),
            400,
            "UE-1001",
        ),
        (
            json!({"fields": ["eeid", "workEmail"]}),
            400,
            "INVALID_FIELD",
        ),
        (json!({"fields": []}), 400, "BAD_REQUEST"),
    ];
    for (body, status, code) in cases {
        let (got, problem, kind) = query(&h, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{body}");
        assert_eq!(problem["code"], code, "{body}");
        assert_eq!(kind, "application/problem+json");
    }
    let other = call(&h, Method::POST, "/v2/datasets/benefit/data")
        .json(&json!({"fields": ["eeid"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    assert!(other.headers().contains_key("x-request-id"));
}
