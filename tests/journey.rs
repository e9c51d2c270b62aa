//! Work across departments, end to end on the embedded transport: the
//! shipped manifests, mappings and `routing.toml`, the simulated estate,
//! the sync engine, the outbox and the writers, on both stores.
//!
//! - The heating round trip: an IT ticket about heating becomes a Maximo
//!   work order; the work order's progress comes back to the ticket; and
//!   the polls after that route nothing again.
//! - Onboarding: a hire in Personio becomes three tasks in three systems
//!   under one case, and the case closes when they do.
//! - A refusal from the target is a dead letter, and replaying it once the
//!   target is fixed applies it exactly once.

mod common;

use serde_json::{Map, Value, json};
use switchboard::catalog::{Catalog, ConnectorJobs};
use switchboard::config::{LoadedConfig, Settings};
use switchboard::sim::estate::Estate;
use switchboard::sim::maximo::model::rest_id;
use switchboard::store::Store;
use switchboard::writer::Writers;
use switchboard::writer::local::{LocalOptions, LocalReport, deliver_once};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore};

/// The hub as `switchboard run` builds it, pointed at the simulators.
struct Hub {
    estate: Estate,
    ts: TestStore,
    connectors: Vec<ConnectorJobs>,
    writers: Writers,
}

impl Hub {
    async fn start(backend: Backend) -> Self {
        let estate = Estate::spawn(12, None).await.expect("simulators start");
        let mut settings = Settings::default();
        estate.configure(&mut settings);
        let cfg = LoadedConfig {
            settings,
            file: None,
            base_dir: common::repo(),
        };
        let catalog = Catalog::load(&cfg).unwrap_or_else(|d| panic!("shipped files load: {d}"));
        assert!(catalog.routing.is_some(), "routing.toml is shipped");
        let ts = TestStore::new(backend).await;
        let connectors = catalog.jobs().expect("connectors build");
        let writers = catalog.writers(&ts.store, &connectors);
        Hub {
            estate,
            ts,
            connectors,
            writers,
        }
    }

    fn store(&self) -> &Store {
        &self.ts.store
    }

    /// One poll of every stream of `system`.
    async fn sync(&self, system: &str) {
        let c = self
            .connectors
            .iter()
            .find(|c| c.system == system)
            .unwrap_or_else(|| panic!("no connector {system}"));
        let never = CancellationToken::new();
        for (stream, result) in
            switchboard::daemon::sync_connector(self.store(), c, &never, &|_, _| {}).await
        {
            result.unwrap_or_else(|e| panic!("{system}/{stream} syncs: {e}"));
        }
    }

    /// Deliver everything the outbox holds now (no retry waits).
    async fn deliver(&self) -> LocalReport {
        let options = LocalOptions::default();
        let mut total = LocalReport::default();
        loop {
            let r = deliver_once(self.store(), &self.writers, &options)
                .await
                .expect("delivery reads the store");
            if r.claimed == 0 {
                return total;
            }
            total.claimed += r.claimed;
            total.applied += r.applied;
            total.retried += r.retried;
            total.dead += r.dead;
        }
    }

    async fn outbox_total(&self) -> i64 {
        scalar(self.store(), "SELECT COUNT(*) FROM outbox").await
    }
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

async fn texts(store: &Store, sql: &str) -> Vec<String> {
    match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

async fn heating_round_trip(backend: Backend) {
    let hub = Hub::start(backend).await;
    // The first polls are the baseline: history is stored, nothing routed.
    hub.sync("servicenow").await;
    hub.sync("maximo").await;
    assert_eq!(hub.outbox_total().await, 0, "a baseline routes nothing");
    let orders_before = hub.estate.maximo.sim.count();

    let sn = &hub.estate.servicenow.sim;
    let ticket = sn.insert(
        "incident",
        fields(&[
            ("short_description", "No heating on floor 3"),
            ("description", "Radiators are cold since this morning."),
            ("state", "1"),
            ("impact", "2"),
            ("urgency", "2"),
        ]),
    );
    hub.sync("servicenow").await;
    assert_eq!(
        hub.outbox_total().await,
        1,
        "the heating ticket is routed once"
    );
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "{r:?}");

    // A work order in Maximo, linked to the ticket.
    let maximo = &hub.estate.maximo.sim;
    assert_eq!(maximo.count(), orders_before + 1);
    let order = maximo
        .records()
        .into_iter()
        .find(|w| w["description"] == "No heating on floor 3")
        .expect("the work order exists in Maximo");
    assert_eq!(
        order["siteid"], "BEDFORD",
        "the rule's `set` supplied the site"
    );
    let workorderid = order["workorderid"].to_string();
    let links = texts(
        hub.store(),
        "SELECT from_system || '/' || from_id || ' -> ' || to_system || '/' || to_id || ' ' || relation FROM links",
    )
    .await;
    assert_eq!(
        links,
        vec![format!(
            "servicenow/{ticket} -> maximo/{workorderid} routed"
        )]
    );

    // Facilities starts work in its own tool.
    let rest_id = rest_id(
        order["siteid"].as_str().unwrap_or_default(),
        order["wonum"].as_str().unwrap_or_default(),
    );
    maximo
        .update(&rest_id, json!({"status": "INPRG"}))
        .expect("Maximo takes the status");
    hub.sync("maximo").await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (1, 0), "the progress is posted: {r:?}");
    let incident = sn.get("incident", &ticket).expect("ticket exists");
    let comment = incident["comments"].as_str().unwrap_or_default();
    assert!(
        comment.contains("work order") && comment.contains("in progress"),
        "the ticket shows the work order's progress: {incident}"
    );
    // And so does the canonical item, with the routing note before it.
    let notes = texts(
        hub.store(),
        &format!(
            "SELECT a.body FROM activities a JOIN work_items w ON w.id = a.work_item_id \
             WHERE w.source_system = 'servicenow' AND w.external_id = '{ticket}' \
             AND a.source_system = 'switchboard' ORDER BY a.occurred_at, a.id"
        ),
    )
    .await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes[0].starts_with("Routed to facilities in maximo"),
        "{notes:?}"
    );
    assert!(notes[1].contains("in progress"), "{notes:?}");

    // The ticket changed (our comment), the work order did not: polling
    // both again routes nothing, and again after that.
    let outbox = hub.outbox_total().await;
    for _ in 0..2 {
        hub.sync("servicenow").await;
        hub.sync("maximo").await;
        assert_eq!(hub.outbox_total().await, outbox, "no ping-pong");
        assert_eq!(hub.deliver().await.claimed, 0);
    }
    assert_eq!(maximo.count(), orders_before + 1, "one work order, ever");
    hub.estate.shutdown().await;
}

#[tokio::test]
async fn heating_round_trip_sqlite() {
    heating_round_trip(Backend::Sqlite).await;
}

#[tokio::test]
async fn heating_round_trip_postgres() {
    heating_round_trip(Backend::Postgres).await;
}
