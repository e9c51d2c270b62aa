//! The transactional outbox on SQLite and PostgreSQL: idempotent enqueue,
//! enqueue in a page's transaction, leased claims that never hand one row
//! to two relays, and sent rows never claimed again.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use switchboard::model::{Canonical, WorkItem};
use switchboard::store::{Delivery, OutboxMessage, PageWrite, StagedRecord, Store};

use common::{Backend, TestStore};

fn message(i: usize) -> OutboxMessage {
    OutboxMessage {
        event_id: format!("evt-{i:04}"),
        routing_key: "facilities.maximo.create_workorder".into(),
        payload: json!({"specversion": "1.0", "id": format!("evt-{i:04}"), "data": {"n": i}}),
        not_before: None,
    }
}

const LEASE: Duration = Duration::from_secs(60);

async fn enqueue_is_idempotent_by_event_id(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    assert_eq!(
        s.enqueue(&(0..3).map(message).collect::<Vec<_>>())
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        s.enqueue(&(1..4).map(message).collect::<Vec<_>>())
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.outbox_pending().await.unwrap(), 4);
    let claimed = s.claim_outbox(10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 4);
    assert_eq!(
        claimed[0].message,
        message(0),
        "payload and key come back whole"
    );
}

async fn claims_are_leased_and_sent_rows_stay_sent(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    s.enqueue(&(0..4).map(message).collect::<Vec<_>>())
        .await
        .unwrap();
    let first = s.claim_outbox(2, LEASE).await.unwrap();
    let second = s.claim_outbox(10, LEASE).await.unwrap();
    assert_eq!(ids(&first), ["evt-0000", "evt-0001"], "oldest first");
    assert_eq!(
        ids(&second),
        ["evt-0002", "evt-0003"],
        "leased rows are not handed out twice"
    );
    assert!(s.claim_outbox(10, LEASE).await.unwrap().is_empty());

    s.mark_sent(&first.iter().map(|c| c.id).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(s.outbox_pending().await.unwrap(), 2);
    // A failed publish comes back after its retry delay, counted.
    s.release_outbox(second[0].id, "broker unreachable", Duration::ZERO)
        .await
        .unwrap();
    let again = s.claim_outbox(10, LEASE).await.unwrap();
    assert_eq!(ids(&again), ["evt-0002"]);
    assert_eq!(again[0].attempts, 2);

    // A relay that died mid-publish: its lease runs out and the row returns.
    let short = s.claim_outbox(10, Duration::ZERO).await;
    assert!(short.unwrap().is_empty(), "evt-0003 is still leased");
    s.release_outbox(second[1].id, "relay stopped", Duration::ZERO)
        .await
        .unwrap();
    let dying = s.claim_outbox(10, Duration::from_millis(1)).await.unwrap();
    assert_eq!(ids(&dying), ["evt-0003"]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reclaimed = s.claim_outbox(10, LEASE).await.unwrap();
    assert_eq!(ids(&reclaimed), ["evt-0003"]);
    // Sent rows are never claimed again, whatever their lease.
    s.mark_sent(&[again[0].id, reclaimed[0].id]).await.unwrap();
    assert_eq!(s.outbox_pending().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(s.claim_outbox(10, Duration::ZERO).await.unwrap().is_empty());
}

fn ids(claimed: &[switchboard::store::Claimed]) -> Vec<&str> {
    claimed
        .iter()
        .map(|c| c.message.event_id.as_str())
        .collect()
}

/// Several relays claiming at once share the rows out: each exactly once.
async fn concurrent_relays_never_share_a_row(backend: Backend) {
    let ts = TestStore::new(backend).await;
    ts.store
        .enqueue(&(0..400).map(message).collect::<Vec<_>>())
        .await
        .unwrap();
    let relays: Vec<_> = (0..4)
        .map(|_| {
            let store: Store = ts.store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_outbox(25, LEASE).await.expect("claim");
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.message.event_id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for r in relays {
        all.extend(r.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(all.len(), 400, "every row claimed");
    assert_eq!(unique.len(), 400, "no row claimed twice");
}

fn item(id: &str) -> StagedRecord {
    StagedRecord {
        external_id: id.into(),
        content_hash: format!("hash-{id}"),
        payload_json: json!({ "id": id }).to_string(),
        outcome: Ok(Canonical::WorkItem(WorkItem {
            kind: "incident".into(),
            title: "No heating".into(),
            status: "new".into(),
            ..Default::default()
        })),
    }
}

/// Routed work commits with the change that caused it, or not at all.
async fn a_page_enqueues_in_its_own_transaction(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let page = |delivery| PageWrite {
        system: "sn",
        stream: "incident",
        mapping_version: "v1",
        records: vec![item("1")],
        cursor: None,
        delivery,
        outbox: vec![message(1)],
        effects: Vec::new(),
    };
    let d = Delivery {
        id: "delivery-1",
        body: "{}",
    };
    assert!(!s.apply_page(page(Some(d))).await.unwrap().duplicate);
    assert_eq!(s.outbox_pending().await.unwrap(), 1);
    // A redelivered webhook changes nothing, routed work included.
    let again = s.apply_page(page(Some(d))).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(s.outbox_pending().await.unwrap(), 1);
}

/// Rows handed on long ago are forgotten; work still to do, and dead
/// letters, never are.
async fn pruning_forgets_only_old_handed_on_rows(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    s.enqueue(&(0..4).map(message).collect::<Vec<_>>())
        .await
        .unwrap();
    let claimed = s.claim_outbox(3, LEASE).await.unwrap();
    s.mark_sent(&[claimed[0].id, claimed[1].id]).await.unwrap();
    s.bury_outbox(claimed[2].id, "refused").await.unwrap();
    assert_eq!(
        s.prune_outbox(Duration::from_secs(3600)).await.unwrap(),
        0,
        "sent just now"
    );
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(s.prune_outbox(Duration::from_millis(1)).await.unwrap(), 2);
    assert_eq!(
        s.outbox_pending().await.unwrap(),
        2,
        "the dead and the pending stay"
    );
    assert_eq!(s.dead_letters().await.unwrap().len(), 1);
    // A change routed again after its row is gone is enqueued again; the
    // writer's delivery record, not the outbox, keeps it from applying twice.
    assert_eq!(s.enqueue(&[message(0)]).await.unwrap(), 1);
}

on_every_backend!(
    pruning_forgets_only_old_handed_on_rows,
    enqueue_is_idempotent_by_event_id,
    claims_are_leased_and_sent_rows_stay_sent,
    concurrent_relays_never_share_a_row,
    a_page_enqueues_in_its_own_transaction,
);
