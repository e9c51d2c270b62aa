//! Create and update, read back through Get Employee and the dataset.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{call, clock, error_message, get_json, spawn};

#[tokio::test]
async fn a_created_employee_is_found_at_its_location_and_in_the_dataset() {
    let h = spawn(6).await;
    h.sim.set_now(clock() + Duration::hours(1));
    let boss = h.sim.employees()[0].id;
    let created = call(&h, Method::POST, "/v1/employees")
        .json(&json!({
            "firstName": "Nina", "lastName": "Keller", "workEmail": "nina.keller@acmeoutdoor.com",
            "jobTitle": "Recruiter", "department": "Human Resources", "location": "Remote",
            "hireDate": "2026-04-01", "supervisorEId": boss.to_string(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("/api/gateway.php/acme/v1/employees/"),
        "{location}"
    );
    assert_eq!(
        created.text().await.unwrap(),
        "",
        "the id is only in Location"
    );
    let id: u64 = location.rsplit('/').next().unwrap().parse().unwrap();

    let (_, e) = get_json(
        &h,
        &format!("/v1/employees/{id}?fields=workEmail,supervisorEId,lastChanged,status"),
    )
    .await;
    assert_eq!(
        e,
        json!({"id": id.to_string(), "workEmail": "nina.keller@acmeoutdoor.com",
               "supervisorEId": boss.to_string(), "lastChanged": "2026-03-02T11:00:00+00:00", "status": "Active"})
    );
    let row = h
        .sim
        .dataset_row(id, &["email", "jobInformationDepartment"])
        .unwrap();
    assert_eq!(row["fields"]["jobInformationDepartment"], "Human Resources");

    let nameless = call(&h, Method::POST, "/v1/employees")
        .json(&json!({"firstName": "Solo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(nameless.status(), StatusCode::BAD_REQUEST);
    let dup = call(&h, Method::POST, "/v1/employees")
        .json(
            &json!({"firstName": "N", "lastName": "K", "workEmail": "NINA.KELLER@acmeoutdoor.com"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(error_message(&dup), "Invalid value for field workEmail");
}

#[tokio::test]
async fn an_update_moves_last_changed_only_when_something_changed() {
    let h = spawn(6).await;
    let e = h.sim.employees()[4].clone();
    h.sim.set_now(clock() + Duration::hours(2));
    let update = |body: Value| {
        call(&h, Method::POST, &format!("/v1/employees/{}", e.id))
            .json(&body)
            .send()
    };

    let same = update(json!({"jobTitle": e.job_title})).await.unwrap();
    assert_eq!(same.status(), StatusCode::OK);
    assert_eq!(h.sim.get(e.id).unwrap().last_changed, e.last_changed);

    let moved = update(
        json!({"department": "Finance", "status": "Inactive", "terminationDate": "2026-03-31"}),
    )
    .await
    .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let after = h.sim.get(e.id).unwrap();
    assert_eq!(after.department, "Finance");
    assert_eq!(after.employment_status, "Terminated");
    assert_eq!(after.last_changed, clock() + Duration::hours(2));

    for (body, field) in [
        (json!({"department": "Atlantis"}), "department"),
        (json!({"hireDate": "01/04/2026"}), "hireDate"),
        (json!({"status": "Gone"}), "status"),
        (json!({"supervisorEId": e.id.to_string()}), "supervisorEId"),
    ] {
        let refused = update(body).await.unwrap();
        assert_eq!(refused.status(), StatusCode::CONFLICT);
        assert_eq!(
            error_message(&refused),
            format!("Invalid value for field {field}")
        );
    }
    let garbled = call(&h, Method::POST, &format!("/v1/employees/{}", e.id))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
    let absent = call(&h, Method::POST, "/v1/employees/99999")
        .json(&json!({"jobTitle": "X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), StatusCode::NOT_FOUND);
}
