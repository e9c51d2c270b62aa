//! The simulator's write endpoints (create, comment, transition), injected
//! faults, the list hook, and the seed.

use serde_json::{Value, json};

use super::super::{Fault, JiraSim, SimConfig};
use super::{ALL, LIST, body, client, get, header, ids, now, start};

async fn post(h: &super::SimHandle, path: &str, payload: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{path}", h.base_url))
        .basic_auth("switchboard@example.com", Some("sim-api-token"))
        .json(payload)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn created_requests_show_up_first_in_the_list() {
    let h = start(5).await;
    let customer = h.sim.customers()[3].clone();
    let created = post(
        &h,
        LIST,
        &json!({
            "serviceDeskId": "1",
            "requestTypeId": "2",
            "requestFieldValues": {
                "summary": "Payroll export fails",
                "description": "The export job stops with error 42.",
                "priority": {"name": "Highest"},
            },
            "raiseOnBehalfOf": customer.account_id,
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let created = body(created).await;
    assert_eq!(created["issueKey"], json!("IT-6"));
    assert_eq!(created["reporter"]["accountId"], json!(customer.account_id));
    assert_eq!(
        created["currentStatus"]["status"],
        json!("Waiting for support")
    );
    let id = created["issueId"].as_str().unwrap_or_default().to_string();
    let stored = h.sim.get(&id).expect("stored");
    assert_eq!(stored.priority.as_deref(), Some("Highest"));

    let list = body(get(&h, LIST, &[ALL]).await).await;
    assert_eq!(ids(&list).first(), Some(&id), "newest activity first");
    assert_eq!(
        list["values"][0], created,
        "the list shows what create returned"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn create_validates_like_the_api() {
    let h = start(0).await;
    let cases = [
        json!({"serviceDeskId": "9", "requestTypeId": "1", "requestFieldValues": {"summary": "x"}}),
        json!({"serviceDeskId": "1", "requestTypeId": "77", "requestFieldValues": {"summary": "x"}}),
        json!({"serviceDeskId": "1", "requestTypeId": "1", "requestFieldValues": {}}),
        json!({"serviceDeskId": "1", "requestTypeId": "1", "requestFieldValues": {"summary": "x", "priority": {"name": "High"}}}),
        json!({"serviceDeskId": "1", "requestTypeId": "2", "requestFieldValues": {"summary": "x", "priority": {"name": "Urgent"}}}),
        json!({"serviceDeskId": "1", "requestTypeId": "1", "requestFieldValues": {"summary": "x"}, "raiseOnBehalfOf": "nobody"}),
        json!({"serviceDeskId": "1", "requestTypeId": "1", "requestFieldValues": {"summary": "x".repeat(255)}}),
    ];
    for case in &cases {
        let resp = post(&h, LIST, case).await;
        assert_eq!(resp.status(), 400, "{case}");
        assert!(
            body(resp).await["errorMessage"].as_str().is_some(),
            "{case}"
        );
    }
    assert_eq!(h.sim.count(), 0, "nothing was created");
    // The longest summary Jira takes is stored whole.
    let longest = post(
        &h,
        LIST,
        &json!({"serviceDeskId": "1", "requestTypeId": "1", "requestFieldValues": {"summary": "y".repeat(254)}}),
    )
    .await;
    assert_eq!(longest.status(), 201);
    assert_eq!(h.sim.records().pop().expect("created").summary.len(), 254);
    // A hidden summary takes its preset value; the reporter defaults to the caller.
    let reset = post(
        &h,
        LIST,
        &json!({"serviceDeskId": 1, "requestTypeId": "5", "requestFieldValues": {"description": "Locked out"}}),
    )
    .await;
    assert_eq!(reset.status(), 201);
    let stored = h.sim.records().pop().expect("created");
    assert_eq!(stored.summary, "Password reset");
    assert_eq!(stored.reporter, h.sim.me());
    h.shutdown().await;
}

#[tokio::test]
async fn comments_are_added_and_listed() {
    let h = start(3).await;
    let id = h.sim.records()[0].issue_id.to_string();
    let before = h.sim.get(&id).expect("seeded").comments.len();
    h.sim.set_now(now() + chrono::Duration::minutes(5));
    let resp = post(
        &h,
        &format!("{LIST}/{id}/comment"),
        &json!({"body": "Routed to Facilities.", "public": true}),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let c = body(resp).await;
    assert_eq!(
        (&c["body"], &c["public"]),
        (&json!("Routed to Facilities."), &json!(true))
    );
    assert_eq!(
        c["author"]["emailAddress"],
        json!("switchboard@example.com")
    );
    let r = h.sim.get(&id).expect("still there");
    assert_eq!(r.comments.len(), before + 1);
    assert_eq!(r.last_activity, now() + chrono::Duration::minutes(5));
    let listed = body(get(&h, &format!("{LIST}/{id}/comment"), &[]).await).await;
    assert_eq!(
        listed["values"].as_array().map(Vec::len),
        Some(r.comments.len())
    );
    let empty = post(&h, &format!("{LIST}/{id}/comment"), &json!({"body": " "})).await;
    assert_eq!(empty.status(), 400);
    let not_a_flag = post(
        &h,
        &format!("{LIST}/{id}/comment"),
        &json!({"body": "x", "public": "yes"}),
    )
    .await;
    assert_eq!(not_a_flag.status(), 400);
    assert_eq!(
        h.sim.get(&id).expect("still there").comments.len(),
        before + 1,
        "refused comments are not added"
    );
    let nowhere = post(&h, &format!("{LIST}/IT-404/comment"), &json!({"body": "x"})).await;
    assert_eq!(nowhere.status(), 404);
    h.shutdown().await;
}

#[tokio::test]
async fn transitions_are_listed_and_performed() {
    let h = start(0).await;
    let id = h.sim.insert(h.sim.template("1", "Monitor flickers"));
    let listed = body(get(&h, &format!("{LIST}/{id}/transition"), &[]).await).await;
    assert_eq!(
        listed["values"],
        json!([{"id": "11", "name": "Start progress"}, {"id": "21", "name": "Cancel request"}])
    );
    let path = format!("{LIST}/{id}/transition");
    let done = post(
        &h,
        &path,
        &json!({"id": "11", "additionalComment": {"body": "On it."}}),
    )
    .await;
    assert_eq!(done.status(), 204);
    assert_eq!(done.text().await.expect("body"), "");
    let r = h.sim.get(&id).expect("there");
    assert_eq!(r.status(), "In progress");
    assert_eq!(r.comments.last().map(|c| c.body.as_str()), Some("On it."));
    // 51 (resolve) is available from In progress, 11 no longer is.
    assert_eq!(post(&h, &path, &json!({"id": "11"})).await.status(), 400);
    assert_eq!(post(&h, &path, &json!({"id": 51})).await.status(), 204);
    let one = body(get(&h, &format!("{LIST}/{id}"), &[]).await).await;
    assert_eq!(
        (
            &one["currentStatus"]["status"],
            &one["currentStatus"]["statusCategory"]
        ),
        (&json!("Resolved"), &json!("DONE"))
    );
    h.shutdown().await;
}

#[tokio::test]
async fn faults_answer_authenticated_requests_in_order() {
    let h = start(3).await;
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(
        Fault::Unavailable {
            retry_after_secs: Some(2),
        },
        1,
    );
    // Unauthenticated requests do not use up a fault.
    let anon = client()
        .get(format!("{}{LIST}", h.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(anon.status(), 401);

    let limited = get(&h, LIST, &[ALL]).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "retry-after"), "7");
    assert_eq!(header(&limited, "x-ratelimit-reset"), "2024-06-01T12:00Z");
    assert_eq!(header(&limited, "ratelimit-reason"), "jira-burst-based");
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    let failed = get(&h, LIST, &[ALL]).await;
    assert_eq!(failed.status(), 500);
    assert!(body(failed).await["errorMessage"].as_str().is_some());
    let down = get(&h, LIST, &[ALL]).await;
    assert_eq!(down.status(), 503);
    assert_eq!(header(&down, "retry-after"), "2");
    assert_eq!(get(&h, LIST, &[ALL]).await.status(), 200);
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 429, 500, 503, 200]);
    h.shutdown().await;
}

#[tokio::test]
async fn a_hook_runs_after_the_nth_list_request() {
    let h = start(4).await;
    let id = h.sim.records()[0].issue_id.to_string();
    let target = id.clone();
    h.sim.after_list_request(
        2,
        Box::new(move |sim| {
            assert!(sim.transition(&target, "Canceled"));
        }),
    );
    let before = h.sim.get(&id).expect("there").history.len();
    get(&h, LIST, &[ALL]).await;
    assert_eq!(
        h.sim.get(&id).expect("there").history.len(),
        before,
        "not after the first"
    );
    get(&h, LIST, &[ALL]).await;
    let after = h.sim.get(&id).expect("there");
    assert_eq!(after.history.len(), before + 1);
    assert_eq!(after.status(), "Canceled");
    h.shutdown().await;
}

#[test]
fn the_seed_is_deterministic_and_varied() {
    let config = SimConfig {
        requests: 60,
        ..SimConfig::default()
    };
    let a = JiraSim::with_clock(config.clone(), now()).records();
    let b = JiraSim::with_clock(config.clone(), now()).records();
    assert_eq!(a, b);
    let other = JiraSim::with_clock(SimConfig { seed: 7, ..config }, now()).records();
    assert_ne!(a, other);
    let statuses: std::collections::BTreeSet<&str> = a.iter().map(|r| r.status()).collect();
    for s in ["Waiting for support", "In progress", "Resolved", "Canceled"] {
        assert!(statuses.contains(s), "{s} missing from {statuses:?}");
    }
    assert!(
        a.iter().any(|r| r.reporter.email.is_none()),
        "some emails are hidden"
    );
    assert!(a.iter().any(|r| r.priority.is_some()));
    assert!(
        a.iter()
            .all(|r| r.created <= now() && r.last_activity <= now())
    );
    assert!(
        a.windows(2)
            .all(|w| w[0].created <= w[1].created && w[0].issue_id < w[1].issue_id)
    );
}
