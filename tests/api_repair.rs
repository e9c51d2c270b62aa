//! Repairs through the API, on both stores, against the simulated estate
//! (over RabbitMQ: `api_repair_broker.rs`):
//! quarantined records listed a page at a time, shown to admins only, and
//! retried with the mapping the daemon runs now; dead letters listed and
//! replayed once routing is fixed; every retry and replay in the audit log.
//! The handlers call `ops`, as `switchboard quarantine` and `dlq` do.

mod common;

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use switchboard::catalog::ConnectorJobs;
use switchboard::diag::SourceFile;
use switchboard::mapping::Mapping;
use switchboard::routing::Routing;

use common::Backend;
use common::hub::{Hub, scalar};
use common::repair::{audited, fields, get, post, serve};

fn incident_job(connectors: &[Arc<ConnectorJobs>]) -> &switchboard::sync::SyncJob {
    connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find(|j| j.system() == "servicenow" && j.stream.name == "incident")
        .expect("the shipped servicenow incident stream")
}

/// The admin edits the incident mapping; hot reload swaps it in.
fn edit_mapping(connectors: &[Arc<ConnectorJobs>], from: &str, to: &str) {
    let shipped =
        std::fs::read_to_string(common::repo().join("mappings/servicenow-incident.toml")).unwrap();
    let edited = shipped.replacen(from, to, 1);
    assert_ne!(shipped, edited, "the edit applies");
    let source = SourceFile::new("servicenow-incident.toml", &edited);
    let mapping = Mapping::from_source(&source).unwrap_or_else(|d| panic!("{d}"));
    incident_job(connectors).mapping.replace(Arc::new(mapping));
}

const CANCELLED: &str = "\"8\" = \"cancelled\"";

async fn quarantined_records_are_paged_shown_to_admins_and_retried(backend: Backend) {
    let mut hub = Hub::start(backend).await;
    hub.sync("servicenow").await;
    // A state the shipped mapping has no value for: rejected.
    let titles = ["Quarantine one", "Quarantine two", "Quarantine three"];
    for t in titles {
        hub.estate.servicenow.sim.insert(
            "incident",
            fields(&[("short_description", t), ("state", "99")]),
        );
    }
    hub.sync("servicenow").await;
    let (base, connectors) = serve(&mut hub).await;

    // Listed a page at a time, oldest first, for agents.
    let (status, page) = get(&base, "/api/v1/quarantine?limit=2", Some("agent-token")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let first = page["items"].as_array().unwrap().clone();
    assert_eq!(first.len(), 2, "{page}");
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, page) = get(
        &base,
        &format!("/api/v1/quarantine?limit=2&cursor={cursor}"),
        Some("agent-token"),
    )
    .await;
    let rest = page["items"].as_array().unwrap().clone();
    assert_eq!(rest.len(), 1, "{page}");
    assert!(page["next_cursor"].is_null(), "{page}");
    let ids: Vec<i64> = first
        .iter()
        .chain(&rest)
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first: {ids:?}");
    assert!(
        first
            .iter()
            .chain(&rest)
            .all(|i| i["system"] == "servicenow"
                && i["stream"] == "incident"
                && i["reason"].as_str().is_some_and(|r| r.contains("99"))
                && i.get("payload").is_none())
    );
    let (_, none) = get(
        &base,
        "/api/v1/quarantine?system=maximo",
        Some("agent-token"),
    )
    .await;
    assert_eq!(none["items"], json!([]), "{none}");
    let (status, _) = get(&base, "/api/v1/quarantine?cursor=x", Some("agent-token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The raw payload is for admins.
    let one = format!("/api/v1/quarantine/{}", ids[0]);
    assert_eq!(get(&base, &one, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(&base, &one, Some("agent-token")).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, record) = get(&base, &one, Some("admin-token")).await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["id"], ids[0]);
    assert_eq!(record["payload"]["state"], "99", "{record}");
    assert!(
        record["reason"].as_str().unwrap().contains("99"),
        "{record}"
    );
    let (status, missing) = get(&base, "/api/v1/quarantine/999999", Some("admin-token")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");

    // Retries are for admins, and an empty filter retries nothing.
    let retry_all = "/api/v1/quarantine/retry";
    let (status, _) = post(&base, retry_all, "agent-token", Some(json!({"all": true}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for body in [
        None,
        Some(json!({})),
        Some(json!({"all": true, "system": "servicenow"})),
    ] {
        let (status, p) = post(&base, retry_all, "admin-token", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {p}");
    }
    let (status, _) = post(
        &base,
        retry_all,
        "admin-token",
        Some(json!({"everything": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an unknown key is refused");
    let before = record["mapping_version"].clone();

    // A mapping still without the value: the record stays, rejected by
    // the new version.
    edit_mapping(
        &connectors,
        CANCELLED,
        "\"8\" = \"cancelled\"\n\"98\" = \"new\"",
    );
    let (status, r) = post(&base, &format!("{one}/retry"), "admin-token", None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["still_quarantined"], 1, "{r}");
    assert_eq!(
        (
            r["streams"][0]["retried"].clone(),
            r["streams"][0]["quarantined"].clone()
        ),
        (json!(1), json!(1)),
        "{r}"
    );
    let left = &r["remaining"][0];
    assert_eq!(left["id"], ids[0], "{r}");
    assert_ne!(
        left["mapping_version"], before,
        "rejected again by the edited mapping: {r}"
    );
    assert_eq!(left["attempts"], 2, "{r}");
    assert!(left["reason"].as_str().unwrap().contains("99"), "{r}");

    // Fixed: every record leaves quarantine for work_items.
    edit_mapping(
        &connectors,
        CANCELLED,
        "\"8\" = \"cancelled\"\n\"99\" = \"new\"",
    );
    let body = json!({"system": "servicenow", "stream": "incident"});
    let (status, r) = post(&base, retry_all, "admin-token", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["stored"].clone(), r["still_quarantined"].clone()),
        (json!(3), json!(0)),
        "{r}"
    );
    assert_eq!(r["remaining"], json!([]), "{r}");
    let stored = scalar(
        hub.store(),
        "SELECT COUNT(*) FROM work_items WHERE title LIKE 'Quarantine %' AND status = 'new'",
    )
    .await;
    assert_eq!(stored, 3);
    let (_, page) = get(&base, "/api/v1/quarantine", Some("agent-token")).await;
    assert_eq!(page["items"], json!([]), "{page}");
    let (status, _) = post(&base, &format!("{one}/retry"), "admin-token", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no longer in quarantine");

    // Each retry is in the audit log, with who and what, newest first;
    // the refused one (no such record) did nothing and is not.
    let log = audited(&base, "retry_quarantine").await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|r| r["actor"] == "ops"), "{log:?}");
    assert_eq!(
        log[0]["target"], "servicenow/incident",
        "newest first: {log:?}"
    );
    assert_eq!(log[0]["detail"]["streams"][0]["stored"], 3, "{log:?}");
    assert_eq!(log[1]["target"], ids[0].to_string(), "{log:?}");
    assert_eq!(log[1]["detail"]["still_quarantined"], 1, "{log:?}");
    hub.estate.shutdown().await;
}

const HEATING_WHEN: &str = "record.kind == 'incident'\n  && record.department != 'facilities'";

async fn a_dead_letter_is_listed_and_replayed_after_routing_is_fixed(backend: Backend) {
    // A condition that reads a field these tickets lack fails at run time:
    // the change is a dead letter with target `unrouted`.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(common::repo().join("routing.toml")).unwrap();
    let broken = shipped.replace(
        HEATING_WHEN,
        &format!("record.attributes.floor != '' && {HEATING_WHEN}"),
    );
    assert_ne!(shipped, broken);
    let path = dir.path().join("routing.toml");
    std::fs::write(&path, broken).unwrap();
    let mut hub = Hub::start_with(backend, Some(path), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let orders = hub.estate.maximo.sim.count();
    let ticket = hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "No heating on floor 3"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    let (base, connectors) = serve(&mut hub).await;

    let (status, list) = get(&base, "/api/v1/dead-letters", Some("agent-token")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let letter = &items[0];
    assert_eq!(letter["routing_key"], "unrouted");
    assert_eq!(letter["kept"], "store");
    assert_eq!(letter["subject"], json!(ticket));
    assert!(
        letter["reason"].as_str().unwrap().contains("floor"),
        "{letter}"
    );
    assert!(letter.get("event").is_none() && letter.get("payload").is_none());
    let id = letter["id"].as_str().unwrap().to_string();
    let one = format!("/api/v1/dead-letters/{id}/replay");
    assert_eq!(
        get(&base, "/api/v1/dead-letters", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    assert_eq!(
        post(&base, &one, "agent-token", None).await.0,
        StatusCode::FORBIDDEN
    );
    let all = "/api/v1/dead-letters/replay";
    for body in [None, Some(json!({})), Some(json!({"all": false}))] {
        let (status, p) = post(&base, all, "admin-token", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body:?}: {p}");
    }
    let (status, p) = post(
        &base,
        "/api/v1/dead-letters/nope/replay",
        "admin-token",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{p}");

    // Before the fix the letter renders to the same failure and stays.
    let (status, r) = post(&base, &one, "admin-token", None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["letters"][0]["result"], "rendered_again", "{r}");
    assert!(
        r["letters"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("still not routed"),
        "{r}"
    );
    assert_eq!(
        get(&base, "/api/v1/dead-letters", Some("agent-token"))
            .await
            .1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The admin fixes routing.toml; the replay routes the change, once.
    let routing = Routing::from_source(&SourceFile::new("routing.toml", &shipped))
        .unwrap_or_else(|d| panic!("{d}"));
    let router = connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find_map(|j| j.router.clone())
        .expect("routing is in place");
    router.routing.replace(Arc::new(routing));
    let (status, r) = post(&base, all, "admin-token", Some(json!({"all": true}))).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["replayed"].clone(), r["failed"].clone()),
        (json!(1), json!(0)),
        "{r}"
    );
    let detail = r["letters"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("(queued)") && detail.contains("maximo"),
        "{r}"
    );
    let (_, list) = get(&base, "/api/v1/dead-letters", Some("agent-token")).await;
    assert_eq!(list["items"], json!([]), "{list}");
    let d = hub.deliver().await;
    assert_eq!((d.applied, d.dead), (1, 0), "{d:?}");
    assert_eq!(
        hub.estate.maximo.sim.count(),
        orders + 1,
        "the work order exists"
    );
    let (_, r) = post(&base, all, "admin-token", Some(json!({"all": true}))).await;
    assert_eq!(r["replayed"], 0, "nothing left to replay: {r}");

    // Newest first; a replay refused (no such letter) did nothing and is
    // not an action.
    let log = audited(&base, "replay_dead_letters").await;
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.iter().all(|r| r["actor"] == "ops"), "{log:?}");
    assert_eq!(log[1]["target"], "all", "{log:?}");
    assert_eq!(log[1]["detail"]["replayed"], 1, "{log:?}");
    assert_eq!(log[2]["target"], id, "{log:?}");
    hub.estate.shutdown().await;
}

on_every_backend!(
    quarantined_records_are_paged_shown_to_admins_and_retried,
    a_dead_letter_is_listed_and_replayed_after_routing_is_fixed,
);
