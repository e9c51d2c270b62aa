//! PostgreSQL restarted, then stopped for longer, while `switchboard run`
//! syncs: the daemon keeps running, waits out the restart, runs the stream
//! the longer outage failed again soon (with backoff, see
//! `crates/hub/src/daemon/schedule.rs`), and the store ends complete.
//!
//! The one test of this binary: cargo runs test binaries one after
//! another, so no other test's store goes down with it. It restarts the
//! local cluster with `pg_ctlcluster`, as root, as CI does.

mod common;

use std::fs::File;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::CountedTable;

use common::bin::switchboard;
use common::project::copy_servicenow;
use common::{Backend, TestStore, pg_admin_url, write};

const INCIDENTS: usize = 3_000;
const SIM_REQUESTS: i64 = 3;

fn pg_ctl(action: &str) -> std::process::ExitStatus {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("a local PostgreSQL cluster in /etc/postgresql")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .expect("a PostgreSQL version");
    Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", action])
        .stdout(Stdio::null())
        .status()
        .expect("pg_ctlcluster runs")
}

fn pg_answers() -> bool {
    std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(2),
                sqlx::PgConnection::connect(&pg_admin_url()),
            )
            .await
            .is_ok_and(|c| c.is_ok())
        })
    })
    .join()
    .unwrap_or(false)
}

/// PostgreSQL answers again when this is dropped, whatever happened: the
/// tests after this one need it.
struct PostgresBack;

impl Drop for PostgresBack {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pg_answers() {
            if Instant::now() > deadline {
                eprintln!("PostgreSQL did not come back within 60 s");
                return;
            }
            let _ = pg_ctl("start");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_recovers_from_postgres_restarted_and_stopped_mid_sync() {
    let ts = TestStore::new(Backend::Postgres).await;
    // Declared after the store, so dropped before it: the database is
    // dropped with PostgreSQL up.
    let _back = PostgresBack;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: INCIDENTS,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Slow enough that the restart lands mid-sync.
    sn.sim.set_latency(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    copy_servicenow(dir.path());
    write(
        &dir.path().join("switchboard.toml"),
        &format!(
            "version = 1\n\n[store]\nurl = \"{}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n\
             [connectors.servicenow]\nbase_url = \"{}\"\nusername = \"admin\"\npassword = \"sim-password\"\n\
             schedule = \"0 0 0 1 1 *\"\n",
            ts.url, sn.base_url
        ),
    );
    let log = dir.path().join("daemon.log");
    let mut daemon = Daemon(
        switchboard(dir.path(), &["run"])
            .stdout(Stdio::null())
            .stderr(Stdio::from(File::create(&log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    let items = || async {
        // The test's own pool loses its connections too; a failed count is 0.
        ts.store.count(CountedTable::WorkItems).await.unwrap_or(0)
    };

    let deadline = Instant::now() + Duration::from_secs(60);
    while items().await < 300 {
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            log_text()
        );
        assert!(
            Instant::now() < deadline,
            "no progress in 60 s:\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A restart: the pool waits for PostgreSQL, the sync goes on.
    let at_restart = items().await;
    assert!(pg_ctl("restart").success(), "pg_ctlcluster restart");
    assert!(at_restart < INCIDENTS as i64, "restarted mid-sync");
    let deadline = Instant::now() + Duration::from_secs(60);
    while items().await < at_restart + 300 {
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            log_text()
        );
        assert!(
            Instant::now() < deadline,
            "no progress after the restart:\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Down past the pool's acquire timeout (10 s): the run in flight fails.
    let at_stop = items().await;
    assert!(pg_ctl("stop").success(), "pg_ctlcluster stop");
    assert!(at_stop < INCIDENTS as i64, "stopped mid-sync");
    sn.sim.set_latency(Duration::ZERO);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !log_text().contains("sync failed") {
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            log_text()
        );
        assert!(
            Instant::now() < deadline,
            "no failure with PostgreSQL down:\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pg_ctl("start").success(), "pg_ctlcluster start");

    let total = INCIDENTS as i64 + SIM_REQUESTS;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(
            daemon.0.try_wait().unwrap().is_none(),
            "the daemon exited:\n{}",
            log_text()
        );
        if items().await == total {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the store holds {} of {total} records 90 s after PostgreSQL is back:\n{}",
            items().await,
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Beside the work items, the catalogue's items (the `catalog_item`
    // stream, mapped to offerings) have raw payloads too.
    let catalogue = sn.sim.count("sc_cat_item") as i64;
    assert_eq!(
        ts.store.count(CountedTable::SourceRecords).await.unwrap(),
        total + catalogue
    );
    let newest = sn
        .sim
        .records("incident")
        .iter()
        .filter_map(|r| r["sys_updated_on"].as_str().map(str::to_string))
        .max();
    assert_eq!(
        ts.store.cursor("servicenow", "incident").await.unwrap(),
        newest
    );

    let term = Command::new("kill")
        .args(["-TERM", &daemon.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = daemon.0.wait().unwrap();
    let text = log_text();
    assert!(
        status.success(),
        "clean stop after the outage: {status:?}\n{text}"
    );
    assert!(!text.contains("panicked"), "{text}");
    // The failed stream ran again soon, not at the yearly schedule.
    assert!(text.contains("failed streams run again soon"), "{text}");
    sn.shutdown().await;
}
