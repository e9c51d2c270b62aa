//! Dead letters RabbitMQ keeps, through the API, on both stores: listed
//! with the store's and replayed from the fixed rule by the same code as
//! `switchboard dlq replay`, removed from the broker's DLQ once their
//! replacement is queued, and applied once.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::api::DeadLetterBroker;
use switchboard::config::Secret;
use switchboard::diag::SourceFile;
use switchboard::routing::Routing;
use switchboard::transport::{RelayOptions, WriterOptions, run_relay, run_writer};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use common::Backend;
use common::broker::{amqp_url, delete_topology, test_topology};
use common::hub::Hub;
use common::repair::{audited, fields, get, post, serve_with};

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn letters(base: &str) -> Vec<Value> {
    let (status, list) = get(base, "/api/v1/dead-letters", Some("agent-token")).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

async fn a_refused_letter_in_rabbitmq_is_replayed_from_the_fixed_rule(backend: Backend) {
    // The heating rule sends a location Maximo does not have: refused,
    // and the writer dead-letters it in the broker.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(common::repo().join("routing.toml")).unwrap();
    let wrong = shipped.replace(
        r#""attributes.maximo_worktype" = "CM" }"#,
        r#""attributes.maximo_worktype" = "CM", "attributes.maximo_location" = "BR999" }"#,
    );
    assert_ne!(wrong, shipped);
    let routing = dir.path().join("routing.toml");
    std::fs::write(&routing, wrong).unwrap();
    let mut hub = Hub::start_with(backend, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;

    let topology = test_topology(&format!("apirepair{backend:?}"));
    let url = Secret::new(amqp_url());
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let writer = Arc::clone(hub.writers.get("maximo").expect("a writer"));
    tasks.spawn(run_writer(
        url.clone(),
        "maximo".into(),
        writer,
        WriterOptions {
            topology: topology.clone(),
            ..WriterOptions::default()
        },
        stop.clone(),
    ));
    tasks.spawn(run_relay(
        hub.store().clone(),
        url.clone(),
        RelayOptions {
            retry_in: Duration::from_millis(200),
            topology: topology.clone(),
            ..RelayOptions::default()
        },
        stop.clone(),
    ));
    let before = hub.estate.maximo.sim.count();
    hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "Radiator leak upstairs"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    let broker = DeadLetterBroker {
        url,
        topology: topology.clone(),
    };
    let (base, connectors) = serve_with(&mut hub, Some(broker)).await;
    let maximo = &hub.estate.maximo.sim;

    let mut dead = Vec::new();
    wait_for("the dead letter", async || {
        dead = letters(&base).await;
        !dead.is_empty()
    })
    .await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["kept"], "broker", "{dead:?}");
    assert!(dead[0]["routing_key"].as_str().unwrap().contains("maximo"));
    let id = dead[0]["id"].as_str().unwrap().to_string();

    let fixed = Routing::from_source(&SourceFile::new("routing.toml", &shipped)).unwrap();
    let router = connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find_map(|j| j.router.clone())
        .unwrap();
    router.routing.replace(Arc::new(fixed));
    let path = format!("/api/v1/dead-letters/{id}/replay");
    let (status, r) = post(&base, &path, "admin-token", None).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (r["replayed"].clone(), r["failed"].clone()),
        (json!(1), json!(0)),
        "{r}"
    );
    assert_eq!(r["letters"][0]["result"], "rendered_again", "{r}");
    assert!(
        r["letters"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("(queued)"),
        "{r}"
    );

    wait_for("the work order", async || maximo.count() == before + 1).await;
    let order = maximo
        .records()
        .into_iter()
        .find(|w| w["description"] == "Radiator leak upstairs")
        .expect("the work order");
    assert_ne!(
        order["location"], "BR999",
        "the fixed rule's values: {order}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(letters(&base).await.is_empty(), "the letter left the DLQ");
    assert_eq!(maximo.count(), before + 1, "applied once");
    let log = audited(&base, "replay_dead_letters").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["target"], id, "{log:?}");

    stop.cancel();
    while tasks.join_next().await.is_some() {}
    delete_topology(&topology, &["maximo"]).await;
    hub.estate.shutdown().await;
}

on_every_backend!(a_refused_letter_in_rabbitmq_is_replayed_from_the_fixed_rule);
