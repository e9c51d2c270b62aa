//! The simulator against Odoo's documented and source-level behaviour, over
//! real HTTP: shared helpers, value shapes, search_read paging, archived
//! records, faults, hooks and the seed here; the JSON-RPC envelope, the
//! services, credentials and the error body in `wire`; the domain language
//! and `order` in `domain`; creates, writes, the chatter and the purchase
//! workflow in `writes`.

mod domain;
mod wire;
mod writes;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Fault, OdooSim, SimConfig, SimHandle, UID};

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 3, 9, 30, 0).unwrap()
}

pub(super) fn sim() -> OdooSim {
    OdooSim::with_clock(SimConfig::default(), now())
}

pub(super) async fn start() -> SimHandle {
    sim().serve().await.expect("simulator starts")
}

/// POSTs `body` to `/jsonrpc` as JSON; the status and the parsed answer.
pub(super) async fn post(h: &SimHandle, body: &Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/jsonrpc", h.base_url))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(super) async fn call(h: &SimHandle, service: &str, method: &str, args: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "method": "call", "id": 7,
        "params": {"service": service, "method": method, "args": args}});
    let (status, answer) = post(h, &body).await;
    assert_eq!(status, StatusCode::OK);
    answer
}

/// `execute_kw` as the API user; the whole JSON-RPC answer.
pub(super) async fn kw(
    h: &SimHandle,
    model: &str,
    method: &str,
    args: Value,
    kwargs: Value,
) -> Value {
    let args = json!([
        "switchboard",
        UID,
        "sim-password",
        model,
        method,
        args,
        kwargs
    ]);
    call(h, "object", "execute_kw", args).await
}

/// The `result` of an answer, failing the test on an error body.
pub(super) fn ok(answer: Value) -> Value {
    assert!(answer.get("error").is_none(), "unexpected error: {answer}");
    answer["result"].clone()
}

/// `error.data` of an answer, failing the test on a result.
pub(super) fn err(answer: &Value) -> &Value {
    assert!(
        answer.get("result").is_none(),
        "expected an error: {answer}"
    );
    &answer["error"]["data"]
}

pub(super) fn ids(records: &Value) -> Vec<i64> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn search_read_returns_odoos_value_shapes() {
    let h = start().await;
    let records = ok(kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[["id", "=", 5]]]),
        json!({}),
    )
    .await);
    let e = &records[0];
    assert_eq!(e["id"], 5);
    let dept = e["department_id"].as_array().unwrap();
    assert_eq!(dept.len(), 2, "many2one as [id, name]: {e}");
    assert!(
        dept[1].as_str().unwrap().contains(" / "),
        "a nested department's complete name: {e}"
    );
    assert!(e["category_ids"].is_array());
    let written = e["write_date"].as_str().unwrap();
    assert_eq!(written.len(), 19, "YYYY-MM-DD HH:MM:SS: {written}");
    assert!(e.get("display_name").is_some());
    let some = ok(kw(
        &h,
        "hr.employee",
        "read",
        json!([[1, 2], ["name", "coach_id"]]),
        json!({}),
    )
    .await);
    assert_eq!(
        some[0].as_object().unwrap().len(),
        3,
        "id and the two fields: {some}"
    );
    assert_eq!(some[0]["coach_id"], json!(false));
    let raw = ok(kw(
        &h,
        "hr.employee",
        "read",
        json!([[4], ["department_id"]]),
        json!({"load": null}),
    )
    .await);
    assert!(
        raw[0]["department_id"].is_i64(),
        "load=None gives bare ids: {raw}"
    );
    let order = ok(kw(
        &h,
        "purchase.order",
        "read",
        json!([[1], ["order_line", "amount_total", "state"]]),
        json!({}),
    )
    .await);
    assert!(!order[0]["order_line"].as_array().unwrap().is_empty());
    assert!(order[0]["amount_total"].is_f64());
    let described = ok(kw(
        &h,
        "purchase.order",
        "fields_get",
        json!([]),
        json!({"attributes": ["type", "relation", "required"]}),
    )
    .await);
    assert_eq!(
        described["partner_id"],
        json!({"type": "many2one", "relation": "res.partner", "required": true})
    );
    assert_eq!(described["order_line"]["type"], "one2many");
}

#[tokio::test]
async fn paging_with_offset_limit_and_order_visits_each_record_once() {
    let h = start().await;
    let total = ok(kw(&h, "hr.employee", "search_count", json!([[]]), json!({})).await)
        .as_u64()
        .unwrap() as usize;
    let mut seen = Vec::new();
    let mut last: Option<(String, i64)> = None;
    for page in 0.. {
        let kwargs = json!({"fields": ["write_date"], "offset": page * 7, "limit": 7, "order": "write_date asc, id asc"});
        let records = ok(kw(&h, "hr.employee", "search_read", json!([[]]), kwargs).await);
        let records = records.as_array().unwrap().clone();
        for r in &records {
            let key = (
                r["write_date"].as_str().unwrap().to_string(),
                r["id"].as_i64().unwrap(),
            );
            assert!(
                last.as_ref().is_none_or(|l| *l < key),
                "sorted: {last:?} then {key:?}"
            );
            last = Some(key.clone());
            seen.push(key.1);
        }
        if records.len() < 7 {
            break;
        }
    }
    assert_eq!(seen.len(), total);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), total);
    let logged = h.sim.calls("hr.employee", "search_read");
    assert_eq!(logged[1].offset(), Some(7));
    assert_eq!(logged[1].limit(), Some(7));
    assert_eq!(logged[1].order(), Some("write_date asc, id asc"));
    assert_eq!(logged[1].domain(), Some(&json!([])));
    // The same call with positional arguments.
    let positional = ok(kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[], ["id"], 7, 7, "write_date asc, id asc"]),
        json!({}),
    )
    .await);
    assert_eq!(ids(&positional), seen[7..14].to_vec());
    let by_id_desc = ok(kw(
        &h,
        "hr.employee",
        "search",
        json!([[]]),
        json!({"order": "id desc", "limit": 3}),
    )
    .await);
    assert_eq!(by_id_desc, json!([60, 59, 58]));
}

#[tokio::test]
async fn archived_records_stay_out_unless_asked_for() {
    let h = start().await;
    let all = h.sim.count("hr.employee");
    let archived: Vec<i64> = h
        .sim
        .records("hr.employee")
        .iter()
        .filter(|e| e["active"] == false)
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(!archived.is_empty());
    let count = |domain: Value, kwargs: Value| {
        let h = &h;
        async move { ok(kw(h, "hr.employee", "search_count", json!([domain]), kwargs).await) }
    };
    assert_eq!(
        count(json!([]), json!({})).await,
        json!(all - archived.len())
    );
    assert_eq!(
        count(json!([["active", "=", false]]), json!({})).await,
        json!(archived.len())
    );
    assert_eq!(
        count(json!([["active", "in", [true, false]]]), json!({})).await,
        json!(all)
    );
    assert_eq!(
        count(json!([]), json!({"context": {"active_test": false}})).await,
        json!(all)
    );
    // `action_archive` returns None: the answer has neither result nor error.
    let archive = kw(&h, "hr.employee", "action_archive", json!([[1]]), json!({})).await;
    assert!(
        archive.get("result").is_none() && archive.get("error").is_none(),
        "{archive}"
    );
    assert_eq!(h.sim.employee(1).unwrap()["active"], false);
    // `read` by id does not filter.
    let read = ok(kw(
        &h,
        "hr.employee",
        "read",
        json!([[archived[0]], ["active"]]),
        json!({}),
    )
    .await);
    assert_eq!(read[0]["active"], false);
}

#[tokio::test]
async fn faults_answer_before_odoo_and_then_clear() {
    let h = start().await;
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 3,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::Unavailable, 1);
    h.sim.inject(Fault::SerializationFailure, 1);
    let client = reqwest::Client::new();
    let body = json!({"jsonrpc": "2.0", "id": 9, "params": {"service": "common", "method": "version", "args": []}});
    let send = || {
        client
            .post(format!("{}/jsonrpc", h.base_url))
            .json(&body)
            .send()
    };
    let throttled = send().await.unwrap();
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "3");
    assert!(
        throttled
            .text()
            .await
            .unwrap()
            .contains("429 Too Many Requests")
    );
    assert_eq!(
        send().await.unwrap().status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        send().await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let conflict = send().await.unwrap();
    assert_eq!(conflict.status(), StatusCode::OK);
    let conflict: Value = conflict.json().await.unwrap();
    assert_eq!(
        err(&conflict)["name"],
        "psycopg2.errors.SerializationFailure"
    );
    assert_eq!(conflict["id"], 9);
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 503, 200, 200]);
    assert_eq!(h.sim.requests()[0].method.as_deref(), Some("version"));
}

#[tokio::test]
async fn a_hook_runs_after_the_nth_list_request() {
    let h = start().await;
    h.sim.after_list_request(
        1,
        Box::new(|sim: &OdooSim| {
            sim.update_employee(1, |e| {
                e.insert("job_title".into(), json!("Chief Executive"));
            });
        }),
    );
    let before = ok(kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[["id", "=", 1]]]),
        json!({"fields": ["job_title"]}),
    )
    .await);
    assert_ne!(
        before[0]["job_title"], "Chief Executive",
        "the hook runs after the answer is computed"
    );
    let after = ok(kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[["job_title", "=", "Chief Executive"]]]),
        json!({"fields": ["id"]}),
    )
    .await);
    assert_eq!(ids(&after), vec![1]);
}

#[test]
fn the_seed_is_deterministic_with_managers_in_the_set() {
    let a = sim().records("hr.employee");
    let b = sim().records("hr.employee");
    assert_eq!(a, b);
    assert_eq!(a.len(), 60);
    assert_eq!(sim().count("hr.department"), 8);
    assert_eq!(sim().count("purchase.order"), 30);
    for e in &a {
        if let Some(boss) = e["parent_id"].as_array() {
            let boss = boss[0].as_i64().unwrap();
            assert!(boss < e["id"].as_i64().unwrap() && boss >= 1);
        }
    }
    let nested = sim()
        .records("hr.department")
        .iter()
        .filter(|d| d["parent_id"] != false)
        .count();
    assert!(nested >= 3);
    let states: std::collections::BTreeSet<String> = sim()
        .records("purchase.order")
        .iter()
        .map(|p| p["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states.len(), 6, "every state occurs: {states:?}");
    let written: std::collections::BTreeSet<String> = a
        .iter()
        .map(|e| e["write_date"].as_str().unwrap().to_string())
        .collect();
    assert!(
        written.len() > 40 && written.len() < 60,
        "spread, with some ties: {}",
        written.len()
    );
}
