//! An instance among several, as an orchestrator sees it
//! (docs/SCALING.md): `/readyz` asks the broker too and says "draining"
//! once SIGTERM came; a drain that runs past `[daemon]
//! shutdown_grace_secs` is cut off with its leases given back; and a
//! one-off `run --once` leaves a stream a daemon is running to it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use switchboard::config::Secret;
use switchboard::daemon::ready::Readiness;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig, SimHandle};
use switchboard::store::{LeaseAsk, Store};
use tokio_util::sync::CancellationToken;

use common::bin::{output, switchboard};
use common::broker::amqp_url;
use common::project::copy_servicenow;
use common::{Backend, TestStore, write};

/// `/readyz` served for `ready` on a free port: its base URL.
async fn serve(store: Store, ready: Readiness) -> String {
    let app = switchboard::daemon::http::router_with(store, Default::default(), ready);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

async fn readyz(base: &str) -> (u16, String) {
    let r = reqwest::get(format!("{base}/readyz")).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn readyz_asks_the_broker_and_says_draining(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let draining = CancellationToken::new();
    let broker = Readiness::new(Some(Secret::new(amqp_url())), draining.clone());
    let base = serve(ts.store.clone(), broker).await;
    assert_eq!(readyz(&base).await, (200, "ready".into()));

    // A broker that does not answer: not ready, and its password unsaid.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let url = format!("amqp://guest:pw-never-shown@127.0.0.1:{port}/%2f");
    let down = serve(
        ts.store.clone(),
        Readiness::new(Some(Secret::new(url)), CancellationToken::new()),
    )
    .await;
    let (code, why) = readyz(&down).await;
    assert_eq!(code, 503, "{why}");
    assert!(why.contains("cannot reach the broker"), "{why}");
    assert!(!why.contains("pw-never-shown"), "{why}");

    draining.cancel();
    let (code, why) = readyz(&base).await;
    assert_eq!(
        (code, why.as_str()),
        (503, "draining: this instance is stopping")
    );
}

fn config(dir: &Path, sim: &SimHandle, store_url: &str, listen: &str, extra: &str) -> String {
    copy_servicenow(dir);
    write(
        &dir.join("switchboard.toml"),
        &format!(
            r#"version = 1
[store]
url = "{store_url}"
[http]
listen = "{listen}"
[connectors.servicenow]
base_url = "{base}"
username = "admin"
password = "sim-password"
schedule = "0 0 0 1 1 *"
{extra}
"#,
            base = sim.base_url,
        ),
    );
    dir.join("switchboard.toml").to_str().unwrap().to_string()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A daemon on `ts` against `sn`, its HTTP port, and its store config.
fn start(ts: &TestStore, sn: &SimHandle, dir: &Path, extra: &str) -> (std::process::Child, u16) {
    let port = free_port();
    let cfg = config(dir, sn, &ts.url, &format!("127.0.0.1:{port}"), extra);
    let child = switchboard(dir, &["run", "--config", &cfg])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (child, port)
}

async fn wait_for_a_lease(store: &Store, child: &mut std::process::Child) {
    let held = Instant::now() + Duration::from_secs(60);
    while !store
        .leases()
        .await
        .unwrap()
        .iter()
        .any(|l| l.holder.is_some())
    {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(Instant::now() < held, "no lease taken within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn sigterm(child: &std::process::Child) {
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
}

async fn sigterm_gives_the_leases_back_at_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    // A page in flight: abandoned at once (nothing of it is committed).
    sn.sim.set_latency(Duration::from_secs(30));
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _) = start(&ts, &sn, dir.path(), "");
    wait_for_a_lease(&ts.store, &mut child).await;
    sigterm(&child);
    let stopping = Instant::now();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{log}", out.status);
    assert!(stopping.elapsed() < Duration::from_secs(5), "{log}");
    assert!(log.contains("drained=true"), "{log}");
    let leases = ts.store.leases().await.unwrap();
    assert!(
        leases
            .iter()
            .all(|l| l.holder.is_none() && l.last_ok_ms.is_none()),
        "given back, the tick not marked done: {leases:?}"
    );
}

/// A page write that cannot finish (the test holds the tables it writes)
/// is cut off at the grace, and the leases are given back all the same.
/// PostgreSQL alone: the test's lock on SQLite would hold the lease
/// release too, and an abandoned SQLite statement is not interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_drain_past_the_grace_is_cut_off() {
    use sqlx::Connection;
    let ts = TestStore::new(Backend::Postgres).await;
    let sn = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    // Long enough to take the lock below while the first page is fetched.
    sn.sim.set_latency(Duration::from_secs(2));
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = start(&ts, &sn, dir.path(), "[daemon]\nshutdown_grace_secs = 2\n");
    wait_for_a_lease(&ts.store, &mut child).await;
    let mut lock = sqlx::PgConnection::connect(&ts.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE source_records, work_items IN ACCESS EXCLUSIVE MODE")
        .execute(&mut lock)
        .await
        .unwrap();
    // The page has come and its write waits on the lock.
    tokio::time::sleep(Duration::from_secs(3)).await;
    sigterm(&child);
    let stopping = Instant::now();
    // While it drains it still answers, and says it is not ready.
    let base = format!("http://127.0.0.1:{port}");
    let mut said = None;
    while said.is_none() && stopping.elapsed() < Duration::from_secs(2) {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status() == 503
        {
            said = Some(r.text().await.unwrap_or_default());
        }
    }
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    sqlx::raw_sql("ROLLBACK").execute(&mut lock).await.unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(6),
        "stopped at the grace: {:?}\n{log}",
        stopping.elapsed()
    );
    assert!(out.status.success(), "{:?}\n{log}", out.status);
    assert_eq!(
        said.as_deref(),
        Some("draining: this instance is stopping"),
        "{log}"
    );
    assert!(
        log.contains("ran past [daemon] shutdown_grace_secs"),
        "{log}"
    );
    assert!(log.contains("drained=false"), "{log}");
    let leases = ts.store.leases().await.unwrap();
    assert!(
        leases.iter().all(|l| l.holder.is_none()),
        "given back, not left to expire: {leases:?}"
    );
    assert_eq!(
        ts.store
            .count(switchboard::store::CountedTable::WorkItems)
            .await
            .unwrap(),
        0,
        "the page cut off was not committed"
    );
}

async fn run_once_leaves_a_stream_a_daemon_is_running(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sn, &ts.url, "127.0.0.1:0", "");
    // A daemon elsewhere is running the incident stream now.
    let other = LeaseAsk {
        system: "servicenow",
        stream: "incident",
        holder: "hub-2/77/abcdef",
        now: Utc::now(),
        ttl: Duration::from_secs(120),
        due_since: None,
    };
    assert!(ts.store.take_lease(&other).await.unwrap());

    let run = |dir: std::path::PathBuf, cfg: String| {
        tokio::task::spawn_blocking(move || output(&dir, &["run", "--once", "--config", &cfg]))
    };
    let (code, out, err) = run(dir.path().into(), cfg.clone()).await.unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(
            "servicenow/incident: left alone, instance hub-2/77/abcdef holds its lease until"
        ),
        "{out}"
    );
    let listed = |sn: &SimHandle| {
        sn.sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/table/incident"))
            .count()
    };
    assert_eq!(listed(&sn), 0, "not one incident page fetched");

    ts.store.release_lease(&other, false).await.unwrap();
    let (code, out, err) = run(dir.path().into(), cfg).await.unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("servicenow/incident: 50 fetched"), "{out}");
    assert!(listed(&sn) > 0);
}

on_every_backend!(
    readyz_asks_the_broker_and_says_draining,
    sigterm_gives_the_leases_back_at_once,
    run_once_leaves_a_stream_a_daemon_is_running,
);
