//! Webhooks end to end: the daemon's `POST /hooks/{system}` with a real
//! store on SQLite and PostgreSQL. Bad signatures are refused; a delivery
//! the sender retries is taken once.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::connector::Manifest;
use switchboard::daemon::http::{Hook, router};
use switchboard::diag::SourceFile;
use switchboard::mapping::{Mapping, MappingSlot};
use switchboard::store::{CountedTable, Store};

use common::{Backend, TestStore};

const MANIFEST: &str = r#"version = 1
system = "jira-hooks"
kind = "webhook"
department = "it"
secret = "env:SWITCHBOARD_TEST_HOOK_SECRET_UNSET"
signature_header = "X-Hub-Signature"
signature_prefix = "sha256="
delivery_id_header = "X-Atlassian-Webhook-Identifier"

[stream]
name = "issue"
records = "issue"
key = "key"
"#;

const MAPPING: &str = r#"version = 1
system = "jira-hooks"
stream = "issue"
entity = "work_item"

[fields]
kind = { const = "request" }
title = { path = "fields.summary" }
department = { path = "fields.team" }
status = { path = "fields.status.statusCategory.key", map = "category" }

[maps.category]
new = "new"
indeterminate = "in_progress"
done = "resolved"
"#;

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn serve(store: Store) -> String {
    let text = MANIFEST.replace("env:SWITCHBOARD_TEST_HOOK_SECRET_UNSET", "hook-secret");
    let m = Manifest::from_source(&SourceFile::new("connectors/jira-hooks.toml", text)).unwrap();
    let connector = m.config.build(&m.header).unwrap();
    let mapping =
        Mapping::from_source(&SourceFile::new("mappings/jira-hooks-issue.toml", MAPPING)).unwrap();
    let hooks = HashMap::from([(
        "jira-hooks".to_string(),
        Hook {
            connector,
            mapping: MappingSlot::new(Arc::new(mapping)),
            department: "it".into(),
            router: None,
        },
    )]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router(store, hooks)).await;
    });
    base
}

fn event(summary: &str, category: &str) -> String {
    json!({"webhookEvent": "jira:issue_updated",
           "issue": {"key": "SD-7", "fields": {"summary": summary, "status": {"statusCategory": {"key": category}}}}})
    .to_string()
}

async fn post(base: &str, id: &str, body: &str, signature: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/hooks/jira-hooks"))
        .header("X-Hub-Signature", signature)
        .header("X-Atlassian-Webhook-Identifier", id)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn title(store: &Store) -> String {
    let rows: Vec<String> = match store {
        Store::Postgres(p) => {
            sqlx::query_scalar("SELECT title FROM work_items")
                .fetch_all(p)
                .await
        }
        Store::Sqlite(p) => {
            sqlx::query_scalar("SELECT title FROM work_items")
                .fetch_all(p)
                .await
        }
    }
    .unwrap();
    rows.join(",")
}

async fn deliveries_are_verified_and_taken_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone()).await;

    let body = event("Printer on fire", "indeterminate");
    let (status, answer) = post(&base, "d-1", &body, &sign(&body)).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["stored"], 1);
    assert_eq!(title(&ts.store).await, "Printer on fire");

    // A forged or altered delivery is refused and changes nothing.
    let forged = event("Printer fixed", "done");
    let (status, answer) = post(&base, "d-2", &forged, &sign(&body)).await;
    assert_eq!(status, 401);
    assert_eq!(answer["error"], "the signature does not match the body");
    let (status, _) = post(&base, "d-2", &forged, "").await;
    assert_eq!(status, 401);
    assert_eq!(title(&ts.store).await, "Printer on fire");

    // The sender retries d-1 (say, our answer was lost): taken once only,
    // even though a later event changed the issue in between.
    let later = event("Printer replaced", "done");
    assert_eq!(post(&base, "d-3", &later, &sign(&later)).await.0, 202);
    let (status, answer) = post(&base, "d-1", &body, &sign(&body)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "duplicate");
    assert_eq!(
        title(&ts.store).await,
        "Printer replaced",
        "the retry did not roll the item back"
    );
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 1);

    // Unknown connectors are not found; signed non-JSON is a data error.
    let resp = reqwest::Client::new()
        .post(format!("{base}/hooks/nobody"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        post(&base, "d-4", "not json", &sign("not json")).await.0,
        400
    );
}

/// A delivery whose text no store can keep (NUL; PostgreSQL refused it and
/// the sender met a 503 on every retry) is stored by the one rule: U+FFFD.
async fn a_nul_in_a_delivery_is_stored_not_refused(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone()).await;
    let body = event("Printer \u{0} on fire", "new");
    assert!(body.contains("\\u0000"), "{body}");
    let (status, answer) = post(&base, "d-nul", &body, &sign(&body)).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["stored"], 1);
    assert_eq!(title(&ts.store).await, "Printer \u{FFFD} on fire");
    // An unpaired surrogate is no longer "not JSON".
    let body = body.replace("\\u0000", "\\udc00").replace("SD-7", "SD-8");
    let (status, answer) = post(&base, "d-lone", &body, &sign(&body)).await;
    assert_eq!(status, 202, "{answer}");
}

/// A value the database refuses (PostgreSQL keeps no index entry over
/// about 2.7 kB; `department` is indexed) is no reason for a 503 that every
/// retry of the sender meets again: the record is quarantined, the
/// delivery taken.
async fn a_record_the_store_refuses_is_quarantined_not_503(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone()).await;
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let team: String = (0..12_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz"[(x % 26) as usize])
        })
        .collect();
    let body = json!({"webhookEvent": "jira:issue_created",
        "issue": {"key": "SD-9", "fields": {"summary": "Huge team", "team": team,
                  "status": {"statusCategory": {"key": "new"}}}}})
    .to_string();
    let (status, answer) = post(&base, "d-huge", &body, &sign(&body)).await;
    assert_eq!(status, 202, "{answer}");
    let (stored, quarantined) = match backend {
        Backend::Sqlite => (1, 0),
        Backend::Postgres => (0, 1),
    };
    assert_eq!(
        (answer["stored"].as_u64(), answer["quarantined"].as_u64()),
        (Some(stored), Some(quarantined)),
        "{answer}"
    );
    // The sender's retry is a duplicate, not another try.
    let (status, answer) = post(&base, "d-huge", &body, &sign(&body)).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
}

/// A signed delivery with nothing at the manifest's `records` path (another
/// event type, or a wrong path) is taken, and the answer says it carried
/// no record.
async fn a_delivery_without_records_says_so(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone()).await;
    let body = json!({"webhookEvent": "jira:worklog_updated", "worklog": {"id": "1"}}).to_string();
    let (status, answer) = post(&base, "d-none", &body, &sign(&body)).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (answer["records"].as_u64(), answer["stored"].as_u64()),
        (Some(0), Some(0)),
        "{answer}"
    );
    let (_, answer) = post(
        &base,
        "d-one",
        &event("One", "new"),
        &sign(&event("One", "new")),
    )
    .await;
    assert_eq!(answer["records"], 1, "{answer}");
}

/// Behind a load balancer a sender's retry may reach another instance
/// while the first is still storing: the same delivery sent to three
/// instances (each its own pool) at once is taken by one of them only.
async fn one_delivery_sent_to_three_instances_at_once_is_taken_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mut bases = Vec::new();
    for _ in 0..3 {
        let store = Store::connect(&ts.url, 4).await.unwrap();
        bases.push(serve(store).await);
    }
    for d in 0..10 {
        let body = json!({"webhookEvent": "jira:issue_updated",
            "issue": {"key": format!("SD-{d}"), "fields": {"summary": format!("Issue {d}"),
                      "status": {"statusCategory": {"key": "new"}}}}})
        .to_string();
        let id = format!("race-{d}");
        let signature = sign(&body);
        let sent = bases.iter().map(|b| post(b, &id, &body, &signature));
        let mut codes: Vec<u16> = futures::future::join_all(sent)
            .await
            .into_iter()
            .map(|(code, _)| code)
            .collect();
        codes.sort();
        assert_eq!(codes, [200, 200, 202], "delivery {d}: taken once, the rest duplicates");
    }
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 10);
}

on_every_backend!(
    one_delivery_sent_to_three_instances_at_once_is_taken_once,
    a_delivery_without_records_says_so,
    deliveries_are_verified_and_taken_once,
    a_nul_in_a_delivery_is_stored_not_refused,
    a_record_the_store_refuses_is_quarantined_not_503
);
