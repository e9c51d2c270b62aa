//! Faults the hub must hold through, with the real binary on PostgreSQL:
//! `switchboard run --once` killed (SIGKILL) at random points of a large
//! sync, then run to the end; and pairs of processes started at the same
//! moment on one store. PostgreSQL restarted under a running daemon is
//! `tests/fault_postgres_restart.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use switchboard::sim::servicenow::{ServiceNowSim, SimConfig, SimHandle};
use switchboard::store::{CountedTable, Store};

use common::bin::switchboard;
use common::project::{copy_servicenow, run_in};
use common::{Backend, TestStore, write};

/// Catalogue requests the ServiceNow simulator seeds.
const SIM_REQUESTS: i64 = 3;

/// A config that points the shipped ServiceNow files at `sim` and stores
/// in `store_url`; the other shipped connectors stay off.
fn config(dir: &Path, sim: &SimHandle, store_url: &str) -> PathBuf {
    copy_servicenow(dir);
    let path = dir.join("switchboard.toml");
    write(
        &path,
        &format!(
            "version = 1\n\n[store]\nurl = \"{store_url}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n\
             [connectors.servicenow]\nbase_url = \"{}\"\nusername = \"admin\"\npassword = \"sim-password\"\n\
             schedule = \"0 0 0 1 1 *\"\n\n[daemon]\nlease_secs = 3\n",
            sim.base_url
        ),
    );
    path
}

/// A small xorshift, seeded from the clock and printed, so a failing
/// run's kill points can be replayed with `SWITCHBOARD_TEST_SEED`.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("SWITCHBOARD_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("kill points seeded with SWITCHBOARD_TEST_SEED={seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Nothing twice: one work item per source record, and every key stored
/// is one of the simulator's. Returns the work items stored.
async fn assert_each_once(store: &Store, sim: &SimHandle) -> i64 {
    let items = store.count(CountedTable::WorkItems).await.unwrap();
    // The catalogue's items are stored as offerings, not work items.
    let sql = "SELECT COUNT(*) FROM source_records WHERE source_stream <> 'catalog_item'";
    let records: i64 = match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
    }
    .unwrap();
    assert_eq!(items, records, "a work item for each stored record");
    let sql = "SELECT external_id FROM work_items WHERE source_stream = 'incident'";
    let stored: Vec<String> = match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
    }
    .unwrap();
    let known: std::collections::HashSet<String> = sim
        .sim
        .records("incident")
        .iter()
        .filter_map(|r| r["sys_id"].as_str().map(str::to_string))
        .collect();
    let unique: std::collections::HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "an incident stored twice");
    assert!(
        stored.iter().all(|k| known.contains(k)),
        "an incident the source does not have"
    );
    items
}

fn kill(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
}

/// A killed run cannot give its stream's lease back: the next run leaves
/// the stream alone until the lease expires (3 s here, docs/SCALING.md).
async fn wait_for_leases_to_expire(store: &Store) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = chrono::Utc::now().timestamp_millis();
        let leases = store.leases().await.unwrap();
        if leases
            .iter()
            .all(|l| l.holder.is_none() || l.expires_ms.is_some_and(|e| e < now))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "a lease outlived 3 s: {leases:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const INCIDENTS: usize = 20_000;
const KILLS: i64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_of_a_large_sync_loses_nothing() {
    let ts = TestStore::new(Backend::Postgres).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: INCIDENTS,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sn, &ts.url);
    let cfg = cfg.to_str().unwrap();
    let mut rng = Rng::new();
    let total = INCIDENTS as i64 + SIM_REQUESTS;
    let band = INCIDENTS as i64 / KILLS;
    let started = Instant::now();
    let mut kills = 0;
    for i in 0..KILLS {
        // The i-th kill lands somewhere in the i-th tenth of the sync.
        let target = i * band + rng.below(band as u64) as i64;
        let mut child = switchboard(dir.path(), &["run", "--once", "--config", cfg])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "run {i} failed by itself: {status:?}");
                break;
            }
            if ts.store.count(CountedTable::WorkItems).await.unwrap() >= target {
                // Somewhere in the page being written, or between pages.
                tokio::time::sleep(Duration::from_millis(rng.below(40))).await;
                kill(&mut child);
                kills += 1;
                break;
            }
            if Instant::now() > deadline {
                kill(&mut child);
                panic!("run {i}: no progress to {target} records within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let stored = assert_each_once(&ts.store, &sn).await;
        assert!(stored <= total);
        wait_for_leases_to_expire(&ts.store).await;
    }
    assert!(kills >= KILLS - 1, "only {kills} kills landed mid-sync");

    let (code, err) = {
        let dir = dir.path().to_path_buf();
        let cfg = cfg.to_string();
        let ran = tokio::task::spawn_blocking(move || {
            run_in(
                &dir,
                &["run", "--once", "--config", &cfg],
                &[],
                Duration::from_secs(60),
            )
        })
        .await
        .unwrap();
        (ran.code, ran.err)
    };
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        assert_each_once(&ts.store, &sn).await,
        total,
        "every record stored"
    );
    let newest = sn
        .sim
        .records("incident")
        .iter()
        .filter_map(|r| r["sys_updated_on"].as_str().map(str::to_string))
        .max()
        .unwrap();
    assert_eq!(
        ts.store.cursor("servicenow", "incident").await.unwrap(),
        Some(newest),
        "the cursor is the newest sys_updated_on"
    );
    eprintln!(
        "{kills} kills and the final run took {:?}",
        started.elapsed()
    );
    sn.shutdown().await;
}

const PAIRS: usize = 20;

/// Two processes at once on a fresh PostgreSQL database, 20 times: both
/// migrate it, declare their field owners and sync the same small source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_started_at_the_same_moment_all_succeed() {
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 5,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    for pair in 0..PAIRS {
        let ts = TestStore::new_unmigrated_postgres().await;
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &sn, &ts.url);
        let cfg = cfg.to_str().unwrap().to_string();
        // `migrate` then start-up on odd pairs, two syncs on even ones.
        let second: &[&str] = if pair % 2 == 0 {
            &["run", "--once"]
        } else {
            &["migrate"]
        };
        let spawn = |args: &[&str]| {
            switchboard(dir.path(), &[args, &["--config", &cfg]].concat())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(&["run", "--once"]), spawn(second));
        for (which, child) in [("first", a), ("second", b)] {
            let out = tokio::task::spawn_blocking(move || child.wait_with_output())
                .await
                .unwrap()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "pair {pair}: the {which} process failed: {:?}\n{err}",
                out.status
            );
            assert!(!err.contains("panicked"), "{err}");
        }
        let store = Store::connect(&ts.url, 1).await.unwrap();
        assert_eq!(
            assert_each_once(&store, &sn).await,
            5 + SIM_REQUESTS,
            "pair {pair}"
        );
        store.close().await;
    }
    sn.shutdown().await;
}
