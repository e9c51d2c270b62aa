//! `[[streams.details]]`: a request per new or changed record for what the
//! list does not carry. The shipped Jira manifest reads each request's
//! comments (public and internal) into activities, asks again only for a
//! request that changed, and quarantines a request whose comments are
//! refused, alone. Both stores, against the Jira simulator.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use switchboard::sim::jira::{JiraSim, SimConfig, SimHandle};
use switchboard::store::Store;
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::hub::scalar;
use common::{Backend, TestStore, jira_manifest, jira_request_job};

const REQUESTS: usize = 12;

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_717_243_200, 0)
        .single()
        .unwrap_or_default()
}

async fn sim() -> SimHandle {
    let config = SimConfig {
        requests: REQUESTS,
        ..SimConfig::default()
    };
    JiraSim::with_clock(config, now()).serve().await.unwrap()
}

async fn sync(job: &SyncJob, store: &Store) -> SyncReport {
    job.run(store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

/// Comment requests the simulator has answered so far.
fn comment_requests(sim: &SimHandle) -> usize {
    sim.sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/comment"))
        .count()
}

async fn comments_reach_the_store_and_are_read_only_for_changed_records(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sim = sim().await;
    let seeded: usize = sim.sim.records().iter().map(|r| r.comments.len()).sum();
    let public: usize = sim
        .sim
        .records()
        .iter()
        .flat_map(|r| &r.comments)
        .filter(|c| c.public)
        .count();
    assert!(seeded > public && public > 0, "the seed has both kinds");
    let job = jira_request_job(&jira_manifest(&sim.base_url, &[]));

    let first = sync(&job, &ts.store).await;
    assert_eq!(first.stored, REQUESTS, "{first:?}");
    assert_eq!(comment_requests(&sim), REQUESTS, "one per new request");
    let sql = |visibility: &str| {
        format!(
            "SELECT COUNT(*) FROM activities WHERE source_system = 'jira' AND kind = 'comment' \
             AND visibility = '{visibility}'"
        )
    };
    assert_eq!(scalar(&ts.store, &sql("public")).await, public as i64);
    assert_eq!(
        scalar(&ts.store, &sql("internal")).await,
        (seeded - public) as i64
    );

    // Nothing changed: no comment is asked for.
    let second = sync(&job, &ts.store).await;
    assert_eq!(second.unchanged, REQUESTS, "{second:?}");
    assert_eq!(comment_requests(&sim), REQUESTS);

    // One request moves and gets a comment: its comments, and only its.
    let id = sim.sim.records()[3].issue_id.to_string();
    sim.sim
        .comment(&id, "Replaced the toner; please try again.", true);
    sim.sim.transition(&id, "Waiting for customer");
    let third = sync(&job, &ts.store).await;
    assert_eq!(third.stored, 1, "{third:?}");
    assert_eq!(comment_requests(&sim), REQUESTS + 1);
    let said = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM activities WHERE kind = 'comment' \
         AND body = 'Replaced the toner; please try again.' AND visibility = 'public'",
    )
    .await;
    assert_eq!(said, 1);
    sim.shutdown().await;
}

async fn a_request_whose_comments_are_refused_is_quarantined_alone(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sim = sim().await;
    // Right after the list is answered, one request disappears (its id
    // changes), as one deleted between the list and its comments would:
    // its comment request is answered 404.
    let gone = sim.sim.records()[5].issue_id.to_string();
    let moved = gone.clone();
    sim.sim.after_list_request(
        1,
        Box::new(move |jira: &JiraSim| {
            jira.update(&moved, |r| r.issue_id += 1_000_000);
        }),
    );
    let job = jira_request_job(&jira_manifest(&sim.base_url, &[]));
    let report = sync(&job, &ts.store).await;
    assert_eq!(
        (report.stored, report.quarantined),
        (REQUESTS - 1, 1),
        "{report:?}"
    );
    let reason: String = match &ts.store {
        Store::Postgres(p) => sqlx::query_scalar("SELECT reason FROM quarantine")
            .fetch_one(p)
            .await
            .unwrap(),
        Store::Sqlite(p) => sqlx::query_scalar("SELECT reason FROM quarantine")
            .fetch_one(p)
            .await
            .unwrap(),
    };
    assert!(
        reason.contains("its details could not be read") && reason.contains("404"),
        "{reason}"
    );
    let external_id: i64 = scalar(
        &ts.store,
        &format!("SELECT COUNT(*) FROM quarantine WHERE external_id = '{gone}'"),
    )
    .await;
    assert_eq!(external_id, 1);
    sim.shutdown().await;
}

on_every_backend!(
    comments_reach_the_store_and_are_read_only_for_changed_records,
    a_request_whose_comments_are_refused_is_quarantined_alone
);
