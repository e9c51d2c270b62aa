//! Shared test harness: a fresh store per test on either backend, and the
//! ServiceNow simulator wired to the shipped manifest and mapping.
//!
//! PostgreSQL comes from `SWITCHBOARD_TEST_POSTGRES_URL` (default: the local
//! trust-auth server). An unreachable server fails the test loudly: store
//! tests are never skipped.

#![allow(dead_code)]

pub mod api;
pub mod bin;
pub mod broker;
pub mod hub;
pub mod instances;
pub mod org;
pub mod project;
pub mod proxy;
pub mod repair;
pub mod web;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use switchboard::config::{ConnectorOverride, SecretRef};
use switchboard::connector::{Manifest, StreamSpec};
use switchboard::diag::SourceFile;
use switchboard::mapping::Mapping;
use switchboard::store::Store;
use switchboard::sync::SyncJob;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pg_admin_url() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated store that disappears with the test.
pub struct TestStore {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_db: Option<String>,
}

impl TestStore {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                let store = Store::connect(&url, 4).await.expect("sqlite store");
                store.migrate().await.expect("sqlite migrations");
                TestStore {
                    store,
                    url,
                    _dir: Some(dir),
                    pg_db: None,
                }
            }
            Backend::Postgres => {
                let (url, name) = fresh_pg_database().await;
                let store = Store::connect(&url, 4).await.expect("postgres store");
                store.migrate().await.expect("postgres migrations");
                TestStore {
                    store,
                    url,
                    _dir: None,
                    pg_db: Some(name),
                }
            }
        }
    }
}

impl TestStore {
    /// An empty PostgreSQL database, not migrated: for tests of what
    /// processes do when they find one.
    pub async fn new_unmigrated_postgres() -> Self {
        let (url, name) = fresh_pg_database().await;
        let store = Store::connect(&url, 1).await.expect("postgres store");
        TestStore {
            store,
            url,
            _dir: None,
            pg_db: Some(name),
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let Some(name) = self.pg_db.take() else {
            return;
        };
        // Dropping runs inside the test's runtime, so clean up on a thread of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::query(&sql).execute(&mut admin).await;
                    }
                });
            }
        })
        .join();
    }
}

/// Create an empty database for one test; sweep ones left by crashed runs.
async fn fresh_pg_database() -> (String, String) {
    let admin_url = pg_admin_url();
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is required for store tests and is not reachable at {admin_url}: {e}. \
             Start it, or set SWITCHBOARD_TEST_POSTGRES_URL."
            )
        });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let stale: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'sb\\_test\\_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap_or_default();
    for (db,) in stale {
        let born: u64 = db
            .split('_')
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or(now);
        if now.saturating_sub(born) > 3600 {
            let sql = format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)");
            let _ = sqlx::query(&sql).execute(&mut admin).await;
        }
    }
    let name = format!("sb_test_{now}_{}", uuid::Uuid::new_v4().simple());
    let sql = format!("CREATE DATABASE \"{name}\"");
    sqlx::query(&sql)
        .execute(&mut admin)
        .await
        .expect("create test database");
    let mut url = url::Url::parse(&admin_url).expect("postgres url");
    url.set_path(&format!("/{name}"));
    (url.to_string(), name)
}

/// A shipped manifest (`connectors/<file>`), with edits (`from`, `to`)
/// applied to its text for the test at hand, pointed at a simulator and
/// signed in with `username` and `password`.
pub fn shipped_manifest(
    file: &str,
    base_url: &str,
    username: &str,
    password: &str,
    edits: &[(&str, &str)],
) -> Manifest {
    let path = repo().join("connectors").join(file);
    let mut text = std::fs::read_to_string(&path).expect("shipped manifest");
    for (from, to) in edits {
        assert!(text.contains(from), "manifest has no `{from}` to edit");
        text = text.replace(from, to);
    }
    let mut m = Manifest::from_source(&SourceFile::new(path, text)).expect("manifest parses");
    m.config
        .apply_override(&ConnectorOverride {
            base_url: Some(base_url.into()),
            username: Some(SecretRef::Literal(username.into())),
            password: Some(SecretRef::Literal(password.into())),
            ..Default::default()
        })
        .expect("override applies");
    m
}

/// A shipped mapping, `mappings/<file>`.
pub fn shipped_mapping(file: &str) -> Arc<Mapping> {
    Arc::new(Mapping::load(&repo().join("mappings").join(file)).expect("shipped mapping"))
}

/// A shipped outbound mapping, `mappings/<file>`: a write-back body.
pub fn shipped_outbound(file: &str) -> switchboard::mapping::OutboundMapping {
    use switchboard::mapping::AnyMapping;
    match AnyMapping::load(&repo().join("mappings").join(file)) {
        Ok(AnyMapping::Outbound(m)) => m,
        other => panic!("{file}: expected an outbound mapping, got {other:?}"),
    }
}

/// A Facilities work order as the hub holds it, routed to another
/// department: the canonical record the write-back suites send.
pub fn facilities_work_order(status: &str) -> serde_json::Value {
    serde_json::json!({
        "entity": "work_item", "kind": "work_order", "title": "No heating on floor 3",
        "description": "Radiators cold since 7:00", "status": status, "priority": 2,
        "department": "facilities", "due_at": "2026-11-21T17:00:00+00:00",
        "attributes": {"number": "WO-1042", "origin_ref": "maximo:WO-1042"}, "classified": {}
    })
}

/// `record` with `attributes.<name>` set, as the writer passes per-record values.
pub fn with_attribute(mut record: serde_json::Value, name: &str, value: &str) -> serde_json::Value {
    record["attributes"][name] = serde_json::json!(value);
    record
}

/// Build a manifest's connector, as the daemon does.
pub fn connector_of(manifest: &Manifest) -> Arc<dyn switchboard::connector::Connector> {
    manifest
        .config
        .build(&manifest.header)
        .expect("connector builds")
}

/// A sync job for `stream` of a manifest, mapped by `mapping`.
pub fn stream_job(manifest: &Manifest, stream: &str, mapping: Arc<Mapping>) -> SyncJob {
    let connector = manifest
        .config
        .build(&manifest.header)
        .expect("connector builds");
    let spec: StreamSpec = connector
        .streams()
        .into_iter()
        .find(|s| s.name == stream)
        .unwrap_or_else(|| panic!("no stream `{stream}`"));
    SyncJob {
        connector,
        stream: spec,
        mapping: switchboard::mapping::MappingSlot::new(mapping),
        department: manifest.header.department.clone(),
        router: None,
    }
}

/// The shipped ServiceNow manifest's text without the incident stream's
/// journal details and deletions: the incident list alone, so the requests
/// a test counts are the list's and a large seed syncs at the list's pace
/// (tests/details.rs and tests/deletions.rs read the rest).
pub fn servicenow_list_text() -> String {
    let shipped = std::fs::read_to_string(repo().join("connectors/servicenow.toml")).unwrap();
    let start = shipped
        .find("# An incident's comments")
        .expect("the shipped manifest reads the journal");
    let end = shipped[start..]
        .find("# Catalogue requests")
        .map(|e| start + e)
        .expect("the request stream follows");
    format!("{}{}", &shipped[..start], &shipped[end..])
}

/// The shipped ServiceNow manifest, pointed at a simulator, with edits
/// (`from`, `to`) applied to its text for the test at hand; the incident
/// list alone ([`servicenow_list_text`]).
pub fn servicenow_manifest(base_url: &str, edits: &[(&str, &str)]) -> Manifest {
    let shipped = std::fs::read_to_string(repo().join("connectors/servicenow.toml")).unwrap();
    let list = servicenow_list_text();
    let start = shipped.find("# An incident's comments").unwrap();
    let end = start + (shipped.len() - list.len());
    let mut all: Vec<(&str, &str)> = vec![(&shipped[start..end], "")];
    all.extend_from_slice(edits);
    shipped_manifest("servicenow.toml", base_url, "admin", "sim-password", &all)
}

/// The shipped ServiceNow manifest as it is, journal details included.
pub fn servicenow_manifest_with_journal(base_url: &str, edits: &[(&str, &str)]) -> Manifest {
    shipped_manifest("servicenow.toml", base_url, "admin", "sim-password", edits)
}

pub fn servicenow_mapping() -> Arc<Mapping> {
    shipped_mapping("servicenow-incident.toml")
}

/// A sync job for the incident stream of the given manifest.
pub fn incident_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "incident", servicenow_mapping())
}

/// Write a file, creating its folder.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Generate `#[tokio::test]`s that run one async case on every backend.
#[macro_export]
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}

/// The shipped Jira Service Management manifest, pointed at a simulator with
/// its default credentials, with edits (`from`, `to`) applied to its text.
pub fn jira_manifest(base_url: &str, edits: &[(&str, &str)]) -> Manifest {
    jira_manifest_as(base_url, "sim-api-token", edits)
}

/// As [`jira_manifest`], authenticating with `api_token`.
pub fn jira_manifest_as(base_url: &str, api_token: &str, edits: &[(&str, &str)]) -> Manifest {
    shipped_manifest(
        "jira.toml",
        base_url,
        "switchboard@example.com",
        api_token,
        edits,
    )
}

pub fn jira_mapping() -> Arc<Mapping> {
    shipped_mapping("jira-request.toml")
}

/// A sync job for the request stream of the given Jira manifest.
pub fn jira_request_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "request", jira_mapping())
}

/// The shipped Personio manifest, pointed at a simulator (the token URL is
/// relative to `base_url`, so it follows), then the test's own edits.
pub fn personio_manifest(base_url: &str, client_secret: &str, edits: &[(&str, &str)]) -> Manifest {
    shipped_manifest(
        "personio.toml",
        base_url,
        "papi-sim-client",
        client_secret,
        edits,
    )
}

pub fn personio_mapping() -> Arc<Mapping> {
    shipped_mapping("personio-employees.toml")
}

/// A sync job for the employees stream of the given Personio manifest.
pub fn personio_employees_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "employees", personio_mapping())
}

/// The shipped TOPdesk manifest, pointed at a simulator and signed in with
/// `username` and `password`, with edits (`from`, `to`) applied to its text.
pub fn topdesk_manifest_as(
    base_url: &str,
    username: &str,
    password: &str,
    edits: &[(&str, &str)],
) -> Manifest {
    shipped_manifest("topdesk.toml", base_url, username, password, edits)
}

/// The shipped TOPdesk manifest with the simulator's default credentials.
pub fn topdesk_manifest(base_url: &str, edits: &[(&str, &str)]) -> Manifest {
    topdesk_manifest_as(base_url, "switchboard", "sim-app-password", edits)
}

pub fn topdesk_mapping() -> Arc<Mapping> {
    shipped_mapping("topdesk-incident.toml")
}

/// A sync job for the TOPdesk incident stream of the given manifest.
pub fn topdesk_incident_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "incident", topdesk_mapping())
}

/// The shipped Maximo manifest, pointed at a simulator and authenticating
/// with `api_key`, with edits (`from`, `to`) applied to its text.
pub fn maximo_manifest_as(base_url: &str, api_key: &str, edits: &[(&str, &str)]) -> Manifest {
    // API-key auth ignores the user name and password; the key is the token.
    let mut m = shipped_manifest("maximo.toml", base_url, "", "", edits);
    m.config
        .apply_override(&ConnectorOverride {
            token: Some(SecretRef::Literal(api_key.into())),
            ..Default::default()
        })
        .expect("override applies");
    m
}

/// The shipped Maximo manifest with the simulator's default API key.
pub fn maximo_manifest(base_url: &str, edits: &[(&str, &str)]) -> Manifest {
    maximo_manifest_as(base_url, "sim-maximo-api-key", edits)
}

pub fn maximo_mapping() -> Arc<Mapping> {
    shipped_mapping("maximo-workorders.toml")
}

/// A sync job for the Maximo work order stream of the given manifest.
pub fn maximo_workorder_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "workorder", maximo_mapping())
}

/// The shipped BambooHR manifest, pointed at a simulator's company
/// (`api_base` is `{base_url}/api/gateway.php/{companyDomain}`, see
/// `BambooSim::api_base`) and signed in with `api_key` (the password is
/// BambooHR's ignored "x"), then the test's own edits.
pub fn bamboohr_manifest(api_base: &str, api_key: &str, edits: &[(&str, &str)]) -> Manifest {
    shipped_manifest("bamboohr.toml", api_base, api_key, "x", edits)
}

/// The mapping of the `employees` stream (the `employee` dataset).
pub fn bamboohr_mapping() -> Arc<Mapping> {
    shipped_mapping("bamboohr-employees.toml")
}

pub fn bamboohr_directory_mapping() -> Arc<Mapping> {
    shipped_mapping("bamboohr-directory.toml")
}

/// A sync job for the `employees` stream of the given BambooHR manifest.
pub fn bamboohr_employees_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "employees", bamboohr_mapping())
}

/// A sync job for the `directory` stream of the given BambooHR manifest.
pub fn bamboohr_directory_job(manifest: &Manifest) -> SyncJob {
    stream_job(manifest, "directory", bamboohr_directory_mapping())
}
