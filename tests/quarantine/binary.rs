//! Quarantine through the real binary, on both stores: `run --once` exits
//! 3 while a record waits and `quarantine list`, `show` and `retry` work it;
//! the daemon's `/status` and `/metrics` count it and a mapping fix retries
//! it by hot reload.

use super::*;

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

crate::on_every_backend!(
    run_once_exits_3_until_the_quarantine_is_retried,
    the_daemon_counts_quarantine_and_a_reload_retries_it,
);
