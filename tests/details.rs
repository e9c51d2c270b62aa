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

/// TOPdesk's progress trail, read for new or changed incidents only; an
/// operator's action added through the API reaches the store as a public
/// comment at the next sync.
async fn the_topdesk_progress_trail_becomes_activities(backend: Backend) {
    use switchboard::sim::topdesk::{SimConfig, TopdeskSim};
    let ts = TestStore::new(backend).await;
    let sim = TopdeskSim::spawn(SimConfig {
        incidents: 8,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let trails = |sim: &switchboard::sim::topdesk::SimHandle| {
        sim.sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/progresstrail"))
            .count()
    };
    let entries: usize = sim
        .sim
        .records()
        .iter()
        .map(|r| sim.sim.trail(r["id"].as_str().unwrap()).len())
        .sum();
    assert!(entries > 0, "the seed has trails");
    let job = common::topdesk_incident_job(&common::topdesk_manifest(&sim.base_url, &[]));
    let first = sync(&job, &ts.store).await;
    assert_eq!(first.stored, 8, "{first:?}");
    assert_eq!(trails(&sim), 8);
    let stored = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM activities WHERE source_system = 'topdesk' AND kind = 'comment'",
    )
    .await;
    assert_eq!(stored, entries as i64);

    let second = sync(&job, &ts.store).await;
    assert_eq!(second.stored, 0, "{second:?}");
    assert_eq!(trails(&sim), 8, "unchanged incidents cost no trail request");

    let id = sim.sim.records()[2]["id"].as_str().unwrap().to_string();
    sim.sim
        .update(
            &id,
            serde_json::json!({"action": "Ordered a new power supply.", "actionInvisibleForCaller": false}),
        )
        .unwrap();
    let third = sync(&job, &ts.store).await;
    assert_eq!(third.stored, 1, "{third:?}");
    assert_eq!(trails(&sim), 9);
    let said = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM activities WHERE source_system = 'topdesk' AND kind = 'comment'          AND body LIKE 'Ordered a new power supply.%' AND visibility = 'public'",
    )
    .await;
    assert_eq!(said, 1);
    sim.shutdown().await;
}

/// A details request that names the record in its query rather than its
/// path: the shipped ServiceNow manifest reads the journal,
/// `sys_journal_field?sysparm_query=element_id={sys_id}`, the comments and
/// work notes of each new or changed incident, kept in its raw payload and
/// mapped into public comments and internal notes.
async fn a_details_query_names_the_record(backend: Backend) {
    use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 4,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let manifest = common::servicenow_manifest_with_journal(&sn.base_url, &[]);
    let job = common::incident_job(&manifest);
    let id = sn.sim.records("incident")[1]["sys_id"]
        .as_str()
        .unwrap()
        .to_string();
    let note = |field: &str, text: &str| {
        let fields = [(field.to_string(), serde_json::json!(text))]
            .into_iter()
            .collect();
        assert!(sn.sim.update("incident", &id, fields));
    };
    note("comments", "We are looking into it.");
    note("work_notes", "Same fault as INC0010002.");
    let report = sync(&job, &ts.store).await;
    assert_eq!(report.stored, 4, "{report:?}");
    let asked: Vec<String> = sn
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/sys_journal_field"))
        .filter_map(|r| r.query.get("sysparm_query").cloned())
        .collect();
    assert_eq!(asked.len(), 4, "one per incident: {asked:?}");
    assert!(
        asked
            .iter()
            .any(|q| q.starts_with(&format!("element_id={id}^"))),
        "{asked:?}"
    );
    let sql = format!(
        "SELECT payload FROM source_records WHERE source_stream = 'incident' AND external_id = '{id}'"
    );
    let payload: serde_json::Value = match &ts.store {
        Store::Postgres(p) => {
            sqlx::query_scalar::<_, sqlx::types::Json<serde_json::Value>>(&sql)
                .fetch_one(p)
                .await
                .unwrap()
                .0
        }
        Store::Sqlite(p) => {
            let text: String = sqlx::query_scalar(&sql).fetch_one(p).await.unwrap();
            serde_json::from_str(&text).unwrap()
        }
    };
    // Both were written in the same second: their order is the sys_id's.
    let mut entries: Vec<(&str, &str)> = payload["journal"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["element"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        [
            ("comments", "We are looking into it."),
            ("work_notes", "Same fault as INC0010002.")
        ]
    );
    let visibility = |body: &str| {
        format!(
            "SELECT COUNT(*) FROM activities WHERE source_system = 'servicenow' \
             AND kind = 'comment' AND body = '{body}' AND author_ref IS NOT NULL \
             AND visibility = '{}'",
            if body.starts_with("We") {
                "public"
            } else {
                "internal"
            }
        )
    };
    for body in ["We are looking into it.", "Same fault as INC0010002."] {
        assert_eq!(scalar(&ts.store, &visibility(body)).await, 1, "{body}");
    }
    let journal_requests = |sn: &switchboard::sim::servicenow::SimHandle| {
        sn.sim
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/sys_journal_field"))
            .count()
    };
    // Unchanged incidents cost no journal request; a new comment changes
    // the incident, which is read again with its journal.
    let again = sync(&job, &ts.store).await;
    assert_eq!(again.stored, 0, "{again:?}");
    assert_eq!(journal_requests(&sn), 4);
    note("comments", "A technician comes at 3 pm.");
    let third = sync(&job, &ts.store).await;
    assert_eq!(third.stored, 1, "{third:?}");
    assert_eq!(journal_requests(&sn), 5);
    let said = "SELECT COUNT(*) FROM activities WHERE source_system = 'servicenow' \
                AND body = 'A technician comes at 3 pm.' AND visibility = 'public'";
    assert_eq!(scalar(&ts.store, said).await, 1);
    sn.shutdown().await;
}

on_every_backend!(
    a_details_query_names_the_record,
    the_topdesk_progress_trail_becomes_activities,
    comments_reach_the_store_and_are_read_only_for_changed_records,
    a_request_whose_comments_are_refused_is_quarantined_alone
);
