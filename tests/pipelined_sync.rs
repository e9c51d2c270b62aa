//! The guarantees of a sync whose stages overlap (`crates/hub/src/sync/pipeline.rs`):
//! pages written side by side still give the cursor in page order, and a
//! page held up holds the cursor with it.
//!
//! Covered elsewhere, through the same pipelined path: a SIGKILL at random
//! points of a large sync (`tests/faults.rs`, `tests/scale_out.rs`), and a
//! source that shifts mid-run (`tests/sync.rs`, on both stores).

mod common;

use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::{CountedTable, Store};
use switchboard::sync::SyncReport;
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, incident_job, servicenow_manifest};

fn field(rec: &Value, name: &str) -> String {
    rec.get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

async fn stored_cursor(store: &Store) -> Option<String> {
    store.cursor("servicenow", "incident").await.unwrap()
}

async fn is_stored(store: &Store, key: &str) -> bool {
    store
        .work_item_summary("servicenow", "incident", key)
        .await
        .unwrap()
        .is_some()
}

/// PostgreSQL only: there pages are written on several connections at
/// once, so a later page can commit first. SQLite writes one page at a
/// time, so its pages cannot finish out of order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_page_committed_first_does_not_move_the_cursor() {
    let ts = TestStore::new(Backend::Postgres).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 400,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut oldest: Vec<Value> = sn.sim.records("incident");
    oldest.sort_by_key(|r| (field(r, "sys_updated_on"), field(r, "sys_id")));
    // Pages of 50; from page 2 on each re-reads the last record of the one
    // before, so page 2 holds records 49..=98 and page 3 98..=147. Two
    // pages are written at once: with page 2 held, page 3 still goes in.
    let held = field(&oldest[75], "sys_id");
    let page_1_end = field(&oldest[49], "sys_updated_on");
    let in_page_3 = field(&oldest[120], "sys_id");

    // An uncommitted row with page 2's key: page 2's write waits on it,
    // the pages after it do not.
    let mut blocker = sqlx::PgConnection::connect(&ts.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query(
        "INSERT INTO source_records (source_system, source_stream, external_id, content_hash, \
         mapping_version, payload, last_changed_at) \
         VALUES ('servicenow', 'incident', $1, 'held', 'held', '{}', now())",
    )
    .bind(&held)
    .execute(&mut blocker)
    .await
    .unwrap();

    let job = incident_job(&servicenow_manifest(
        &sn.base_url,
        &[("page_size = 100", "page_size = 50")],
    ));
    let store = ts.store.clone();
    let run =
        tokio::spawn(async move { job.run(&store, &CancellationToken::new(), &|_, _| {}).await });

    let deadline = Instant::now() + Duration::from_secs(30);
    while !is_stored(&ts.store, &in_page_3).await {
        assert!(Instant::now() < deadline, "page 3 was never committed");
        assert!(!run.is_finished(), "the run ended with page 2 held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!is_stored(&ts.store, &held).await, "page 2 is still held");
    assert_eq!(
        stored_cursor(&ts.store).await.as_deref(),
        Some(page_1_end.as_str()),
        "with page 2 unwritten the cursor covers page 1 only, though page 3 is in"
    );

    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let report: SyncReport = run.await.unwrap().expect("the run finishes");
    assert_eq!(report.stored, 400, "each record stored once: {report:?}");
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 400);
    assert_eq!(
        stored_cursor(&ts.store).await,
        oldest.last().map(|r| field(r, "sys_updated_on")),
        "the run's end commits the last cursor"
    );
}

/// PostgreSQL only, as above. Page 1 quarantines a record that page 2
/// brings again, fixed: page 2 must not commit before page 1, or page 1's
/// quarantine row would be left behind for a record that is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_fixed_on_the_next_page_does_not_stay_quarantined() {
    use axum::Router;
    use axum::http::Uri;
    use serde_json::json;
    use switchboard::connector::Manifest;
    use switchboard::diag::SourceFile;
    use switchboard::mapping::Mapping;

    let ts = TestStore::new(Backend::Postgres).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let next = format!("{base}/tickets?page=2");
    // T9 comes without a title on page 1 (its mapping refuses it), with one on page 2.
    let app = Router::new().fallback(move |uri: Uri| {
        let next = next.clone();
        async move {
            let page_2 = uri.query().is_some_and(|q| q.contains("page=2"));
            let body = if page_2 {
                json!({"items": [{"id": "T9", "title": "fixed"}, {"id": "T10", "title": "ten"}]})
            } else {
                json!({"items": [{"id": "T1", "title": "one"}, {"id": "T9"}], "next": next})
            };
            axum::Json(body)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let manifest = Manifest::from_source(&SourceFile::new(
        "connectors/odd.toml",
        format!(
            "version = 1\nsystem = \"odd\"\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"{base}\"\n\n\
             [http]\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\nmax_attempts = 2\n\n\
             [[streams]]\nname = \"tickets\"\npath = \"/tickets\"\nrecords = \"items\"\nkey = \"id\"\n\n\
             [streams.pagination]\ntype = \"next_link\"\nnext_path = \"next\"\n"
        ),
    ))
    .unwrap();
    let mapping = Mapping::from_source(&SourceFile::new(
        "mappings/odd-tickets.toml",
        "version = 1\nsystem = \"odd\"\nstream = \"tickets\"\nentity = \"work_item\"\n\n\
         [fields]\nkind = { const = \"incident\" }\ntitle = { path = \"title\" }\nstatus = { const = \"open\" }\n",
    ))
    .unwrap();
    let job = common::stream_job(&manifest, "tickets", std::sync::Arc::new(mapping));

    // Page 1's quarantine row waits on this uncommitted one: page 1 is held.
    let mut blocker = sqlx::PgConnection::connect(&ts.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query(
        "INSERT INTO quarantine (source_system, source_stream, external_id, reason, payload, \
         mapping_version, last_seen_at) VALUES ('odd', 'tickets', 'T9', 'held', '{}', 'held', now())",
    )
    .execute(&mut blocker)
    .await
    .unwrap();
    let store = ts.store.clone();
    let run =
        tokio::spawn(async move { job.run(&store, &CancellationToken::new(), &|_, _| {}).await });
    // Long enough for page 2 to commit, had it not waited.
    tokio::time::sleep(Duration::from_millis(800)).await;
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run ends")
        .unwrap()
        .expect("the run succeeds");

    let fixed = ts
        .store
        .work_item_summary("odd", "tickets", "T9")
        .await
        .unwrap()
        .expect("T9 is stored from page 2");
    assert_eq!(fixed.title, "fixed");
    let left: i64 = match &ts.store {
        Store::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM quarantine WHERE external_id = 'T9'")
                .fetch_one(p)
                .await
                .unwrap()
        }
        Store::Sqlite(_) => unreachable!(),
    };
    assert_eq!(left, 0, "T9 is stored, so not in quarantine: {report:?}");
}
