//! The `switchboard` binary as admins and operators use it: `check`, `run`
//! (including being killed mid-sync), and `demo`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard::sim::servicenow::{ServiceNowSim, SimConfig, SimHandle};
use switchboard::store::{CountedTable, Store};

use common::bin::{output, switchboard};
use common::{Backend, TestStore, repo, write};

/// A copy of the shipped connectors/ and mappings/ to break in a test.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["connectors", "mappings"] {
        for entry in std::fs::read_dir(repo().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            write(&dir.path().join(sub).join(path.file_name().unwrap()), &text);
        }
    }
    dir
}

fn edit(path: PathBuf, from: &str, to: &str) {
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn check_accepts_the_shipped_files() {
    let (code, out, err) = output(&repo(), &["check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok:"), "{out}");
    let (code, _, err) = output(&repo(), &["check", "--config", "switchboard.example.toml"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn check_locates_a_typo_in_the_config_file() {
    let ws = workspace();
    write(
        &ws.path().join("switchboard.toml"),
        "version = 1\n\n[htp]\nlisten = \"127.0.0.1:1\"\n",
    );
    for cmd in [&["check"][..], &["run", "--once"][..]] {
        let (code, _, err) = output(ws.path(), cmd);
        assert_ne!(code, 0);
        assert!(
            err.contains("switchboard.toml:3:2: unknown field `htp`"),
            "{cmd:?}: {err}"
        );
        assert!(err.contains("did you mean `http`?"), "{err}");
    }
}

#[test]
fn check_locates_a_typo_in_a_manifest() {
    let ws = workspace();
    let manifest = ws.path().join("connectors/servicenow.toml");
    edit(manifest.clone(), "page_size = 100", "page_sise = 100");
    let line = line_of(&manifest, "page_sise");
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(err.contains("connectors/servicenow.toml:"), "{err}");
    assert!(err.contains("page_sise"), "{err}");
    assert!(err.contains("did you mean `page_size`?"), "{err}");
    // Serde reports unknown keys of tagged tables at the table header; accept either line.
    let table_line = line_of(&manifest, "[streams.pagination]");
    assert!(
        err.contains(&format!("servicenow.toml:{line}:"))
            || err.contains(&format!("servicenow.toml:{table_line}:")),
        "{err}"
    );
}

#[test]
fn check_locates_errors_in_a_mapping_and_reports_them_all() {
    let ws = workspace();
    let mapping = ws.path().join("mappings/servicenow-incident.toml");
    edit(mapping.clone(), "title = {", "titel = {");
    edit(mapping.clone(), "map = \"priority\"", "map = \"priorty\"");
    edit(mapping.clone(), "\"7\" = \"closed\"", "\"7\" = \"done\"");
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    let titel = line_of(&mapping, "titel");
    assert!(
        err.contains(&format!(
            "servicenow-incident.toml:{titel}:1: `fields.titel`"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean `title`?"), "{err}");
    assert!(
        err.contains("no map named `priorty`") && err.contains("did you mean `priority`?"),
        "{err}"
    );
    assert!(err.contains("`done` is not one of"), "{err}");
    // `titel` is `title` misspelt: not also reported as a missing `title`.
    assert!(!err.contains("requires field `title`"), "{err}");
    assert!(err.contains("problem(s) found"), "{err}");
}

#[test]
fn check_rejects_a_mapping_for_an_unknown_stream() {
    let ws = workspace();
    edit(
        ws.path().join("mappings/servicenow-incident.toml"),
        "stream = \"incident\"",
        "stream = \"incidnet\"",
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("has no stream `incidnet`") && err.contains("did you mean `incident`?"),
        "{err}"
    );
    // One mistake, one error: the stream the typo meant is not also unmapped.
    assert!(!err.contains("stream `incident` has no mapping"), "{err}");
}

#[test]
fn check_refuses_progress_that_would_overwrite_what_the_origin_owns() {
    let ws = workspace();
    let routing = ws.path().join("routing.toml");
    write(
        &routing,
        &std::fs::read_to_string(repo().join("routing.toml")).unwrap(),
    );
    edit(
        routing.clone(),
        "servicenow = \"comment_incident\"",
        "servicenow = \"update_incident\"",
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1, "{err}");
    let line = line_of(&routing, "servicenow = \"update_incident\"");
    assert!(
        err.contains(&format!("routing.toml:{line}:"))
            && err.contains("`update_incident` writes `state`, which servicenow owns as `status`")
            && err.contains("comment action"),
        "{err}"
    );
}

#[test]
fn check_ties_outbound_mappings_to_declared_actions() {
    let ws = workspace();
    let mapping = ws.path().join("mappings/servicenow-comment-incident.toml");
    edit(
        mapping.clone(),
        "action = \"comment_incident\"",
        "action = \"coment_incident\"",
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    let line = line_of(&mapping, "action = ");
    assert!(
        err.contains(&format!("servicenow-comment-incident.toml:{line}:"))
            && err.contains("connector `servicenow` has no action `coment_incident`")
            && err.contains("did you mean `comment_incident`?"),
        "{err}"
    );
    // One mistake, one error: the action the typo meant is not also
    // reported as having no body mapping.
    assert!(
        !err.contains("action `comment_incident` has no body mapping"),
        "{err}"
    );
}

#[test]
fn route_shows_which_rule_takes_the_work_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("items.jsonl");
    write(
        &input,
        "{\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"No heating on floor 3\",\"status\":\"new\",\"department\":\"it\",\"attributes\":{}}\n\
         {\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"VPN drops\",\"status\":\"new\",\"department\":\"it\",\"attributes\":{}}\n",
    );
    let input = input.to_str().unwrap();
    let (code, out, err) = output(&repo(), &["route", "--input", input]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1. heating-and-leaks-to-facilities: matched")
            && out.contains("-> facilities / maximo / create_workorder (SLA 8 h)")
            && out.contains("-> no rule matched; it stays where it was raised"),
        "{out}"
    );
    let (code, _, err) = output(&repo(), &["route", "--input", input, "--event", "hired"]);
    assert_eq!(code, 1);
    assert!(err.contains("events are created, updated"), "{err}");
}

#[test]
fn check_validates_the_routing_rules_against_the_manifests() {
    let ws = workspace();
    let routing = ws.path().join("routing.toml");
    write(
        &routing,
        &std::fs::read_to_string(repo().join("routing.toml"))
            .unwrap()
            .replace(
                "action = \"create_workorder\"",
                "action = \"create_work_order\"",
            ),
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    let line = line_of(&routing, "create_work_order");
    assert!(
        err.contains(&format!("routing.toml:{line}:"))
            && err.contains("connector `maximo` has no action `create_work_order`")
            && err.contains("did you mean `create_workorder`?"),
        "{err}"
    );
}

#[test]
fn check_rejects_two_systems_owning_one_person_field() {
    let ws = workspace();
    let person = |system: &str| {
        format!(
            "version = 1\nsystem = \"{system}\"\nstream = \"incident\"\nentity = \"person\"\nowns = [\"location\"]\n\n[fields]\nemail = {{ path = \"caller_id\" }}\n"
        )
    };
    // Two copies of the ServiceNow manifest under other names, each with a
    // person mapping that claims `department`.
    let manifest = std::fs::read_to_string(ws.path().join("connectors/servicenow.toml")).unwrap();
    for system in ["hr", "itsm"] {
        write(
            &ws.path().join(format!("connectors/{system}.toml")),
            &manifest.replacen(
                "system = \"servicenow\"",
                &format!("system = \"{system}\""),
                1,
            ),
        );
        write(
            &ws.path().join(format!("mappings/{system}-incident.toml")),
            &person(system),
        );
    }
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("mappings/itsm-incident.toml:5:")
            && err.contains("`person.location` is already owned by system `hr`"),
        "{err}"
    );
}

#[test]
fn demo_once_syncs_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("demo.db").display());
    let (code, out, err) = output(
        &repo(),
        &[
            "demo",
            "--once",
            "-v",
            "--incidents",
            "120",
            "--store",
            &store,
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    // -v shows the log; it goes to a pipe here, not a terminal: no colour codes in it.
    assert!(err.contains(" INFO ") && !err.contains('\x1b'), "{err:?}");
    // At info a sync logs one line per stream, `sync finished`: its pages,
    // a baseline and deletions are at debug, or fields of that line. The
    // rest is routed work being delivered.
    for line in err.lines().filter(|l| l.contains(" INFO ")) {
        assert!(
            line.contains(": sync finished connector=")
                || line.contains(": routed work delivered connector="),
            "another info line: {line}"
        );
    }
    assert!(
        out.contains("synced servicenow/incident: 2 pages, 120 fetched, 120 stored"),
        "{out}"
    );
    // IT: ServiceNow's 3 catalogue requests, Jira Service Management (40)
    // and TOPdesk (50) add to its 120 incidents. Facilities: Maximo's 60
    // work orders. Finance: Odoo's 30 purchase orders, with its departments
    // and employees. HR: Personio's people.
    for line in [
        "synced jira/request: 1 pages, 40 fetched, 40 stored",
        "synced topdesk/incident: 1 pages, 50 fetched, 50 stored",
        "synced servicenow/request: 1 pages, 3 fetched, 3 stored",
        "synced maximo/workorder: 1 pages, 60 fetched, 60 stored",
        "synced odoo/departments: 1 pages, 8 fetched, 8 stored",
        "synced odoo/employees: 1 pages, 60 fetched, 60 stored",
        "synced odoo/purchase_orders: 1 pages, 30 fetched, 30 stored",
        "synced personio/employees: 1 pages, 40 fetched, 40 stored",
        // The journeys add 9: the heating ticket and its work order; the
        // onboarding case, its 3 tasks, and what they became in ServiceNow,
        // Maximo and Odoo. Ada Lovelace is the 101st person.
        "work items in the store: 312 (0 records in quarantine)",
        "people: 101 from HR and ERP",
        "heating: ServiceNow INC",
        "-> maximo work order",
        "in progress\"",
        "polled both again: 0 message(s) waiting",
        "onboarding: Personio hire Ada Lovelace -> case onboarding:personio:employees:",
        "3 task(s) delivered",
    ] {
        assert!(out.contains(line), "no `{line}` in:\n{out}");
    }
    for department in ["it", "facilities", "finance"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(department)),
            "no {department} work in:\n{out}"
        );
    }
    assert!(out.contains("it           closed"), "{out}");
}

/// A config that points the shipped manifest at a simulator, with this test's store.
fn daemon_config(dir: &Path, sim: &SimHandle, store_url: &str, listen: &str) -> PathBuf {
    let path = dir.join("switchboard.toml");
    write(
        &path,
        &format!(
            r#"version = 1
[store]
url = "{store_url}"
[http]
listen = "{listen}"
[paths]
connectors = "{root}/connectors"
mappings = "{root}/mappings"
[connectors.servicenow]
base_url = "{base}"
username = "admin"
password = "sim-password"
schedule = "0 0 0 1 1 *"
[daemon]
lease_secs = 3
"#,
            root = repo().display(),
            base = sim.base_url,
        ),
    );
    path
}

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

on_every_backend!(
    killed_between_pages_loses_nothing,
    sigterm_stops_cleanly_and_probes_answer
);

#[test]
fn map_prints_canonical_records_and_explains() {
    let root = repo();
    let input = root.join("tests/golden/servicenow-incident.input.jsonl");
    let mapping = root.join("mappings/servicenow-incident.toml");
    let args = [
        "map",
        "--mapping",
        mapping.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ];
    let (code, out, err) = output(&root, &args);
    assert_eq!(code, 0, "{err}");
    let expected =
        std::fs::read_to_string(root.join("tests/golden/servicenow-incident.expected.jsonl"))
            .unwrap();
    assert_eq!(out, expected);

    let (code, out, _) = output(&root, &[&args[..], &["--explain"]].concat());
    assert_eq!(code, 0);
    assert!(
        out.contains("#   fields.status                state = \"2\" -> \"in_progress\""),
        "{out}"
    );
}

#[test]
fn map_exits_non_zero_and_names_the_failing_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    write(
        &input,
        "{\"sys_id\": \"1\", \"state\": \"2\", \"short_description\": \"ok\"}\nnot json\n{\"sys_id\": \"3\", \"state\": \"42\"}\n",
    );
    let mapping = repo().join("mappings/servicenow-incident.toml");
    let (code, out, err) = output(
        dir.path(),
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1, "the good record is still printed");
    assert!(
        err.contains("record 2: ") && err.contains("in.jsonl:2: not JSON"),
        "{err}"
    );
    assert!(
        err.contains("record 3: ") && err.contains("value \"42\" is not in map `state`"),
        "{err}"
    );
    assert!(err.contains("2 record(s) failed to map"), "{err}");
}

#[test]
fn map_runs_an_outbound_mapping_over_canonical_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("canonical.jsonl");
    write(
        &input,
        "{\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"Heating\",\"status\":\"resolved\",\"priority\":1}\n\
         {\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"Odd\",\"status\":\"on_hold\"}\n",
    );
    let mapping = repo().join("mappings/servicenow-update-incident.toml");
    let (code, out, err) = output(
        dir.path(),
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "the second record cannot be expressed");
    let body: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(body["state"], "6");
    assert_eq!(body["close_code"], "Solved (Permanently)");
    assert!(
        err.contains("record 2:")
            && err.contains("rule `fields.state` (from `status` = \"on_hold\")"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_reaches_each_enabled_system() {
    let sim = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_config(dir.path(), &sim, "sqlite://unused.db", "127.0.0.1:0");
    let cfg = config.to_str().unwrap().to_string();
    let (code, out, err) = output(dir.path(), &["--config", &cfg, "check", "--connect"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let incident = out
        .lines()
        .find(|l| l.starts_with("ok   servicenow/incident: "))
        .unwrap_or_else(|| panic!("a line per stream: {out}"));
    assert!(
        incident.contains("record(s) on the first page")
            && incident.contains("first record mapped: {\"entity\":\"work_item\""),
        "{incident}"
    );
    // The deleted-records endpoint too, needing rights of its own.
    assert!(
        out.lines().any(|l| l
            == "ok   servicenow/incident#deletions: 0 deleted record(s) on the endpoint's first page"),
        "{out}"
    );
    // The request is the one a first run sends, cursor template and all.
    let first_incident_list = |sim: &SimHandle| {
        sim.sim
            .requests()
            .into_iter()
            .find(|r| r.method == "GET" && r.path.ends_with("/table/incident"))
            .expect("a list request")
            .query
    };
    let checked = first_incident_list(&sim);
    assert_eq!(
        checked.get("sysparm_query").map(String::as_str),
        Some("sys_updated_on>=1970-01-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id"),
        "{checked:?}"
    );
    let ran = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let run_store = format!("sqlite://{}", run_dir.path().join("s.db").display());
    let run_config = daemon_config(run_dir.path(), &ran, &run_store, "127.0.0.1:0");
    let (code, out, err) = output(
        run_dir.path(),
        &["--config", run_config.to_str().unwrap(), "run", "--once"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let mut sent = first_incident_list(&ran);
    // The page's offset and size are the only paging there is.
    assert_eq!(
        sent.remove("sysparm_offset"),
        checked.get("sysparm_offset").cloned()
    );
    let mut checked = checked;
    checked.remove("sysparm_offset");
    assert_eq!(sent, checked);
    ran.shutdown().await;
    // The shipped manifests of systems not configured here are off.
    assert!(
        out.contains("skip jira: disabled in its manifest") || !out.contains("jira"),
        "{out}"
    );

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("sim-password", "wrong");
    std::fs::write(&config, text).unwrap();
    let (code, out, _) = output(dir.path(), &["--config", &cfg, "check", "--connect"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("FAIL servicenow/incident: servicenow:") && out.contains("401"),
        "{out}"
    );
    // Said once for the connector, not once per stream.
    assert_eq!(out.matches("FAIL").count(), 1, "{out}");
    sim.shutdown().await;
}

/// A first request with a query that finds nothing says so, and what to
/// look at, rather than `ok` alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_says_when_a_query_found_nothing() {
    let sim = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connectors = common::hub::copy_edited("connectors", dir.path(), |name, text| {
        match name {
            // Nothing was updated after 2100: the query is sent, and empty.
            "servicenow.toml" => text.replacen(
                "overlap_secs = 60",
                "overlap_secs = 60\ninitial = \"2100-01-01 00:00:00\"",
                1,
            ),
            _ => text,
        }
    });
    let config = daemon_config(dir.path(), &sim, "sqlite://unused.db", "127.0.0.1:0");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("{}/connectors", repo().display()),
        &connectors.display().to_string(),
    );
    write(&config, &text);
    let (code, out, err) = output(
        dir.path(),
        &["--config", config.to_str().unwrap(), "check", "--connect"],
    );
    assert_eq!(code, 0, "nothing failed: {out}\n{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("ok   servicenow/incident: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("0 records on the first page, asked for records from `2100-01-01 00:00:00`")
            && line.contains("check the stream's query"),
        "{line}"
    );
    sim.shutdown().await;
}

/// Embedded dead letters: `dlq list` shows each with its reason, `dlq
/// replay` puts one back in line, and a wrong id says how many there are.
#[tokio::test]
async fn dlq_lists_and_replays_dead_letters() {
    let ws = workspace();
    let url = format!("sqlite://{}", ws.path().join("switchboard.db").display());
    let store = Store::connect(&url, 1).await.unwrap();
    store.migrate().await.unwrap();
    let message = switchboard::store::OutboxMessage {
        event_id: "3f2a9c".into(),
        routing_key: "facilities.maximo.create_workorder".into(),
        payload: serde_json::json!({"specversion": "1.0", "id": "3f2a9c",
            "source": "/switchboard/servicenow/incident", "subject": "abc123", "data": {}}),
        not_before: None,
    };
    store.enqueue(&[message]).await.unwrap();
    let claimed = store
        .claim_outbox(10, Duration::from_secs(60))
        .await
        .unwrap();
    store
        .bury_outbox(
            claimed[0].id,
            "maximo: POST … was refused with 400: BMXAA2661E",
        )
        .await
        .unwrap();
    store.close().await;

    let (code, out, err) = output(ws.path(), &["dlq", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("3f2a9c  facilities.maximo.create_workorder")
            && out.contains("from /switchboard/servicenow/incident abc123")
            && out.contains("BMXAA2661E")
            && out.contains("1 dead letter(s)"),
        "{out}"
    );
    let (code, out, _) = output(ws.path(), &["dlq", "list", "--json"]);
    assert_eq!(code, 0);
    let line: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(line["id"], "3f2a9c");
    assert_eq!(line["event"]["subject"], "abc123");

    let (code, _, err) = output(ws.path(), &["dlq", "replay", "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no dead letter `nope` (1 dead letters"),
        "{err}"
    );
    let (code, out, err) = output(ws.path(), &["dlq", "replay", "3f2a9c"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replayed 1 dead letter(s)"), "{out}");
    let (_, out, _) = output(ws.path(), &["dlq", "list"]);
    assert!(out.contains("no dead letters"), "{out}");

    let store = Store::connect(&url, 1).await.unwrap();
    assert_eq!(store.outbox_pending().await.unwrap(), 1, "back in line");
}

#[test]
fn route_gives_a_work_item_its_connectors_department_as_a_sync_does() {
    let dir = tempfile::tempdir().unwrap();
    let routing = dir.path().join("routing.toml");
    write(
        &routing,
        "version = 1\n[[rules]]\nname = \"it-only\"\nwhen = \"record.department == 'it'\"\nto = { department = \"facilities\", connector = \"maximo\", action = \"create_workorder\" }\n[default]\n",
    );
    // What `switchboard map` prints for a mapping that sets no department.
    let input = dir.path().join("item.jsonl");
    write(
        &input,
        "{\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"x\",\"status\":\"new\",\"department\":null,\"attributes\":{}}\n",
    );
    let (input, routing) = (input.to_str().unwrap(), routing.to_str().unwrap());
    let (code, out, err) = output(
        &repo(),
        &[
            "route",
            "--input",
            input,
            "--routing",
            routing,
            "--system",
            "servicenow",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("(incident, it)") && out.contains("1. it-only: matched"),
        "{out}"
    );
    let (code, _, err) = output(
        &repo(),
        &[
            "route",
            "--input",
            input,
            "--routing",
            routing,
            "--system",
            "servicenw",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `servicenow`?"), "{err}");
}

/// `route --replay` takes a system, a stream and an id, and not with
/// `--input`; a record the store does not hold is named.
#[test]
fn route_replay_names_what_it_needs() {
    let ws = workspace();
    let (code, _, err) = output(ws.path(), &["route", "--replay", "servicenow", "incident"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("SYSTEM") && err.contains("EXTERNAL_ID"),
        "{err}"
    );
    let (code, _, err) = output(ws.path(), &["route"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--input") && err.contains("--replay"), "{err}");
    let (code, _, err) = output(
        ws.path(),
        &[
            "route",
            "--replay",
            "servicenow",
            "incident",
            "x",
            "--input",
            "-",
        ],
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = output(
        ws.path(),
        &[
            "route",
            "--replay",
            "servicenow",
            "incident",
            "x",
            "--event",
            "hired",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--event hired: events are created"), "{err}");
}
