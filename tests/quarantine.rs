//! Quarantine as a workflow, on both stores: records a mapping rejected are
//! retried from their kept payloads once the mapping is fixed (by hand or
//! by a hot reload), without asking the source; `run --once` exits 3 while
//! records wait; `/status` and `/metrics` count them per stream. The
//! binary's side is `quarantine/binary.rs`.

#[path = "quarantine/binary.rs"]
mod binary;

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard::mapping::Mapping;
use switchboard::routing::{Routing, RoutingSlot};
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig, SimHandle, seed};
use switchboard::store::{
    CountedTable, PageWrite, QuarantineFilter, RetryClaim, StagedRecord, Stamp, Store,
};
use switchboard::sync::{Router, SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::bin::{output, switchboard};
use common::{Backend, TestStore, repo, servicenow_manifest, stream_job, write};

/// A state the shipped mapping has no value for, and the line that maps it.
const UNKNOWN_STATE: &str = "99";
const FIX: (&str, &str) = (
    "\"8\" = \"cancelled\"",
    "\"8\" = \"cancelled\"\n\"99\" = \"new\"",
);

/// After the seeded incidents, so each run's overlap window reads them again.
const LATE: &str = "2030-01-01 00:00:00";

/// Incidents the ServiceNow simulator starts with.
const SEEDED: usize = 20;

async fn sim() -> SimHandle {
    ServiceNowSim::spawn(SimConfig {
        incidents: SEEDED,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// An incident in `state`, updated after every seeded one.
fn late_incident(sim: &ServiceNowSim, title: &str, state: &str) -> String {
    let mut record = seed::incident_with_updated_on(title, LATE);
    record.insert("state".into(), Value::String(state.into()));
    sim.insert("incident", record)
}

/// A copy of the shipped incident mapping, to fix in the test.
fn mapping_copy(dir: &Path) -> PathBuf {
    let file = dir.join("servicenow-incident.toml");
    let text = std::fs::read_to_string(repo().join("mappings/servicenow-incident.toml")).unwrap();
    write(&file, &text);
    file
}

fn edit(file: &Path, (from, to): (&str, &str)) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

/// The shipped routing rules: a heating incident becomes a Maximo work order.
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

/// A routed incident stream whose baseline has run, then two late
/// incidents the mapping rejects: a heating fault and a printer jam.
struct Quarantined {
    ts: TestStore,
    sn: SimHandle,
    /// Holds the mapping file.
    _dir: tempfile::TempDir,
    file: PathBuf,
    job: SyncJob,
    heating: String,
    printer: String,
}

async fn quarantined(backend: Backend) -> Quarantined {
    let ts = TestStore::new(backend).await;
    let sn = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let file = mapping_copy(dir.path());
    let mut job = stream_job(
        &servicenow_manifest(&sn.base_url, &[]),
        "incident",
        Arc::new(Mapping::load(&file).unwrap()),
    );
    job.router = Some(router());
    let baseline = sync(&job, &ts.store).await;
    assert_eq!(baseline.stored, SEEDED, "{baseline:?}");
    let heating = late_incident(&sn.sim, "No heating on floor 3", UNKNOWN_STATE);
    let printer = late_incident(&sn.sim, "Printer jam", "98");
    let report = sync(&job, &ts.store).await;
    assert_eq!((report.stored, report.quarantined), (0, 2), "{report:?}");
    Quarantined {
        ts,
        sn,
        _dir: dir,
        file,
        job,
        heating,
        printer,
    }
}

async fn retry(job: &SyncJob, store: &Store) -> switchboard::sync::RetryReport {
    job.retry_quarantined(store, None, &CancellationToken::new())
        .await
        .expect("retry succeeds")
}

async fn a_fixed_mapping_stores_quarantined_records_without_the_source(backend: Backend) {
    let q = quarantined(backend).await;
    let store = &q.ts.store;
    assert_eq!(
        store.outbox_pending().await.unwrap(),
        0,
        "nothing routed yet"
    );

    edit(&q.file, FIX);
    let fixed = Arc::new(Mapping::load(&q.file).unwrap());
    q.job.mapping.replace(fixed.clone());
    let asked = q.sn.sim.requests().len();
    let report = retry(&q.job, store).await;
    assert_eq!(
        (
            report.retried,
            report.stored,
            report.quarantined,
            report.skipped
        ),
        (2, 1, 1, 0),
        "{report:?}"
    );
    assert_eq!(q.sn.sim.requests().len(), asked, "the source was not asked");

    let item = store
        .work_item_summary("servicenow", "incident", &q.heating)
        .await
        .unwrap()
        .expect("the heating incident is stored");
    assert_eq!(item.status, "new");
    assert_eq!(item.mapping_version, fixed.version);
    assert_eq!(
        store.outbox_pending().await.unwrap(),
        1,
        "routed to Maximo as a sync would have"
    );
    // The printer jam is still unmapped: kept, with the new mapping's reason.
    let left = store.quarantined().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].external_id, q.printer);
    assert!(left[0].reason.contains("\"98\""), "{}", left[0].reason);
    assert_eq!(left[0].mapping_version.as_deref(), Some(&*fixed.version));
    assert_eq!(left[0].attempts, 2);

    // Again: nothing is applied twice.
    let again = retry(&q.job, store).await;
    assert_eq!((again.retried, again.stored, again.quarantined), (1, 0, 1));
    assert_eq!(store.outbox_pending().await.unwrap(), 1);
    assert_eq!(
        store.count(CountedTable::WorkItems).await.unwrap(),
        SEEDED as i64 + 1
    );

    // The next sync reads both again (overlap window): the retried record
    // carries the hash and mapping version a sync would have written, so
    // it is unchanged, not written again.
    let next = sync(&q.job, store).await;
    assert_eq!(
        (next.stored, next.unchanged, next.quarantined),
        (0, 1, 1),
        "{next:?}"
    );

    // A mapping that now leaves the record out takes it out of quarantine.
    edit(
        &q.file,
        (
            "owns = [\"status\"]",
            "owns = [\"status\"]\nskip_if = \"record.state == '98'\"",
        ),
    );
    q.job
        .mapping
        .replace(Arc::new(Mapping::load(&q.file).unwrap()));
    let skipped = retry(&q.job, store).await;
    assert_eq!(
        (skipped.retried, skipped.skipped, skipped.stored),
        (1, 1, 0)
    );
    assert!(store.quarantined().await.unwrap().is_empty());
    assert!(
        store
            .work_item_summary("servicenow", "incident", &q.printer)
            .await
            .unwrap()
            .is_none()
    );
}

/// A retry that read a row a sync has since quarantined again (newer
/// payload) writes nothing: never an older payload over a newer one.
async fn a_retry_never_writes_over_a_newer_sync(backend: Backend) {
    let q = quarantined(backend).await;
    let store = &q.ts.store;
    let read = store
        .quarantine_page(QuarantineFilter::default(), 0, 10)
        .await
        .unwrap();
    let claim = RetryClaim {
        read: read
            .iter()
            .map(|r| Stamp {
                id: r.row.id,
                attempts: r.row.attempts,
            })
            .collect(),
        release: Vec::new(),
    };
    // A sync gets there first: both are read and rejected again.
    assert_eq!(sync(&q.job, store).await.quarantined, 2);

    edit(&q.file, FIX);
    let fixed = Mapping::load(&q.file).unwrap();
    let heating = read
        .iter()
        .find(|r| r.row.external_id == q.heating)
        .unwrap();
    let payload_json = heating.payload.to_string();
    let outcome = store
        .apply_retry(
            PageWrite {
                system: "servicenow",
                stream: "incident",
                mapping_version: &fixed.version,
                records: vec![StagedRecord {
                    external_id: q.heating.clone(),
                    content_hash: switchboard::sync::content_hash(&payload_json),
                    payload_json,
                    outcome: Ok(fixed.apply(&heating.payload).unwrap()),
                }],
                cursor: None,
                delivery: None,
                outbox: Vec::new(),
                effects: Vec::new(),
            },
            &claim,
        )
        .await
        .unwrap();
    assert!(outcome.stale, "{outcome:?}");
    assert_eq!(outcome.stored, 0);
    assert!(
        store
            .work_item_summary("servicenow", "incident", &q.heating)
            .await
            .unwrap()
            .is_none(),
        "nothing written"
    );
    assert_eq!(store.quarantined().await.unwrap().len(), 2);
}

/// A hot reload of the stream's mapping retries its quarantine at once.
async fn a_mapping_reload_retries_the_quarantine(backend: Backend) {
    let q = quarantined(backend).await;
    let store = q.ts.store.clone();
    let stop = CancellationToken::new();
    let watcher = tokio::spawn(switchboard::daemon::reload::watch(
        vec![q.job.clone()],
        Duration::from_millis(20),
        Some(store.clone()),
        stop.clone(),
    ));
    edit(&q.file, FIX);
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.count(CountedTable::Quarantine).await.unwrap() != 1 {
        assert!(Instant::now() < deadline, "the reload did not retry");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    watcher.await.unwrap();
    assert!(
        store
            .work_item_summary("servicenow", "incident", &q.heating)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.quarantined().await.unwrap()[0].external_id, q.printer);
}

/// Per stream, in one query: streams that ran count zero.
async fn quarantine_counts_per_stream(backend: Backend) {
    let q = quarantined(backend).await;
    let counts = q.ts.store.quarantine_counts().await.unwrap();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(
        (
            &*counts[0].source_system,
            &*counts[0].source_stream,
            counts[0].records
        ),
        ("servicenow", "incident", 2)
    );
    assert!(counts[0].oldest.is_some());
    edit(&q.file, FIX);
    edit(
        &q.file,
        (
            "\"8\" = \"cancelled\"",
            "\"8\" = \"cancelled\"\n\"98\" = \"new\"",
        ),
    );
    q.job
        .mapping
        .replace(Arc::new(Mapping::load(&q.file).unwrap()));
    retry(&q.job, &q.ts.store).await;
    let counts = q.ts.store.quarantine_counts().await.unwrap();
    assert_eq!((counts.len(), counts[0].records), (1, 0), "{counts:?}");
    assert_eq!(counts[0].oldest, None);
}

on_every_backend!(
    a_fixed_mapping_stores_quarantined_records_without_the_source,
    a_retry_never_writes_over_a_newer_sync,
    a_mapping_reload_retries_the_quarantine,
    quarantine_counts_per_stream,
);
