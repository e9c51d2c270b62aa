//! The routing baseline, on both stores: a stream's first completed run
//! with routing routes nothing and says so in one log line; later runs
//! route and say nothing about a baseline.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use switchboard::mapping::Mapping;
use switchboard::routing::{Routing, RoutingSlot};
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::Store;
use switchboard::sync::{Router, SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, repo, servicenow_manifest, stream_job};

const LINE: &str = "first run with routing taken as the baseline";

/// What the runs logged, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn router() -> Arc<Router> {
    let routing = Routing::load(&repo().join("routing.toml")).unwrap_or_else(|d| panic!("{d}"));
    Arc::new(Router {
        routing: RoutingSlot::new(Arc::new(routing)),
        departments: BTreeMap::from([
            ("servicenow".to_string(), "it".to_string()),
            ("maximo".to_string(), "facilities".to_string()),
        ]),
    })
}

async fn sync(job: &SyncJob, store: &Store) -> SyncReport {
    job.run(store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

async fn the_first_run_with_routing_is_a_baseline_and_says_so(backend: Backend) {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        // The explanation is at debug; at info, `sync finished` says `baseline=true`.
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    // The test's own future runs on this thread, and the sync with it.
    let _guard = tracing::subscriber::set_default(subscriber);

    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 3,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let mut job = stream_job(
        &servicenow_manifest(&sn.base_url, &[]),
        "incident",
        Arc::new(Mapping::load(&repo().join("mappings/servicenow-incident.toml")).unwrap()),
    );

    // Without routing, a run is no baseline and says nothing of one.
    sync(&job, &ts.store).await;
    assert!(!log.text().contains(LINE), "{}", log.text());

    job.router = Some(router());
    sync(&job, &ts.store).await;
    let text = log.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(LINE)).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("connector=servicenow") && lines[0].contains("stream=incident"),
        "{text}"
    );
    assert_eq!(ts.store.outbox_counts().await.unwrap().pending, 0);
    let finished = |baseline: bool| {
        log.text()
            .lines()
            .filter(|l| l.contains(" INFO ") && l.contains("sync finished"))
            .filter(|l| l.contains(&format!("baseline={baseline}")))
            .count()
    };
    assert_eq!(finished(true), 1, "{}", log.text());

    sync(&job, &ts.store).await;
    assert_eq!(finished(true), 1, "{}", log.text());
    assert_eq!(
        log.text().lines().filter(|l| l.contains(LINE)).count(),
        1,
        "a later run is no baseline"
    );
}

on_every_backend!(the_first_run_with_routing_is_a_baseline_and_says_so);
