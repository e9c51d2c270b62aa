//! The v1 reads: directory, one employee, changed ids and tables, and the
//! custom report.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{KEY, call, clock, error_message, get_json, spawn, url};

#[tokio::test]
async fn the_directory_is_whole_lists_active_staff_and_answers_xml_unless_asked() {
    let h = spawn(30).await;
    let (status, body) = get_json(&h, "/v1/employees/directory").await;
    assert_eq!(status, StatusCode::OK);
    let fields = body["fields"].as_array().unwrap();
    assert!(fields.contains(&json!({"id": "workEmail", "type": "email", "name": "Work Email"})));
    let active: Vec<_> = h
        .sim
        .employees()
        .into_iter()
        .filter(|e| e.status == "Active")
        .collect();
    let listed = body["employees"].as_array().unwrap();
    assert_eq!(
        listed.len(),
        active.len(),
        "inactive employees are left out"
    );
    let e = &active[3];
    let id = e.id.to_string();
    let row = listed.iter().find(|r| r["id"] == id.as_str()).unwrap();
    assert_eq!(row["workEmail"], e.work_email.clone().unwrap());
    assert_eq!(row["department"], e.department);
    let boss = h.sim.get(e.supervisor.unwrap()).unwrap();
    assert_eq!(row["supervisor"], boss.display_name());
    assert!(
        row.get("employeeNumber").is_none(),
        "not in the directory's fieldset"
    );

    let xml = reqwest::Client::new()
        .get(url(&h, "/v1/employees/directory"))
        .basic_auth(KEY, Some("x"))
        .send()
        .await
        .unwrap();
    assert!(
        xml.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("xml")
    );
    let text = xml.text().await.unwrap();
    assert!(text.contains("<directory><fieldset>"), "{text}");
    assert!(text.contains(&format!("<employee id=\"{}\">", e.id)));

    // A hire starting next week shows only with onlyCurrent=false.
    let future = h.sim.hire("Nina", "Keller", |e| {
        e.hire_date = (clock() + Duration::days(7)).date_naive();
    });
    let ids = |b: &Value| -> Vec<String> {
        b["employees"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, now) = get_json(&h, "/v1/employees/directory").await;
    assert!(!ids(&now).contains(&future.to_string()));
    let (_, all) = get_json(&h, "/v1/employees/directory?onlyCurrent=false").await;
    assert!(ids(&all).contains(&future.to_string()));
}

#[tokio::test]
async fn get_employee_returns_the_fields_asked_for_as_strings() {
    let h = spawn(12).await;
    let e = h.sim.employees()[9].clone();
    let (status, body) = get_json(
        &h,
        &format!(
            "/v1/employees/{}?fields=firstName,employeeNumber,supervisorEId,hireDate,nonsense",
            e.id
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "id": e.id.to_string(), "firstName": e.first_name, "employeeNumber": e.employee_number,
            "supervisorEId": e.supervisor.unwrap().to_string(),
            "hireDate": e.hire_date.format("%Y-%m-%d").to_string(),
        }),
        "unknown fields are dropped"
    );
    let (_, me) = get_json(&h, "/v1/employees/0?fields=firstName").await;
    assert_eq!(me, json!({"id": "0"}));
    let missing = call(&h, Method::GET, "/v1/employees/99999?fields=firstName")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let many: Vec<String> = (0..401).map(|i| format!("f{i}")).collect();
    let (status, _) = get_json(
        &h,
        &format!("/v1/employees/{}?fields={}", e.id, many.join(",")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn changed_ids_are_keyed_by_id_with_their_action() {
    let h = spawn(10).await;
    let all = h.sim.employees();
    h.sim.set_now(clock() + Duration::hours(1));
    assert!(
        h.sim
            .update(all[4].id, |e| e.job_title = "Field Lead".into())
    );
    let hired = h.sim.hire("Nina", "Keller", |_| {});
    h.sim.set_now(clock() + Duration::hours(2));
    assert!(h.sim.delete(all[6].id));

    // The `+` of an offset must be sent as %2B; a bare one reads as a space.
    let (_, body) = get_json(
        &h,
        "/v1/employees/changed?since=2026-03-02T11%3A00%3A00%2B01%3A00",
    )
    .await;
    assert_eq!(
        body,
        json!({
            "latest": "2026-03-02T12:00:00+00:00",
            "employees": {
                all[4].id.to_string(): {"id": all[4].id.to_string(), "action": "Updated", "lastChanged": "2026-03-02T11:00:00+00:00"},
                all[6].id.to_string(): {"id": all[6].id.to_string(), "action": "Deleted", "lastChanged": "2026-03-02T12:00:00+00:00"},
                hired.to_string(): {"id": hired.to_string(), "action": "Inserted", "lastChanged": "2026-03-02T11:00:00+00:00"},
            }
        })
    );
    let (_, inserted) = get_json(
        &h,
        "/v1/employees/changed?since=2026-03-02T10:30:00Z&type=inserted",
    )
    .await;
    let keys: Vec<&String> = inserted["employees"].as_object().unwrap().keys().collect();
    assert_eq!(keys, [&hired.to_string()]);
    let unencoded = call(
        &h,
        Method::GET,
        "/v1/employees/changed?since=2026-03-02T11:00:00+01:00",
    )
    .send()
    .await
    .unwrap();
    assert_eq!(unencoded.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(&unencoded).contains("since"));
    let (status, _) = get_json(
        &h,
        "/v1/employees/changed?since=2026-01-01T00:00:00Z&type=moved",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, table) = get_json(
        &h,
        "/v1/employees/changed/tables/jobInfo?since=2026-03-02T10:30:00Z",
    )
    .await;
    assert_eq!(table["table"], "jobInfo");
    let entry = &table["employees"][all[4].id.to_string()];
    assert_eq!(entry["rows"][0]["jobTitle"], "Field Lead");
    assert_eq!(entry["lastChanged"], "2026-03-02T11:00:00+00:00");
    let (status, _) = get_json(
        &h,
        "/v1/employees/changed/tables/nothing?since=2026-03-02T10:30:00Z",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_custom_report_filters_on_last_changed_and_keeps_every_status() {
    let h = spawn(40).await;
    let report = |since: &str| {
        call(
            &h,
            Method::POST,
            "/v1/reports/custom?format=JSON&onlyCurrent=false",
        )
        .json(&json!({
            "title": "Changed", "fields": ["firstName", "status", "lastChanged"],
            "filters": {"lastChanged": {"includeNull": "no", "value": since}},
        }))
        .send()
    };
    let body: Value = report("2000-01-01T00:00:00Z")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["title"], "Changed");
    assert_eq!(
        body["employees"].as_array().unwrap().len(),
        40,
        "active and inactive alike"
    );
    assert_eq!(
        body["fields"][1],
        json!({"id": "status", "type": "status", "name": "Status"})
    );

    h.sim.set_now(clock() + Duration::minutes(5));
    let e = h.sim.employees()[20].id;
    assert!(
        h.sim
            .update(e, |x| x.job_title = "Principal Engineer".into())
    );
    let body: Value = report("2026-03-02T10:00:00Z")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = body["employees"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], e.to_string());
    assert_eq!(rows[0]["lastChanged"], "2026-03-02T10:05:00+00:00");

    let csv = call(&h, Method::POST, "/v1/reports/custom?format=CSV")
        .json(&json!({"fields": ["firstName"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::BAD_REQUEST);
}
