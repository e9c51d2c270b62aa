//! The heating round trip and a dead letter's replay over the real
//! RabbitMQ: outbox relay, a writer queue per target (Maximo for the work
//! order, ServiceNow for the progress coming back), the DLQ and its replay,
//! with the shipped files on PostgreSQL. Each test uses broker names of its
//! own, so tests on the shared broker never read each other's queues.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use switchboard::config::Secret;
use switchboard::sim::maximo::model::rest_id;
use switchboard::transport::{
    RelayOptions, Replay, Topology, WriterOptions, dlq, run_relay, run_writer,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use common::Backend;
use common::broker::{amqp_url, delete_topology, test_topology};
use common::hub::{Hub, scalar};

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The relay and a writer per target, on names of our own.
struct Delivery {
    topology: Topology,
    stop: CancellationToken,
    tasks: JoinSet<()>,
}

impl Delivery {
    fn start(hub: &Hub, name: &str, targets: &[&str]) -> Self {
        let topology = test_topology(name);
        let stop = CancellationToken::new();
        let url = Secret::new(amqp_url());
        let mut tasks = JoinSet::new();
        for target in targets {
            let writer = Arc::clone(hub.writers.get(*target).expect("a writer"));
            tasks.spawn(run_writer(
                url.clone(),
                target.to_string(),
                writer,
                WriterOptions {
                    topology: topology.clone(),
                    ..WriterOptions::default()
                },
                stop.clone(),
            ));
        }
        tasks.spawn(run_relay(
            hub.store().clone(),
            url,
            RelayOptions {
                retry_in: Duration::from_millis(200),
                topology: topology.clone(),
                ..RelayOptions::default()
            },
            stop.clone(),
        ));
        Self {
            topology,
            stop,
            tasks,
        }
    }

    async fn stop(mut self, targets: &[&str]) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
        delete_topology(&self.topology, targets).await;
    }
}

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heating_round_trip_over_rabbitmq() {
    let hub = Hub::start(Backend::Postgres).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let targets = ["maximo", "servicenow"];
    let delivery = Delivery::start(&hub, "heat", &targets);
    let maximo = &hub.estate.maximo.sim;
    let before = maximo.count();

    let sn = &hub.estate.servicenow.sim;
    let ticket = sn.insert(
        "incident",
        fields(&[
            ("short_description", "No heating on floor 3"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    wait_for("the work order", async || maximo.count() == before + 1).await;
    wait_for("the link", async || {
        scalar(hub.store(), "SELECT COUNT(*) FROM links").await == 1
    })
    .await;

    let order = maximo
        .records()
        .into_iter()
        .find(|w| w["description"] == "No heating on floor 3")
        .expect("the work order");
    let text = |k: &str| order[k].as_str().unwrap_or_default().to_string();
    maximo
        .update(
            &rest_id(&text("siteid"), &text("wonum")),
            json!({"status": "INPRG"}),
        )
        .expect("Maximo takes the status");
    hub.sync("maximo").await;
    wait_for("the progress on the ticket", async || {
        sn.get("incident", &ticket)
            .and_then(|i| i["comments"].as_str().map(|c| c.contains("in progress")))
            .unwrap_or(false)
    })
    .await;

    // Both polled again: nothing more is routed, one work order stays one.
    let routed = hub.outbox_total().await;
    for _ in 0..2 {
        hub.sync("servicenow").await;
        hub.sync("maximo").await;
    }
    assert_eq!(hub.outbox_total().await, routed, "no ping-pong");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(maximo.count(), before + 1);
    assert!(
        dlq::list(&amqp_url(), &delivery.topology)
            .await
            .unwrap()
            .is_empty()
    );
    delivery.stop(&targets).await;
    hub.estate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refusal_lands_in_the_dlq_and_replays_once() {
    // Heating goes to a location Facilities has not created in Maximo yet.
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(common::repo().join("routing.toml")).unwrap();
    let routing = dir.path().join("routing.toml");
    std::fs::write(
        &routing,
        shipped.replace(
            r#""attributes.maximo_worktype" = "CM" }"#,
            r#""attributes.maximo_worktype" = "CM", "attributes.maximo_location" = "BR999" }"#,
        ),
    )
    .unwrap();
    let hub = Hub::start_with(Backend::Postgres, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let targets = ["maximo"];
    let delivery = Delivery::start(&hub, "dlq", &targets);
    let maximo = &hub.estate.maximo.sim;
    let before = maximo.count();

    hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[("short_description", "Radiator leak"), ("state", "1")]),
    );
    hub.sync("servicenow").await;
    let url = amqp_url();
    let mut dead = Vec::new();
    wait_for("the dead letter", async || {
        dead = dlq::list(&url, &delivery.topology).await.unwrap();
        !dead.is_empty()
    })
    .await;
    assert_eq!(dead.len(), 1);
    let letter = &dead[0];
    assert_eq!(letter.routing_key, "facilities.maximo.create_workorder");
    assert_eq!(letter.connector, "maximo");
    assert_eq!(letter.attempts, 1, "a refusal is not retried");
    assert!(
        letter.reason.contains("400") && letter.reason.contains("BMXAA2661E"),
        "Maximo's own reason: {}",
        letter.reason
    );
    assert_eq!(maximo.count(), before);

    maximo.add_location("BEDFORD", "BR999");
    let report = dlq::replay(
        &url,
        &delivery.topology,
        Replay::Id(letter.message_id.clone()),
    )
    .await
    .unwrap();
    assert_eq!(report.replayed, vec![letter.message_id.clone()]);
    assert_eq!(report.remaining, 0);
    wait_for("the replayed work order", async || {
        maximo.count() == before + 1
    })
    .await;
    // Replaying again finds nothing to replay; the work order stays one.
    assert!(
        dlq::replay(&url, &delivery.topology, Replay::All)
            .await
            .unwrap()
            .replayed
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(maximo.count(), before + 1);
    assert_eq!(
        scalar(
            hub.store(),
            "SELECT COUNT(*) FROM deliveries WHERE state = 'applied'"
        )
        .await,
        1
    );
    delivery.stop(&targets).await;
    hub.estate.shutdown().await;
}

/// `dlq replay` without `--as-sent` over RabbitMQ: the refused letter is
/// rendered again from the fixed `routing.toml`, its replacement goes
/// through the outbox under the letter's id, and the letter leaves the DLQ.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_letter_renders_again_from_the_fixed_rule() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(common::repo().join("routing.toml")).unwrap();
    let wrong = shipped.replace(
        r#""attributes.maximo_worktype" = "CM" }"#,
        r#""attributes.maximo_worktype" = "CM", "attributes.maximo_location" = "BR999" }"#,
    );
    assert_ne!(wrong, shipped);
    let routing = dir.path().join("routing.toml");
    std::fs::write(&routing, wrong).unwrap();
    let hub = Hub::start_with(Backend::Postgres, Some(routing), None).await;
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    let targets = ["maximo"];
    let delivery = Delivery::start(&hub, "rerender", &targets);
    let maximo = &hub.estate.maximo.sim;
    let before = maximo.count();
    hub.estate.servicenow.sim.insert(
        "incident",
        fields(&[
            ("short_description", "Radiator leak upstairs"),
            ("state", "1"),
        ]),
    );
    hub.sync("servicenow").await;
    let url = amqp_url();
    let mut dead = Vec::new();
    wait_for("the dead letter", async || {
        dead = dlq::list(&url, &delivery.topology).await.unwrap();
        !dead.is_empty()
    })
    .await;
    let letter = dead.remove(0);

    // The admin takes the wrong location out of the rule.
    let fixed = switchboard::routing::Routing::from_source(&switchboard::diag::SourceFile::new(
        "routing.toml",
        shipped,
    ))
    .unwrap();
    let jobs: Vec<&switchboard::sync::SyncJob> =
        hub.connectors.iter().flat_map(|c| &c.jobs).collect();
    let router = jobs.iter().find_map(|j| j.router.clone()).unwrap();
    router.routing.replace(Arc::new(fixed));

    // What `switchboard dlq replay ID` does with a letter of the broker.
    let rendered = switchboard::sync::rerender(
        switchboard::sync::Letter {
            id: &letter.message_id,
            routing_key: &letter.routing_key,
            payload: &letter.payload,
        },
        &jobs,
        hub.store(),
    )
    .await
    .unwrap();
    let switchboard::sync::Rerendered::Plan(r) = rendered else {
        panic!("rendered again: {rendered:?}");
    };
    let done = hub
        .store()
        .requeue(switchboard::store::Requeue {
            replaces: &[],
            outbox: &r.plan.outbox,
            effects: &r.plan.effects,
            resend: r.resend,
        })
        .await
        .unwrap();
    assert_eq!(
        done.queued,
        vec![letter.message_id.clone()],
        "sent again under its id"
    );
    let removed = dlq::discard_replaced(&url, &delivery.topology, &done.queued)
        .await
        .unwrap();
    assert_eq!(removed, vec![letter.message_id.clone()]);
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
    assert!(
        dlq::list(&url, &delivery.topology)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(maximo.count(), before + 1);
    delivery.stop(&targets).await;
    hub.estate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_over_rabbitmq() {
    let hub = Hub::start(Backend::Postgres).await;
    for system in ["personio", "servicenow", "maximo", "odoo"] {
        hub.sync(system).await;
    }
    let targets = ["servicenow", "maximo", "odoo"];
    let delivery = Delivery::start(&hub, "onboard", &targets);
    let hire = hub
        .estate
        .personio
        .sim
        .hire("Grace", "Hopper", "grace.hopper@example.com");
    hub.sync("personio").await;
    wait_for("three linked tasks", async || {
        scalar(
            hub.store(),
            "SELECT COUNT(*) FROM links WHERE relation = 'task'",
        )
        .await
            == 3
    })
    .await;
    let case = format!("onboarding:personio:employees:{hire}");
    let systems: Vec<String> = hub
        .store()
        .hops("switchboard", &case)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.to_system)
        .collect();
    assert_eq!(systems.len(), 3);
    for s in targets {
        assert!(systems.iter().any(|x| x == s), "{systems:?}");
    }
    delivery.stop(&targets).await;
    hub.estate.shutdown().await;
}
