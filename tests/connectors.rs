//! A new system of a known kind needs only a manifest and a mapping: the
//! worked example of docs/CONNECTORS.md, written to a temporary config
//! directory, synced by the `switchboard` binary against a small API that
//! behaves as the example describes.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use switchboard::store::{CountedTable, Store};

use common::{Backend, TestStore, write};

/// The example's two files, cut out of docs/CONNECTORS.md so the document
/// and the test cannot drift apart.
fn example_files() -> (String, String) {
    let doc = std::fs::read_to_string(common::repo().join("docs/CONNECTORS.md")).unwrap();
    let section = doc
        .split("## Worked example")
        .nth(1)
        .expect("worked example section");
    let blocks: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default())
        .collect();
    (blocks[0].to_string(), blocks[1].to_string())
}

/// FixIt: page-number paging, a bearer token, `changed_since` filtering.
async fn fixit(orders: Arc<Mutex<Vec<Value>>>) -> String {
    let handler =
        move |headers: HeaderMap, Query(q): Query<std::collections::HashMap<String, String>>| {
            let orders = orders.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok())
                    != Some("Bearer fixit-token")
                {
                    return (
                        StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "invalid token"})),
                    )
                        .into_response();
                }
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(50);
                let since = q.get("changed_since").cloned().unwrap_or_default();
                let all: Vec<Value> = orders
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|o| o["modified"].as_str().unwrap_or("") >= since.as_str())
                    .cloned()
                    .collect();
                let slice: Vec<Value> = all
                    .into_iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .collect();
                axum::Json(json!({"orders": slice})).into_response()
            }
        };
    let app = axum::Router::new().route("/api/v2/orders", axum::routing::get(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn order(id: u64, state: &str, modified: &str) -> Value {
    json!({"id": id, "title": format!("Order {id}"), "state": state, "urgency": 2,
           "created": "2026-11-20T08:00:00Z", "modified": modified})
}

fn run_once(dir: &Path, config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--config", config.to_str().unwrap(), "run", "--once"])
        .current_dir(dir)
        .env("FIXIT_TOKEN", "fixit-token")
        .env_remove("RUST_LOG")
        .output()
        .expect("binary runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code().unwrap_or(-1), err)
}

async fn a_new_rest_system_from_files_alone(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let orders = Arc::new(Mutex::new(
        (1..=120)
            .map(|i| order(i, "open", "2026-11-21T09:30:00Z"))
            .collect::<Vec<_>>(),
    ));
    let base = fixit(orders.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let (manifest, mapping) = example_files();
    write(&dir.path().join("connectors/fixit.toml"), &manifest);
    write(&dir.path().join("mappings/fixit-orders.toml"), &mapping);
    let config = dir.path().join("switchboard.toml");
    write(
        &config,
        &format!(
            "version = 1\n[store]\nurl = \"{}\"\n[paths]\nconnectors = \"connectors\"\nmappings = \"mappings\"\n[connectors.fixit]\nbase_url = \"{base}\"\n",
            ts.url
        ),
    );
    let (code, err) = run_once(dir.path(), &config);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 120);
    let done = summary(&ts.store).await;
    assert_eq!(done, [("facilities".to_string(), "open".to_string(), 120)]);

    // Two orders change at the source; the next run reads from the cursor.
    {
        let mut o = orders.lock().unwrap();
        o[5] = order(6, "done", "2026-11-22T10:00:00Z");
        o[6] = order(7, "assigned", "2026-11-22T11:00:00Z");
    }
    let (code, err) = run_once(dir.path(), &config);
    assert_eq!(code, 0, "{err}");
    let mut after = summary(&ts.store).await;
    after.sort();
    assert_eq!(
        after,
        [
            ("facilities".to_string(), "in_progress".to_string(), 1),
            ("facilities".to_string(), "open".to_string(), 118),
            ("facilities".to_string(), "resolved".to_string(), 1),
        ]
    );
}

async fn summary(store: &Store) -> Vec<(String, String, i64)> {
    store
        .status_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.department.unwrap_or_default(), c.status, c.count))
        .collect()
}

on_every_backend!(a_new_rest_system_from_files_alone);
