//! Sources that misbehave: a run always ends, and no value blocks a page.
//!
//! A small scripted REST source on loopback stands in for the real APIs
//! seen doing this: one that ignores the offset and sends the same page
//! forever, one whose next link points at itself (or back at an earlier
//! page), one that redirects in a loop, and one whose records carry text
//! PostgreSQL cannot store (NUL, unpaired surrogates). Each runs on both
//! store backends.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard::connector::Manifest;
use switchboard::diag::SourceFile;
use switchboard::mapping::Mapping;
use switchboard::store::CountedTable;
use switchboard::sync::{SyncError, SyncJob};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, stream_job};

/// Serve `respond(path_and_query, base_url)` on loopback; count requests.
async fn source<F>(respond: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(&str, &str) -> Response + Clone + Send + Sync + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let base_for_app = base.clone();
    let app = Router::new().fallback(move |uri: Uri, _headers: HeaderMap| {
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

fn manifest(base: &str, pagination: &str, header_extra: &str) -> Manifest {
    let text = format!(
        "version = 1\nsystem = \"odd\"\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"{base}\"\n{header_extra}\n\
         [http]\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\nmax_attempts = 2\n\n\
         [[streams]]\nname = \"tickets\"\npath = \"/tickets\"\nrecords = \"items\"\nkey = \"id\"\n\n\
         [streams.pagination]\n{pagination}\n"
    );
    Manifest::from_source(&SourceFile::new("connectors/odd.toml", text))
        .unwrap_or_else(|e| panic!("manifest: {e}"))
}

fn mapping() -> Arc<Mapping> {
    let text = "version = 1\nsystem = \"odd\"\nstream = \"tickets\"\nentity = \"work_item\"\n\n\
                [fields]\nkind = { const = \"incident\" }\ntitle = { path = \"title\" }\nstatus = { const = \"open\" }\n";
    Arc::new(
        Mapping::from_source(&SourceFile::new("mappings/odd-tickets.toml", text)).expect("mapping"),
    )
}

fn job(m: &Manifest) -> SyncJob {
    let mut job = stream_job(m, "tickets", mapping());
    // As the catalog sets it from the manifest header.
    job.stream.max_pages = m.header.max_pages.map(|n| n.get());
    job
}

fn tickets(from: usize, n: usize) -> Value {
    Value::Array(
        (from..from + n)
            .map(|i| json!({"id": format!("T{i}"), "title": format!("ticket {i}")}))
            .collect(),
    )
}

/// Run once with a deadline: a hang fails the test instead of the suite.
async fn run(job: &SyncJob, ts: &TestStore) -> Result<switchboard::sync::SyncReport, SyncError> {
    tokio::time::timeout(
        Duration::from_secs(30),
        job.run(&ts.store, &CancellationToken::new(), &|_, _| {}),
    )
    .await
    .expect("the run ends")
}

const OFFSET: &str =
    "type = \"offset\"\noffset_param = \"offset\"\nlimit_param = \"limit\"\npage_size = 3";
/// One page of up to ten: the scripted page of five is the last.
const OFFSET_10: &str =
    "type = \"offset\"\noffset_param = \"offset\"\nlimit_param = \"limit\"\npage_size = 10";
const NEXT_LINK: &str = "type = \"next_link\"\nnext_path = \"next\"";

async fn offset_ignored(backend: Backend) {
    let ts = TestStore::new(backend).await;
    // Every request gets the first three tickets, whatever the offset.
    let (base, hits) =
        source(|_, _| axum::Json(json!({"items": tickets(0, 3)})).into_response()).await;
    let err = run(&job(&manifest(&base, OFFSET, "")), &ts)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SyncError::Paging { .. }), "{err:?}");
    assert!(
        text.contains("page 2 holds the same 3 records as page 1"),
        "{text}"
    );
    assert!(text.contains("`odd` stream `tickets`"), "{text}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "no request after the repeat"
    );
    // The first page is kept.
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 3);
}

async fn next_link_to_itself(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let (base, hits) = source(|pq, base| {
        let body = match pq {
            "/tickets" => {
                json!({"items": tickets(0, 2), "next": format!("{base}/tickets?page=2&key=s3cret")})
            }
            // Page 2's next link is page 2 again.
            _ => {
                json!({"items": tickets(2, 2), "next": format!("{base}/tickets?page=2&key=s3cret")})
            }
        };
        axum::Json(body).into_response()
    })
    .await;
    let err = run(&job(&manifest(&base, NEXT_LINK, "")), &ts)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("page 2 points to a page already read"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "a query may hold a key: {text}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // Both pages were read once and are stored.
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 4);
}

async fn next_links_in_a_cycle(backend: Backend) {
    let ts = TestStore::new(backend).await;
    // 1 -> 2 -> 3 -> 2: new records on every page, so only the link repeats.
    let served = Arc::new(AtomicUsize::new(0));
    let (base, hits) = source(move |pq, base| {
        let n = served.fetch_add(1, Ordering::SeqCst);
        let next = match pq {
            "/tickets" => "/tickets?p=2",
            "/tickets?p=2" => "/tickets?p=3",
            _ => "/tickets?p=2",
        };
        axum::Json(json!({"items": tickets(n * 2, 2), "next": format!("{base}{next}")}))
            .into_response()
    })
    .await;
    let err = run(&job(&manifest(&base, NEXT_LINK, "")), &ts)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("page 3 points to a page already read"),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

async fn max_pages_stops_an_endless_source(backend: Backend) {
    let ts = TestStore::new(backend).await;
    // A source that always has more: new records, new links, forever.
    let (base, hits) = source(|pq, base| {
        let n: usize = pq
            .rsplit('=')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        axum::Json(
            json!({"items": tickets(n * 2, 2), "next": format!("{base}/tickets?p={}", n + 1)}),
        )
        .into_response()
    })
    .await;
    let m = manifest(&base, NEXT_LINK, "max_pages = 5");
    let err = run(&job(&m), &ts).await.unwrap_err();
    assert!(
        err.to_string().contains("more than `max_pages` = 5 pages"),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 10);
}

async fn redirect_loop_is_not_retried(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let (base, hits) = source(|_, base| {
        (
            StatusCode::FOUND,
            [(header::LOCATION, format!("{base}/tickets"))],
        )
            .into_response()
    })
    .await;
    let err = run(&job(&manifest(&base, OFFSET, "")), &ts)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("redirect"), "{err}");
    // reqwest follows 10 hops, then gives up; the run does not try again
    // (max_attempts = 2 would double this).
    assert_eq!(hits.load(Ordering::SeqCst), 11);
}

/// NUL in a value, a key, the title and the external id; an unpaired
/// surrogate in another record: every record of the page is stored, by the
/// one rule (U+FFFD), on both backends.
async fn text_no_store_can_keep(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let body = r#"{"items": [
        {"id": "T1", "title": "clean"},
        {"id": "T2", "title": "nul \u0000 inside", "extra\u0000key": "v\u0000"},
        {"id": "T3\u0000", "title": "nul in the id"},
        {"id": "T4", "title": "lone \ud800 surrogate"},
        {"id": "T5", "title": "pair \ud83d\ude00 kept"}
    ]}"#;
    let (base, _) =
        source(move |_, _| ([(header::CONTENT_TYPE, "application/json")], body).into_response())
            .await;
    let report = run(&job(&manifest(&base, OFFSET_10, "")), &ts)
        .await
        .expect("the page commits");
    assert_eq!((report.stored, report.quarantined), (5, 0), "{report:?}");
    let title = |id: &'static str| {
        let store = &ts.store;
        async move {
            store
                .work_item_summary("odd", "tickets", id)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{id} stored"))
                .title
        }
    };
    assert_eq!(title("T2").await, "nul \u{FFFD} inside");
    assert_eq!(title("T3\u{FFFD}").await, "nul in the id");
    assert_eq!(title("T4").await, "lone \u{FFFD} surrogate");
    assert_eq!(title("T5").await, "pair 😀 kept");
    // A second run finds everything unchanged: the rule is stable.
    let again = run(&job(&manifest(&base, OFFSET_10, "")), &ts)
        .await
        .unwrap();
    assert_eq!((again.stored, again.unchanged), (0, 5), "{again:?}");
}

on_every_backend!(
    offset_ignored,
    next_link_to_itself,
    next_links_in_a_cycle,
    max_pages_stops_an_endless_source,
    redirect_loop_is_not_retried,
    text_no_store_can_keep,
);
