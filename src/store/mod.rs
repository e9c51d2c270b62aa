//! The central SQL store, on PostgreSQL (production) or SQLite (embedded).
//!
//! Owns the schema, its migrations, and every statement that touches it.
//! Both backends run the same Rust code: [`on_pool!`] expands one body once per
//! backend, and statements are built with `QueryBuilder` so placeholders fit
//! each. The store knows nothing of connectors or mappings; it persists
//! canonical records, raw payloads, cursors and quarantine, a page at a time.

mod page;
mod read;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use page::{PageOutcome, PageWrite, StagedRecord, Stored};
pub use read::{CountedTable, QuarantineRow, StatusCount, SyncStateRow, WorkItemSummary};

static PG_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store URL scheme in `{0}`: use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error("cannot connect to the store: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
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
            $crate::store::Store::Postgres($pool) => $body,
            $crate::store::Store::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Store {
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
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url).map_err(StoreError::Connect)?;
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store::Postgres(pool))
        } else {
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::UnsupportedUrl(format!("{scheme}:…")))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Postgres(_) => Backend::Postgres,
            Store::Sqlite(_) => Backend::Sqlite,
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
