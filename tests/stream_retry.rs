//! A stream whose run failed (its source answering 500 for a moment, as
//! during a restart) runs again soon after, with waits that grow, instead
//! of at its next scheduled run; once it succeeds it runs on the schedule
//! only. The daemon's own loop (`daemon::schedule::run_connector`), the
//! shipped ServiceNow manifest and the simulator, on both stores.
//!
//! The schedule is yearly, so a stream that waited for its next tick would
//! time the test out; the retry waits are scaled down (the shipped ones
//! start at 5 s).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::{self, Next};
use switchboard::catalog::ConnectorJobs;
use switchboard::connector::manifest::parse_schedule;
use switchboard::daemon::lease::Instance;
use switchboard::daemon::schedule::{StreamRetry, run_connector};
use switchboard::sim::servicenow::{Fault, ServiceNowSim, SimConfig};
use tokio_util::sync::CancellationToken;

use common::hub::scalar;
use common::{Backend, TestStore, incident_job, servicenow_manifest};

const INCIDENTS: i64 = 5;
const FAILURES: usize = 3;

async fn a_failed_stream_runs_again_soon(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sim = ServiceNowSim::new(SimConfig {
        incidents: INCIDENTS as usize,
        ..SimConfig::default()
    });
    // When each request arrived.
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = arrivals.clone();
    let app = sim
        .router()
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            log.lock().unwrap().push(Instant::now());
            next.run(req)
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    sim.inject(Fault::ServerError, FAILURES);

    // One try per run, so each 500 fails a run.
    let manifest = servicenow_manifest(&base, &[("max_attempts = 5", "max_attempts = 1")]);
    let job = incident_job(&manifest);
    let jobs = ConnectorJobs {
        system: "servicenow".into(),
        connector: job.connector.clone(),
        schedule: Some(parse_schedule("0 0 0 1 1 *").unwrap()),
        jobs: vec![job],
    };
    let retry = StreamRetry {
        first: Duration::from_millis(200),
        max: Duration::from_millis(800),
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(run_connector(
        ts.store.clone(),
        Arc::new(jobs),
        retry,
        Arc::new(Instance::default()),
        stop.clone(),
    ));

    let stored = "SELECT COUNT(*) FROM work_items WHERE source_system = 'servicenow'";
    let deadline = Instant::now() + Duration::from_secs(20);
    while scalar(&ts.store, stored).await < INCIDENTS {
        assert!(
            Instant::now() < deadline,
            "the stream did not run again after failing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = arrivals.lock().unwrap().clone();
    assert!(seen.len() > FAILURES, "{} requests", seen.len());
    // Each wait at least the last one doubled, up to the cap.
    let gaps: Vec<Duration> = seen[..=FAILURES].windows(2).map(|w| w[1] - w[0]).collect();
    let least = [200, 400, 800].map(Duration::from_millis);
    for (gap, least) in gaps.iter().zip(least) {
        assert!(*gap >= least, "waits {gaps:?}");
    }
    assert!(
        gaps.iter().all(|g| *g < Duration::from_millis(2_000)),
        "soon, not at the next scheduled run: {gaps:?}"
    );

    // Healthy now: nothing runs before the schedule says so. The run
    // ends after its records are stored (the deletions endpoint is read
    // last): count from its end.
    let ended = "SELECT COUNT(*) FROM sync_state WHERE source_stream = 'incident' \
                 AND last_success_started_at IS NOT NULL";
    while scalar(&ts.store, ended).await < 1 {
        assert!(Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let requests = arrivals.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        arrivals.lock().unwrap().len(),
        requests,
        "no run off schedule"
    );
    stop.cancel();
    task.await.unwrap();
}

on_every_backend!(a_failed_stream_runs_again_soon);
