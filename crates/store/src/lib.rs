//! The central SQL store, on PostgreSQL (production) or SQLite (embedded).
//!
//! Owns the schema, its migrations, and every statement that touches it.
//! Reads run the same Rust code on both backends: [`on_pool!`] expands one
//! body once per backend, with `QueryBuilder` fitting the placeholders. Page
//! writes, the hot path, use each backend's fastest bulk form (`pg.rs`,
//! `sqlite.rs`) over the shared column lists below. The store knows nothing of connectors or mappings; it persists
//! canonical records, raw payloads, cursors and quarantine, a page at a time.
//!
//! A crate of its own (`switchboard-store`): it depends on the canonical
//! model and the languages (a page carries routed messages and journey
//! effects), never on connectors, sync or the daemon. The hub re-exports it
//! as `store`.

// Paths read as they did inside the hub: `crate::model`, `crate::routing`.
use switchboard_lang::{mapping, routing};
use switchboard_model as model;

mod audit;
mod busy;
mod dead_letters;
mod deliveries;
mod hops;
mod inbox;
mod journey;
mod kpi;
mod leases;
mod lookup;
mod offerings;
mod outbox;
mod owners;
mod page;
mod pg;
mod plans;
mod quarantine;
mod read;
mod remap;
mod requests;
mod requeue;
mod sent;
mod sqlite;
mod stats;
mod tombstones;
mod views;
mod wake;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use audit::{AuditEntry, AuditRow};
pub use dead_letters::DeadRow;
pub use deliveries::{Applied, Begin};
pub use journey::{CASES, Effect, HUB, LinkEnd, LinkedTarget, NewLink, Progress, REQUESTS, TASKS};
pub use kpi::{JourneyKpis, KpiError, KpiGroup, KpiQuery, KpiRow, MAX_WINDOW_DAYS, NO_DEPARTMENT};
pub use leases::{LeaseAsk, LeaseRow};
pub use offerings::{MAX_NATIVE_OFFERINGS, NativeOffering, NativeOfferings};
pub use outbox::later;
pub use outbox::{Claimed, OutboxCounts, OutboxMessage};
pub use page::{Delivery, PageOutcome, PageWrite, StagedRecord, Stored};
pub use plans::{PlanProbe, ReadPlan};
pub use quarantine::{
    QuarantineCount, QuarantineFilter, QuarantineRow, QuarantinedRecord, RetryClaim, Stamp,
};
pub use read::{CountedTable, RunOutcome, StatusCount, SyncStateRow, WorkItemSummary};
pub use remap::{SourceRow, Unchanged};
pub use requests::{RequestFilter, TaskRow};
pub use requeue::{Requeue, Requeued};
pub use tombstones::{LiveRecord, TombstoneCount, TombstoneWrite};
pub use views::{
    ActivityRow, LinkRow, PeopleFilter, PersonRow, WorkItemFilter, WorkItemRow, json_column,
};
pub use wake::{Armed, CHANNEL as OUTBOX_CHANNEL, OutboxWake};

static PG_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store URL scheme in `{0}`: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error("cannot connect to the store: {0}")]
    Connect(#[source] sqlx::Error),
    /// No connection could be made: where to (never with the password) and why.
    #[error("cannot connect to the store, {at}: {cause}")]
    Unreachable { at: String, cause: String },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// A KPI request the store will not run (an empty or too long window).
    #[error(transparent)]
    Kpi(#[from] KpiError),
    /// A second daemon on one SQLite file (docs/SCALING.md).
    #[error(
        "another switchboard daemon is running on the SQLite file {path} (it holds {path}.lock): \
         the embedded store serves one instance; stop that one first, or use PostgreSQL for \
         several (docs/SCALING.md)"
    )]
    InUse { path: String },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Which engine answered with a database error's code: PostgreSQL's
/// SQLSTATE (five characters, a two-character class first) or SQLite's
/// extended result code (a number whose low byte is the primary code).
enum ErrorCode<'a> {
    Postgres(&'a str),
    Sqlite(u32),
}

impl StoreError {
    /// The code of the database error this is, if it is one.
    fn code(&self) -> Option<ErrorCode<'_>> {
        let StoreError::Query(sqlx::Error::Database(db)) = self else {
            return None;
        };
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            return Some(ErrorCode::Postgres(pg.code()));
        }
        db.code()?.parse::<u32>().ok().map(ErrorCode::Sqlite)
    }

    /// The database rolled the transaction back because it collided with
    /// another one (PostgreSQL class 40: a deadlock, a serialization
    /// failure; SQLite: BUSY or LOCKED after its timeout): the same write
    /// may pass when tried again.
    pub fn is_conflict(&self) -> bool {
        match self.code() {
            Some(ErrorCode::Postgres(code)) => code.starts_with("40"),
            Some(ErrorCode::Sqlite(code)) => matches!(code & 0xff, 5 | 6),
            None => false,
        }
    }

    /// The database refused the data itself, so the same write fails
    /// every time: a value it cannot hold (PostgreSQL classes 22, data
    /// exception, and 54, a limit such as an index entry over 2.7 kB), or a
    /// constraint (23; SQLite's CONSTRAINT, TOOBIG, MISMATCH and RANGE).
    /// Everything else (a lost connection, a lock, a full disk) may pass.
    pub fn is_refusal(&self) -> bool {
        match self.code() {
            Some(ErrorCode::Postgres(code)) => ["22", "23", "54"]
                .iter()
                .any(|class| code.starts_with(class)),
            Some(ErrorCode::Sqlite(code)) => matches!(code & 0xff, 18 | 19 | 20 | 25),
            None => false,
        }
    }
}

/// A connection pool to one of the two backends.
#[derive(Debug, Clone)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Expand `$body` once per backend with `$pool` bound to that backend's pool,
/// so one piece of query code serves both without a trait object or `Any`.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            $crate::Store::Postgres($pool) => $body,
            $crate::Store::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
    /// Which database the pool reaches (never a password): a key for
    /// anything shared across calls that must not mix two stores, as one
    /// process (a test run) may serve several.
    pub fn identity(&self) -> String {
        match self {
            Store::Postgres(pool) => {
                let o = pool.connect_options();
                format!(
                    "postgres://{}:{}/{}",
                    o.get_host(),
                    o.get_port(),
                    o.get_database().unwrap_or_default()
                )
            }
            Store::Sqlite(pool) => {
                format!(
                    "sqlite://{}",
                    pool.connect_options().get_filename().display()
                )
            }
        }
    }

    /// Claim the store for this daemon when it is a SQLite file: several
    /// instances share a PostgreSQL store through leases, but two on one
    /// SQLite file would take turns at its write lock and each run every
    /// stream. The claim is an exclusive lock on `<file>.lock`, held while
    /// the returned file is open and released by the system when the
    /// process ends, however it ends. `None` for PostgreSQL and memory.
    pub fn claim_single_instance(&self) -> Result<Option<std::fs::File>, StoreError> {
        let Store::Sqlite(pool) = self else {
            return Ok(None);
        };
        let file = pool.connect_options().get_filename().to_path_buf();
        let name = file.to_string_lossy().to_string();
        if name.is_empty() || name == ":memory:" {
            return Ok(None);
        }
        let path = format!("{name}.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| StoreError::Lock {
                path: path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => Ok(Some(lock)),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse { path: name }),
            Err(std::fs::TryLockError::Error(source)) => Err(StoreError::Lock { path, source }),
        }
    }

    /// Open a pool. A SQLite file is created if missing; Postgres must exist.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let acquire_timeout = Duration::from_secs(10);
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(StoreError::Connect)?
                .create_if_missing(true)
                // WAL lets readers (health checks, the demo summary) run during a sync.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // Until `busy::install` replaces SQLite's own handler with
                // one that tries every millisecond for as long.
                .busy_timeout(busy::TIMEOUT)
                .foreign_keys(true);
            let at = format!("SQLite file {}", options.get_filename().display());
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .after_connect(|conn, _| busy::install(conn))
                .connect_with(options)
                .await
                .map_err(|e| StoreError::Unreachable {
                    at,
                    cause: cause_of(&e),
                })?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // Batch statements run with arrays of thousands of keys against
            // tables that grow during a load. A generic plan cached while a
            // table was small keeps seq-scanning it once it is large; a custom
            // plan per execution costs well under a millisecond.
            let options = PgConnectOptions::from_str(url)
                .map_err(StoreError::Connect)?
                .options([("plan_cache_mode", "force_custom_plan")]);
            let at = format!(
                "PostgreSQL at {}:{} (database {})",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or("(the user's)")
            );
            match PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .connect_with(options.clone())
                .await
            {
                Ok(pool) => Ok(Store::Postgres(pool)),
                Err(sqlx::Error::PoolTimedOut) => Err(StoreError::Unreachable {
                    at,
                    cause: pg_timeout_cause(&options, acquire_timeout).await,
                }),
                Err(e) => {
                    let mut cause = cause_of(&e);
                    // 3D000 invalid_catalog_name: the server answered, the
                    // database is not there. Switchboard creates its tables,
                    // not the database (that needs a right it should not have).
                    if let sqlx::Error::Database(db) = &e
                        && db.code().as_deref() == Some("3D000")
                    {
                        let name = options.get_database().unwrap_or("switchboard");
                        cause.push_str(&format!(
                            "; create it first: `CREATE DATABASE \"{name}\";` as a user \
                             allowed to, or `createdb -h {} -p {} {name}`",
                            options.get_host(),
                            options.get_port()
                        ));
                    }
                    Err(StoreError::Unreachable { at, cause })
                }
            }
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::UnsupportedUrl(format!("{scheme}:…")))
        }
    }

    /// Apply pending migrations. Safe to call at every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Postgres(pool) => PG_MIGRATIONS.run(pool).await?,
            Store::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Ready means reachable and every migration this build knows is applied.
    pub async fn ready(&self) -> Result<bool, StoreError> {
        let expected = match self {
            Store::Postgres(_) => PG_MIGRATIONS.iter().count(),
            Store::Sqlite(_) => SQLITE_MIGRATIONS.iter().count(),
        } as i64;
        let applied: Result<i64, sqlx::Error> = on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(pool)
                .await
        });
        match applied {
            Ok(n) => Ok(n >= expected),
            // No migrations table yet: reachable but not ready.
            Err(sqlx::Error::Database(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// Why a connection failed, without sqlx's "error communicating with
/// database" in front of the reason an admin can act on.
fn cause_of(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => io.to_string(),
        other => {
            switchboard_lang::diag::chain::error_chain(switchboard_lang::diag::chain::causes(other))
        }
    }
}

/// The pool retries a refused connection until its timeout, then says only
/// that it timed out. One more attempt of our own finds out why.
async fn pg_timeout_cause(options: &PgConnectOptions, waited: Duration) -> String {
    use sqlx::ConnectOptions;
    match tokio::time::timeout(Duration::from_secs(5), options.connect()).await {
        Ok(Err(e)) => format!("{} (retried for {}s)", cause_of(&e), waited.as_secs()),
        Ok(Ok(_)) => format!(
            "no connection within {}s; the server answers now",
            waited.as_secs()
        ),
        Err(_) => format!("no answer within {}s", waited.as_secs() + 5),
    }
}

// Column lists and conflict clauses shared by both backends' page writes, so
// the two cannot drift apart.

const SOURCE_RECORD_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    content_hash = excluded.content_hash, mapping_version = excluded.mapping_version, \
    payload = excluded.payload, last_changed_at = excluded.last_changed_at";

const WORK_ITEM_COLUMNS: &str = "source_system, source_stream, external_id, external_url, kind, title, \
    description, status, native_status, priority, requester_ref, department, assignee_group, service, \
    location_ref, opened_at, updated_at, resolved_at, closed_at, due_at, attributes, classified, \
    requester_id, mapping_version, synced_at";

const WORK_ITEM_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    external_url = excluded.external_url, kind = excluded.kind, title = excluded.title, \
    description = excluded.description, status = excluded.status, native_status = excluded.native_status, \
    priority = excluded.priority, requester_ref = excluded.requester_ref, department = excluded.department, \
    assignee_group = excluded.assignee_group, service = excluded.service, location_ref = excluded.location_ref, \
    opened_at = excluded.opened_at, updated_at = excluded.updated_at, resolved_at = excluded.resolved_at, \
    closed_at = excluded.closed_at, due_at = excluded.due_at, attributes = excluded.attributes, \
    classified = excluded.classified, requester_id = excluded.requester_id, \
    mapping_version = excluded.mapping_version, synced_at = excluded.synced_at";

const PERSON_COLUMNS: &str = "source_system, source_stream, external_id, display_name, email, \
    employee_number, department, org_unit_ref, location_ref, manager_ref, active, attributes, \
    classified, manager_id, org_unit_id, identity, mapping_version, synced_at, start_date, end_date";

const PERSON_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    display_name = excluded.display_name, email = excluded.email, employee_number = excluded.employee_number, \
    department = excluded.department, org_unit_ref = excluded.org_unit_ref, location_ref = excluded.location_ref, \
    manager_ref = excluded.manager_ref, active = excluded.active, attributes = excluded.attributes, \
    classified = excluded.classified, manager_id = excluded.manager_id, org_unit_id = excluded.org_unit_id, \
    identity = excluded.identity, mapping_version = excluded.mapping_version, synced_at = excluded.synced_at, \
    start_date = excluded.start_date, end_date = excluded.end_date";

const ORG_UNIT_COLUMNS: &str = "source_system, source_stream, external_id, name, code, parent_ref, \
    parent_id, attributes, mapping_version, synced_at";

const ORG_UNIT_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    name = excluded.name, code = excluded.code, parent_ref = excluded.parent_ref, parent_id = excluded.parent_id, \
    attributes = excluded.attributes, mapping_version = excluded.mapping_version, synced_at = excluded.synced_at";

const OFFERING_COLUMNS: &str = "source_system, source_stream, external_id, name, description, \
    department, category, external_url, active, attributes, mapping_version, synced_at";

const OFFERING_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    name = excluded.name, description = excluded.description, department = excluded.department, \
    category = excluded.category, external_url = excluded.external_url, active = excluded.active, \
    attributes = excluded.attributes, mapping_version = excluded.mapping_version, synced_at = excluded.synced_at";

const ACTIVITY_COLUMNS: &str = "work_item_id, kind, author_ref, body, from_status, to_status, occurred_at, visibility, source_system, external_id";

const ACTIVITY_CONFLICT: &str = " ON CONFLICT (source_system, external_id) DO UPDATE SET \
    work_item_id = excluded.work_item_id, kind = excluded.kind, author_ref = excluded.author_ref, \
    body = excluded.body, from_status = excluded.from_status, to_status = excluded.to_status, \
    occurred_at = excluded.occurred_at, visibility = excluded.visibility";

const QUARANTINE_CONFLICT: &str = " ON CONFLICT (source_system, source_stream, external_id) DO UPDATE SET \
    reason = excluded.reason, payload = excluded.payload, mapping_version = excluded.mapping_version, \
    last_seen_at = excluded.last_seen_at, attempts = quarantine.attempts + 1";

const CURSOR_CONFLICT: &str = " ON CONFLICT (source_system, source_stream) DO UPDATE SET \
    cursor = excluded.cursor, updated_at = excluded.updated_at";
