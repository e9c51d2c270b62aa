//! Stream leases (docs/SCALING.md): instances sharing a store run each
//! stream on one instance at a time and once per schedule tick, and a dead
//! instance's stream is free once its lease expires. The store's
//! compare-and-set on both stores, then three daemons' schedules on one
//! PostgreSQL against the ServiceNow simulator.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use switchboard::catalog::ConnectorJobs;
use switchboard::connector::manifest::parse_schedule;
use switchboard::daemon::lease::{Instance, Turn, run_leased};
use switchboard::daemon::schedule::{StreamRetry, run_connector};
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::LeaseAsk;
use tokio_util::sync::CancellationToken;

use common::hub::scalar;
use common::{Backend, TestStore, incident_job, servicenow_manifest};

fn ask<'a>(holder: &'a str, at: chrono::DateTime<Utc>) -> LeaseAsk<'a> {
    LeaseAsk {
        system: "servicenow",
        stream: "incident",
        holder,
        now: at,
        ttl: Duration::from_secs(30),
        due_since: None,
    }
}

async fn one_holder_at_a_time_and_once_per_tick(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let t0 = Utc::now();
    assert!(s.take_lease(&ask("a", t0)).await.unwrap(), "free: taken");
    assert!(!s.take_lease(&ask("b", t0)).await.unwrap(), "held by a");
    assert!(s.renew_lease(&ask("a", t0)).await.unwrap());
    assert!(
        !s.renew_lease(&ask("b", t0)).await.unwrap(),
        "b holds nothing"
    );
    let leases = s.leases().await.unwrap();
    assert_eq!(leases[0].holder.as_deref(), Some("a"));

    // A succeeded at t1: the tick at t0 is done, whoever asks.
    let t1 = t0 + TimeDelta::seconds(1);
    s.release_lease(&ask("a", t1), true).await.unwrap();
    let this_tick = LeaseAsk {
        due_since: Some(t0),
        ..ask("b", t1)
    };
    assert!(!s.take_lease(&this_tick).await.unwrap(), "already run");
    let next_tick = LeaseAsk {
        due_since: Some(t1 + TimeDelta::seconds(5)),
        now: t1 + TimeDelta::seconds(5),
        ..ask("b", t1)
    };
    assert!(s.take_lease(&next_tick).await.unwrap(), "the next tick's");

    // B dies holding it: free once the lease expires, not before.
    let t2 = next_tick.now + TimeDelta::seconds(10);
    let again = LeaseAsk {
        due_since: Some(t2),
        ..ask("a", t2)
    };
    assert!(!s.take_lease(&again).await.unwrap(), "b's lease holds 30 s");
    let later = LeaseAsk {
        now: t2 + TimeDelta::seconds(30),
        ..again
    };
    assert!(s.take_lease(&later).await.unwrap(), "expired: a takes over");
    assert!(
        !s.renew_lease(&ask("b", later.now)).await.unwrap(),
        "b's late renewal finds it gone"
    );
    // A failed run gives the stream back without marking the tick done.
    s.release_lease(&later, false).await.unwrap();
    assert!(s.take_lease(&ask("b", later.now)).await.unwrap());
}

/// Many instances asking at once: exactly one takes the stream.
async fn a_race_has_one_winner(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let now = Utc::now();
    let holders: Vec<String> = (0..6).map(|i| format!("instance-{i}")).collect();
    let asks = holders.iter().map(|h| {
        let store = ts.store.clone();
        let a = ask(h, now);
        let a = LeaseAsk {
            holder: h.as_str(),
            ..a
        };
        async move { store.take_lease(&a).await.unwrap() }
    });
    let won = futures::future::join_all(asks).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
}

/// The most leases `holder` held at once while `runs` went on.
async fn most_held_at_once(
    store: &switchboard::store::Store,
    holder: &str,
    runs: Vec<tokio::task::JoinHandle<bool>>,
) -> usize {
    let mut most = 0;
    while runs.iter().any(|r| !r.is_finished()) {
        let leases = store.leases().await.unwrap();
        let held = leases
            .iter()
            .filter(|l| l.holder.as_deref() == Some(holder))
            .count();
        most = most.max(held);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for r in runs {
        assert!(r.await.unwrap(), "each stream ran here");
    }
    most
}

/// `[daemon] max_streams_at_once`: a full instance leaves a due stream
/// waiting, holding no lease for it, until a slot is free.
async fn an_instance_runs_at_most_its_streams_at_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    // Each run takes a while: two at once would overlap.
    sn.sim.set_latency(Duration::from_millis(150));
    let manifest = servicenow_manifest(&sn.base_url, &[]);
    let mapping = common::servicenow_mapping();
    for (cap, expected) in [(1, 1), (0, 2)] {
        let instance = Arc::new(Instance::new(Duration::from_secs(30)).with_max_streams(cap));
        let stop = CancellationToken::new();
        let runs = ["incident", "request"]
            .into_iter()
            .map(|stream| {
                let job = common::stream_job(&manifest, stream, mapping.clone());
                let (store, instance, stop) = (ts.store.clone(), instance.clone(), stop.clone());
                tokio::spawn(async move {
                    let turn = run_leased(&store, &job, &instance, None, &stop, &|_, _| {}).await;
                    matches!(turn, Turn::Ran(_))
                })
            })
            .collect();
        let most = most_held_at_once(&ts.store, &instance.id, runs).await;
        assert_eq!(most, expected, "max_streams_at_once = {cap}");
    }
    sn.shutdown().await;
}

on_every_backend!(
    one_holder_at_a_time_and_once_per_tick,
    a_race_has_one_winner,
    an_instance_runs_at_most_its_streams_at_once,
);

/// The embedded store serves one daemon: a second claim on the same file
/// is refused, naming the file, until the first is given up.
#[tokio::test]
async fn a_second_daemon_on_one_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let first = switchboard::store::Store::connect(&url, 2).await.unwrap();
    let second = switchboard::store::Store::connect(&url, 2).await.unwrap();
    let held = first.claim_single_instance().unwrap();
    assert!(held.is_some());
    let err = second.claim_single_instance().unwrap_err().to_string();
    assert!(
        err.contains("another switchboard daemon is running") && err.contains("hub.db"),
        "{err}"
    );
    drop(held);
    assert!(
        second.claim_single_instance().unwrap().is_some(),
        "free again"
    );
    let pg = TestStore::new(Backend::Postgres).await;
    assert!(
        pg.store.claim_single_instance().unwrap().is_none(),
        "leases, not a lock"
    );
}

/// Three daemons' schedules on one PostgreSQL, ticking every 2 s for about
/// 7 s: the incident list is read once per tick, not once per instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_run_a_stream_once_per_tick() {
    let ts = TestStore::new(Backend::Postgres).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 30,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let manifest = servicenow_manifest(&sn.base_url, &[]);
    let stop = CancellationToken::new();
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let job = incident_job(&manifest);
        let jobs = ConnectorJobs {
            system: "servicenow".into(),
            connector: job.connector.clone(),
            schedule: Some(parse_schedule("*/2 * * * * *").unwrap()),
            jobs: vec![job],
        };
        tasks.push(tokio::spawn(run_connector(
            ts.store.clone(),
            Arc::new(jobs),
            StreamRetry::default(),
            Arc::new(Instance::default()),
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(7_000)).await;
    stop.cancel();
    for t in tasks {
        t.await.unwrap();
    }
    // A run reads from its first page; each first request is one run.
    let runs = sn
        .sim
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/incident"))
        .filter(|r| r.query.get("sysparm_offset").map(String::as_str) == Some("0"))
        .count();
    // The start (one run for the three) and three or four ticks.
    assert!((3..=5).contains(&runs), "{runs} runs in 7 s");
    let stored = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM work_items WHERE source_system = 'servicenow'",
    )
    .await;
    assert_eq!(stored, 30);
    let leases = ts.store.leases().await.unwrap();
    assert!(leases.iter().all(|l| l.holder.is_none()), "{leases:?}");
    sn.shutdown().await;
}
