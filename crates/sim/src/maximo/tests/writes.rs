//! Write-side HTTP tests (create, PATCH, MERGE of work logs, SYNC, the
//! changeStatus action), their error bodies, injected faults and the
//! between-pages hook.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use super::super::model::rest_id;
use super::super::{Fault, SimHandle};
use super::{KEY, WO, assert_error, body, client, get, members, now, start};

async fn post(
    h: &SimHandle,
    path: &str,
    headers: &[(&str, &str)],
    json: &Value,
) -> reqwest::Response {
    let mut req = client()
        .post(format!("{}{path}", h.base_url))
        .header("apikey", KEY)
        .json(json);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

const PATCH: (&str, &str) = ("x-method-override", "PATCH");
const MERGE: (&str, &str) = ("patchtype", "MERGE");

fn id_of(rec: &Value) -> String {
    rest_id(
        rec["siteid"].as_str().unwrap_or_default(),
        rec["wonum"].as_str().unwrap_or_default(),
    )
}

/// A work order in `status`, by its rest id.
fn in_status(h: &SimHandle, status: &str) -> String {
    let rec = h
        .sim
        .records()
        .into_iter()
        .find(|r| r["status"] == status)
        .expect("seeded status");
    id_of(&rec)
}

#[tokio::test]
async fn creates_and_reads_back() {
    let h = start(5).await;
    let created = post(
        &h,
        &format!("{WO}?lean=1"),
        &[],
        &json!({
            "siteid": "TEXAS", "description": "Replace badge reader at the lab door",
            "description_longdescription": "Reader shows red on every badge.",
            "location": "TX-LAB", "worktype": "CM", "wopriority": "2", "reportedby": "WILSON",
            "worklog": [{"description": "Reported by phone", "logtype": "CLIENTNOTE"}],
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        location,
        format!("{}{WO}/{}", h.base_url, rest_id("TEXAS", "1005"))
    );
    assert_eq!(
        created.text().await.unwrap_or_default(),
        "",
        "no body without a properties header"
    );

    let read: Value = client()
        .get(format!("{location}?lean=1"))
        .header("apikey", KEY)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        (
            read["wonum"].clone(),
            read["status"].clone(),
            read["wopriority"].clone(),
            read["orgid"].clone()
        ),
        (json!("1005"), json!("WAPPR"), json!(2), json!("EAGLENA"))
    );
    assert_eq!(
        read["changedate"], "2024-03-01T09:30:00-05:00",
        "now, in server time"
    );
    assert_eq!(read["worklog"][0]["description"], "Reported by phone");
    assert_eq!(read["worklog"][0]["createby"], "MXINTADM");

    // With a properties header, the answer carries the new record.
    let with = post(
        &h,
        &format!("{WO}?lean=1"),
        &[("properties", "wonum,status,href")],
        &json!({"siteid": "BEDFORD", "wonum": "X-1", "description": "Paint the stairwell", "status": "APPR"}),
    )
    .await;
    assert_eq!(with.status(), 201);
    let rec = body(with).await;
    assert_eq!(
        (rec["wonum"].clone(), rec["status"].clone()),
        (json!("X-1"), json!("APPR"))
    );
    assert!(
        rec["href"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&rest_id("BEDFORD", "X-1"))
    );
    assert!(rec.get("description").is_none());
}

#[tokio::test]
async fn refuses_bad_creates_with_the_servers_messages() {
    let h = start(2).await;
    let taken = h.sim.records()[0].clone();
    let site_of_1000 = taken["siteid"].as_str().unwrap_or_default().to_string();
    let cases = [
        (
            json!({"description": "No site"}),
            "BMXAA4195E",
            "Site field on the WORKORDER object",
        ),
        (json!({"siteid": "MOON"}), "BMXAA4153E", "MOON"),
        (
            json!({"siteid": site_of_1000, "wonum": "1000"}),
            "BMXAA4129E",
            "Work Order=1000",
        ),
        (
            json!({"siteid": "BEDFORD", "location": "TX-LAB"}),
            "BMXAA2661E",
            "TX-LAB",
        ),
        (
            json!({"siteid": "BEDFORD", "status": "DONE"}),
            "BMXAA4590E",
            "status to DONE",
        ),
        (
            json!({"siteid": "BEDFORD", "wopriority": "high"}),
            "BMXAA4049E",
            "Priority",
        ),
    ];
    for (payload, reason, text) in cases {
        let resp = post(&h, &format!("{WO}?lean=1"), &[], &payload).await;
        assert_eq!(resp.status(), 400, "{payload}");
        let b = body(resp).await;
        assert_error(&b, "400", reason);
        assert!(
            b["Error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(text),
            "{b}"
        );
    }
    let not_json = client()
        .post(format!("{}{WO}", h.base_url))
        .header("apikey", KEY)
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), 400);
    assert_eq!(h.sim.count(), 2, "nothing refused was stored");
}

#[tokio::test]
async fn patches_fields_and_changes_status() {
    let h = start(30).await;
    let id = in_status(&h, "APPR");
    let before = h.sim.get(&id).expect("exists");
    h.sim.set_now(now() + chrono::Duration::hours(1));
    let resp = post(
        &h,
        &format!("{WO}/{id}?lean=1"),
        &[PATCH],
        &json!({"status": "INPRG", "np_statusmemo": "Crew on site", "description": "HVAC fixed?"}),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let after = h.sim.get(&id).expect("exists");
    assert_eq!(after["status"], "INPRG");
    assert_eq!(after["description"], "HVAC fixed?");
    assert_eq!(after["changedate"], "2024-03-01T10:30:00-05:00");
    assert_eq!(after["changeby"], "MXINTADM");
    assert_ne!(after["_rowstamp"], before["_rowstamp"]);
    let history = after["wostatus"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        history.last().map(|e| e["memo"].clone()),
        Some(json!("Crew on site"))
    );

    // The same status again by PATCH is no change; a move the status
    // handler forbids is refused.
    assert_eq!(
        post(
            &h,
            &format!("{WO}/{id}?lean=1"),
            &[PATCH],
            &json!({"status": "INPRG"})
        )
        .await
        .status(),
        204
    );
    let back = post(
        &h,
        &format!("{WO}/{id}?lean=1"),
        &[PATCH],
        &json!({"status": "CAN"}),
    )
    .await;
    assert_eq!(back.status(), 400);
    let b = body(back).await;
    assert_error(&b, "400", "BMXAA4590E");
    // With properties, 200 and the record.
    let shown = post(
        &h,
        &format!("{WO}/{id}?lean=1"),
        &[PATCH, ("properties", "status,wopriority")],
        &json!({"wopriority": 1}),
    )
    .await;
    assert_eq!(shown.status(), 200);
    assert_eq!(body(shown).await["wopriority"], 1);
    // POST on a member without the override is refused.
    assert_eq!(
        post(&h, &format!("{WO}/{id}"), &[], &json!({}))
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn merges_or_replaces_work_logs() {
    let h = start(30).await;
    let rec = h
        .sim
        .records()
        .into_iter()
        .find(|r| {
            r["worklog"].as_array().is_some_and(|l| l.len() >= 2) && r["historyflag"] == false
        })
        .expect("a work order with logs");
    let id = id_of(&rec);
    let first = rec["worklog"][0]["worklogid"].clone();
    let merged = post(
        &h,
        &format!("{WO}/{id}?lean=1"),
        &[PATCH, MERGE],
        &json!({"worklog": [{"description": "Comment from the service desk", "description_longdescription": "Caller asks for an update."},
                            {"worklogid": first, "description": "Edited summary"}]}),
    )
    .await;
    assert_eq!(merged.status(), 204);
    let logs = h.sim.get(&id).expect("exists")["worklog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        logs.len(),
        rec["worklog"].as_array().map_or(0, Vec::len) + 1,
        "merged, none deleted"
    );
    assert!(
        logs.iter()
            .any(|l| l["worklogid"] == first && l["description"] == "Edited summary")
    );
    assert_eq!(
        logs.last().map(|l| l["description"].clone()),
        Some(json!("Comment from the service desk"))
    );

    // Without MERGE the array replaces the work logs.
    let replaced = post(
        &h,
        &format!("{WO}/{id}?lean=1"),
        &[PATCH],
        &json!({"worklog": [{"description": "Only this"}]}),
    )
    .await;
    assert_eq!(replaced.status(), 204);
    let logs = h.sim.get(&id).expect("exists")["worklog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(logs.len(), 1);
    // A work log needs its summary.
    let empty = post(
        &h,
        &format!("{WO}/{id}?lean=1"),
        &[PATCH, MERGE],
        &json!({"worklog": [{"logtype": "WORK"}]}),
    )
    .await;
    assert_error(&body(empty).await, "400", "BMXAA4195E");

    // A closed work order still takes work logs, nothing else.
    let closed = in_status(&h, "CLOSE");
    let note = post(
        &h,
        &format!("{WO}/{closed}?lean=1"),
        &[PATCH, MERGE],
        &json!({"worklog": [{"description": "Late note"}]}),
    )
    .await;
    assert_eq!(note.status(), 204);
    let edit = post(
        &h,
        &format!("{WO}/{closed}?lean=1"),
        &[PATCH],
        &json!({"description": "Reopen?"}),
    )
    .await;
    assert_eq!(edit.status(), 400);
}

#[tokio::test]
async fn sync_updates_by_key_or_creates() {
    let h = start(5).await;
    let rec = h
        .sim
        .records()
        .into_iter()
        .find(|r| r["historyflag"] == false)
        .expect("open work order");
    let sync = ("x-method-override", "SYNC");
    let updated = post(
        &h,
        &format!("{WO}?lean=1"),
        &[sync, MERGE],
        &json!({"siteid": rec["siteid"], "wonum": rec["wonum"], "worklog": [{"description": "Synced note"}]}),
    )
    .await;
    assert_eq!(updated.status(), 204);
    assert_eq!(h.sim.count(), 5);
    let logs = h.sim.get(&id_of(&rec)).expect("exists")["worklog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(logs.iter().any(|l| l["description"] == "Synced note"));
    let created = post(
        &h,
        &format!("{WO}?lean=1"),
        &[sync],
        &json!({"siteid": "NASHUA", "wonum": "N-7", "description": "New"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(h.sim.count(), 6);
}

#[tokio::test]
async fn change_status_action() {
    let h = start(30).await;
    let id = in_status(&h, "INPRG");
    let url = format!("{WO}/{id}?lean=1&action=wsmethod:changeStatus");
    let done = post(
        &h,
        &url,
        &[PATCH],
        &json!({"status": "COMP", "memo": "Fixed", "date": "2024-03-01T08:00:00-05:00"}),
    )
    .await;
    assert_eq!(done.status(), 204);
    let rec = h.sim.get(&id).expect("exists");
    assert_eq!(
        (rec["status"].clone(), rec["statusdate"].clone()),
        (json!("COMP"), json!("2024-03-01T08:00:00-05:00"))
    );
    assert_eq!(
        rec["changedate"], "2024-03-01T09:30:00-05:00",
        "backdated status, current change"
    );
    let again = post(&h, &url, &[PATCH], &json!({"status": "COMP"})).await;
    let b = body(again).await;
    assert_error(&b, "400", "BMXAA4590E");
    assert!(
        b["Error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("BMXAA0032E"),
        "{b}"
    );
    let unknown = post(
        &h,
        &format!("{WO}/{id}?lean=1&action=wsmethod:approveAll"),
        &[PATCH],
        &json!({}),
    )
    .await;
    assert_eq!(unknown.status(), 400);
}

#[tokio::test]
async fn injected_faults_then_recovery() {
    let h = start(3).await;
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 7,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::Unavailable, 1);
    let throttled = get(&h, WO, &[("lean", "1")]).await;
    assert_eq!(throttled.status(), 429);
    assert_eq!(throttled.headers()["retry-after"], "7");
    let failed = get(&h, WO, &[("lean", "1")]).await;
    assert_eq!(failed.status(), 500);
    assert_error(&body(failed).await, "500", "BMXAA6713E");
    let down = get(&h, WO, &[("lean", "1")]).await;
    assert_eq!(down.status(), 503);
    assert!(
        down.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert_eq!(
        members(&body(get(&h, WO, &[("lean", "1")]).await).await).len(),
        3
    );
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 503, 200]);
}

#[tokio::test]
async fn hooks_run_after_the_nth_served_query() {
    let h = start(6).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let seen = ran.clone();
    let open = h
        .sim
        .records()
        .into_iter()
        .position(|r| r["historyflag"] == false)
        .expect("open work order");
    let target = id_of(&h.sim.records()[open]);
    h.sim.after_list_request(
        2,
        Box::new(move |sim| {
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = sim.update(&target, json!({"description": "Changed between pages"}));
        }),
    );
    h.sim.inject(Fault::ServerError, 1);
    for _ in 0..4 {
        let _ = get(&h, WO, &[("lean", "1"), ("oslc.pageSize", "2")]).await;
    }
    assert_eq!(
        ran.load(Ordering::SeqCst),
        1,
        "a faulted query is not counted; the hook runs once"
    );
    assert_eq!(
        h.sim.records()[open]["description"],
        "Changed between pages"
    );
}
