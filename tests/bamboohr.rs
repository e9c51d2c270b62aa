//! End-to-end sync of BambooHR through the shipped manifest and mappings,
//! against the simulator, into both store backends: the API key as the
//! Basic user name, the `employee` dataset paged by body `page` numbers and
//! filtered on `lastChanged`, the whole directory, retries, and the
//! canonical people that land.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use switchboard::sim::bamboohr::{BambooSim, Employee, Fault, SimConfig, SimHandle};
use switchboard::store::Store;
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{
    Backend, TestStore, bamboohr_directory_job, bamboohr_employees_job, bamboohr_manifest,
};

const KEY: &str = "sim-api-key";
const PAGE_10: (&str, &str) = ("page_size = 500", "page_size = 10");
/// Tests need not be polite to a simulator.
const UNLIMITED: (&str, &str) = ("rate_limit_per_sec = 2", "rate_limit_per_sec = 0");
const QUICK_RETRY: (&str, &str) = ("initial_backoff_ms = 1000", "initial_backoff_ms = 50");
const DATASET: &str = "/api/gateway.php/acme/v2/datasets/employee/data";

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

async fn sim(employees: usize) -> SimHandle {
    let config = SimConfig {
        employees,
        ..SimConfig::default()
    };
    BambooSim::with_clock(config, clock())
        .serve()
        .await
        .expect("simulator starts")
}

fn manifest(h: &SimHandle, key: &str, edits: &[(&str, &str)]) -> switchboard::connector::Manifest {
    let mut all = vec![UNLIMITED, QUICK_RETRY];
    all.extend_from_slice(edits);
    bamboohr_manifest(&h.sim.api_base(&h.base_url), key, &all)
}

fn job(h: &SimHandle, edits: &[(&str, &str)]) -> SyncJob {
    bamboohr_employees_job(&manifest(h, KEY, edits))
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

/// The dataset requests answered 200: (page, pageSize, filter).
fn dataset_pages(h: &SimHandle) -> Vec<(u64, u64, String)> {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.path == DATASET && r.status == 200)
        .map(|r| {
            let n = |k| r.body_field(k).and_then(Value::as_u64).unwrap_or_default();
            let filter = r
                .body_field("filter")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (n("page"), n("pageSize"), filter.to_string())
        })
        .collect()
}

/// One stored person, read back the same way on both backends.
#[derive(Debug, Clone, PartialEq)]
struct Person {
    display_name: Option<String>,
    email: Option<String>,
    employee_number: Option<String>,
    department: Option<String>,
    location: Option<String>,
    active: String,
    /// The BambooHR id of the person `manager_id` resolved to.
    manager: Option<String>,
    job_title: Option<String>,
}

type PersonRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    String,
);

/// BambooHR people of one stream, by BambooHR id.
async fn people(store: &Store, stream: &str) -> BTreeMap<String, Person> {
    let sql = format!(
        "SELECT p.external_id, p.display_name, p.email, p.employee_number, p.department, \
         p.location_ref, \
         CASE WHEN p.active IS NULL THEN 'null' WHEN p.active THEN 'true' ELSE 'false' END, \
         m.external_id, CAST(p.attributes AS TEXT) \
         FROM people p LEFT JOIN people m ON m.id = p.manager_id \
         WHERE p.source_system = 'bamboohr' AND p.source_stream = '{stream}' AND NOT p.placeholder"
    );
    let rows: Vec<PersonRow> = match store {
        Store::Postgres(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(&sql).fetch_all(pool).await,
    }
    .expect("people query");
    rows.into_iter()
        .map(|r| {
            let attributes: Value = serde_json::from_str(&r.8).expect("attributes are JSON");
            let person = Person {
                display_name: r.1,
                email: r.2,
                employee_number: r.3,
                department: r.4,
                location: r.5,
                active: r.6,
                manager: r.7,
                job_title: attributes["job_title"].as_str().map(str::to_string),
            };
            (r.0, person)
        })
        .collect()
}

async fn count(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect("count query")
}

/// What the shipped `employees` mapping should make of an employee.
fn expected(e: &Employee) -> Person {
    let first = e.preferred_name.as_deref().unwrap_or(&e.first_name);
    Person {
        display_name: Some(format!("{first} {}", e.last_name)),
        email: e.work_email.clone(),
        employee_number: Some(e.employee_number.clone()),
        department: Some(e.department.clone()),
        location: Some(e.location.clone()),
        active: if e.status == "Active" {
            "true"
        } else {
            "false"
        }
        .into(),
        manager: e.supervisor.map(|s| s.to_string()),
        job_title: Some(e.job_title.clone()),
    }
}

async fn assert_store_matches_sim(ts: &TestStore, h: &SimHandle) {
    let stored = people(&ts.store, "employees").await;
    let employees = h.sim.employees();
    assert_eq!(stored.len(), employees.len(), "every employee stored once");
    for e in &employees {
        let got = stored
            .get(&e.id.to_string())
            .unwrap_or_else(|| panic!("employee {} missing from the store", e.id));
        assert_eq!(got, &expected(e), "employee {}", e.id);
    }
}

async fn full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(25).await;
    let job = job(&h, &[PAGE_10]);

    let first = sync(&job, &ts).await;
    assert_eq!(
        (first.pages, first.fetched, first.stored, first.quarantined),
        (3, 25, 25, 0),
        "{first:?}"
    );
    assert_store_matches_sim(&ts, &h).await;
    let newest = h
        .sim
        .employees()
        .iter()
        .map(|e| e.last_changed)
        .max()
        .unwrap();
    let cursor = ts.store.cursor("bamboohr", "employees").await.unwrap();
    assert_eq!(
        cursor
            .as_deref()
            .map(DateTime::parse_from_rfc3339)
            .map(|t| t.unwrap()),
        Some(newest.into())
    );
    assert_eq!(
        dataset_pages(&h)[0].2,
        "lastChanged ge '1970-01-01T00:00:00Z'",
        "the first run reads everything"
    );

    // An hour later HR promotes one, lets one go, and hires one.
    h.sim.set_now(clock() + chrono::Duration::hours(1));
    let staff: Vec<Employee> = h
        .sim
        .employees()
        .into_iter()
        .filter(|e| e.status == "Active" && e.supervisor.is_some())
        .collect();
    let (promoted, leaver) = (staff[3].id, staff[7].id);
    assert!(h.sim.update(promoted, |e| e.job_title = "Team Lead".into()));
    assert!(h.sim.update(leaver, |e| {
        e.status = "Inactive".into();
        e.employment_status = "Terminated".into();
        e.termination_date = Some((clock() + chrono::Duration::days(14)).date_naive());
    }));
    let hired = h.sim.hire("Nina", "Keller", |e| {
        e.work_email = Some("nina.keller@acmeoutdoor.com".into());
        e.job_title = "Recruiter".into();
        e.department = "Human Resources".into();
        e.division = "North America".into();
        e.location = "Remote".into();
        e.supervisor = Some(staff[0].id);
    });
    let before = dataset_pages(&h).len();

    let second = sync(&job, &ts).await;
    assert_eq!(second.stored, 3, "only what changed is written: {second:?}");
    // The window starts one overlap (60 s) before the committed cursor: the
    // three changes, plus whatever the first run saw in its last minute.
    let from = newest - chrono::Duration::seconds(60);
    let in_window = h
        .sim
        .employees()
        .iter()
        .filter(|e| e.last_changed >= from)
        .count();
    assert_eq!(second.fetched, in_window, "{second:?}");
    assert!(in_window <= 4, "a small part is read again: {in_window}");
    let sent = &dataset_pages(&h)[before].2;
    assert_eq!(sent, &format!("lastChanged ge '{}'", from.to_rfc3339()));
    assert_store_matches_sim(&ts, &h).await;
    let stored = people(&ts.store, "employees").await;
    assert_eq!(stored[&leaver.to_string()].active, "false");
    assert_eq!(
        stored[&promoted.to_string()].job_title.as_deref(),
        Some("Team Lead")
    );
    assert_eq!(
        stored[&hired.to_string()].manager,
        Some(staff[0].id.to_string())
    );

    let third = sync(&job, &ts).await;
    assert_eq!(
        third.stored, 0,
        "nothing changed, nothing written: {third:?}"
    );
}

async fn pages_by_body_page_number(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(25).await;
    let report = sync(&job(&h, &[PAGE_10]), &ts).await;
    assert_eq!(
        (report.pages, report.fetched, report.stored),
        (3, 25, 25),
        "{report:?}"
    );
    let pages: Vec<(u64, u64)> = dataset_pages(&h).iter().map(|(p, s, _)| (*p, *s)).collect();
    assert_eq!(
        pages,
        [(1, 10), (2, 10), (3, 10)],
        "page and pageSize travel in the body"
    );
    let posted = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == DATASET)
        .all(|r| r.method == "POST" && r.query.is_empty());
    assert!(posted, "nothing in the query string");
    assert_store_matches_sim(&ts, &h).await;
}

/// Newest first: an edit while the run pages moves that employee to the
/// front, the pages after it re-read one record, and nothing is lost: the
/// next run reads the edit.
async fn an_edit_mid_run_is_read_by_the_next_run(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(25).await;
    let oldest = h
        .sim
        .employees()
        .into_iter()
        .min_by_key(|e| e.last_changed)
        .unwrap()
        .id;
    h.sim.after_list_request(
        1,
        Box::new(move |sim| {
            sim.set_now(clock() + chrono::Duration::minutes(30));
            assert!(sim.update(oldest, |e| e.job_title = "Office Lead".into()));
        }),
    );
    let job = job(&h, &[PAGE_10]);
    let first = sync(&job, &ts).await;
    assert_eq!(first.fetched, 25, "{first:?}");
    assert_eq!(
        people(&ts.store, "employees").await.len(),
        24,
        "the moved one is read next time"
    );
    let second = sync(&job, &ts).await;
    assert_eq!(second.stored, 1, "{second:?}");
    assert_store_matches_sim(&ts, &h).await;
}

async fn a_wrong_key_fails_the_run_naming_the_connector(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(5).await;
    let job = bamboohr_employees_job(&manifest(&h, "not-the-key", &[]));
    let err = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect_err("a wrong key fails the run")
        .to_string();
    assert!(err.starts_with("bamboohr"), "names the connector: {err}");
    assert!(err.contains("401"), "{err}");
    assert_eq!(count(&ts.store, "SELECT COUNT(*) FROM people").await, 0);
    assert_eq!(
        ts.store.cursor("bamboohr", "employees").await.unwrap(),
        None
    );
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401], "an auth failure is not retried");
}

async fn throttling_and_server_errors_are_waited_out(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(15).await;
    h.sim.inject(
        Fault::Throttled {
            retry_after_secs: 1,
        },
        1,
    );
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    let started = Instant::now();
    let report = sync(&job(&h, &[PAGE_10]), &ts).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After is honoured"
    );
    assert_eq!((report.fetched, report.stored), (15, 15), "{report:?}");
    let statuses: Vec<u16> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == DATASET)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [503, 429, 500, 200, 200]);
    assert_store_matches_sim(&ts, &h).await;
}

async fn both_streams_land_as_canonical_people(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(40).await;
    let m = manifest(&h, KEY, &[PAGE_10]);
    let dir = sync(&bamboohr_directory_job(&m), &ts).await;
    assert_eq!(dir.pages, 1, "the directory is one answer: {dir:?}");
    sync(&bamboohr_employees_job(&m), &ts).await;
    assert_store_matches_sim(&ts, &h).await;

    let employees = h.sim.employees();
    let directory = people(&ts.store, "directory").await;
    let active: Vec<&Employee> = employees.iter().filter(|e| e.status == "Active").collect();
    assert_eq!(
        directory.len(),
        active.len(),
        "the directory lists active staff only"
    );
    let e = active[5];
    let row = &directory[&e.id.to_string()];
    assert_eq!(
        (row.email.clone(), row.department.clone()),
        (e.work_email.clone(), Some(e.department.clone()))
    );
    assert_eq!(
        (row.employee_number.as_deref(), row.active.as_str()),
        (None, "null")
    );

    // Managers were resolved across pages: no person placeholder is left.
    let placeholders = count(&ts.store, "SELECT COUNT(*) FROM people WHERE placeholder").await;
    assert_eq!(placeholders, 0);
    let ceo = employees.iter().find(|e| e.supervisor.is_none()).unwrap();
    assert_eq!(
        people(&ts.store, "employees").await[&ceo.id.to_string()].manager,
        None
    );
    // Departments are org units keyed by name, placeholders until an org
    // unit source sends them.
    let departments: std::collections::BTreeSet<&str> =
        employees.iter().map(|e| e.department.as_str()).collect();
    let units = count(
        &ts.store,
        "SELECT COUNT(*) FROM org_units WHERE placeholder",
    )
    .await;
    assert_eq!(units as usize, departments.len());
    // One identity per person across both streams.
    let merged = count(
        &ts.store,
        "SELECT COUNT(DISTINCT lower(email)) FROM people WHERE source_system = 'bamboohr' AND NOT placeholder",
    )
    .await;
    assert_eq!(merged as usize, employees.len());
    assert!(ts.store.quarantined().await.unwrap().is_empty());
}

on_every_backend!(
    full_then_incremental,
    pages_by_body_page_number,
    an_edit_mid_run_is_read_by_the_next_run,
    a_wrong_key_fails_the_run_naming_the_connector,
    throttling_and_server_errors_are_waited_out,
    both_streams_land_as_canonical_people,
);

/// `check --connect` reads the first page of the first stream: the
/// directory, which needs no cursor.
#[tokio::test]
async fn check_connect_reads_the_directory() {
    let h = sim(8).await;
    let m = manifest(&h, KEY, &[]);
    let connector = m.config.build(&m.header).expect("connector builds");
    let said = connector.probe().await.expect("probe succeeds");
    let active = h
        .sim
        .employees()
        .iter()
        .filter(|e| e.status == "Active")
        .count();
    assert_eq!(
        said,
        format!("read the first page of `directory`: {active} record(s)")
    );
}
