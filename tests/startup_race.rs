//! Several processes starting at once on one store: each writes the field
//! owners the mappings declare (`switchboard run` and `demo` do at start,
//! a hot reload does after a swap). Two of those writes at the same moment
//! once failed one start with `duplicate key value violates unique
//! constraint "field_owners_pkey"`. Each process has its own pool here, so
//! each write comes from its own database session, as from two processes.

mod common;

use std::sync::Arc;

use switchboard::mapping::Owner;
use switchboard::model::Entity;
use switchboard::store::Store;
use tokio::sync::Barrier;

use common::{Backend, TestStore};

const PAIRS: usize = 20;

fn owners(system: &str) -> Vec<Owner> {
    ["department", "email", "employee_number", "manager"]
        .into_iter()
        .map(|field| Owner {
            entity: Entity::Person,
            field: field.to_string(),
            system: system.to_string(),
        })
        .collect()
}

async fn simultaneous_starts_all_succeed(backend: Backend) {
    let ts = TestStore::new(backend).await;
    for pair in 0..PAIRS {
        // Each start has its own connection, opened before the race.
        let a = Store::connect(&ts.url, 1).await.expect("first process");
        let b = Store::connect(&ts.url, 1).await.expect("second process");
        // The deployment's owners change between pairs, as after an edit.
        let declared = owners(if pair % 2 == 0 {
            "personio"
        } else {
            "bamboohr"
        });
        let barrier = Arc::new(Barrier::new(2));
        let start = |store: Store| {
            let barrier = barrier.clone();
            let declared = declared.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                store.declare_owners(&declared).await
            })
        };
        let (first, second) = tokio::join!(start(a.clone()), start(b.clone()));
        first
            .unwrap()
            .unwrap_or_else(|e| panic!("pair {pair}: the first start failed: {e}"));
        second
            .unwrap()
            .unwrap_or_else(|e| panic!("pair {pair}: the second start failed: {e}"));
        let expected: Vec<(String, String, String)> = declared
            .iter()
            .map(|o| {
                (
                    o.entity.as_str().to_string(),
                    o.field.clone(),
                    o.system.clone(),
                )
            })
            .collect();
        assert_eq!(
            ts.store.field_owners().await.unwrap(),
            expected,
            "pair {pair}: the declared owners, once each"
        );
        a.close().await;
        b.close().await;
    }
}

on_every_backend!(simultaneous_starts_all_succeed);
