//! Write-side HTTP tests (POST, PATCH, PUT, actions and progress trail),
//! injected faults, the between-pages hook, and properties of the seed data.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use serde_json::{Value, json};

use super::super::seed::fmt_time;
use super::super::{Fault, SimConfig, TopdeskSim};
use super::{body, client, get, header, now, sim, start};

async fn send(
    h: &super::SimHandle,
    method: reqwest::Method,
    path: &str,
    json: &Value,
) -> reqwest::Response {
    client()
        .request(method, format!("{}{path}", h.base_url))
        .basic_auth("switchboard", Some("sim-app-password"))
        .json(json)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn creates_an_incident_for_a_registered_caller() {
    let h = start(3).await;
    let person = h.sim.persons()[0].clone();
    let this_month = h
        .sim
        .records()
        .iter()
        .filter(|r| {
            r["number"]
                .as_str()
                .is_some_and(|n| n.starts_with("I 2402 "))
        })
        .count();
    let created = send(
        &h,
        reqwest::Method::POST,
        "/tas/api/incidents",
        &json!({
            "callerLookup": {"email": person["email"].as_str().unwrap_or_default().to_uppercase()},
            "briefDescription": "Badge printer offline",
            "request": "The badge printer at reception shows offline.<br>Visitors are waiting.",
            "category": {"name": "Hardware"},
            "subcategory": {"name": "Printer"},
            "impact": {"name": "Department"},
            "urgency": {"name": "Cannot work"},
            "operatorGroup": {"name": "Workplace Support"},
            "status": "secondLine",
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let rec = body(created).await;
    let id = rec["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(rec["caller"], person);
    assert_eq!(rec["branch"], person["branch"]);
    assert_eq!(rec["processingStatus"]["name"], "Logged");
    assert_eq!(rec["priority"]["name"], "P2 - High", "impact x urgency");
    assert_eq!(rec["status"], "secondLine");
    assert_eq!(
        rec["number"],
        format!("I 2402 {:03}", this_month + 1),
        "the next number of the sim's month"
    );
    for k in ["callDate", "creationDate", "modificationDate"] {
        assert_eq!(rec[k], json!(fmt_time(now())), "{k}");
    }
    assert_eq!(h.sim.get(&id), Some(rec.clone()));
    let trail = h.sim.trail(&id);
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0]["type"], "request");
    assert_eq!(trail[0]["person"]["id"], person["id"]);
}

#[tokio::test]
async fn refuses_bad_write_bodies() {
    let h = start(1).await;
    let cases = [
        (
            json!({"briefDescription": "No caller"}),
            "caller is mandatory",
        ),
        (
            json!({"callerLookup": {"id": "not-a-uuid"}}),
            "'callerLookup.id' cannot be parsed.",
        ),
        (
            json!({"caller": {"dynamicName": "Visitor"}, "category": {"id": "nope"}}),
            "'category.id' cannot be parsed.",
        ),
        (
            json!({"caller": {"dynamicName": "Visitor"}, "priority": {"name": "Urgent!!"}}),
            "No priority found with name 'Urgent!!'.",
        ),
        (
            json!({"caller": {"dynamicName": "Visitor"}, "briefDescription": "x".repeat(81)}),
            "too long",
        ),
        (
            json!({"caller": {"dynamicName": "Visitor"}, "colour": "red"}),
            "Unrecognized field 'colour'.",
        ),
        (
            json!({"caller": {"dynamicName": "Visitor"}, "action": "x", "actionInvisibleForCaller": "no"}),
            "'actionInvisibleForCaller' must be true or false.",
        ),
        (json!(["not", "an", "object"]), "JSON object"),
    ];
    for (payload, expected) in cases {
        let resp = send(&h, reqwest::Method::POST, "/tas/api/incidents", &payload).await;
        assert_eq!(resp.status(), 400, "{payload}");
        let b = body(resp).await;
        let message = b[0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{payload}: {message}");
    }
    assert_eq!(h.sim.count(), 1, "nothing was created");
}

#[tokio::test]
async fn patch_closes_adds_an_action_and_shows_up_in_the_next_incremental_read() {
    let h = start(10).await;
    let before = h.sim.records()[0].clone();
    let id = before["id"].as_str().unwrap_or_default().to_string();
    let later = now() + Duration::minutes(5);
    h.sim.set_now(later);
    let resp = send(
        &h,
        reqwest::Method::PATCH,
        &format!("/tas/api/incidents/id/{id}"),
        &json!({
            "processingStatus": {"name": "Closed"},
            "closureCode": {"name": "Solved"},
            "action": "Replaced the toner; printing works again.",
            "actionInvisibleForCaller": true,
        }),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let rec = body(resp).await;
    assert_eq!(
        (
            rec["closed"].clone(),
            rec["completed"].clone(),
            rec["onHold"].clone()
        ),
        (json!(true), json!(true), json!(false))
    );
    assert_eq!(rec["modificationDate"], json!(fmt_time(later)));
    assert!(rec["closedDate"].is_string() && rec["completedDate"].is_string());
    assert_eq!(
        rec["modifier"]["name"],
        h.sim.lookup_list("operator")[0]["name"]
    );

    let actions = body(get(&h, &format!("/tas/api/incidents/id/{id}/actions"), &[]).await).await;
    assert_eq!(
        actions[0]["memoText"],
        "Replaced the toner; printing works again."
    );
    assert_eq!(actions[0]["invisibleForCaller"], true);
    assert_eq!(actions[0]["entryDate"], json!(fmt_time(later)));
    let trail = body(
        get(
            &h,
            &format!("/tas/api/incidents/id/{id}/progresstrail"),
            &[],
        )
        .await,
    )
    .await;
    assert_eq!(
        trail[0]["memoText"],
        "Replaced the toner; printing works again."
    );
    assert_eq!(trail[0]["creationDate"], json!(fmt_time(later)));

    // The changed incident, and only it, is newer than anything before the change.
    let query = format!("modificationDate=ge={}", fmt_time(now()));
    let changed = body(get(&h, "/tas/api/incidents", &[("query", query.as_str())]).await).await;
    assert_eq!(super::ids(&changed), vec![id.clone()]);

    // Reopening clears the flags and the dates.
    let reopened = body(
        send(
            &h,
            reqwest::Method::PUT,
            &format!("/tas/api/incidents/id/{id}"),
            &json!({"closed": false, "completed": false}),
        )
        .await,
    )
    .await;
    assert_eq!(reopened["closed"], false);
    assert!(reopened["closedDate"].is_null() && reopened["completedDate"].is_null());
    assert!(reopened["processingStatus"]["name"] != "Closed");
}

#[tokio::test]
async fn flags_pick_a_matching_status_and_number_paths_work() {
    let h = start(4).await;
    let rec = h.sim.records()[2].clone();
    let number = rec["number"].as_str().unwrap_or_default();
    let done = body(
        send(
            &h,
            reqwest::Method::PATCH,
            &format!("/tas/api/incidents/number/{number}"),
            &json!({"completed": true}),
        )
        .await,
    )
    .await;
    assert_eq!(done["processingStatus"]["name"], "Completed");
    assert_eq!(
        (done["completed"].clone(), done["closed"].clone()),
        (json!(true), json!(false))
    );
    let hold = h
        .sim
        .update(
            rec["id"].as_str().unwrap_or_default(),
            json!({"processingStatus": {"name": "Waiting for user"}}),
        )
        .expect("update");
    assert_eq!(
        (hold["onHold"].clone(), hold["completed"].clone()),
        (json!(true), json!(false))
    );
    assert!(hold["onHoldDate"].is_string() && hold["completedDate"].is_null());
    let missing = send(
        &h,
        reqwest::Method::PATCH,
        "/tas/api/incidents/id/00000000-0000-4000-8000-000000000000",
        &json!({}),
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert!(
        h.sim
            .update(
                rec["id"].as_str().unwrap_or_default(),
                json!({"processingStatus": {"name": "Cancelled"}})
            )
            .is_err()
    );
}

#[tokio::test]
async fn faults_come_after_auth_then_clear() {
    let h = start(2).await;
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::Unavailable, 1);
    let anonymous = client()
        .get(format!("{}/tas/api/incidents", h.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(
        anonymous.status(),
        401,
        "no fault spent on an anonymous request"
    );
    let limited = get(&h, "/tas/api/incidents", &[]).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "retry-after"), "7");
    assert!(body(limited).await[0]["message"].is_string());
    let failed = get(&h, "/tas/api/incidents", &[]).await;
    assert_eq!(failed.status(), 500);
    assert!(body(failed).await[0]["message"].is_string());
    let down = get(&h, "/tas/api/incidents", &[]).await;
    assert_eq!(down.status(), 503);
    assert!(header(&down, "content-type").starts_with("text/html"));
    assert_eq!(get(&h, "/tas/api/incidents", &[]).await.status(), 200);
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 429, 500, 503, 200]);
}

#[tokio::test]
async fn logs_decoded_queries_and_runs_hooks_between_pages() {
    let h = start(12).await;
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let id = h.sim.records()[0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    h.sim.after_list_request(
        1,
        Box::new(move |sim: &TopdeskSim| {
            counter.fetch_add(1, Ordering::SeqCst);
            assert!(
                sim.update(&id, json!({"briefDescription": "Edited between pages"}))
                    .is_ok()
            );
        }),
    );
    let query = "modificationDate=ge=2024-01-01T00:00:00+0000";
    get(
        &h,
        "/tas/api/incidents",
        &[("query", query), ("pageSize", "5")],
    )
    .await;
    get(
        &h,
        "/tas/api/incidents",
        &[("query", query), ("pageSize", "5"), ("pageStart", "5")],
    )
    .await;
    assert_eq!(seen.load(Ordering::SeqCst), 1, "the hook runs once");
    let log = h.sim.requests();
    assert_eq!(log[0].query["query"], query, "decoded, `+` intact");
    assert_eq!(log[1].query["pageStart"], "5");
    assert!(
        h.sim
            .records()
            .iter()
            .any(|r| r["briefDescription"] == "Edited between pages")
    );
}

#[test]
fn seed_is_deterministic_and_in_the_past() {
    let a = sim(60).records();
    let b = sim(60).records();
    assert_eq!(a, b);
    let other = TopdeskSim::with_clock(
        SimConfig {
            incidents: 60,
            seed: 99,
            ..SimConfig::default()
        },
        now(),
    )
    .records();
    assert_ne!(a, other);
    let latest = now() - Duration::seconds(60);
    let modified: Vec<&str> = a
        .iter()
        .filter_map(|r| r["modificationDate"].as_str())
        .collect();
    assert!(modified.iter().all(|m| *m <= fmt_time(latest).as_str()));
    let mut unique = modified.clone();
    unique.sort();
    unique.dedup();
    assert!(
        unique.len() < modified.len(),
        "some incidents share a modification second"
    );
    let statuses: std::collections::BTreeSet<&str> = a
        .iter()
        .filter_map(|r| r["processingStatus"]["name"].as_str())
        .collect();
    assert!(statuses.len() >= 5, "{statuses:?}");
    assert!(
        a.iter().any(|r| r["priority"].is_null()),
        "some were never prioritised"
    );
    assert!(
        a.iter().any(|r| r["caller"]["id"].is_null()),
        "some callers are unregistered"
    );
    let mut numbers: Vec<&str> = a.iter().filter_map(|r| r["number"].as_str()).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 60, "numbers are unique");
}
