//! End-to-end sync of Jira Service Management customer requests through the
//! shipped manifest and mapping, against the simulator, into both store
//! backends. The request list has no changed-since filter, so every run reads
//! every request and the engine skips the unchanged ones by content hash.

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use switchboard::sim::jira::{Fault, JiraSim, SimConfig, SimHandle};
use switchboard::store::{CountedTable, Store};
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, jira_manifest, jira_manifest_as, jira_request_job};

/// 2024-06-01 12:00:00 UTC. The clock is frozen so the relative `friendly`
/// dates in the payloads, and so their content hashes, stay put between runs.
fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_717_243_200, 0)
        .single()
        .unwrap_or_default()
}

const PAGE_10: (&str, &str) = ("page_size = 50", "page_size = 10");
const FAST_BACKOFF: (&str, &str) = ("initial_backoff_ms = 1000", "initial_backoff_ms = 50");
/// The manifest without its comment requests, for tests that count the
/// list's own requests (tests/details.rs covers the comments).
const NO_DETAILS: (&str, &str) = (
    "[[streams.details]]\ninto = \"comments\"\npath = \"/rest/servicedeskapi/request/{issueId}/comment\"\nrecords = \"values\"\nkey = \"id\"\n\n[streams.details.pagination]\ntype = \"offset\"\nlimit_param = \"limit\"\noffset_param = \"start\"\npage_size = 50\nlast_page_path = \"isLastPage\"\n",
    "",
);

async fn sim(requests: usize) -> SimHandle {
    let config = SimConfig {
        requests,
        ..SimConfig::default()
    };
    JiraSim::with_clock(config, now())
        .serve()
        .await
        .expect("simulator starts")
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

/// issueId -> status name and summary of every request must be in the store.
async fn assert_store_matches_sim(ts: &TestStore, sim: &JiraSim) {
    let requests = sim.records();
    assert_eq!(
        ts.store.count(CountedTable::WorkItems).await.unwrap(),
        requests.len() as i64,
        "every request is stored once"
    );
    for r in &requests {
        let id = r.issue_id.to_string();
        let stored = ts
            .store
            .work_item_summary("jira", "request", &id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("request {id} missing from the store"));
        assert_eq!(stored.native_status.as_deref(), Some(r.status()), "{id}");
        let title = if r.request_type_id == "5" {
            "(no summary)" // the password-reset form hides its preset summary
        } else {
            r.summary.as_str()
        };
        assert_eq!(stored.title, title, "{id}");
    }
}

async fn full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let jira = sim(30).await;
    let job = jira_request_job(&jira_manifest(&jira.base_url, &[PAGE_10]));

    let first = sync(&job, &ts).await;
    assert_eq!(
        (
            first.fetched,
            first.stored,
            first.unchanged,
            first.quarantined
        ),
        (30, 30, 0, 0),
        "{first:?}"
    );
    assert_eq!(first.cursor, None, "the stream has no cursor");
    assert_store_matches_sim(&ts, &jira.sim).await;

    // Agents work on three requests and a customer raises a new one.
    jira.sim.set_now(now() + chrono::Duration::minutes(10));
    let records = jira.sim.records();
    let (a, b) = (
        records[2].issue_id.to_string(),
        records[11].issue_id.to_string(),
    );
    // Not a password reset: that form hides the summary, so an edit would not show.
    let c = records[12..]
        .iter()
        .find(|r| r.request_type_id != "5")
        .map(|r| r.issue_id.to_string())
        .expect("a request with a visible summary");
    assert!(jira.sim.transition(&a, "Canceled"));
    assert!(jira.sim.transition(&b, "Resolved"));
    assert!(
        jira.sim
            .update(&c, |r| r.summary = "Edited by an agent".into())
    );
    let new_id = jira
        .sim
        .insert(jira.sim.template("1", "Keyboard missing keys"));
    // A comment alone is activity (the request moves in the list) but not
    // part of the payload the manifest asks for, so it changes nothing stored.
    let d = records[29].issue_id.to_string();
    assert!(jira.sim.comment(&d, "Any news?", true));

    let second = sync(&job, &ts).await;
    assert_eq!(
        second.fetched, 31,
        "every request is read again: {second:?}"
    );
    assert_eq!(
        (second.stored, second.unchanged),
        (4, 27),
        "only the changed requests are written: {second:?}"
    );
    assert_store_matches_sim(&ts, &jira.sim).await;
    let status = |id: String| {
        let store = &ts.store;
        async move {
            store
                .work_item_summary("jira", "request", &id)
                .await
                .unwrap()
                .map(|w| w.status)
        }
    };
    assert_eq!(status(a).await.as_deref(), Some("cancelled"));
    assert_eq!(status(b).await.as_deref(), Some("resolved"));
    assert_eq!(status(new_id).await.as_deref(), Some("new"));

    let third = sync(&job, &ts).await;
    assert_eq!((third.stored, third.unchanged), (0, 31), "{third:?}");

    // A day on, every relative "friendly" date reads differently, but
    // nothing changed: the manifest's `ignore_fields` keeps them out of
    // the hash, so nothing is written again.
    jira.sim.set_now(now() + chrono::Duration::days(1));
    let next_day = sync(&job, &ts).await;
    assert_eq!(
        (next_day.stored, next_day.unchanged),
        (0, 31),
        "{next_day:?}"
    );
}

/// The manifest's `ignore_fields`, as shipped.
const IGNORE_FIELDS: &str = "ignore_fields = [
    \"createdDate.friendly\",
    \"currentStatus.statusDate.friendly\",
    \"status.values.*.statusDate.friendly\",
]
";

/// The other side of the last check in `full_then_incremental`: without
/// `ignore_fields`, the relative dates alone make requests look changed.
async fn without_ignore_fields_a_new_day_rewrites_requests(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let jira = sim(12).await;
    let job = jira_request_job(&jira_manifest(
        &jira.base_url,
        &[PAGE_10, (IGNORE_FIELDS, "")],
    ));
    sync(&job, &ts).await;
    jira.sim.set_now(now() + chrono::Duration::days(1));
    let later = sync(&job, &ts).await;
    assert!(later.stored > 0, "{later:?}");
}

async fn pages_through_the_list(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let jira = sim(23).await;
    let job = jira_request_job(&jira_manifest(
        &jira.base_url,
        &[NO_DETAILS, ("page_size = 50", "page_size = 5")],
    ));
    let report = sync(&job, &ts).await;
    assert_eq!((report.fetched, report.stored), (23, 23), "{report:?}");
    assert_store_matches_sim(&ts, &jira.sim).await;

    let log = jira.sim.requests();
    assert!(log.len() >= 3 && report.pages == log.len(), "{report:?}");
    // Each page after the first re-reads the previous page's last request,
    // so pages of 5 advance by 4; the last page says isLastPage.
    let starts: Vec<&str> = log.iter().filter_map(|r| r.param("start")).collect();
    assert_eq!(starts, vec!["0", "4", "8", "12", "16", "20"]);
    for r in &log {
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.status),
            ("GET", "/rest/servicedeskapi/request", 200)
        );
        assert_eq!(r.param("limit"), Some("5"));
        assert_eq!(r.param("requestOwnership"), Some("ALL_REQUESTS"));
        assert_eq!(r.param("expand"), Some("requestType,status"));
    }
}

async fn rejected_credentials_fail_the_run_and_store_nothing(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let jira = sim(12).await;
    let job = jira_request_job(&jira_manifest_as(&jira.base_url, "revoked-token", &[]));
    let err = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect_err("a 401 fails the run");
    let message = err.to_string();
    assert!(message.starts_with("jira: "), "names the system: {message}");
    assert!(message.contains("authentication failed"), "{message}");
    assert!(message.contains("401"), "{message}");
    assert!(
        message.contains("Client must be authenticated to access this resource."),
        "carries Jira's own words: {message}"
    );
    assert_eq!(ts.store.count(CountedTable::WorkItems).await.unwrap(), 0);
    assert_eq!(
        ts.store.count(CountedTable::SourceRecords).await.unwrap(),
        0
    );
    assert_eq!(jira.sim.requests().len(), 1, "a 401 is not retried");
    let state = ts.store.sync_states().await.unwrap();
    assert!(
        state[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("401")),
        "{state:?}"
    );
}

async fn rate_limits_and_server_errors_are_retried(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let jira = sim(12).await;
    jira.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    jira.sim.inject(Fault::ServerError, 1);
    jira.sim.inject(
        Fault::Unavailable {
            retry_after_secs: None,
        },
        1,
    );
    // And the second page meets a 503 that asks for a pause of its own.
    jira.sim.after_list_request(
        1,
        Box::new(|sim| {
            sim.inject(
                Fault::Unavailable {
                    retry_after_secs: Some(1),
                },
                1,
            )
        }),
    );
    let job = jira_request_job(&jira_manifest(
        &jira.base_url,
        &[
            NO_DETAILS,
            FAST_BACKOFF,
            ("page_size = 50", "page_size = 8"),
        ],
    ));
    let started = Instant::now();
    let report = sync(&job, &ts).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "both Retry-After waits are honoured"
    );
    assert_eq!((report.fetched, report.stored), (12, 12), "{report:?}");
    let statuses: Vec<u16> = jira.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![429, 500, 503, 200, 503, 200]);
    assert_store_matches_sim(&ts, &jira.sim).await;
}

/// The canonical columns of one stored request.
#[derive(Debug, sqlx::FromRow)]
struct Stored {
    kind: String,
    title: String,
    description: Option<String>,
    status: String,
    priority: Option<i16>,
    requester_ref: Option<String>,
    department: Option<String>,
    external_url: Option<String>,
    opened_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    attributes: String,
    activities: i64,
}

async fn stored(store: &Store, issue_id: &str) -> Stored {
    assert!(issue_id.chars().all(|c| c.is_ascii_digit()));
    let sql = format!(
        "SELECT kind, title, description, status, priority, requester_ref, department, external_url, \
         opened_at, updated_at, resolved_at, closed_at, CAST(attributes AS TEXT) AS attributes, \
         (SELECT COUNT(*) FROM activities a WHERE a.work_item_id = w.id) AS activities \
         FROM work_items w WHERE source_system = 'jira' AND external_id = '{issue_id}'"
    );
    let row = match store {
        Store::Postgres(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(&sql).fetch_one(pool).await,
    };
    row.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn canonical_records_land_in_the_store(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let jira = sim(0).await;
    let customer = jira
        .sim
        .customers()
        .into_iter()
        .find(|c| c.email.is_some())
        .expect("a customer with a visible email");
    let hour = |h: i64| now() - chrono::Duration::hours(h);

    // A system problem, raised 5 h ago, in progress since 2 h ago.
    let mut problem = jira.sim.template("2", "ERP invoice run fails");
    problem.reporter = customer.clone();
    problem.description = Some("The nightly batch stopped with a timeout.".into());
    problem.priority = Some("Highest".into());
    problem.created = hour(5);
    problem.history[0].at = hour(5);
    problem.set_status("In progress", hour(2));
    let problem = jira.sim.insert(problem);

    // A password reset (hidden summary) whose reporter hides their email, closed.
    let mut reset = jira.sim.template("5", "Password reset");
    reset.reporter.email = None;
    reset.created = hour(30);
    reset.history[0].at = hour(30);
    reset.set_status("In progress", hour(29));
    reset.set_status("Resolved", hour(28));
    reset.set_status("Closed", hour(4));
    let reset = jira.sim.insert(reset);

    // Waiting for the customer; no description.
    let mut waiting = jira.sim.template("3", "Docking station for home office");
    waiting.reporter = customer.clone();
    waiting.created = hour(3);
    waiting.history[0].at = hour(3);
    waiting.set_status("In progress", hour(2));
    waiting.set_status("Waiting for customer", hour(1));
    let waiting = jira.sim.insert(waiting);

    let job = jira_request_job(&jira_manifest(&jira.base_url, &[]));
    let report = sync(&job, &ts).await;
    assert_eq!((report.stored, report.quarantined), (3, 0), "{report:?}");

    let p = stored(&ts.store, &problem).await;
    assert_eq!(
        (
            p.kind.as_str(),
            p.title.as_str(),
            p.status.as_str(),
            p.priority
        ),
        ("request", "ERP invoice run fails", "in_progress", Some(1))
    );
    assert_eq!(
        p.description.as_deref(),
        Some("The nightly batch stopped with a timeout.")
    );
    assert_eq!(p.department.as_deref(), Some("it"), "from the manifest");
    assert_eq!(p.requester_ref.as_deref(), customer.email.as_deref());
    assert_eq!(
        p.external_url,
        Some(format!("{}/browse/IT-1", jira.base_url))
    );
    assert_eq!((p.opened_at, p.updated_at), (Some(hour(5)), Some(hour(2))));
    assert_eq!((p.resolved_at, p.closed_at), (None, None));
    assert_eq!(p.activities, 2, "two status changes");
    let attributes: serde_json::Value = serde_json::from_str(&p.attributes).unwrap();
    assert_eq!(attributes["issue_key"], "IT-1");
    assert_eq!(attributes["request_type"], "Report a system problem");
    assert_eq!(attributes["status_category"], "INDETERMINATE");

    let r = stored(&ts.store, &reset).await;
    assert_eq!(
        (
            r.title.as_str(),
            r.status.as_str(),
            r.priority,
            r.requester_ref
        ),
        ("(no summary)", "closed", None, None)
    );
    // Resolved before it was closed: the resolution time comes from the history.
    assert_eq!(
        (r.resolved_at, r.closed_at),
        (Some(hour(28)), Some(hour(4)))
    );
    assert_eq!(r.activities, 4);

    let w = stored(&ts.store, &waiting).await;
    assert_eq!((w.status.as_str(), w.description), ("waiting", None));
    assert_eq!(w.updated_at, Some(hour(1)));

    // The reporter is a placeholder person until an HR or directory sync
    // brings the real record; the hidden email makes none.
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 1);
    let summary = ts
        .store
        .work_item_summary("jira", "request", &problem)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        summary.classified.0,
        serde_json::json!({"attributes.reporter_name": "personal"})
    );
}

on_every_backend!(
    full_then_incremental,
    pages_through_the_list,
    rejected_credentials_fail_the_run_and_store_nothing,
    rate_limits_and_server_errors_are_retried,
    canonical_records_land_in_the_store,
    without_ignore_fields_a_new_day_rewrites_requests,
);
