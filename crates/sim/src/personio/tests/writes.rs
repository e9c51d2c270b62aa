//! Creating and updating employees, read back through the list endpoint.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{clock, get, ids, spawn};

#[tokio::test]
async fn an_edit_that_changes_nothing_leaves_last_modified_alone() {
    let h = spawn(5).await;
    let e = h.sim.employees()[2].clone();
    h.sim.set_now(clock() + chrono::Duration::hours(1));
    let same = e.position.clone();
    assert!(h.sim.update(e.id, |x| x.position = same));
    assert_eq!(
        h.sim.get(e.id).unwrap().last_modified_at,
        e.last_modified_at
    );
    assert!(!h.sim.update(1, |_| {}));
}

#[tokio::test]
async fn created_and_patched_employees_read_back_through_the_list() {
    let h = spawn(4).await;
    let token = h.sim.issue_token();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/company/employees", h.base_url);
    let boss = h.sim.employees()[0].id;
    let created: Value = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"employee": {
            "email": "nina.keller@acme-solutions.de", "first_name": "Nina", "last_name": "Keller",
            "gender": "female", "position": "Recruiter", "department": "People & Culture",
            "office": "Atlantis", "hire_date": "2026-04-01", "weekly_hours": 32,
            "supervisor_id": boss, "custom_attributes": {"dynamic_1146702": "1991-07-14"}
        }}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["success"], true);
    assert_eq!(
        created["meta"]["errors"].as_array().unwrap().len(),
        1,
        "unknown office noted"
    );
    let id = created["data"]["id"].as_u64().unwrap();
    let (_, body) = get(&h, &token, "?email=nina.keller@acme-solutions.de").await;
    let a = &body["data"][0]["attributes"];
    assert_eq!(a["id"]["value"], id);
    assert_eq!(
        a["status"]["value"], "onboarding",
        "hired from a future date"
    );
    assert_eq!(
        a["department"]["value"]["attributes"]["name"],
        "People & Culture"
    );
    assert_eq!(a["office"]["value"], Value::Null);
    assert_eq!(a["supervisor"]["value"]["attributes"]["id"]["value"], boss);
    assert_eq!(a["dynamic_1146702"]["value"], "1991-07-14T00:00:00+02:00");
    assert_eq!(a["weekly_working_hours"]["value"], "32");

    let dup = http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"employee": {"email": "NINA.KELLER@acme-solutions.de", "first_name": "N", "last_name": "K"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), StatusCode::BAD_REQUEST);

    h.sim.set_now(clock() + chrono::Duration::hours(2));
    let patched = http
        .patch(format!("{url}/{id}"))
        .bearer_auth(&token)
        .form(&[
            ("employee[position]", "Senior Recruiter"),
            ("employee[status]", "active"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    let (_, body) = get(&h, &token, "?updated_since=2026-03-02T11:00:00Z").await;
    assert_eq!(ids(&body), vec![id]);
    let a = &body["data"][0]["attributes"];
    assert_eq!(a["position"]["value"], "Senior Recruiter");
    assert_eq!(a["last_modified_at"]["value"], "2026-03-02T13:00:00+01:00");

    for (body, status) in [
        (
            json!({"employee": {"email": "x@y.z"}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"employee": {"gender": "robot"}}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let resp = http
            .patch(format!("{url}/{id}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{body}");
    }
    let missing = http
        .patch(format!("{url}/1"))
        .bearer_auth(&token)
        .json(&json!({"employee": {"position": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let one = http
        .get(format!("{url}/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let one: Value = one.json().await.unwrap();
    assert_eq!(
        one["data"]["attributes"]["position"]["value"],
        "Senior Recruiter"
    );
}
