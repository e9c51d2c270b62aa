//! Bad input at run time, through the real binary: records that cannot be
//! stored as they come, sources that misbehave, webhook deliveries that are
//! not what they claim, and secrets in failing commands. Nothing panics or
//! hangs, the other records are stored, and no secret is printed.
//! The admin files: `tests/bad_inputs.rs`.

mod common;

use std::fs::File;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::{CountedTable, Store};

use common::bin::switchboard;
use common::project::{Project, Ran, copy_servicenow, run_in};
use common::{Backend, TestStore, repo};

// ---- records through `switchboard map` ----

fn map(p: &Project, input: &[u8]) -> Ran {
    p.write_bytes("in.jsonl", input);
    let mapping = repo().join("mappings/servicenow-incident.toml");
    p.run(&[
        "map",
        "--mapping",
        mapping.to_str().unwrap(),
        "--input",
        "in.jsonl",
    ])
}

fn incident(id: &str, title: &str) -> String {
    json!({"sys_id": id, "state": "2", "short_description": title}).to_string()
}

#[test]
fn map_nul_in_a_record_is_replaced_not_fatal() {
    let p = Project::empty();
    let input = format!(
        "{}\n{}\n{}\n",
        incident("1", "one"),
        incident("2", "printer \u{0} on fire"),
        incident("3", "three")
    );
    let ran = map(&p, input.as_bytes());
    ran.exits(0);
    assert_eq!(ran.out.lines().count(), 3, "{}", ran.out);
}

#[test]
fn map_unpaired_surrogate_in_a_record_is_replaced_as_in_a_sync() {
    let p = Project::empty();
    let input = format!(
        "{}\n{}\n",
        incident("1", "one"),
        r#"{"sys_id": "2", "state": "2", "short_description": "half \ud800 a pair"}"#
    );
    let ran = map(&p, input.as_bytes());
    ran.exits(0);
    assert_eq!(ran.out.lines().count(), 2, "{}", ran.out);
    assert!(ran.out.contains("half \u{fffd} a pair"), "{}", ran.out);
}

#[test]
fn map_invalid_utf8_line_names_the_record_and_maps_the_rest() {
    let p = Project::empty();
    let mut input = format!("{}\n", incident("1", "one")).into_bytes();
    input.extend_from_slice(
        b"{\"sys_id\": \"2\", \"state\": \"2\", \"short_description\": \"caf\xe9\"}\n",
    );
    input.extend_from_slice(format!("{}\n", incident("3", "three")).as_bytes());
    let ran = map(&p, &input);
    ran.exits(1)
        .says("record 2: ")
        .located_in("in.jsonl")
        .says("in.jsonl:2:")
        .says("not UTF-8");
    assert_eq!(ran.out.lines().count(), 2, "{}", ran.out);
}

#[test]
fn map_a_huge_record_is_mapped() {
    let p = Project::empty();
    let huge = "x".repeat(4 << 20);
    let input = format!("{}\n{}\n", incident("1", &huge), incident("2", "two"));
    let ran = map(&p, input.as_bytes());
    ran.exits(0);
    assert_eq!(ran.out.lines().count(), 2);
}

#[test]
fn map_an_empty_input_maps_nothing() {
    let p = Project::empty();
    map(&p, b"").exits(0);
}

#[test]
fn map_a_line_that_is_not_an_object_names_it() {
    let p = Project::empty();
    let input = format!(
        "{}\n[1, 2]\n\"text\"\n{}\n",
        incident("1", "one"),
        incident("4", "four")
    );
    let ran = map(&p, input.as_bytes());
    ran.exits(1).says("record 2").says("record 3");
    assert_eq!(ran.out.lines().count(), 2, "{}", ran.out);
}

#[test]
fn map_deeply_nested_json_is_refused_not_a_stack_overflow() {
    let p = Project::empty();
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let input = format!(
        "{}\n{deep}\n{}\n",
        incident("1", "one"),
        incident("3", "three")
    );
    let ran = map(&p, input.as_bytes());
    ran.exits(1).says("in.jsonl:2");
    assert_eq!(ran.out.lines().count(), 2, "{}", ran.out);
}

// ---- records and sources through `switchboard run --once` ----

/// Serve `respond(path_and_query, base_url)` on loopback; count requests.
async fn source<F>(respond: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(&str, &str) -> Response + Clone + Send + Sync + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let base_for_app = base.clone();
    let app = Router::new().fallback(move |uri: Uri| {
        let respond = respond.clone();
        let counter = counter.clone();
        let base = base_for_app.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            respond(pq, &base)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, hits)
}

const OFFSET: &str =
    "type = \"offset\"\noffset_param = \"offset\"\nlimit_param = \"limit\"\npage_size = 3";
const OFFSET_10: &str =
    "type = \"offset\"\noffset_param = \"offset\"\nlimit_param = \"limit\"\npage_size = 10";

/// A project whose one connector, `odd`, reads `base`/tickets into `store_url`.
fn odd_project(base: &str, pagination: &str, store_url: &str) -> Project {
    let p = Project::empty();
    p.write(
        "switchboard.toml",
        &format!(
            "version = 1\n\n[store]\nurl = \"{store_url}\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n"
        ),
    );
    p.write(
        "connectors/odd.toml",
        &format!(
            "version = 1\nsystem = \"odd\"\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"{base}\"\n\n\
             [http]\ntimeout_secs = 2\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\nmax_attempts = 2\n\n\
             [[streams]]\nname = \"tickets\"\npath = \"/tickets\"\nrecords = \"items\"\nkey = \"id\"\n\n\
             [streams.pagination]\n{pagination}\n"
        ),
    );
    p.write(
        "mappings/odd-tickets.toml",
        "version = 1\nsystem = \"odd\"\nstream = \"tickets\"\nentity = \"work_item\"\n\n\
         [fields]\nkind = { const = \"incident\" }\ntitle = { path = \"title\" }\nstatus = { path = \"status\", map = \"status\" }\n\n\
         [maps.status]\nopen = \"new\"\ndone = \"closed\"\n",
    );
    p
}

fn ticket(id: &str, title: &str) -> Value {
    json!({"id": id, "title": title, "status": "open"})
}

/// Serve one page of `items` (JSON text of the array) once, then none.
async fn one_page(items: String) -> String {
    let (base, _) = source(move |pq, _| {
        let body = if pq.contains("offset=0") {
            format!("{{\"items\": {items}}}")
        } else {
            "{\"items\": []}".to_string()
        };
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    })
    .await;
    base
}

async fn run_once(p: &Project) -> Ran {
    let dir = p.dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        run_in(&dir, &["run", "--once"], &[], Duration::from_secs(60))
    })
    .await
    .unwrap()
}

async fn counts(url: &str) -> (i64, i64) {
    let store = Store::connect(url, 1).await.unwrap();
    let items = store.count(CountedTable::WorkItems).await.unwrap();
    let quarantined = store.count(CountedTable::Quarantine).await.unwrap();
    store.close().await;
    (items, quarantined)
}

async fn nul_in_a_record(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let items = json!([
        ticket("T1", "one"),
        ticket("T2", "printer \u{0} on fire"),
        ticket("T3", "three")
    ]);
    let base = one_page(items.to_string()).await;
    let p = odd_project(&base, OFFSET_10, &ts.url);
    run_once(&p).await.exits(0);
    assert_eq!(counts(&ts.url).await, (3, 0));
}

async fn record_without_its_key(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let items =
        json!([ticket("T1", "one"), {"title": "no id", "status": "open"}, ticket("T3", "three")]);
    let base = one_page(items.to_string()).await;
    let p = odd_project(&base, OFFSET_10, &ts.url);
    // Quarantined with its reason; the run says so with exit code 3.
    run_once(&p).await.exits(3).says("1 quarantined");
    assert_eq!(
        counts(&ts.url).await,
        (2, 1),
        "the records with a key are stored"
    );
}

async fn record_that_is_not_an_object(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let items = json!([ticket("T1", "one"), "T2", 42, ticket("T4", "four")]);
    let base = one_page(items.to_string()).await;
    let p = odd_project(&base, OFFSET_10, &ts.url);
    run_once(&p).await.fails();
    let (items, _) = counts(&ts.url).await;
    assert_eq!(items, 2, "the records that are objects are stored");
}

async fn record_that_fails_mapping_is_quarantined(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let mut odd = ticket("T2", "two");
    odd["status"] = json!("parked");
    let items = json!([ticket("T1", "one"), odd, ticket("T3", "three")]);
    let base = one_page(items.to_string()).await;
    let p = odd_project(&base, OFFSET_10, &ts.url);
    run_once(&p).await.exits(3);
    assert_eq!(counts(&ts.url).await, (2, 1));
}

async fn page_that_repeats(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let (base, hits) = source(|_, _| {
        axum::Json(json!({"items": [ticket("T1", "a"), ticket("T2", "b"), ticket("T3", "c")]}))
            .into_response()
    })
    .await;
    let p = odd_project(&base, OFFSET, &ts.url);
    run_once(&p).await.fails().says("same 3 records");
    assert!(hits.load(Ordering::SeqCst) <= 3, "stopped at the repeat");
    assert_eq!(counts(&ts.url).await.0, 3, "the first page is kept");
}

async fn html_instead_of_json(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let (base, _) = source(|_, _| {
        (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Maintenance</body></html>",
        )
            .into_response()
    })
    .await;
    let p = odd_project(&base, OFFSET, &ts.url);
    run_once(&p).await.fails().says("odd");
    assert_eq!(counts(&ts.url).await.0, 0);
}

async fn records_path_is_not_a_list(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let (base, _) = source(|_, _| axum::Json(json!({"items": "none today"})).into_response()).await;
    let p = odd_project(&base, OFFSET, &ts.url);
    run_once(&p).await.fails().says("items");
}

async fn source_that_always_fails(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let (base, hits) =
        source(|_, _| (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()).await;
    let p = odd_project(&base, OFFSET, &ts.url);
    run_once(&p).await.fails().says("500");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "max_attempts, then given up"
    );
}

async fn source_that_never_answers(backend: Backend) {
    let ts = TestStore::new(backend).await;
    // Takes each connection and never answers on it.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let p = odd_project(&base, OFFSET, &ts.url);
    let started = Instant::now();
    run_once(&p).await.fails().says("odd");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "timeout_secs bounds each call"
    );
}

on_every_backend!(
    nul_in_a_record,
    record_without_its_key,
    record_that_is_not_an_object,
    record_that_fails_mapping_is_quarantined,
    page_that_repeats,
    html_instead_of_json,
    records_path_is_not_a_list,
    source_that_always_fails,
    source_that_never_answers,
);

// ---- webhooks through `switchboard run` ----

const HOOK_SECRET: &str = "hook-Secret-0f9e8d7c";

/// A running daemon with one webhook connector, `desk-hooks`.
struct Daemon {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    url: String,
    _p: Project,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    async fn start() -> Daemon {
        let p = Project::empty();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("sqlite://{}", p.path("hub.db").display());
        p.write(
            "switchboard.toml",
            &format!(
                "version = 1\n\n[store]\nurl = \"{url}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n\
                 [connectors.desk-hooks]\ntoken = \"{HOOK_SECRET}\"\n"
            ),
        );
        p.write(
            "connectors/desk-hooks.toml",
            "version = 1\nsystem = \"desk-hooks\"\nkind = \"webhook\"\ndepartment = \"it\"\n\
             secret = \"env:SWITCHBOARD_TEST_UNSET_HOOK_SECRET\"\nsignature_header = \"X-Hub-Signature\"\n\
             signature_prefix = \"sha256=\"\ndelivery_id_header = \"X-Delivery\"\n\n\
             [stream]\nname = \"issue\"\nrecords = \"issue\"\nkey = \"key\"\n",
        );
        p.write(
            "mappings/desk-hooks-issue.toml",
            "version = 1\nsystem = \"desk-hooks\"\nstream = \"issue\"\nentity = \"work_item\"\n\n\
             [fields]\nkind = { const = \"request\" }\ntitle = { path = \"summary\" }\nstatus = { const = \"new\" }\n",
        );
        let log = p.path("daemon.log");
        let child = switchboard(p.dir.path(), &["run"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(File::create(p.path("daemon.out")).unwrap()))
            .stderr(Stdio::from(File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut d = Daemon {
            child,
            base,
            log,
            url,
            _p: p,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/readyz", d.base)).await
                && r.status() == 200
            {
                return d;
            }
            assert!(
                d.child.try_wait().unwrap().is_none(),
                "the daemon exited: {}",
                d.log_text()
            );
            assert!(
                Instant::now() < deadline,
                "not ready in 30 s: {}",
                d.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn post(&self, system: &str, id: &str, body: Vec<u8>, signature: Option<String>) -> u16 {
        let mut req = reqwest::Client::new()
            .post(format!("{}/hooks/{system}", self.base))
            .header("X-Delivery", id)
            .body(body);
        if let Some(s) = signature {
            req = req.header("X-Hub-Signature", s);
        }
        req.send().await.unwrap().status().as_u16()
    }

    /// Still alive and storing: a good delivery after the bad one is taken.
    async fn still_takes_deliveries(&self, expected_items: i64) {
        let body = json!({"issue": {"key": "SD-1", "summary": "Printer on fire"}}).to_string();
        assert_eq!(
            self.post(
                "desk-hooks",
                "good",
                body.clone().into_bytes(),
                Some(sign(body.as_bytes()))
            )
            .await,
            202
        );
        assert_eq!(counts(&self.url).await.0, expected_items);
        let log = self.log_text();
        assert!(!log.contains("panicked"), "{log}");
        assert!(!log.contains(HOOK_SECRET), "the secret leaked:\n{log}");
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_malformed_json_is_400_and_nothing_stored() {
    let d = Daemon::start().await;
    let body = b"{\"issue\": {\"key\": \"SD-9\",".to_vec();
    assert_eq!(
        d.post("desk-hooks", "bad-json", body.clone(), Some(sign(&body)))
            .await,
        400
    );
    assert_eq!(counts(&d.url).await.0, 0);
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_bad_signature_is_401() {
    let d = Daemon::start().await;
    let body = json!({"issue": {"key": "SD-9", "summary": "forged"}})
        .to_string()
        .into_bytes();
    assert_eq!(
        d.post(
            "desk-hooks",
            "forged",
            body.clone(),
            Some(sign(b"something else"))
        )
        .await,
        401
    );
    assert_eq!(
        d.post(
            "desk-hooks",
            "garbage",
            body.clone(),
            Some("sha256=zz".into())
        )
        .await,
        401
    );
    assert_eq!(d.post("desk-hooks", "unsigned", body, None).await, 401);
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_oversize_body_is_refused() {
    let d = Daemon::start().await;
    let summary = "x".repeat(32 << 20);
    let body = json!({"issue": {"key": "SD-9", "summary": summary}})
        .to_string()
        .into_bytes();
    let signature = sign(&body);
    let status = d.post("desk-hooks", "huge", body, Some(signature)).await;
    assert_eq!(status, 413, "a body past the limit");
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_unknown_system_is_404() {
    let d = Daemon::start().await;
    let body = b"{}".to_vec();
    assert_eq!(
        d.post("desk-hook", "x", body.clone(), Some(sign(&body)))
            .await,
        404
    );
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivery_without_the_record_path() {
    let d = Daemon::start().await;
    let body = json!({"changelog": {"items": []}}).to_string().into_bytes();
    let status = d
        .post("desk-hooks", "no-issue", body.clone(), Some(sign(&body)))
        .await;
    // Taken with no record in it: senders push events of other kinds too.
    assert_eq!(status, 202);
    assert_eq!(counts(&d.url).await, (0, 0));
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_record_without_its_key() {
    let d = Daemon::start().await;
    let body = json!({"issue": {"summary": "no key"}})
        .to_string()
        .into_bytes();
    let status = d
        .post("desk-hooks", "no-key", body.clone(), Some(sign(&body)))
        .await;
    // Taken, and the record without its key is quarantined, as in a sync.
    assert_eq!(status, 202);
    assert_eq!(counts(&d.url).await, (0, 1));
    d.still_takes_deliveries(1).await;
}

// ---- secrets in failing commands ----

const PASSWORD: &str = "Pa55-never-print-me";

#[test]
fn secret_in_config_not_shown_when_check_fails() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        &format!("\n[connectors.servicenow]\nbase_url = \"ftp://x\"\npassword = \"{PASSWORD}\"\nusername = \"admin\"\n"),
    );
    p.check()
        .exits(1)
        .located_in("switchboard.toml")
        .hides(PASSWORD);
    p.run(&["run", "--once"]).fails().hides(PASSWORD);
}

#[test]
fn secret_in_a_store_url_not_shown_when_it_is_refused() {
    let p = Project::shipped();
    p.edit(
        "switchboard.toml",
        "sqlite://switchboard.db",
        &format!("postgress://sb:{PASSWORD}@127.0.0.1:1/sb"),
    );
    p.check()
        .exits(1)
        .at("switchboard.toml", 4, "url")
        .hides(PASSWORD);
}

#[test]
fn secret_in_a_broker_url_not_shown_when_it_is_refused() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        &format!("\n[broker]\nurl = \"http://guest:{PASSWORD}@127.0.0.1:15672\"\n"),
    );
    let line = p.line_of("switchboard.toml", "15672");
    p.check()
        .exits(1)
        .at("switchboard.toml", line, "url")
        .hides(PASSWORD);
}

#[test]
fn secret_in_an_unreachable_store_url_not_shown() {
    let p = Project::empty();
    p.edit(
        "switchboard.toml",
        "sqlite://switchboard.db",
        &format!("postgres://sb:{PASSWORD}@127.0.0.1:1/sb"),
    );
    p.run(&["run", "--once"]).fails().hides(PASSWORD);
    p.run(&["migrate"]).fails().hides(PASSWORD);
}

#[test]
fn secret_in_an_unreachable_broker_url_not_shown() {
    let p = Project::empty();
    p.append(
        "switchboard.toml",
        &format!("\n[broker]\nurl = \"amqp://guest:{PASSWORD}@127.0.0.1:1/%2f\"\n"),
    );
    p.run(&["dlq", "list"]).fails().hides(PASSWORD);
}

#[test]
fn secret_from_an_unset_variable_names_it() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        "\n[connectors.servicenow]\nusername = \"admin\"\npassword = \"env:SWITCHBOARD_TEST_NO_SUCH_VAR\"\n",
    );
    p.run(&["run", "--once"])
        .fails()
        .says("SWITCHBOARD_TEST_NO_SUCH_VAR");
}

#[test]
fn secret_from_a_missing_file_names_it() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        "\n[connectors.servicenow]\nusername = \"admin\"\npassword = \"file:/nonexistent/sn-password\"\n",
    );
    p.run(&["run", "--once"])
        .fails()
        .says("/nonexistent/sn-password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_refused_by_the_system_not_shown() {
    let sim = ServiceNowSim::spawn(SimConfig {
        incidents: 5,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let p = Project::empty();
    copy_servicenow(p.dir.path());
    p.append(
        "switchboard.toml",
        &format!(
            "\n[connectors.servicenow]\nbase_url = \"{}\"\nusername = \"admin\"\npassword = \"{PASSWORD}\"\n",
            sim.base_url
        ),
    );
    let ran = run_once(&p).await;
    ran.fails().says("401").hides(PASSWORD);
    let dir = p.dir.path().to_path_buf();
    let ran = tokio::task::spawn_blocking(move || {
        run_in(&dir, &["check", "--connect"], &[], Duration::from_secs(60))
    })
    .await
    .unwrap();
    ran.fails().hides(PASSWORD);
}
