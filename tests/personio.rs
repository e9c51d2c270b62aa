//! End-to-end sync of Personio employees through the shipped manifest and
//! mapping, against the simulator, into both store backends: OAuth2 client
//! credentials from the v2 token endpoint, record-offset paging, the
//! `updated_since` cursor, retries, and the canonical people that land.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use switchboard::sim::personio::{Employee, Fault, PersonioSim, SimConfig, SimHandle};
use switchboard::store::{CountedTable, Store};
use switchboard::sync::{SyncJob, SyncReport};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, personio_employees_job, personio_manifest};

const SECRET: &str = "papi-sim-secret";
const PAGE_10: (&str, &str) = ("page_size = 100", "page_size = 10");
/// Tests need not be polite to a simulator.
const UNLIMITED: (&str, &str) = ("rate_limit_per_sec = 2", "rate_limit_per_sec = 0");
const QUICK_RETRY: (&str, &str) = ("initial_backoff_ms = 1000", "initial_backoff_ms = 50");
const EMPLOYEES: &str = "/v1/company/employees";

fn clock() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
}

async fn sim(employees: usize) -> SimHandle {
    let config = SimConfig {
        employees,
        ..SimConfig::default()
    };
    PersonioSim::with_clock(config, clock())
        .serve()
        .await
        .expect("simulator starts")
}

fn job(h: &SimHandle, edits: &[(&str, &str)]) -> SyncJob {
    let mut all = vec![UNLIMITED, QUICK_RETRY];
    all.extend_from_slice(edits);
    personio_employees_job(&personio_manifest(&h.base_url, SECRET, &all))
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("sync succeeds")
}

/// Offsets of the employee list requests the simulator answered with 200.
fn page_offsets(h: &SimHandle) -> Vec<(String, String)> {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.path == EMPLOYEES && r.status == 200)
        .map(|r| {
            let p = |n| r.param(n).unwrap_or_default().to_string();
            (p("offset"), p("limit"))
        })
        .collect()
}

/// `last_modified_at` as the API writes it, for the newest employee.
fn newest_modified(h: &SimHandle) -> String {
    let newest = h
        .sim
        .employees()
        .into_iter()
        .max_by_key(|e| e.last_modified_at)
        .unwrap();
    h.sim.render(newest.id).unwrap()["attributes"]["last_modified_at"]["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// One stored person, read back the same way on both backends.
#[derive(Debug, Clone, PartialEq)]
struct Person {
    display_name: Option<String>,
    email: Option<String>,
    department: Option<String>,
    location: Option<String>,
    active: String,
    /// The employee number of the person `manager_id` resolved to.
    manager: Option<String>,
    manager_ref: Option<String>,
    org_unit_resolved: bool,
    classified: Value,
}

type PersonRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// Personio people by employee number.
async fn people(store: &Store) -> BTreeMap<String, Person> {
    let sql = "SELECT p.employee_number, p.display_name, p.email, p.department, p.location_ref, \
               CASE WHEN p.active IS NULL THEN 'null' WHEN p.active THEN 'true' ELSE 'false' END, \
               m.employee_number, p.manager_ref, \
               CASE WHEN p.org_unit_id IS NULL THEN 'no' ELSE 'yes' END, \
               CAST(p.classified AS TEXT) \
               FROM people p LEFT JOIN people m ON m.id = p.manager_id \
               WHERE p.source_system = 'personio' AND NOT p.placeholder";
    let rows: Vec<PersonRow> = match store {
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .expect("people query");
    rows.into_iter()
        .map(|r| {
            let person = Person {
                display_name: r.1,
                email: r.2,
                department: r.3,
                location: r.4,
                active: r.5,
                manager: r.6,
                manager_ref: r.7,
                org_unit_resolved: r.8 == "yes",
                classified: serde_json::from_str(&r.9).expect("classified is JSON"),
            };
            (r.0, person)
        })
        .collect()
}

/// What the shipped mapping should make of a simulated employee.
fn expected(e: &Employee) -> Person {
    let active = match e.status.as_str() {
        "inactive" => "false",
        _ => "true",
    };
    let mut classified = json!({});
    if e.fix_salary.is_some() {
        classified["attributes.salary"] = json!("hr");
        classified["attributes.salary_interval"] = json!("hr");
    }
    if e.birthday.is_some() {
        classified["attributes.birthday"] = json!("hr");
    }
    Person {
        display_name: Some(format!("{} {}", e.first_name, e.last_name)),
        email: Some(e.email.clone()),
        department: e.department.as_ref().map(|d| d.name.clone()),
        location: e.office.as_ref().map(|o| o.name.clone()),
        active: active.into(),
        manager: e.supervisor.map(|s| s.to_string()),
        manager_ref: e.supervisor.map(|s| s.to_string()),
        org_unit_resolved: e.department.is_some(),
        classified,
    }
}

async fn assert_store_matches_sim(ts: &TestStore, h: &SimHandle) {
    let stored = people(&ts.store).await;
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
    let h = sim(30).await;
    let job = job(&h, &[PAGE_10]);

    let first = sync(&job, &ts).await;
    assert_eq!(
        (first.pages, first.fetched, first.stored, first.quarantined),
        (4, 30, 30, 0),
        "{first:?}"
    );
    assert_store_matches_sim(&ts, &h).await;
    let cursor = ts.store.cursor("personio", "employees").await.unwrap();
    assert_eq!(
        cursor,
        Some(newest_modified(&h)),
        "cursor is the newest last_modified_at"
    );
    let first_request = h
        .sim
        .requests()
        .iter()
        .find(|r| r.path == EMPLOYEES)
        .cloned();
    assert_eq!(
        first_request.unwrap().param("updated_since"),
        Some("1970-01-01T00:00:00Z"),
        "the first run reads everything"
    );

    // An hour later HR promotes one, lets one go, moves one, and hires one.
    h.sim.set_now(clock() + chrono::Duration::hours(1));
    let staff: Vec<Employee> = h.sim.employees().into_iter().skip(9).collect();
    let active: Vec<u64> = staff
        .iter()
        .filter(|e| e.status == "active")
        .map(|e| e.id)
        .collect();
    let (promoted, leaver) = (active[0], active[1]);
    let mover = staff
        .iter()
        .rev()
        .find(|e| e.department.as_ref().is_some_and(|d| d.name != "Finance"))
        .unwrap()
        .id;
    assert!(h.sim.update(promoted, |e| e.position = "Team Lead".into()));
    assert!(h.sim.update(leaver, |e| e.status = "inactive".into()));
    let finance = h
        .sim
        .departments()
        .into_iter()
        .find(|d| d.name == "Finance");
    assert!(h.sim.update(mover, |e| e.department = finance));
    let hired = h
        .sim
        .hire("Nina", "Keller", "nina.keller@acme-solutions.de");
    let before = h.sim.requests().len();

    let second = sync(&job, &ts).await;
    assert_eq!(second.stored, 4, "only what changed is written: {second:?}");
    assert_eq!(second.quarantined, 0);
    assert_store_matches_sim(&ts, &h).await;
    let stored = people(&ts.store).await;
    assert_eq!(stored[&leaver.to_string()].active, "false");
    assert_eq!(
        stored[&mover.to_string()].department.as_deref(),
        Some("Finance")
    );
    assert!(stored.contains_key(&hired.to_string()));
    // The run asks from one overlap window (60 s) before the committed cursor.
    let req = h.sim.requests()[before..]
        .iter()
        .find(|r| r.path == EMPLOYEES)
        .cloned()
        .unwrap();
    let from =
        DateTime::parse_from_rfc3339(&cursor.unwrap()).unwrap() - chrono::Duration::seconds(60);
    let sent = req.param("updated_since").unwrap();
    assert_eq!(DateTime::parse_from_rfc3339(sent).unwrap(), from, "{sent}");
    assert!(
        second.fetched < 10,
        "the window is a small part: {second:?}"
    );

    let third = sync(&job, &ts).await;
    assert_eq!(
        third.stored, 0,
        "nothing changed, nothing written: {third:?}"
    );
}

async fn pages_by_record_offset(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(25).await;
    let report = sync(&job(&h, &[PAGE_10]), &ts).await;
    assert_eq!(
        (report.pages, report.fetched, report.stored),
        (3, 25, 25),
        "{report:?}"
    );
    // Each page after the first re-reads the previous page's last record.
    let pages: Vec<(String, String)> = [("0", "10"), ("9", "10"), ("18", "10")]
        .iter()
        .map(|(o, l)| (o.to_string(), l.to_string()))
        .collect();
    assert_eq!(page_offsets(&h), pages);
    assert_eq!(
        ts.store.count(CountedTable::People).await.unwrap(),
        25,
        "no person twice, no placeholder people"
    );
    assert_store_matches_sim(&ts, &h).await;
}

async fn wrong_secret_fails_the_run_and_stores_nothing(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(5).await;
    let manifest = personio_manifest(&h.base_url, "not-the-secret", &[UNLIMITED, QUICK_RETRY]);
    let job = personio_employees_job(&manifest);
    let err = job
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect_err("a wrong secret fails the run")
        .to_string();
    assert!(err.starts_with("personio"), "names the connector: {err}");
    assert!(
        err.contains("/v2/auth/token"),
        "names the token endpoint: {err}"
    );
    assert!(
        err.contains("unauthorized_client"),
        "carries Personio's answer: {err}"
    );
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 0);
    assert_eq!(
        ts.store.count(CountedTable::SourceRecords).await.unwrap(),
        0
    );
    assert_eq!(
        ts.store.cursor("personio", "employees").await.unwrap(),
        None
    );
    assert!(
        h.sim.requests().iter().all(|r| r.path != EMPLOYEES),
        "no employee request without a token"
    );
}

async fn lapsed_token_is_renewed_once(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(8).await;
    let job = job(&h, &[]);
    sync(&job, &ts).await;
    let tokens_before = token_requests(&h);
    assert_eq!(tokens_before, 1, "one token for the whole run");

    h.sim.expire_tokens();
    h.sim.set_now(clock() + chrono::Duration::minutes(5));
    let id = h.sim.employees()[3].id;
    assert!(
        h.sim
            .update(id, |e| e.position = "Principal Engineer".into())
    );
    let second = sync(&job, &ts).await;
    assert_eq!(second.stored, 1, "{second:?}");
    assert_eq!(
        token_requests(&h),
        2,
        "a refused token is fetched again, once"
    );
    let statuses: Vec<u16> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == EMPLOYEES)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [200, 401, 200]);
}

fn token_requests(h: &SimHandle) -> usize {
    h.sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/auth/token" && r.status == 200)
        .count()
}

async fn rate_limit_and_server_errors_are_waited_out(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(15).await;
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    h.sim.inject(Fault::ServerError, 1);
    h.sim.inject(Fault::Unavailable, 1);
    let started = Instant::now();
    let report = sync(&job(&h, &[PAGE_10]), &ts).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert_eq!((report.fetched, report.stored), (15, 15), "{report:?}");
    let statuses: Vec<u16> = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == EMPLOYEES)
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 500, 503, 200, 200]);
    assert_store_matches_sim(&ts, &h).await;
}

async fn canonical_people_land_with_managers_resolved(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim(24).await;
    sync(&job(&h, &[PAGE_10]), &ts).await;
    assert_store_matches_sim(&ts, &h).await;
    let stored = people(&ts.store).await;
    let employees = h.sim.employees();

    // The managing director reports to no one; heads report to her; staff to their head.
    let md = &employees[0];
    assert_eq!(stored[&md.id.to_string()].manager, None);
    let reports = employees.iter().filter(|e| e.supervisor.is_some()).count();
    assert_eq!(reports, employees.len() - 1);
    let inactive = employees.iter().find(|e| e.status == "inactive").unwrap();
    assert_eq!(stored[&inactive.id.to_string()].active, "false");
    for status in ["onboarding", "leave"] {
        if let Some(e) = employees.iter().find(|e| e.status == status) {
            assert_eq!(stored[&e.id.to_string()].active, "true", "{status}");
        }
    }
    let somebody = &stored[&employees[5].id.to_string()];
    assert_eq!(
        somebody.classified,
        json!({"attributes.salary": "hr", "attributes.salary_interval": "hr", "attributes.birthday": "hr"})
    );
    // Departments become org unit placeholders keyed by their Personio id.
    let departments: std::collections::BTreeSet<u64> = employees
        .iter()
        .filter_map(|e| e.department.as_ref().map(|d| d.id))
        .collect();
    let sql = "SELECT external_id FROM org_units WHERE placeholder ORDER BY external_id";
    let units: Vec<String> = match &ts.store {
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
    }
    .unwrap();
    let want: Vec<String> = departments.iter().map(u64::to_string).collect();
    assert_eq!(units, want);
    assert!(ts.store.quarantined().await.unwrap().is_empty());
}

on_every_backend!(
    full_then_incremental,
    pages_by_record_offset,
    wrong_secret_fails_the_run_and_stores_nothing,
    lapsed_token_is_renewed_once,
    rate_limit_and_server_errors_are_waited_out,
    canonical_people_land_with_managers_resolved,
);
