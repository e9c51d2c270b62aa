//! A writer meets a 422: the target validates the body and refuses it. The
//! message is a dead letter with the target's own reason, not retried; once
//! the target is fixed, a replay applies it exactly once, and a redelivery
//! after that applies nothing. The embedded transport, on both stores.
//!
//! The target is a small HTTP service of the shape many service desks have
//! (`POST /api/tickets`, 201 with the new id, 422 with the fields at fault),
//! reached through a `rest` manifest and an outbound mapping like any other.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use switchboard::connector::Manifest;
use switchboard::diag::SourceFile;
use switchboard::mapping::OutboundMapping;
use switchboard::routing::message::{Origin, Routed};
use switchboard::routing::{Event, Target};
use switchboard::store::OutboxMessage;
use switchboard::transport::WorkHandler;
use switchboard::writer::local::{LocalOptions, deliver_once};
use switchboard::writer::{Writer, Writers};

use common::hub::execute;
use common::{Backend, TestStore};

/// The target: refuses tickets without a category until an admin adds
/// the category the routed work names.
#[derive(Clone, Default)]
struct Desk {
    fixed: Arc<AtomicBool>,
    created: Arc<AtomicUsize>,
}

async fn serve(desk: Desk) -> String {
    let app = axum::Router::new().route(
        "/api/tickets",
        axum::routing::post(move |Json(body): Json<Value>| {
            let desk = desk.clone();
            async move {
                if !desk.fixed.load(Ordering::SeqCst) {
                    let field = body["category"].as_str().unwrap_or_default();
                    return (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Json(json!({"errors": [{"field": "category",
                            "message": format!("unknown category `{field}`")}]})),
                    )
                        .into_response();
                }
                let n = desk.created.fetch_add(1, Ordering::SeqCst) + 1;
                (StatusCode::CREATED, Json(json!({"id": format!("T-{n}")}))).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn writer(store: &switchboard::store::Store, base: &str) -> Writers {
    let manifest = format!(
        r#"version = 1
system = "desk"
kind = "rest"
department = "facilities"
base_url = "{base}"

[http]
rate_limit_per_sec = 0

[[streams]]
name = "tickets"
path = "/api/tickets"
key = "id"

[streams.pagination]
type = "next_link"

[actions.create_ticket]
method = "POST"
path = "/api/tickets"
id = "id"
"#
    );
    let m = Manifest::from_source(&SourceFile::new("connectors/desk.toml", manifest))
        .unwrap_or_else(|d| panic!("{d}"));
    let connector = m.config.build(&m.header).unwrap();
    let mapping = OutboundMapping::from_source(&SourceFile::new(
        "mappings/desk-create-ticket.toml",
        r#"version = 1
direction = "outbound"
system = "desk"
action = "create_ticket"
entity = "work_item"

[fields]
title = { path = "title" }
category = { path = "attributes.category" }
"#,
    ))
    .unwrap_or_else(|d| panic!("{d}"));
    let w = Writer::new(store.clone(), connector, [Arc::new(mapping)]);
    Writers::from([("desk".to_string(), Arc::new(w) as Arc<dyn WorkHandler>)])
}

fn routed() -> OutboxMessage {
    let record = json!({"entity": "work_item", "kind": "incident", "title": "Radiator leak",
        "status": "new", "attributes": {"category": "plumbing"}, "classified": {}});
    let event = Event {
        kind: "created".into(),
        system: "servicenow".into(),
        stream: "incident".into(),
        from_status: None,
        to_status: Some("new".into()),
    };
    let target = Target {
        department: "facilities".into(),
        connector: "desk".into(),
        action: "create_ticket".into(),
    };
    let m = Routed {
        origin: Origin {
            system: "servicenow",
            stream: "incident",
            external_id: "abc",
        },
        record: &record,
        event: &event,
        by: "leaks",
        target: &target,
        target_id: None,
        priority: None,
        sla_hours: None,
        set: &BTreeMap::new(),
    }
    .message(&BTreeMap::new(), chrono::Utc::now());
    OutboxMessage {
        event_id: m.id,
        routing_key: m.routing_key,
        payload: m.body,
        not_before: None,
    }
}

async fn a_422_is_a_dead_letter_and_replays_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let desk = Desk::default();
    let base = serve(desk.clone()).await;
    let writers = writer(&ts.store, &base);
    let options = LocalOptions::default();
    let message = routed();
    ts.store
        .enqueue(std::slice::from_ref(&message))
        .await
        .unwrap();

    let r = deliver_once(&ts.store, &writers, &options).await.unwrap();
    assert_eq!((r.applied, r.retried, r.dead), (0, 0, 1), "{r:?}");
    let dead = ts.store.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, message.event_id);
    assert!(
        dead[0].reason.contains("422") && dead[0].reason.contains("unknown category `plumbing`"),
        "the target's own reason: {}",
        dead[0].reason
    );
    assert_eq!(
        deliver_once(&ts.store, &writers, &options)
            .await
            .unwrap()
            .claimed,
        0
    );

    desk.fixed.store(true, Ordering::SeqCst);
    ts.store
        .revive_outbox(Some(&message.event_id))
        .await
        .unwrap();
    let r = deliver_once(&ts.store, &writers, &options).await.unwrap();
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");
    assert_eq!(desk.created.load(Ordering::SeqCst), 1);

    // Delivered again (a crash before the row was marked): nothing new.
    execute(
        &ts.store,
        "UPDATE outbox SET sent_at = NULL, available_at = created_at",
    )
    .await;
    let r = deliver_once(&ts.store, &writers, &options).await.unwrap();
    assert_eq!((r.claimed, r.applied), (1, 1));
    assert_eq!(desk.created.load(Ordering::SeqCst), 1, "exactly once");
}

#[tokio::test]
async fn a_422_is_a_dead_letter_and_replays_once_sqlite() {
    a_422_is_a_dead_letter_and_replays_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_422_is_a_dead_letter_and_replays_once_postgres() {
    a_422_is_a_dead_letter_and_replays_once(Backend::Postgres).await;
}
