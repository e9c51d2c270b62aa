//! `run` as a daemon against a slow simulator: killed between pages it
//! loses nothing, and SIGTERM stops it cleanly while its probes answer.

use super::*;

async fn slow_sim(incidents: usize) -> SimHandle {
    let sim = ServiceNowSim::spawn(SimConfig {
        incidents,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Slow enough that the process is caught between pages, fast enough to finish.
    sim.sim.set_latency(Duration::from_millis(400));
    sim
}

async fn wait_for_items(store: &Store, at_least: i64, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if store.count(CountedTable::WorkItems).await.unwrap() >= at_least {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "switchboard exited before the first pages"
        );
        assert!(Instant::now() < deadline, "no progress within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Pages are atomic: a store never holds part of one, and data matches raw
/// payloads. Returns the incidents stored.
async fn assert_whole_pages(store: &Store, page: i64) -> i64 {
    let items = store.count(CountedTable::WorkItems).await.unwrap();
    assert_eq!(
        items,
        store.count(CountedTable::SourceRecords).await.unwrap()
    );
    // The simulator's 3 catalogue requests are one page of their own, in
    // the store whole or not at all.
    let requests = if items % page == SIM_REQUESTS {
        SIM_REQUESTS
    } else {
        0
    };
    let incidents = items - requests;
    assert_eq!(
        incidents % page,
        0,
        "{items} items is not a whole number of {page}-incident pages plus the requests"
    );
    incidents
}

/// Catalogue requests the ServiceNow simulator seeds.
const SIM_REQUESTS: i64 = 3;

async fn killed_between_pages_loses_nothing(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = slow_sim(450).await;
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_config(dir.path(), &sn, &ts.url, "127.0.0.1:0");
    let config = config.to_str().unwrap();
    let mut child = switchboard(dir.path(), &["run", "--once", "--config", config])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_items(&ts.store, 100, &mut child).await;
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    let partial = assert_whole_pages(&ts.store, 100).await;
    assert!(partial < 450, "killed before the end");

    sn.sim.set_latency(Duration::ZERO);
    // The killed run could not give its lease back: the stream is left
    // alone until the lease expires (3 s here, docs/SCALING.md), then
    // resumed from the committed cursor.
    let resumed = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, out, err) = output(dir.path(), &["run", "--once", "--config", config]);
        assert_eq!(code, 0, "{err}");
        if !out.contains("servicenow/incident: left alone, instance") {
            break;
        }
        assert!(Instant::now() < resumed, "still left alone: {out}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        ts.store.count(CountedTable::WorkItems).await.unwrap(),
        450 + SIM_REQUESTS
    );
    for rec in sn.sim.records("incident") {
        let id = rec["sys_id"].as_str().unwrap();
        let w = ts
            .store
            .work_item_summary("servicenow", "incident", id)
            .await
            .unwrap();
        assert_eq!(w.unwrap().native_status.as_deref(), rec["state"].as_str());
    }
}

async fn sigterm_stops_cleanly_and_probes_answer(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = slow_sim(450).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = daemon_config(dir.path(), &sn, &ts.url, &format!("127.0.0.1:{port}"));
    let mut child = switchboard(
        dir.path(),
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_items(&ts.store, 100, &mut child).await;

    let base = format!("http://127.0.0.1:{port}");
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let status: serde_json::Value = reqwest::get(format!("{base}/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["streams"][0]["source_system"], "servicenow");
    // The streams' leases: each named, and (one instance) none held by
    // another; a stream that already ran well says when.
    let leases = status["leases"].as_array().expect("leases listed");
    assert!(
        leases
            .iter()
            .any(|l| l["connector"] == "servicenow" && l["stream"] == "incident"),
        "{status}"
    );
    assert!(
        leases
            .iter()
            .filter(|l| l["stream"] == "request")
            .all(|l| l["last_ok_at"].as_str().is_some_and(|t| t.ends_with('Z'))),
        "{status}"
    );
    assert_eq!(
        status["outbox"],
        serde_json::json!({"pending": 0, "dead": 0}),
        "routed work is visible: {status}"
    );
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(
            r#"switchboard_records_stored_total{connector="servicenow",stream="incident"}"#
        ),
        "{metrics}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "clean exit on SIGTERM: {:?}",
        out.status
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stops promptly: {log}"
    );
    assert!(
        log.contains("\"message\":\"stopped\""),
        "JSON logs end with a clean stop:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    let stored = assert_whole_pages(&ts.store, 100).await;
    assert!(stored < 450, "stopped before the end");
}

crate::on_every_backend!(
    killed_between_pages_loses_nothing,
    sigterm_stops_cleanly_and_probes_answer
);
