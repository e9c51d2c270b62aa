//! Native offerings in the store, on SQLite and PostgreSQL alike: written
//! by the page write, updated by the next sync, listed active only, by
//! department then name, capped.

mod common;

use serde_json::json;
use switchboard::model::{Canonical, Offering};
use switchboard::store::{MAX_NATIVE_OFFERINGS, PageWrite, StagedRecord};

use common::{Backend, TestStore};

fn offering(id: &str, name: &str, department: Option<&str>, active: Option<bool>) -> StagedRecord {
    StagedRecord {
        external_id: id.into(),
        content_hash: format!("hash-{id}-{name}-{active:?}"),
        payload_json: json!({ "id": id, "name": name }).to_string(),
        outcome: Ok(Canonical::Offering(Offering {
            name: name.into(),
            description: Some(format!("About {name}")),
            department: department.map(str::to_string),
            category: Some("hardware".into()),
            external_url: Some(format!("https://it.example/sp?id=sc_cat_item&sys_id={id}")),
            active,
            attributes: json!({ "order": id })
                .as_object()
                .cloned()
                .unwrap_or_default(),
        })),
    }
}

fn page<'a>(stream: &'a str, records: Vec<StagedRecord>) -> PageWrite<'a> {
    PageWrite {
        system: "sn",
        stream,
        mapping_version: "v1",
        records,
        cursor: None,
        delivery: None,
        outbox: Vec::new(),
        effects: Vec::new(),
    }
}

async fn written_then_listed_active_only_in_order(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let out = s
        .apply_page(page(
            "catalog_item",
            vec![
                offering("a1", "Standard Laptop", Some("it"), Some(true)),
                offering("a2", "BlackBerry", Some("it"), Some(false)),
                offering("a3", "Adobe Acrobat", Some("it"), None),
                offering("a4", "Parental leave", Some("hr"), Some(true)),
                offering("a5", "Anything else", None, Some(true)),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(out.stored, 5);
    let listed = s.native_offerings(MAX_NATIVE_OFFERINGS).await.unwrap();
    assert!(!listed.truncated);
    let names: Vec<&str> = listed.items.iter().map(|o| o.name.as_str()).collect();
    // hr before it, both by name; without a department last; retired left out.
    assert_eq!(
        names,
        [
            "Parental leave",
            "Adobe Acrobat",
            "Standard Laptop",
            "Anything else"
        ]
    );
    let laptop = &listed.items[2];
    assert_eq!(
        (laptop.source_system.as_str(), laptop.source_stream.as_str()),
        ("sn", "catalog_item")
    );
    assert_eq!(laptop.external_id, "a1");
    assert_eq!(laptop.description.as_deref(), Some("About Standard Laptop"));
    assert_eq!(laptop.department.as_deref(), Some("it"));
    assert_eq!(laptop.category.as_deref(), Some("hardware"));
    assert_eq!(
        laptop.external_url.as_deref(),
        Some("https://it.example/sp?id=sc_cat_item&sys_id=a1")
    );
}

async fn the_next_sync_updates_and_retires(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    s.apply_page(page(
        "catalog_item",
        vec![
            offering("a1", "Standard Laptop", Some("it"), Some(true)),
            offering("a2", "Tablet", Some("it"), Some(true)),
        ],
    ))
    .await
    .unwrap();
    s.apply_page(page(
        "catalog_item",
        vec![
            offering("a1", "Standard Laptop (14 inch)", Some("it"), Some(true)),
            offering("a2", "Tablet", Some("it"), Some(false)),
        ],
    ))
    .await
    .unwrap();
    let listed = s.native_offerings(MAX_NATIVE_OFFERINGS).await.unwrap();
    let names: Vec<&str> = listed.items.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Standard Laptop (14 inch)"]);
    // Active again at the source: listed again, one row per item throughout.
    s.apply_page(page(
        "catalog_item",
        vec![offering("a2", "Tablet", Some("it"), None)],
    ))
    .await
    .unwrap();
    let listed = s.native_offerings(MAX_NATIVE_OFFERINGS).await.unwrap();
    assert_eq!(listed.items.len(), 2);
}

async fn the_list_is_capped_and_says_so(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let many: Vec<StagedRecord> = (0..MAX_NATIVE_OFFERINGS + 5)
        .map(|i| {
            offering(
                &format!("{i:05}"),
                &format!("Item {i:05}"),
                Some("it"),
                None,
            )
        })
        .collect();
    s.apply_page(page("catalog_item", many)).await.unwrap();
    let all = s.native_offerings(usize::MAX).await.unwrap();
    assert_eq!(all.items.len(), MAX_NATIVE_OFFERINGS);
    assert!(all.truncated);
    assert_eq!(all.items[0].name, "Item 00000");
    let three = s.native_offerings(3).await.unwrap();
    assert_eq!(three.items.len(), 3);
    assert!(three.truncated);

    let ts = TestStore::new(backend).await;
    let exact: Vec<StagedRecord> = (0..3)
        .map(|i| offering(&i.to_string(), &format!("Item {i}"), Some("it"), None))
        .collect();
    ts.store
        .apply_page(page("catalog_item", exact))
        .await
        .unwrap();
    let listed = ts.store.native_offerings(3).await.unwrap();
    assert_eq!(listed.items.len(), 3);
    assert!(!listed.truncated, "exactly the limit is not truncated");
}

on_every_backend!(
    written_then_listed_active_only_in_order,
    the_next_sync_updates_and_retires,
    the_list_is_capped_and_says_so,
);
