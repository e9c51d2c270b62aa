//! Quarantine as a workflow, on both stores: records a mapping rejected are
//! retried from their kept payloads once the mapping is fixed (by hand or
//! by a hot reload), without asking the source; `run --once` exits 3 while
//! records wait; `/status` and `/metrics` count them per stream.

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

/// A folder with copies of the shipped manifests and mappings, and a
/// config that points ServiceNow at `sim` and the store at `store_url`.
fn workspace(sim: &SimHandle, store_url: &str, listen: &str) -> (tempfile::TempDir, String) {
    let ws = tempfile::tempdir().unwrap();
    let connectors = common::hub::copy_edited("connectors", ws.path(), |_, t| t);
    let mappings = common::hub::copy_edited("mappings", ws.path(), |_, t| t);
    let config = ws.path().join("switchboard.toml");
    write(
        &config,
        &format!(
            r#"version = 1
[store]
url = "{store_url}"
[http]
listen = "{listen}"
[paths]
connectors = "{connectors}"
mappings = "{mappings}"
reload_secs = 1
[connectors.servicenow]
base_url = "{base}"
username = "admin"
password = "sim-password"
schedule = "0 0 0 1 1 *"
"#,
            connectors = connectors.display(),
            mappings = mappings.display(),
            base = sim.base_url,
        ),
    );
    let config = config.to_str().unwrap().to_string();
    (ws, config)
}

/// The real binary: `run --once` exits 3 while a record waits, `list`,
/// `show` and `retry` work it, and the retry needs no source.
async fn run_once_exits_3_until_the_quarantine_is_retried(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim().await;
    let bad = late_incident(&sn.sim, "No heating on floor 3", UNKNOWN_STATE);
    let (ws, config) = workspace(&sn, &ts.url, "127.0.0.1:0");
    let run = |args: &[&str]| output(ws.path(), &[args, &["--config", &config]].concat());

    let (code, out, err) = run(&["run", "--once"]);
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "servicenow/incident: {} fetched, {SEEDED} stored, 0 unchanged, 1 quarantined, 0 skipped; \
             1 in quarantine",
            SEEDED + 1
        )),
        "{out}"
    );
    assert!(out.contains("servicenow/request: "), "{out}");
    assert!(
        err.contains("1 record(s) in quarantine for the streams this run synced"),
        "{err}"
    );

    let (code, out, _) = run(&["quarantine", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("  servicenow/incident  {bad}  "))
            && out.contains("\"99\"")
            && out.contains("1 record(s) in quarantine"),
        "{out}"
    );
    let (_, out, _) = run(&["quarantine", "list", "--json", "--system", "servicenow"]);
    let row: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(row["external_id"], bad.as_str());
    assert_eq!(row["attempts"], 1);
    let id = row["id"].as_i64().unwrap().to_string();
    let (_, out, _) = run(&["quarantine", "list", "--stream", "request"]);
    assert!(out.contains("nothing in quarantine"), "{out}");

    let (code, out, _) = run(&["quarantine", "show", &id]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("external id:     {bad}"))
            && out.contains("mapping version: ")
            && out.contains("(attempt 1)")
            && out.contains("\"state\": \"99\""),
        "{out}"
    );
    let (code, _, err) = run(&["quarantine", "show", "999999"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no quarantined record 999999 (1 in quarantine"),
        "{err}"
    );

    // Not fixed yet: still there, exit 3.
    let (code, out, _) = run(&["quarantine", "retry", &id]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("servicenow/incident: 1 retried: 0 stored, 1 still quarantined, 0 skipped"),
        "{out}"
    );

    // Fixed, with the source gone: the kept payload is enough.
    edit(&ws.path().join("mappings/servicenow-incident.toml"), FIX);
    sn.shutdown().await;
    let (code, out, err) = run(&["quarantine", "retry", "--all"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("servicenow/incident: 1 retried: 1 stored, 0 still quarantined, 0 skipped")
            && out.contains("0 still in quarantine"),
        "{out}"
    );
    let item = ts
        .store
        .work_item_summary("servicenow", "incident", &bad)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(item.status, "new");
    let (code, out, _) = run(&["quarantine", "retry", "--all"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing in quarantine to retry"), "{out}");
}

async fn get(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

async fn wait_for_quarantine(store: &Store, records: i64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.count(CountedTable::Quarantine).await.unwrap() != records {
        assert!(Instant::now() < deadline, "never {records} in quarantine");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The daemon: `/status` and `/metrics` count the stream's quarantine, and
/// fixing the mapping file retries it (hot reload) with no other step.
async fn the_daemon_counts_quarantine_and_a_reload_retries_it(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = sim().await;
    late_incident(&sn.sim, "No heating on floor 3", UNKNOWN_STATE);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ws, config) = workspace(&sn, &ts.url, &format!("127.0.0.1:{port}"));
    let mut child = switchboard(ws.path(), &["run", "--config", &config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_quarantine(&ts.store, 1).await;
    let base = format!("http://127.0.0.1:{port}");
    let gauge = r#"switchboard_quarantined_records{connector="servicenow",stream="incident"}"#;

    let status: Value = serde_json::from_str(&get(&format!("{base}/status")).await).unwrap();
    assert_eq!(status["quarantine"]["records"], 1, "{status}");
    let incident = status["quarantine"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source_stream"] == "incident")
        .cloned()
        .unwrap_or_default();
    assert_eq!(incident["records"], 1, "{status}");
    let metrics = get(&format!("{base}/metrics")).await;
    assert!(metrics.contains(&format!("{gauge} 1")), "{metrics}");

    edit(&ws.path().join("mappings/servicenow-incident.toml"), FIX);
    wait_for_quarantine(&ts.store, 0).await;
    let metrics = get(&format!("{base}/metrics")).await;
    assert!(metrics.contains(&format!("{gauge} 0")), "{metrics}");
    let status: Value = serde_json::from_str(&get(&format!("{base}/status")).await).unwrap();
    assert_eq!(status["quarantine"]["records"], 0, "{status}");

    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
}

on_every_backend!(
    a_fixed_mapping_stores_quarantined_records_without_the_source,
    a_retry_never_writes_over_a_newer_sync,
    a_mapping_reload_retries_the_quarantine,
    quarantine_counts_per_stream,
    run_once_exits_3_until_the_quarantine_is_retried,
    the_daemon_counts_quarantine_and_a_reload_retries_it,
);
