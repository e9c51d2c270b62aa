//! The store's contract, run on SQLite and PostgreSQL alike.

mod common;

use serde_json::json;
use switchboard::model::{Canonical, Person, WorkItem};
use switchboard::store::{CountedTable, PageWrite, StagedRecord, Stored};

use common::{Backend, TestStore};

fn item(id: &str, status: &str, title: &str) -> StagedRecord {
    StagedRecord {
        external_id: id.into(),
        content_hash: format!("hash-{id}-{status}-{title}"),
        payload_json: json!({ "id": id, "status": status, "title": title }).to_string(),
        outcome: Ok(Canonical::WorkItem(WorkItem {
            kind: "incident".into(),
            title: title.into(),
            status: status.into(),
            priority: Some(2),
            department: Some("it".into()),
            opened_at: Some("2026-01-02T03:04:05Z".parse().unwrap()),
            attributes: json!({ "number": format!("INC{id}") })
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        })),
    }
}

fn page<'a>(records: Vec<StagedRecord>, cursor: Option<&str>) -> PageWrite<'a> {
    PageWrite {
        system: "sn",
        stream: "incident",
        mapping_version: "v1",
        records,
        cursor: cursor.map(str::to_string),
        delivery: None,
        outbox: Vec::new(),
        effects: Vec::new(),
    }
}

async fn upsert_is_idempotent(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let records: Vec<_> = (0..1000)
        .map(|i| item(&i.to_string(), "open", "Printer jam"))
        .collect();
    let out = s
        .apply_page(page(records.clone(), Some("c1")))
        .await
        .unwrap();
    assert_eq!(out.stored, 1000);
    s.apply_page(page(records, Some("c1"))).await.unwrap();
    assert_eq!(s.count(CountedTable::WorkItems).await.unwrap(), 1000);
    assert_eq!(s.count(CountedTable::SourceRecords).await.unwrap(), 1000);

    s.apply_page(page(
        vec![item("7", "resolved", "Printer fixed")],
        Some("c2"),
    ))
    .await
    .unwrap();
    let w = s
        .work_item_summary("sn", "incident", "7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (w.status.as_str(), w.title.as_str(), w.priority),
        ("resolved", "Printer fixed", Some(2))
    );
    assert_eq!(s.count(CountedTable::WorkItems).await.unwrap(), 1000);
    assert_eq!(
        s.cursor("sn", "incident").await.unwrap().as_deref(),
        Some("c2")
    );
}

async fn existing_reports_hash_and_mapping_version(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    s.apply_page(page(
        vec![item("a", "open", "x"), item("b", "open", "y")],
        None,
    ))
    .await
    .unwrap();
    let keys = vec!["a".to_string(), "b".to_string(), "zzz".to_string()];
    let found = s.existing("sn", "incident", &keys).await.unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(
        found["a"],
        Stored {
            content_hash: "hash-a-open-x".into(),
            mapping_version: "v1".into(),
            state: Some("open".into()),
            end_date: None,
        }
    );
    assert!(
        s.existing("sn", "other-stream", &keys)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn failed_page_leaves_cursor_and_data_untouched(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    s.apply_page(page(vec![item("1", "open", "first")], Some("c1")))
        .await
        .unwrap();
    // The schema rejects an unknown status: the whole page, cursor included, must roll back.
    let broken = vec![
        item("2", "open", "fine"),
        item("3", "bogus", "violates CHECK"),
    ];
    assert!(s.apply_page(page(broken, Some("c2"))).await.is_err());
    assert_eq!(
        s.cursor("sn", "incident").await.unwrap().as_deref(),
        Some("c1")
    );
    assert_eq!(s.count(CountedTable::WorkItems).await.unwrap(), 1);
    assert_eq!(s.count(CountedTable::SourceRecords).await.unwrap(), 1);
    assert!(
        s.work_item_summary("sn", "incident", "2")
            .await
            .unwrap()
            .is_none()
    );
}

async fn duplicate_keys_in_one_page_keep_the_last(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let records = vec![
        item("1", "open", "old"),
        item("2", "open", "other"),
        item("1", "closed", "new"),
    ];
    s.apply_page(page(records, None)).await.unwrap();
    let w = s
        .work_item_summary("sn", "incident", "1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((w.status.as_str(), w.title.as_str()), ("closed", "new"));
    assert_eq!(s.count(CountedTable::WorkItems).await.unwrap(), 2);
}

async fn quarantine_counts_attempts_and_clears_on_success(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let bad = || StagedRecord {
        external_id: "9".into(),
        content_hash: "h".into(),
        payload_json: json!({ "state": "99" }).to_string(),
        outcome: Err("value \"99\" is not in map `state`".into()),
    };
    s.apply_page(page(vec![bad(), item("1", "open", "ok")], None))
        .await
        .unwrap();
    s.apply_page(page(vec![bad()], None)).await.unwrap();
    let q = s.quarantined().await.unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].external_id.as_str(), q[0].attempts), ("9", 2));
    assert!(q[0].reason.contains("not in map"));
    assert!(
        s.work_item_summary("sn", "incident", "9")
            .await
            .unwrap()
            .is_none()
    );

    s.apply_page(page(vec![item("9", "open", "fixed")], None))
        .await
        .unwrap();
    assert!(s.quarantined().await.unwrap().is_empty());
    assert_eq!(s.count(CountedTable::WorkItems).await.unwrap(), 2);
}

async fn classified_fields_are_stored(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let mut record = item("1", "open", "Leave request");
    if let Ok(Canonical::WorkItem(w)) = &mut record.outcome {
        w.classified.insert("description".into(), json!("hr"));
    }
    s.apply_page(page(vec![record], None)).await.unwrap();
    let w = s
        .work_item_summary("sn", "incident", "1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.classified.0, json!({"description": "hr"}));
    let plain = s
        .apply_page(page(vec![item("2", "open", "Printer")], None))
        .await;
    assert!(plain.is_ok());
    let w = s
        .work_item_summary("sn", "incident", "2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.classified.0, json!({}));
}

async fn people_are_upserted(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let person = |name: &str| StagedRecord {
        external_id: "u1".into(),
        content_hash: name.into(),
        payload_json: json!({ "name": name }).to_string(),
        outcome: Ok(Canonical::Person(Person {
            display_name: Some(name.into()),
            email: Some("ada@example.com".into()),
            active: Some(true),
            ..Default::default()
        })),
    };
    s.apply_page(page(vec![person("Ada")], None)).await.unwrap();
    s.apply_page(page(vec![person("Ada L.")], None))
        .await
        .unwrap();
    assert_eq!(s.count(CountedTable::People).await.unwrap(), 1);
}

async fn ready_after_migrations_and_status_counts(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    assert!(s.ready().await.unwrap());
    s.apply_page(page(
        vec![
            item("1", "open", "a"),
            item("2", "open", "b"),
            item("3", "closed", "c"),
        ],
        None,
    ))
    .await
    .unwrap();
    let counts = s.status_counts().await.unwrap();
    let flat: Vec<(Option<&str>, &str, i64)> = counts
        .iter()
        .map(|c| (c.department.as_deref(), c.status.as_str(), c.count))
        .collect();
    assert_eq!(
        flat,
        vec![(Some("it"), "closed", 1), (Some("it"), "open", 2)]
    );
}

on_every_backend!(
    upsert_is_idempotent,
    existing_reports_hash_and_mapping_version,
    failed_page_leaves_cursor_and_data_untouched,
    duplicate_keys_in_one_page_keep_the_last,
    quarantine_counts_attempts_and_clears_on_success,
    people_are_upserted,
    classified_fields_are_stored,
    ready_after_migrations_and_status_counts,
);

#[tokio::test]
async fn fresh_sqlite_is_not_ready_until_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("new.db").display());
    let store = switchboard::store::Store::connect(&url, 1).await.unwrap();
    assert!(!store.ready().await.unwrap());
    store.migrate().await.unwrap();
    assert!(store.ready().await.unwrap());
}

#[tokio::test]
async fn unsupported_store_url_is_a_clear_error() {
    let err = switchboard::store::Store::connect("mysql://x", 1)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("sqlite:// or postgres://"),
        "{err}"
    );
}

/// A write that finds SQLite's write lock taken by another connection waits
/// for it (the store's busy handler, crates/store/src/busy.rs) and then goes
/// through: no "database is locked", no lost write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_write_waits_for_the_lock_another_connection_holds() {
    let t = TestStore::new(Backend::Sqlite).await;
    let switchboard::store::Store::Sqlite(pool) = &t.store else {
        unreachable!("a SQLite store")
    };
    sqlx::query("CREATE TABLE busy_probe (n INTEGER NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    let mut holder = pool.acquire().await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *holder)
        .await
        .unwrap();
    sqlx::query("INSERT INTO busy_probe VALUES (1)")
        .execute(&mut *holder)
        .await
        .unwrap();
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move {
            sqlx::query("INSERT INTO busy_probe VALUES (2)")
                .execute(&pool)
                .await
        })
    };
    // Long enough for a handler that gives up at once to have failed.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "{:?}", waiter.await);
    sqlx::query("COMMIT").execute(&mut *holder).await.unwrap();
    waiter
        .await
        .unwrap()
        .expect("the waiting write went through");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM busy_probe")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(rows, 2);
}
