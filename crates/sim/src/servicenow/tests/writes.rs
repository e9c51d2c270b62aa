//! Write-side HTTP tests (POST/PATCH/PUT), injected faults, the
//! between-pages hook, and properties of the seed data.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Duration;
use serde_json::{Map, json};

use super::super::seed::fmt_time;
use super::super::{Fault, ServiceNowSim, SimConfig};
use super::{NOW, body, client, get, header, now, start};

#[tokio::test]
async fn creates_then_updates_a_record() {
    let h = start(5).await;
    let url = format!("{}/api/now/table/incident", h.base_url);
    let created = client()
        .post(&url)
        .basic_auth("admin", Some("sim-password"))
        .json(&json!({"short_description": "Unable to connect to office wifi", "impact": "2", "urgency": 1, "sys_created_on": "1999-01-01 00:00:00"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), 201);
    let location = header(&created, "location");
    let rec = body(created).await["result"].clone();
    let id = rec["sys_id"].as_str().unwrap_or("").to_string();
    assert_eq!(location, format!("{url}/{id}"));
    assert_eq!(rec["number"], "INC0010006");
    assert_eq!(
        (
            rec["priority"].as_str(),
            rec["urgency"].as_str(),
            rec["state"].as_str()
        ),
        (Some("2"), Some("1"), Some("1"))
    );
    assert_eq!(
        (
            rec["sys_mod_count"].as_str(),
            rec["sys_created_by"].as_str()
        ),
        (Some("0"), Some("admin"))
    );
    assert_eq!(
        rec["sys_created_on"],
        json!(fmt_time(now())),
        "sys_ fields are system-maintained"
    );
    assert_eq!(rec["close_notes"], "", "unspecified columns exist, empty");
    let fetched = body(get(&h, &format!("/api/now/table/incident/{id}"), &[]).await).await;
    assert_eq!(fetched["result"], rec);

    let later = now() + Duration::minutes(5);
    h.sim.set_now(later);
    let patched = client()
        .patch(format!("{url}/{id}"))
        .basic_auth("admin", Some("sim-password"))
        .json(&json!({"state": "6", "close_code": "Solved (Permanently)"}))
        .send()
        .await
        .expect("request");
    assert_eq!(patched.status(), 200);
    let rec = body(patched).await["result"].clone();
    assert_eq!(rec["sys_updated_on"], json!(fmt_time(later)));
    assert_eq!(rec["sys_mod_count"], "1");
    assert_eq!(rec["resolved_at"], json!(fmt_time(later)));
    let stored = h.sim.get("incident", &id).unwrap_or_default();
    assert_eq!(stored["close_code"], "Solved (Permanently)");

    let gone = client()
        .put(format!("{url}/ffffffffffffffffffffffffffffffff"))
        .basic_auth("admin", Some("sim-password"))
        .json(&json!({}))
        .send()
        .await
        .expect("request");
    assert_eq!(gone.status(), 404);
    let bad = client()
        .post(&url)
        .basic_auth("admin", Some("sim-password"))
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(bad.status(), 400);
    assert_eq!(
        body(bad).await["error"]["message"],
        "Exception while reading request"
    );
    assert_eq!(h.sim.count("incident"), 6);
    h.shutdown().await;
}

#[tokio::test]
async fn injected_faults_are_served_then_consumed() {
    let h = start(2).await;
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        2,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::Unavailable, 1);
    let unauth = client()
        .get(format!("{}/api/now/table/incident", h.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(
        unauth.status(),
        401,
        "unauthenticated requests do not consume faults"
    );
    for _ in 0..2 {
        let resp = get(&h, "/api/now/table/incident", &[]).await;
        assert_eq!(resp.status(), 429);
        assert_eq!(header(&resp, "retry-after"), "7");
        assert_eq!(header(&resp, "x-ratelimit-limit"), "100");
        assert_eq!(header(&resp, "x-ratelimit-reset"), (NOW + 7).to_string());
        assert!(!header(&resp, "x-ratelimit-rule").is_empty());
        assert_eq!(body(resp).await["error"]["message"], "Rate limit exceeded");
    }
    assert_eq!(get(&h, "/api/now/table/incident", &[]).await.status(), 500);
    assert_eq!(get(&h, "/api/now/table/incident", &[]).await.status(), 503);
    assert_eq!(get(&h, "/api/now/table/incident", &[]).await.status(), 200);
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 429, 429, 500, 503, 200]);
    h.shutdown().await;
}

#[tokio::test]
async fn list_hook_fires_once_after_the_nth_list_request() {
    let h = start(4).await;
    let target = h.sim.records("incident")[0]["sys_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let fired = Arc::new(AtomicUsize::new(0));
    let (counter, id) = (fired.clone(), target.clone());
    h.sim.after_list_request(
        1,
        Box::new(move |sim| {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut fields = Map::new();
            fields.insert("short_description".into(), json!("changed between pages"));
            assert!(sim.update("incident", &id, fields));
        }),
    );
    let first = body(get(&h, "/api/now/table/incident", &[("sysparm_limit", "2")]).await).await;
    assert_ne!(
        first["result"][0]["short_description"], "changed between pages",
        "hook runs after the response is computed"
    );
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    let _ = get(
        &h,
        "/api/now/table/incident",
        &[("sysparm_limit", "2"), ("sysparm_offset", "2")],
    )
    .await;
    let _ = get(&h, &format!("/api/now/table/incident/{target}"), &[]).await;
    assert_eq!(fired.load(Ordering::SeqCst), 1);
    let stored = h.sim.get("incident", &target).unwrap_or_default();
    assert_eq!(stored["short_description"], "changed between pages");
    assert_eq!(
        stored["sys_mod_count"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .map(|n| n >= 2),
        Some(true)
    );
    h.shutdown().await;
}

#[test]
fn seed_is_deterministic_and_realistic() {
    let a = ServiceNowSim::with_clock(SimConfig::default(), now());
    let b = ServiceNowSim::with_clock(SimConfig::default(), now());
    assert_eq!(a.records("incident"), b.records("incident"));
    assert_eq!(a.count("incident"), 50);
    assert_eq!(a.count("sys_user"), 50);
    let cutoff = fmt_time(now());
    for inc in a.records("incident") {
        let s = |k: &str| inc[k].as_str().unwrap_or("").to_string();
        assert!(s("sys_updated_on") < cutoff && s("sys_created_on") <= s("sys_updated_on"));
        assert_eq!(
            s("resolved_at").is_empty(),
            !matches!(s("state").as_str(), "6" | "7")
        );
        assert!(a.get("sys_user", &s("caller_id")).is_some());
    }
    assert_eq!(a.records("incident")[0]["number"], "INC0010001");
}

/// `DELETE /api/now/table/{table}/{sys_id}`: 204, the record vanishes from
/// every query, and `sys_audit_delete` serves a row for it, filtered and
/// paged like any table.
#[tokio::test]
async fn a_deleted_record_leaves_an_audit_row() {
    let h = start(4).await;
    let ids: Vec<String> = h
        .sim
        .records("incident")
        .iter()
        .map(|r| r["sys_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let delete = |id: &str| {
        client()
            .delete(format!("{}/api/now/table/incident/{id}", h.base_url))
            .basic_auth("admin", Some("sim-password"))
            .send()
    };
    assert_eq!(delete(&ids[0]).await.expect("request").status(), 204);
    assert_eq!(delete(&ids[0]).await.expect("request").status(), 404);
    h.sim.set_now(now() + Duration::seconds(10));
    assert!(h.sim.delete("incident", &ids[1]));
    // Another table's deletion is audited under its own name.
    let request = h.sim.records("sc_request")[0]["sys_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(h.sim.delete("sc_request", &request));

    let listed = body(get(&h, "/api/now/table/incident", &[]).await).await;
    assert_eq!(listed["result"].as_array().map(Vec::len), Some(2));
    let later = fmt_time(now() + Duration::seconds(5));
    let query = format!("tablename=incident^sys_created_on>={later}^ORDERBYsys_created_on");
    let rows = body(
        get(
            &h,
            "/api/now/table/sys_audit_delete",
            &[("sysparm_query", query.as_str())],
        )
        .await,
    )
    .await;
    let rows = rows["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["documentkey"], ids[1].as_str());
    assert_eq!(rows[0]["tablename"], "incident");
    let page = get(
        &h,
        "/api/now/table/sys_audit_delete",
        &[
            ("sysparm_query", "tablename=incident"),
            ("sysparm_limit", "1"),
        ],
    )
    .await;
    assert_eq!(header(&page, "x-total-count"), "2");
    assert_eq!(body(page).await["result"].as_array().map(Vec::len), Some(1));
}
