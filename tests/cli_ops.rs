//! The operator's commands over the real binary, on both stores:
//! `switchboard sync NAME` syncs one connector, `status` shows how each
//! stream last ran (the numbers of `GET /api/v1/connectors`), and `report`
//! prints the KPIs `GET /api/v1/kpis` gives, in four formats.

mod common;

use serde_json::Value;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::{KpiGroup, KpiQuery};

use common::bin::output;
use common::{Backend, TestStore, write};

const SEEDED: usize = 30;

/// A folder with the shipped files, ServiceNow pointed at `base`.
fn workspace(base: &str, store_url: &str) -> (tempfile::TempDir, String) {
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
[paths]
connectors = "{connectors}"
mappings = "{mappings}"
[connectors.servicenow]
base_url = "{base}"
username = "admin"
password = "sim-password"
schedule = "0 0 0 1 1 *"
"#,
            connectors = connectors.display(),
            mappings = mappings.display(),
        ),
    );
    let config = config.to_str().unwrap().to_string();
    (ws, config)
}

async fn sync_then_status_show_the_run(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: SEEDED,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (ws, config) = workspace(&sn.base_url, &ts.url);
    let run = |args: &[&str]| output(ws.path(), &[args, &["--config", &config]].concat());

    let (code, out, _) = run(&["status"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("servicenow  incident")
            && l.contains("never")
            && l.contains("in ")),
        "before any run, the stream is listed as never run with its next run:\n{out}"
    );

    let (code, out, err) = run(&["sync", "servicenow", "--stream", "incident"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "servicenow/incident: {SEEDED} fetched, {SEEDED} stored, 0 unchanged, 0 quarantined"
        )),
        "{out}"
    );
    assert!(
        !out.contains("servicenow/request"),
        "only the stream asked for: {out}"
    );

    let (code, out, _) = run(&["status", "--json"]);
    assert_eq!(code, 0);
    let statuses: Value = serde_json::from_str(&out).expect("JSON");
    let sn_status = statuses
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["system"] == "servicenow")
        .expect("servicenow listed");
    let incident = sn_status["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "incident")
        .unwrap();
    assert_eq!(incident["last_run_fetched"], SEEDED as i64);
    assert_eq!(incident["last_run_stored"], SEEDED as i64);
    assert_eq!(incident["last_error"], Value::Null);
    assert!(incident["lag_seconds"].as_i64().is_some_and(|s| s < 120));
    assert!(incident["last_run_seconds"].as_f64().is_some());
    let request = sn_status["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "request")
        .unwrap();
    assert_eq!(request["lag_seconds"], Value::Null, "never ran: no lag yet");

    // A second sync finds nothing new: the counts are the last run's.
    let (code, out, err) = run(&["sync", "servicenow"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (_, out, _) = run(&["status", "--json"]);
    let statuses: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        statuses[0]["streams"][0]["last_run_stored"], 0,
        "{statuses}"
    );
    let (_, out, _) = run(&["status"]);
    let row = out
        .lines()
        .find(|l| l.starts_with("servicenow  incident"))
        .unwrap();
    assert!(row.contains(" ago ") && !row.contains("never"), "{row}");

    let (code, _, err) = run(&["sync", "servicenw"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no enabled connector `servicenw` (did you mean `servicenow`?)"),
        "{err}"
    );
    let (code, _, err) = run(&["sync", "servicenow", "--stream", "incidents"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("has no stream `incidents`; its streams: incident, request"),
        "{err}"
    );
}

async fn report_prints_the_kpis_of_the_api(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: SEEDED,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (ws, config) = workspace(&sn.base_url, &ts.url);
    let run = |args: &[&str]| output(ws.path(), &[args, &["--config", &config]].concat());
    let (code, out, err) = run(&["sync", "servicenow"]);
    assert_eq!(code, 0, "{out}\n{err}");

    let now = chrono::Utc::now();
    let from = (now - chrono::Duration::days(365)).date_naive().to_string();
    let to = (now + chrono::Duration::days(1)).date_naive().to_string();
    let window = ["report", "--from", &from, "--to", &to];

    let (code, out, err) = run(&[&window[..], &["--format", "json"]].concat());
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let q = KpiQuery::new(
        chrono::DateTime::parse_from_rfc3339(&format!("{from}T00:00:00Z"))
            .unwrap()
            .to_utc(),
        chrono::DateTime::parse_from_rfc3339(&format!("{to}T00:00:00Z"))
            .unwrap()
            .to_utc(),
        KpiGroup::Department,
    )
    .unwrap();
    let expected = serde_json::to_value(ts.store.kpis(&q).await.unwrap()).unwrap();
    assert_eq!(report["rows"], expected);
    let it = expected
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["key"] == "it")
        .expect("IT has work items");
    assert!(it["opened"].as_i64().unwrap() > 0, "{it}");

    let (code, out, _) = run(&[&window[..], &["--format", "csv"]].concat());
    assert_eq!(code, 0);
    let mut lines = out.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("group,opened,resolved,backlog,")
    );
    let it_line = lines.find(|l| l.starts_with("it,")).expect("an IT row");
    assert!(
        it_line.starts_with(&format!("it,{},", it["opened"])),
        "{it_line}"
    );
    assert_eq!(out.lines().count(), expected.as_array().unwrap().len() + 1);

    let (code, out, _) = run(&window);
    assert_eq!(code, 0);
    assert!(out.starts_with("GROUP "), "{out}");
    assert!(out.lines().any(|l| l.starts_with("it ")), "{out}");

    let page = ws.path().join("kpis.html");
    let page_arg = page.to_str().unwrap();
    let (code, out, _) = run(&[&window[..], &["--format", "html", "--output", page_arg]].concat());
    assert_eq!((code, out.as_str()), (0, ""));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("<th scope=\"row\">it</th>"));

    let (code, _, err) = run(&["report", "--from", &to, "--to", &from]);
    assert_eq!(code, 1);
    assert!(err.contains("error: "), "{err}");
    let (code, _, err) = run(&["report", "--from", "last week", "--to", &to]);
    assert_eq!(code, 2, "a usage error");
    assert!(err.contains("neither a date"), "{err}");
}

on_every_backend!(
    sync_then_status_show_the_run,
    report_prints_the_kpis_of_the_api
);
