//! Three `switchboard run` processes on one PostgreSQL and one RabbitMQ,
//! against the simulators (issue 14's acceptance, docs/SCALING.md): twenty
//! streams shared without a page fetched twice at once, a stream finished by
//! another instance after a SIGKILL mid-sync, routed work applied once
//! through a SIGKILL and through a rolling restart.
//!
//! PostgreSQL and RabbitMQ only: several instances on the embedded SQLite
//! store are refused by design (tests/leases.rs). Both servers are
//! required: a test fails, never skips, when one is down. The tests take
//! turns (one lock), as three daemons each on two cores are enough load.
//! The harness is tests/common/instances.rs.

#[path = "scale_out/routed.rs"]
mod routed;

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use switchboard::sim::estate::Estate;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};

use common::broker::delete_topology;
use common::hub::{scalar, texts};
use common::instances::{Cluster, TaggedDoors, lease, runs};
use common::{Backend, TestStore, repo, write};

/// One test at a time: each runs three instances on two cores.
static TURNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn take_turn() -> tokio::sync::MutexGuard<'static, ()> {
    TURNS.lock().await
}

fn prefix(test: &str) -> String {
    format!("sbscale{}{test}", std::process::id())
}

/// The shipped ServiceNow manifest's incident list alone (no journal,
/// deletions, other streams or actions), as connector `system`, with its
/// mapping.
fn incident_copy(dir: &std::path::Path, system: &str) {
    let shipped = std::fs::read_to_string(repo().join("connectors/servicenow.toml")).unwrap();
    let end = shipped.find("# An incident's comments").unwrap();
    let text = shipped[..end].replace("system = \"servicenow\"", &format!("system = \"{system}\""));
    write(&dir.join(format!("connectors/{system}.toml")), &text);
    let mapping = std::fs::read_to_string(repo().join("mappings/servicenow-incident.toml"))
        .unwrap()
        .replace("system = \"servicenow\"", &format!("system = \"{system}\""));
    write(
        &dir.join(format!("mappings/{system}-incident.toml")),
        &mapping,
    );
}

fn incident(title: &str) -> Map<String, Value> {
    let v = json!({"short_description": title, "state": "1"});
    v.as_object().unwrap().clone()
}

/// 20 connectors (copies of the ServiceNow incident list) ticking every
/// 5 s for 60 s on three instances, new incidents arriving meanwhile:
/// every stream synced, each run's pages fetched by one instance with no
/// other instance's run overlapping it, no stream run more often than its
/// schedule, cursors never going back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_streams_on_three_instances_one_fetcher_at_a_time() {
    let _turn = take_turn().await;
    let ts = TestStore::new(Backend::Postgres).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 250,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Slow enough that runs on two instances would overlap if they could.
    sn.sim.set_latency(Duration::from_millis(10));
    let systems: Vec<String> = (1..=20).map(|i| format!("sn{i:02}")).collect();
    let sim = sn.sim.clone();
    let doors = TaggedDoors::serve(3, &systems, || sim.router()).await;
    let dir = tempfile::tempdir().unwrap();
    for s in &systems {
        incident_copy(dir.path(), s);
    }
    let (bases, names) = (doors.bases.clone(), systems.clone());
    let mut cluster = Cluster::new(dir, &ts.url, &prefix("twenty"), move |i| {
        names
            .iter()
            .map(|s| {
                format!(
                    "[connectors.{s}]\nbase_url = \"{}/{s}\"\nusername = \"admin\"\n\
                     password = \"sim-password\"\nschedule = \"*/5 * * * * *\"\n",
                    bases[i]
                )
            })
            .collect()
    });
    cluster.start_all(3);
    let started = Instant::now();

    // Cursors, polled while the instances run: never decreasing.
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (store, watching) = (ts.store.clone(), watching.clone());
        tokio::spawn(async move {
            let mut seen: BTreeMap<String, String> = BTreeMap::new();
            let mut backwards = Vec::new();
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                let rows = texts(
                    &store,
                    "SELECT source_system || ' ' || cursor FROM sync_state \
                     WHERE source_stream = 'incident' AND cursor IS NOT NULL",
                )
                .await;
                for row in rows {
                    let (system, cursor) = row.split_once(' ').unwrap();
                    if let Some(before) = seen.get(system)
                        && cursor < before.as_str()
                    {
                        backwards.push(format!("{system}: {before} -> {cursor}"));
                    }
                    seen.insert(system.into(), cursor.into());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (seen, backwards)
        })
    };
    // New incidents for 50 s; every copy reads them.
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(50) {
        cluster.alive();
        sn.sim
            .insert("incident", incident(&format!("Printer jam {n}")));
        n += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let total = sn.sim.count("incident") as i64;
    let store = ts.store.clone();
    cluster
        .wait_for("every stream holds every incident", Duration::from_secs(30), || {
            let store = store.clone();
            async move {
                let counts = texts(
                    &store,
                    "SELECT source_system || ' ' || COUNT(*) FROM work_items GROUP BY source_system",
                )
                .await;
                counts.len() == 20 && counts.iter().all(|c| c.ends_with(&format!(" {total}")))
            }
        })
        .await;
    let wait = Duration::from_secs(60).saturating_sub(started.elapsed());
    tokio::time::sleep(wait).await;
    cluster.alive();
    let elapsed = started.elapsed();
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    let (cursors, backwards) = watcher.await.unwrap();

    assert_eq!(cursors.len(), 20, "a cursor for every stream: {cursors:?}");
    assert!(backwards.is_empty(), "cursors went back: {backwards:?}");
    let synced = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM sync_state WHERE source_stream = 'incident' \
         AND last_success_started_at IS NOT NULL AND last_error IS NULL",
    )
    .await;
    assert_eq!(synced, 20, "every stream's last run succeeded");

    let by_system = runs(&doors.fetches());
    assert_eq!(by_system.len(), 20, "every stream fetched");
    let ticks = elapsed.as_secs() / 5 + 1;
    let mut per_instance = [0usize; 3];
    for (system, runs) in &by_system {
        for (a, ra) in runs.iter().enumerate() {
            per_instance[ra.0] += 1;
            for rb in &runs[a + 1..] {
                let apart = ra.2 <= rb.1 || rb.2 <= ra.1;
                assert!(
                    ra.0 == rb.0 || apart,
                    "{system}: instance {} fetched while instance {} did ({:?} and {:?} after the start)",
                    ra.0,
                    rb.0,
                    ra.1 - started,
                    rb.1 - started
                );
            }
        }
        // The start, then once per tick (a tick and the start may meet).
        assert!(
            (ticks as usize / 2..=ticks as usize + 1).contains(&runs.len()),
            "{system}: {} runs in {elapsed:?} at one per 5 s",
            runs.len()
        );
    }
    eprintln!("runs per instance: {per_instance:?}, {n} incidents added");
    assert!(
        per_instance.iter().filter(|r| **r > 0).count() >= 2,
        "the streams were shared: {per_instance:?}"
    );
    sn.shutdown().await;
}

/// Which instance holds `system`'s stream now, by pid.
async fn holder_pid(ts: &TestStore, system: &str) -> Option<u32> {
    let holder = texts(
        &ts.store,
        &format!("SELECT holder FROM stream_leases WHERE source_system = '{system}' AND holder IS NOT NULL"),
    )
    .await;
    holder.first()?.split('/').nth(1)?.parse().ok()
}

/// A 20,000-incident first sync, its instance SIGKILLed a quarter of the
/// way: another instance takes the stream over once the lease expires
/// (plus a 2 s tick), from the committed cursor, and every incident is
/// stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_a_killed_instance_is_finished_by_another() {
    const INCIDENTS: i64 = 20_000;
    let _turn = take_turn().await;
    let ts = TestStore::new(Backend::Postgres).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: INCIDENTS as usize,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let systems = vec!["servicenow".to_string()];
    let sim = sn.sim.clone();
    let doors = TaggedDoors::serve(3, &systems, || sim.router()).await;
    let dir = tempfile::tempdir().unwrap();
    incident_copy(dir.path(), "servicenow");
    let bases = doors.bases.clone();
    // The manifest's 10 requests/s: 200 pages take about 20 s.
    let mut cluster = Cluster::new(dir, &ts.url, &prefix("kill"), move |i| {
        format!(
            "[connectors.servicenow]\nbase_url = \"{}/servicenow\"\nusername = \"admin\"\n\
             password = \"sim-password\"\nschedule = \"*/2 * * * * *\"\n",
            bases[i]
        )
    });
    cluster.start_all(3);
    let count = "SELECT COUNT(*) FROM work_items WHERE source_system = 'servicenow'";
    let store = ts.store.clone();
    cluster
        .wait_for("a quarter synced", Duration::from_secs(60), || {
            let store = store.clone();
            async move { scalar(&store, count).await >= INCIDENTS / 4 }
        })
        .await;
    let pid = holder_pid(&ts, "servicenow")
        .await
        .expect("a holder mid-sync");
    let victim = *cluster
        .procs
        .iter()
        .find(|(_, p)| p.pid() == pid)
        .expect("the holder is one of ours")
        .0;
    cluster.kill(victim);
    let killed_at = Instant::now();
    let at_kill = scalar(&ts.store, count).await;
    assert!(at_kill < INCIDENTS, "killed mid-sync ({at_kill} stored)");
    let fetched_before = doors.fetches().len();

    let limit = lease() + Duration::from_secs(2 + 3);
    cluster
        .wait_for("another instance takes the stream", limit, || {
            let ts = &ts;
            async move { holder_pid(ts, "servicenow").await.is_some_and(|p| p != pid) }
        })
        .await;
    let taken_after = killed_at.elapsed();
    // The rest at 10 pages/s, and slack for two busy cores.
    cluster
        .wait_for("every incident stored", Duration::from_secs(60), || {
            let store = store.clone();
            async move { scalar(&store, count).await == INCIDENTS }
        })
        .await;
    let finished_after = killed_at.elapsed();
    cluster.alive();
    let distinct = scalar(
        &ts.store,
        "SELECT COUNT(DISTINCT external_id) FROM work_items WHERE source_system = 'servicenow'",
    )
    .await;
    let raw = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM source_records WHERE source_system = 'servicenow'",
    )
    .await;
    assert_eq!((distinct, raw), (INCIDENTS, INCIDENTS), "stored once each");
    // Taken over from the cursor: the survivor did not read the list again
    // from its start (200 pages), only what was left and the overlap.
    let after: Vec<_> = doors.fetches().into_iter().skip(fetched_before).collect();
    let pages_after = after.iter().filter(|f| f.instance != victim).count();
    let left = (INCIDENTS - at_kill) / 100 + 1;
    assert!(
        (pages_after as i64) < left + 60,
        "{pages_after} pages read after the kill, {left} left"
    );
    eprintln!(
        "killed instance {victim} at {at_kill} stored; taken over after {taken_after:?}, \
         finished after {finished_after:?} (lease {:?}); {pages_after} pages after the kill",
        lease()
    );
    sn.shutdown().await;
}
