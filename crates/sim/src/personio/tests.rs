//! The simulator against the documented behaviour of Personio's API, over
//! real HTTP: record-offset paging with its metadata, `updated_since` and
//! `attributes[]`, and injected faults here; tokens and bearer checks in
//! `auth`, writes read back through the list in `writes`.

mod auth;
mod writes;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Fault, PersonioSim, SimConfig, SimHandle};

pub(super) fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

pub(super) async fn spawn(employees: usize) -> SimHandle {
    let config = SimConfig {
        employees,
        ..SimConfig::default()
    };
    PersonioSim::with_clock(config, clock())
        .serve()
        .await
        .expect("simulator starts")
}

pub(super) async fn get(h: &SimHandle, token: &str, query: &str) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/company/employees{query}", h.base_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(super) fn ids(body: &Value) -> Vec<u64> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["attributes"]["id"]["value"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_seed_is_deterministic_and_managers_come_before_their_reports() {
    let a = PersonioSim::with_clock(SimConfig::default(), clock()).employees();
    let b = PersonioSim::with_clock(SimConfig::default(), clock()).employees();
    assert_eq!(a, b);
    assert_eq!(a.len(), 40);
    for e in &a {
        if let Some(s) = e.supervisor {
            assert!(s < e.id, "{} reports to a later id {s}", e.id);
            assert!(a.iter().any(|m| m.id == s));
        }
        assert!(e.last_modified_at <= clock() && e.created_at <= e.last_modified_at);
    }
    for status in ["active", "inactive", "onboarding", "leave"] {
        assert!(a.iter().any(|e| e.status == status), "no {status} employee");
    }
    let emails: std::collections::HashSet<_> = a.iter().map(|e| &e.email).collect();
    assert_eq!(emails.len(), a.len(), "emails are unique");
}

#[tokio::test]
async fn offset_counts_records_and_metadata_counts_pages() {
    let h = spawn(23).await;
    let token = h.sim.issue_token();
    let all: Vec<u64> = h.sim.employees().iter().map(|e| e.id).collect();

    let (_, first) = get(&h, &token, "?limit=10&offset=0").await;
    assert_eq!(ids(&first), all[..10]);
    assert_eq!(
        first["metadata"],
        json!({"total_elements": 23, "current_page": 0, "total_pages": 3})
    );
    assert_eq!(
        (first["offset"].clone(), first["limit"].clone()),
        (json!(0), json!(10))
    );
    // A record offset, not a page index: offset 9 starts at the tenth record.
    let (_, overlap) = get(&h, &token, "?limit=10&offset=9").await;
    assert_eq!(ids(&overlap), all[9..19]);
    assert_eq!(overlap["metadata"]["current_page"], 0);
    let (_, last) = get(&h, &token, "?limit=10&offset=20").await;
    assert_eq!(ids(&last), all[20..]);
    assert_eq!(last["metadata"]["current_page"], 2);
    let (_, past) = get(&h, &token, "?limit=10&offset=40").await;
    assert_eq!(past["data"], json!([]));

    let (_, default) = get(&h, &token, "").await;
    assert_eq!(default["limit"], 50, "unpaginated requests get 50");
    let (status, body) = get(&h, &token, "?limit=101").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "The limit must be between 1 and 100."
    );
    assert_eq!(
        get(&h, &token, "?offset=-1").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn updated_since_keeps_later_changes_and_pages_them() {
    let h = spawn(12).await;
    let token = h.sim.issue_token();
    let target = h.sim.employees()[4].id;
    let other = h.sim.employees()[7].id;
    h.sim.set_now(clock() + chrono::Duration::minutes(30));
    assert!(h.sim.update(target, |e| e.position = "Team Lead".into()));
    assert!(h.sim.update(other, |e| e.office = None));

    // 10:00 UTC is 11:00 in Berlin: the offset is honoured, a naive time is Berlin's.
    for since in [
        "2026-03-02T10:00:00Z",
        "2026-03-02T11:00:00",
        "2026-03-02T11:00:00+01:00",
    ] {
        let (_, body) = get(
            &h,
            &token,
            &format!("?updated_since={}", since.replace('+', "%2B")),
        )
        .await;
        assert_eq!(ids(&body), vec![target, other], "since {since}");
    }
    let (_, body) = get(
        &h,
        &token,
        "?updated_since=2026-03-02T10:00:00Z&limit=1&offset=1",
    )
    .await;
    assert_eq!(ids(&body), vec![other]);
    assert_eq!(body["metadata"]["total_elements"], 2);
    let (_, body) = get(&h, &token, "?updated_since=2026-03-02T10:30:00Z").await;
    assert_eq!(ids(&body), Vec::<u64>::new(), "strictly after");
    let changed = h.sim.render(target).unwrap();
    assert_eq!(
        changed["attributes"]["last_modified_at"]["value"],
        "2026-03-02T11:30:00+01:00"
    );

    // With attributes[], only employees that had one of those changed.
    let (_, body) = get(
        &h,
        &token,
        "?updated_since=2026-03-02T10:00:00Z&attributes[]=position&attributes[]=first_name",
    )
    .await;
    assert_eq!(ids(&body), vec![target]);
    let attrs = body["data"][0]["attributes"].as_object().unwrap();
    let mut keys: Vec<&str> = attrs.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["first_name", "id", "position"]);

    assert_eq!(
        get(&h, &token, "?updated_since=yesterday").await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn faults_hit_resource_requests_and_are_logged() {
    let h = spawn(3).await;
    let token = h.sim.issue_token();
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::Unavailable, 1);
    // The token endpoint is not affected: the faults wait for the resource.
    let auth = reqwest::Client::new()
        .post(format!("{}/v1/auth", h.base_url))
        .query(&[
            ("client_id", "papi-sim-client"),
            ("client_secret", "papi-sim-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(auth.status(), StatusCode::OK);

    let http = reqwest::Client::new();
    let send = || {
        http.get(format!("{}/v1/company/employees", h.base_url))
            .bearer_auth(&token)
            .send()
    };
    let limited = send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["success"], false);
    let failed = send().await.unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = failed.json().await.unwrap();
    assert_eq!(body["error"]["message"], "Something went wrong");
    let down = send().await.unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        down.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);

    let log: Vec<(String, u16)> = h
        .sim
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    assert_eq!(
        log,
        [
            ("/v1/auth".to_string(), 200),
            ("/v1/company/employees".to_string(), 429),
            ("/v1/company/employees".to_string(), 500),
            ("/v1/company/employees".to_string(), 503),
            ("/v1/company/employees".to_string(), 200),
        ]
    );
    assert_eq!(
        h.sim.requests()[0].param("client_id"),
        Some("papi-sim-client")
    );
}

#[tokio::test]
async fn unknown_paths_answer_in_personio_shape() {
    let h = spawn(1).await;
    let resp = reqwest::get(format!("{}/v1/company/nothing", h.base_url))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], false);
}
