//! Reads and run bookkeeping: cursors and status summaries. Quarantine
//! has its own module (`quarantine.rs`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;

use super::{Store, StoreError, on_pool};

/// Work items per status and department, for summaries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct StatusCount {
    pub department: Option<String>,
    pub status: String,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SyncStateRow {
    pub source_system: String,
    pub source_stream: String,
    pub cursor: Option<String>,
    pub last_run_started_at: Option<DateTime<Utc>>,
    pub last_run_finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Records the last run read from the source, and stored (new or changed).
    pub last_run_fetched: Option<i64>,
    pub last_run_stored: Option<i64>,
    /// When the last run that read to the end started.
    pub last_success_started_at: Option<DateTime<Utc>>,
}

/// How a run ended, as `record_run` keeps it.
#[derive(Debug, Clone, Copy)]
pub struct RunOutcome<'a> {
    pub started: DateTime<Utc>,
    /// Why it failed; `None` when it did not.
    pub error: Option<&'a str>,
    /// It read every page (not failed, not stopped for shutdown).
    pub completed: bool,
    pub fetched: i64,
    pub stored: i64,
}

impl Store {
    /// The committed cursor of a stream, if it has synced before.
    pub async fn cursor(&self, system: &str, stream: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new("SELECT cursor FROM sync_state WHERE source_system = ");
            qb.push_bind(system)
                .push(" AND source_stream = ")
                .push_bind(stream);
            qb.build_query_as().fetch_optional(pool).await?
        });
        Ok(row.and_then(|(c,)| c))
    }

    /// Record how a run ended, for status pages and the on-call engineer.
    /// Only a run that read to the end moves `last_success_started_at`:
    /// a failed or interrupted one leaves the stream's lag growing.
    pub async fn record_run(
        &self,
        system: &str,
        stream: &str,
        run: &RunOutcome<'_>,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let success = run.completed.then_some(run.started);
        on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "INSERT INTO sync_state (source_system, source_stream, last_run_started_at, last_run_finished_at, last_error, \
                 last_run_fetched, last_run_stored, last_success_started_at, updated_at) VALUES (",
            );
            let mut values = qb.separated(", ");
            values
                .push_bind(system)
                .push_bind(stream)
                .push_bind(run.started)
                .push_bind(now)
                .push_bind(run.error)
                .push_bind(run.fetched)
                .push_bind(run.stored)
                .push_bind(success)
                .push_bind(now);
            qb.push(
                ") ON CONFLICT (source_system, source_stream) DO UPDATE SET \
                 last_run_started_at = excluded.last_run_started_at, \
                 last_run_finished_at = excluded.last_run_finished_at, \
                 last_error = excluded.last_error, \
                 last_run_fetched = excluded.last_run_fetched, \
                 last_run_stored = excluded.last_run_stored, \
                 last_success_started_at = COALESCE(excluded.last_success_started_at, sync_state.last_success_started_at), \
                 updated_at = excluded.updated_at",
            );
            qb.build().execute(pool).await?;
        });
        Ok(())
    }

    /// Whether a run of the stream has completed since routing began:
    /// until then its changes are a baseline and route nothing.
    pub async fn baseline_done(&self, system: &str, stream: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sync_state WHERE source_system = $1 AND source_stream = $2 \
                 AND baseline_at IS NOT NULL",
            )
            .bind(system)
            .bind(stream)
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }

    /// A run completed: later changes of the stream are routed.
    pub async fn mark_baseline(&self, system: &str, stream: &str) -> Result<(), StoreError> {
        let now = Utc::now();
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sync_state (source_system, source_stream, baseline_at, updated_at) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT (source_system, source_stream) \
                 DO UPDATE SET baseline_at = COALESCE(sync_state.baseline_at, excluded.baseline_at)",
            )
            .bind(system)
            .bind(stream)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn sync_states(&self) -> Result<Vec<SyncStateRow>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT source_system, source_stream, cursor, last_run_started_at, last_run_finished_at, last_error, \
                 last_run_fetched, last_run_stored, last_success_started_at \
                 FROM sync_state ORDER BY source_system, source_stream",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Work items grouped by department and status.
    pub async fn status_counts(&self) -> Result<Vec<StatusCount>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT department, status, COUNT(*) AS count FROM work_items \
                 GROUP BY department, status ORDER BY department, status",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    pub async fn count(&self, table: CountedTable) -> Result<i64, StoreError> {
        let sql = match table {
            CountedTable::WorkItems => "SELECT COUNT(*) FROM work_items",
            CountedTable::People => "SELECT COUNT(*) FROM people",
            CountedTable::Placeholders => "SELECT COUNT(*) FROM people WHERE placeholder",
            CountedTable::SourceRecords => "SELECT COUNT(*) FROM source_records",
            CountedTable::Quarantine => "SELECT COUNT(*) FROM quarantine",
        };
        Ok(on_pool!(self, |pool| sqlx::query_scalar(sql)
            .fetch_one(pool)
            .await?))
    }

    /// Title, status and native status of one work item, for checks and tests.
    pub async fn work_item_summary(
        &self,
        system: &str,
        stream: &str,
        external_id: &str,
    ) -> Result<Option<WorkItemSummary>, StoreError> {
        Ok(on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(
                "SELECT title, status, native_status, priority, requester_ref, department, mapping_version, classified \
                 FROM work_items WHERE source_system = ",
            );
            qb.push_bind(system)
                .push(" AND source_stream = ")
                .push_bind(stream)
                .push(" AND external_id = ")
                .push_bind(external_id);
            qb.build_query_as().fetch_optional(pool).await?
        }))
    }
}

#[derive(Debug, Clone, Copy)]
pub enum CountedTable {
    WorkItems,
    People,
    /// People only referenced so far (see mapping lookups), included in `People`.
    Placeholders,
    SourceRecords,
    Quarantine,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct WorkItemSummary {
    pub title: String,
    pub status: String,
    pub native_status: Option<String>,
    pub priority: Option<i16>,
    pub requester_ref: Option<String>,
    pub department: Option<String>,
    pub mapping_version: String,
    /// `{field: class}` for the classified fields that hold a value.
    pub classified: sqlx::types::Json<serde_json::Value>,
}
