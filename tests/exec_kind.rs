//! The `exec` kind end to end: a Singer tap shipped in tests/taps, the sync
//! engine and the store, on SQLite and PostgreSQL alike.

mod common;

use std::sync::Arc;

use switchboard::connector::Manifest;
use switchboard::diag::SourceFile;
use switchboard::mapping::{Mapping, MappingSlot};
use switchboard::store::CountedTable;
use switchboard::sync::SyncJob;
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, repo};

const MAPPING: &str = r#"
version = 1
system = "singer-hr"
stream = "employees"
entity = "person"

[fields]
display_name = { path = "name" }
employee_number = { path = "id" }
"#;

/// A manifest running the fixture tap over `n` rows.
fn job(n: u64) -> SyncJob {
    let rows: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "{{ id = {i}, name = \"Person {i}\", updated = {} }}",
                i * 10
            )
        })
        .collect();
    let text = format!(
        "version = 1\nsystem = \"singer-hr\"\nkind = \"exec\"\ndepartment = \"hr\"\ncommand = \"{}\"\n\n[config]\nstate_every = 3\nrows = [{}]\n\n[[streams]]\nname = \"employees\"\nkey = \"id\"\n",
        repo().join("tests/taps/tap-fixture").display(),
        rows.join(", ")
    );
    let m = Manifest::from_source(&SourceFile::new("connectors/singer-hr.toml", text))
        .expect("manifest");
    let connector = m.config.build(&m.header).expect("builds");
    let mapping = Mapping::from_source(&SourceFile::new(
        "mappings/singer-hr-employees.toml",
        MAPPING,
    ))
    .expect("mapping");
    SyncJob {
        stream: connector.streams().remove(0),
        connector,
        mapping: MappingSlot::new(Arc::new(mapping)),
        department: m.header.department.clone(),
        router: None,
    }
}

async fn a_singer_tap_syncs_records_and_state(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let stop = CancellationToken::new();
    let report = job(7)
        .run(&ts.store, &stop, &|_, _| {})
        .await
        .expect("sync");
    assert_eq!((report.fetched, report.stored), (7, 7));
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 7);
    // The tap's last state is the stream's cursor.
    let state = ts
        .store
        .cursor("singer-hr", "employees")
        .await
        .unwrap()
        .expect("state stored");
    assert!(
        state.ends_with("{\"bookmarks\":{\"employees\":{\"updated\":70}}}"),
        "{state}"
    );

    // Three more rows upstream: the tap gets the state back and sends only those.
    let report = job(10)
        .run(&ts.store, &stop, &|_, _| {})
        .await
        .expect("sync");
    assert_eq!((report.fetched, report.stored), (3, 3));
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 10);
    let state = ts
        .store
        .cursor("singer-hr", "employees")
        .await
        .unwrap()
        .unwrap();
    assert!(state.contains("\"updated\":100"), "{state}");
}

on_every_backend!(a_singer_tap_syncs_records_and_state);
