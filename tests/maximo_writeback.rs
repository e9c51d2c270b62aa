//! Write-back to Maximo through the shipped manifest's actions and outbound
//! mappings, against the simulator: a work order created from a canonical
//! facilities item, synced back into both stores under the same id, its
//! status changed and a work log added by SYNC on its keys; throttling
//! waited out, a possibly applied create never resent, and refusals kept
//! with Maximo's reason code while nothing changes.

#[path = "maximo_writeback/harness.rs"]
mod harness;

mod common;

use serde_json::json;
use switchboard::connector::ConnectorError;
use switchboard::sim::maximo::Fault;
use switchboard::writeback::{WriteError, write_back};

use common::{Backend, TestStore, shipped_outbound};

use harness::*;

async fn created_synced_updated_and_commented(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let conn = connector(&h);

    let created = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-create-workorder.toml"),
        &heating(),
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    assert_eq!(created.status, 201);
    let id = created.id.expect("the new WORKORDERID");
    let wo = by_workorderid(&h, &id);
    assert_eq!(
        pick(
            &wo,
            &[
                "siteid",
                "status",
                "location",
                "wopriority",
                "worktype",
                "targcompdate"
            ]
        ),
        json!({"siteid": "BEDFORD", "status": "WAPPR", "location": "BR300", "wopriority": 2,
               "worktype": "CM", "targcompdate": "2026-11-21T12:00:00-05:00"}),
        "dates in the server's zone"
    );
    assert_eq!(
        pick(&wo, &["description", "description_longdescription"]),
        json!({"description": "No heating on floor 3",
               "description_longdescription": "Radiators cold since 7:00.\nRoom 3.14 is at 15 C."})
    );
    let post = &h.sim.requests()[0];
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", COLLECTION)
    );
    assert_eq!(post.query.get("lean").map(String::as_str), Some("1"));
    assert_eq!(post.headers["properties"], "workorderid,wonum");
    assert!(!post.headers.contains_key("x-method-override"));
    let wonum = text(&wo, "wonum").to_string();

    // The next sync reads it back under the id the create reported.
    let report = sync(&h, &ts).await;
    assert_eq!((report.stored, report.quarantined), (6, 0), "{report:?}");
    let stored = ts
        .store
        .work_item_summary("maximo", "workorder", &id)
        .await
        .unwrap()
        .expect("the created work order is stored");
    assert_eq!(stored.title, "No heating on floor 3");
    assert_eq!(
        (stored.status.as_str(), stored.native_status.as_deref()),
        ("new", Some("WAPPR"))
    );
    assert_eq!(stored.priority, Some(2));

    // The crew starts: the stored item, moved on, goes back by its keys.
    let mut started = stored_item(&ts.store, &id).await;
    assert_eq!(started["attributes"]["wonum"], json!(wonum));
    started["status"] = json!("in_progress");
    let count = h.sim.count();
    let updated = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-update-workorder.toml"),
        &started,
        Some(&id),
    )
    .await
    .expect("update succeeds")
    .expect("something to send");
    assert_eq!(
        (updated.status, updated.id.as_deref()),
        (200, Some(id.as_str()))
    );
    assert_eq!(h.sim.count(), count, "SYNC found it: nothing created");
    let wo = by_workorderid(&h, &id);
    assert_eq!(text(&wo, "status"), "INPRG");
    assert!(!text(&wo, "actstart").is_empty(), "{wo}");
    let history = wo["wostatus"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        history.last().map(|s| s["status"].clone()),
        Some(json!("INPRG"))
    );
    let sent = h.sim.requests().last().cloned().expect("the update");
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", COLLECTION)
    );
    assert_eq!(
        (
            sent.headers["x-method-override"].as_str(),
            sent.headers["patchtype"].as_str()
        ),
        ("SYNC", "MERGE")
    );

    // Two notes from the service desk; MERGE keeps the first.
    for status in ["in_progress", "resolved"] {
        let commented = write_back(
            conn.as_ref(),
            &shipped_outbound("maximo-comment-workorder.toml"),
            &it_progress("BEDFORD", &wonum, status),
            Some(&id),
        )
        .await
        .expect("comment succeeds")
        .expect("something to send");
        assert_eq!(commented.id.as_deref(), Some(id.as_str()));
    }
    assert_eq!(h.sim.count(), count);
    let logs = by_workorderid(&h, &id)["worklog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(logs.len(), 2, "{logs:?}");
    let line = "it incident INC0010077 (Replace badge reader at the lab door): in progress";
    assert_eq!(
        pick(
            &logs[0],
            &[
                "description",
                "description_longdescription",
                "logtype",
                "clientviewable",
                "createby"
            ]
        ),
        json!({"description": line, "description_longdescription": line, "logtype": "CLIENTNOTE",
               "clientviewable": true, "createby": "MXINTADM"})
    );
    assert!(text(&logs[1], "description").ends_with(": resolved"));

    // And the next sync stores the new status and the notes.
    let report = sync(&h, &ts).await;
    assert_eq!(report.quarantined, 0, "{report:?}");
    let stored = ts
        .store
        .work_item_summary("maximo", "workorder", &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "in_progress");
    let notes = comments(&ts.store, &id).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].starts_with(line), "{notes:?}");
}

on_every_backend!(created_synced_updated_and_commented);

#[tokio::test]
async fn a_throttled_create_is_waited_out_and_made_once() {
    let h = sim().await;
    let conn = connector(&h);
    let before = h.sim.count();
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let started = std::time::Instant::now();
    let created = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-create-workorder.toml"),
        &heating(),
        None,
    )
    .await
    .expect("the create goes through after the 429")
    .expect("something to send");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert!(created.id.is_some());
    assert_eq!(h.sim.count(), before + 1, "one work order");
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 201]);
}

#[tokio::test]
async fn a_create_that_may_have_happened_is_not_sent_again() {
    let h = sim().await;
    let conn = connector(&h);
    let before = h.sim.records();
    h.sim.inject(Fault::ServerError, 1);
    let err = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-create-workorder.toml"),
        &heating(),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.is_transient(), "{err}");
    let posts: Vec<u16> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(posts, vec![500], "one POST, not retried");
    assert_eq!(h.sim.records(), before);
}

/// The refusal as the dead-letter queue gets it: the whole exchange.
fn refusal(err: &WriteError) -> &switchboard::connector::http::Exchange {
    assert!(!err.is_transient(), "{err}");
    let WriteError::Connector(ConnectorError::Rejected { system, exchange }) = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "maximo");
    exchange
}

#[tokio::test]
async fn a_location_not_at_the_site_is_refused_with_maximos_reason() {
    let h = sim().await;
    let conn = connector(&h);
    let before = h.sim.records();
    let mut item = heating();
    item["attributes"]["maximo_location"] = json!("TX-LAB");
    let err = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-create-workorder.toml"),
        &item,
        None,
    )
    .await
    .unwrap_err();
    let exchange = refusal(&err);
    assert_eq!((exchange.method.as_str(), exchange.status), ("POST", 400));
    assert!(exchange.url.ends_with(COLLECTION), "{}", exchange.url);
    let sent = exchange.request_body.as_ref().expect("the request is kept");
    assert_eq!(
        (sent["siteid"].clone(), sent["location"].clone()),
        (json!("BEDFORD"), json!("TX-LAB"))
    );
    assert!(
        exchange.response_body.contains("BMXAA2661E"),
        "{}",
        exchange.response_body
    );
    assert_eq!(h.sim.records(), before, "nothing created");
}

#[tokio::test]
async fn a_status_move_maximo_forbids_is_refused_and_changes_nothing() {
    let h = sim().await;
    let conn = connector(&h);
    // In progress cannot be canceled: it must be completed or sent back.
    let (rest, mut item) = seeded_canonical(&h, "INPRG");
    item["status"] = json!("cancelled");
    let before = h.sim.get(&rest).expect("exists");
    let err = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-update-workorder.toml"),
        &item,
        Some("ignored by SYNC"),
    )
    .await
    .unwrap_err();
    let exchange = refusal(&err);
    assert_eq!(exchange.status, 400);
    let sent = exchange.request_body.as_ref().expect("the request is kept");
    assert_eq!(sent["status"], "CAN");
    assert_eq!(sent["wonum"], before["wonum"]);
    for code in ["BMXAA4590E", "BMXAA4200E"] {
        assert!(
            exchange.response_body.contains(code),
            "{code}: {}",
            exchange.response_body
        );
    }
    assert_eq!(h.sim.get(&rest), Some(before), "unchanged");
}

#[tokio::test]
async fn a_record_without_the_work_orders_keys_is_never_sent() {
    let h = sim().await;
    let conn = connector(&h);
    let (_, item) = seeded_canonical(&h, "INPRG");
    let mut no_wonum = item.clone();
    no_wonum["attributes"]
        .as_object_mut()
        .expect("attributes")
        .remove("wonum");
    let mut empty_site = it_progress("", "1001", "resolved");
    empty_site["attributes"]["siteid"] = json!("");
    let cases = [
        ("maximo-update-workorder.toml", no_wonum.clone(), "wonum"),
        ("maximo-comment-workorder.toml", no_wonum, "wonum"),
        ("maximo-comment-workorder.toml", empty_site, "siteid"),
    ];
    for (file, record, rule) in cases {
        let err = write_back(conn.as_ref(), &shipped_outbound(file), &record, Some("1"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, WriteError::Render(e) if e.rule.ends_with(rule)),
            "{file}: {err:?}"
        );
        assert!(!err.is_transient());
    }
    let heating_without_site = {
        let mut item = heating();
        item["attributes"]
            .as_object_mut()
            .expect("attributes")
            .remove("maximo_siteid");
        item
    };
    let err = write_back(
        conn.as_ref(),
        &shipped_outbound("maximo-create-workorder.toml"),
        &heating_without_site,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, WriteError::Render(_)), "{err:?}");
    assert!(
        h.sim.requests().is_empty(),
        "no SYNC can turn into a create"
    );
}
