//! Bad records and misbehaving sources, through the real binary: `map`
//! names the record at fault and maps the rest; `run --once` stores the
//! other records, quarantines what cannot be mapped, and ends (with an
//! error for the stream) on a source that pages without end, sends HTML or
//! never answers. Nothing panics or hangs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::common::project::{Project, Ran, counts, run_once};
use crate::common::{Backend, TestStore, repo};

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
        .says("in.jsonl:2:")
        .says("invalid UTF-8 at byte offset 55");
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

crate::on_every_backend!(
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
