//! The simulator's wire against plain HTTP: login, the `Session`
//! authorization and its expiry, domains over datetime objects, paging.

use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

async fn call(base: &str, auth: Option<&str>, method: &str, params: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{base}/tryton/"))
        .json(&json!({"id": 1, "method": method, "params": params}));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn session_header(login: &str, result: &Value) -> String {
    let raw = format!("{login}:{}:{}", result[0], result[1].as_str().unwrap());
    format!(
        "Session {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[tokio::test]
async fn sessions_authorize_and_expire() {
    let h = TrytonSim::spawn(SimConfig::default()).await.unwrap();
    let (_, bad) = call(
        &h.base_url,
        None,
        "common.db.login",
        json!(["admin", {"password": "no"}, "en"]),
    )
    .await;
    assert_eq!(bad["result"], Value::Null, "bad credentials return nothing");
    let (_, ok) = call(
        &h.base_url,
        None,
        "common.db.login",
        json!(["admin", {"password": "sim-tryton-password"}, "en"]),
    )
    .await;
    let auth = session_header("admin", &ok["result"]);
    let search = json!([[], 0, 5, [["id", "ASC"]], ["name"], {}]);
    let (status, _) = call(
        &h.base_url,
        None,
        "model.party.party.search_read",
        search.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = call(
        &h.base_url,
        Some("Session bm9wZTpub3BlOm5vcGU="),
        "model.party.party.search_read",
        search.clone(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = call(
        &h.base_url,
        Some(&auth),
        "model.party.party.search_read",
        search.clone(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"].as_array().unwrap().len(), 5);
    h.sim.expire_sessions();
    let (status, _) = call(
        &h.base_url,
        Some(&auth),
        "model.party.party.search_read",
        search,
    )
    .await;
    assert_eq!(status, 401, "an expired session is refused");
}

#[tokio::test]
async fn changed_since_is_created_or_written_since_with_datetime_objects() {
    let sim = TrytonSim::new(SimConfig::default());
    // Party 3 was created at 10:00 on 1 Nov and written a day later.
    let t = datetime_object(Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap());
    let domain = json!(["OR", ["create_date", ">=", t], ["write_date", ">=", t]]);
    let st = sim.lock();
    let found =
        super::rpc_search(&st, &[domain, json!(0), json!(100), json!([["id", "ASC"]])]).unwrap();
    let ids: Vec<i64> = found.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    // Created from 09:00 on 2 Nov: ids 26..; written then or later: 3, 6, …
    assert!(
        ids.contains(&3) && ids.contains(&24) && !ids.contains(&1),
        "{ids:?}"
    );
    assert_eq!(found[0]["write_date"]["__class__"], "datetime");
    assert_eq!(
        from_datetime_object(&found[0]["create_date"]),
        Some(Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap())
    );
}
