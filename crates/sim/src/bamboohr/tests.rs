//! The simulator against BambooHR's documented behaviour, over real HTTP:
//! the seed, auth and company domain, faults and hooks here; the v1 reads
//! in `reads`, the v2 dataset query in `datasets`, create and update in
//! `writes`.

mod datasets;
mod reads;
mod writes;

use chrono::{DateTime, Duration, TimeZone, Utc};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use super::{BambooSim, Fault, SimConfig, SimHandle};

pub(super) const KEY: &str = "sim-api-key";

pub(super) fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

pub(super) async fn spawn(employees: usize) -> SimHandle {
    let config = SimConfig {
        employees,
        ..SimConfig::default()
    };
    BambooSim::with_clock(config, clock())
        .serve()
        .await
        .expect("simulator starts")
}

/// `{base}/api/gateway.php/acme{path}`.
pub(super) fn url(h: &SimHandle, path: &str) -> String {
    format!("{}{path}", h.sim.api_base(&h.base_url))
}

/// A JSON request signed with the API key, as the docs show it (`key:x`).
pub(super) fn call(h: &SimHandle, method: reqwest::Method, path: &str) -> RequestBuilder {
    reqwest::Client::new()
        .request(method, url(h, path))
        .basic_auth(KEY, Some("x"))
        .header("accept", "application/json")
}

pub(super) async fn get_json(h: &SimHandle, path: &str) -> (StatusCode, Value) {
    let resp = call(h, reqwest::Method::GET, path).send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(super) fn error_message(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("x-bamboohr-error-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_seed_is_deterministic_with_supervisors_inside_the_company() {
    let a = BambooSim::with_clock(SimConfig::default(), clock()).employees();
    let b = BambooSim::with_clock(SimConfig::default(), clock()).employees();
    assert_eq!(a, b);
    assert_eq!(a.len(), 60);
    for e in &a {
        if let Some(s) = e.supervisor {
            assert!(s < e.id, "{} reports to a later id {s}", e.id);
            assert!(a.iter().any(|m| m.id == s));
        }
        assert!(e.created <= e.last_changed && e.last_changed <= clock());
        assert_ne!(e.employee_number, e.id.to_string(), "two separate numbers");
        assert!(!e.department.is_empty() && !e.division.is_empty() && !e.location.is_empty());
    }
    assert_eq!(
        a.iter().filter(|e| e.supervisor.is_none()).count(),
        1,
        "only the CEO reports to no one"
    );
    let left: Vec<_> = a.iter().filter(|e| e.status == "Inactive").collect();
    assert!(!left.is_empty(), "some have left");
    assert!(left.iter().all(|e| e.termination_date.is_some()));
    let emails: std::collections::HashSet<_> = a.iter().map(|e| &e.work_email).collect();
    assert_eq!(emails.len(), a.len(), "work emails are unique");
    let first = a.iter().map(|e| e.last_changed).min().unwrap();
    let last = a.iter().map(|e| e.last_changed).max().unwrap();
    assert!(
        last - first > Duration::days(365),
        "changes spread over time"
    );
}

#[tokio::test]
async fn auth_is_the_api_key_as_basic_user_name_on_the_company_domain() {
    let h = spawn(3).await;
    let http = reqwest::Client::new();
    let dir = url(&h, "/v1/employees/directory");

    let missing = http.get(&dir).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&missing), "API key is missing");
    assert!(missing.headers().contains_key("www-authenticate"));

    let wrong = http
        .get(&dir)
        .basic_auth("nope", Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_message(&wrong), "Invalid API key");

    // The password is ignored: "x" by convention, anything works.
    let any = http
        .get(&dir)
        .basic_auth(KEY, Some("whatever"))
        .send()
        .await
        .unwrap();
    assert_eq!(any.status(), StatusCode::OK);

    let elsewhere = http
        .get(format!(
            "{}/api/gateway.php/other/v1/employees/directory",
            h.base_url
        ))
        .basic_auth(KEY, Some("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
    let (status, _) = get_json(&h, "/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn faults_answer_as_bamboohr_throttles_and_fails_and_are_logged() {
    let h = spawn(3).await;
    h.sim.inject(
        Fault::Throttled {
            retry_after_secs: 2,
        },
        1,
    );
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::BadGateway, 1);
    let send = || call(&h, reqwest::Method::GET, "/v1/employees/directory").send();

    let throttled = send().await.unwrap();
    assert_eq!(throttled.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(throttled.headers()["retry-after"], "2");
    let limited = send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(
        send().await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(send().await.unwrap().status(), StatusCode::BAD_GATEWAY);
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);

    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 429, 500, 502, 200]);
    assert!(
        h.sim.requests()[0]
            .path
            .ends_with("/v1/employees/directory")
    );
}

#[tokio::test]
async fn a_hook_runs_after_the_nth_list_request() {
    let h = spawn(4).await;
    let target = h.sim.employees()[2].id;
    h.sim.after_list_request(
        2,
        Box::new(move |sim| {
            sim.set_now(clock() + Duration::hours(1));
            assert!(sim.update(target, |e| e.job_title = "Team Lead".into()));
        }),
    );
    let path = "/v1/employees/changed?since=2026-03-02T10%3A30%3A00Z";
    let (_, first) = get_json(&h, path).await;
    assert_eq!(first["employees"], serde_json::json!({}));
    let (_, second) = get_json(&h, path).await;
    assert_eq!(
        second["employees"],
        serde_json::json!({}),
        "the hook runs after the answer"
    );
    let (_, third) = get_json(&h, path).await;
    assert_eq!(third["employees"][target.to_string()]["action"], "Updated");
}
