//! The `file` kind end to end: the shipped HR export manifest and mapping,
//! the sync engine and the store, on SQLite and PostgreSQL alike.

mod common;

use std::path::Path;
use std::sync::Arc;

use switchboard::connector::{Manifest, StreamSpec};
use switchboard::diag::SourceFile;
use switchboard::mapping::{Mapping, MappingSlot};
use switchboard::store::{CountedTable, Store};
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, repo};

const HEADER: &str = "Employee Number,First Name,Last Name,Work Email,Job Title,Department,Cost Center,Manager Employee Number,Location,Status,Hire Date,Annual Salary\n";

/// The shipped manifest, reading `dir` in pages of `page_size`.
fn job(dir: &Path, page_size: usize) -> SyncJob {
    let path = repo().join("connectors/hr-csv.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("/var/lib/switchboard/drop/hr", &dir.display().to_string())
        .replace("page_size = 1000", &format!("page_size = {page_size}"));
    let manifest = Manifest::from_source(&SourceFile::new(path, text)).expect("manifest");
    let connector = manifest.config.build(&manifest.header).expect("builds");
    let stream: StreamSpec = connector.streams().remove(0);
    let mapping = Mapping::load(&repo().join("mappings/hr-csv-employees.toml")).expect("mapping");
    SyncJob {
        connector,
        stream,
        mapping: MappingSlot::new(Arc::new(mapping)),
        department: manifest.header.department.clone(),
        router: None,
    }
}

fn employees(from: usize, n: usize) -> String {
    let mut s = HEADER.to_string();
    for i in from..from + n {
        // Everyone reports to the first person of the file.
        let manager = if i == from {
            String::new()
        } else {
            from.to_string()
        };
        s.push_str(&format!(
            "{i},First{i},Last{i},p{i}@example.com,Analyst,People,CC-1,{manager},Utrecht,Active,2024-01-01,50000\n"
        ));
    }
    s
}

async fn run(job: &SyncJob, store: &Store, stop_after_pages: Option<usize>) -> SyncReport {
    let stop = CancellationToken::new();
    let progress = |_: &SyncJob, r: &SyncReport| {
        if Some(r.pages) == stop_after_pages {
            stop.cancel();
        }
    };
    job.run(store, &stop, &progress).await.expect("sync runs")
}

async fn texts(store: &Store, sql: &str) -> Vec<String> {
    let rows: Vec<Option<String>> = match store {
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter()
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .collect()
}

async fn an_export_lands_as_people(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("employees-2026-11-22.csv"),
        employees(100, 7),
    )
    .unwrap();
    let report = run(&job(dir.path(), 3), &ts.store, None).await;
    assert_eq!(
        (report.fetched, report.stored, report.quarantined),
        (7, 7, 0)
    );
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 7);
    // The manager is in the same file, on an earlier page or the same one.
    assert_eq!(
        texts(&ts.store, "SELECT m.display_name FROM people p JOIN people m ON m.id = p.manager_id WHERE p.external_id = '106'").await,
        ["First100 Last100"]
    );
    assert_eq!(
        texts(&ts.store, "SELECT code FROM org_units WHERE placeholder").await,
        ["CC-1"]
    );
    assert!(dir.path().join("done/employees-2026-11-22.csv").exists());

    // Tomorrow's export: two people changed, one new; the rest unchanged.
    let mut next = employees(100, 8).replace("First101,", "Firstname101,");
    next = next.replace(
        "103,First103,Last103,p103@example.com,Analyst",
        "103,First103,Last103,p103@example.com,Lead",
    );
    std::fs::write(dir.path().join("employees-2026-11-23.csv"), next).unwrap();
    let report = run(&job(dir.path(), 3), &ts.store, None).await;
    assert_eq!((report.fetched, report.stored, report.unchanged), (8, 3, 5));
}

async fn killed_mid_file_resumes_without_reading_anything_twice(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("employees-1.csv"), employees(1, 10)).unwrap();
    // Stops (as a kill would) after the second page is committed.
    let first = run(&job(dir.path(), 3), &ts.store, Some(2)).await;
    assert!(first.interrupted);
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 6);
    assert!(dir.path().join("employees-1.csv").exists(), "not done yet");

    let second = run(&job(dir.path(), 3), &ts.store, None).await;
    assert_eq!(
        second.fetched, 4,
        "only what the first run had not committed"
    );
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 10);
    assert!(dir.path().join("done/employees-1.csv").exists());

    let third = run(&job(dir.path(), 3), &ts.store, None).await;
    assert_eq!(third.fetched, 0);
}

async fn a_broken_export_is_refused_whole(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let mut broken = employees(1, 5);
    broken.push_str("6,Six,Only three columns\n");
    std::fs::write(dir.path().join("employees-1.csv"), broken).unwrap();
    let report = run(&job(dir.path(), 2), &ts.store, None).await;
    assert_eq!(report.fetched, 0);
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 0);
    let reason =
        std::fs::read_to_string(dir.path().join("failed/employees-1.csv.error.txt")).unwrap();
    assert!(reason.contains("line: 7"), "{reason}");
}

/// Text that does not compress: PostgreSQL keeps no index entry over
/// about 2.7 kB, so as an indexed value (an e-mail address) it is refused.
fn incompressible(len: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect()
}

async fn a_record_the_store_refuses_is_quarantined_alone(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let huge = format!("{}@example.com", incompressible(12_000));
    let export = employees(1, 5).replace("p3@example.com", &huge);
    std::fs::write(dir.path().join("employees-1.csv"), export).unwrap();
    let report = run(&job(dir.path(), 5), &ts.store, None).await;
    let people = ts.store.count(CountedTable::People).await.unwrap();
    match backend {
        // SQLite has no such limit: everyone is stored.
        Backend::Sqlite => assert_eq!((report.stored, report.quarantined, people), (5, 0, 5)),
        Backend::Postgres => {
            assert_eq!(
                (report.stored, report.quarantined, people),
                (4, 1, 4),
                "the rest of the page is stored: {report:?}"
            );
            let reasons = texts(
                &ts.store,
                "SELECT external_id || ': ' || reason FROM quarantine",
            )
            .await;
            assert_eq!(reasons.len(), 1);
            assert!(
                reasons[0].starts_with("3: the store refused this record:")
                    && reasons[0].contains("index row"),
                "{reasons:?}"
            );
        }
    }
    assert!(
        dir.path().join("done/employees-1.csv").exists(),
        "the file is done"
    );
}

on_every_backend!(
    an_export_lands_as_people,
    killed_mid_file_resumes_without_reading_anything_twice,
    a_broken_export_is_refused_whole,
    a_record_the_store_refuses_is_quarantined_alone
);
