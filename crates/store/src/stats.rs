//! Keeping PostgreSQL's planner statistics current while a table grows
//! fast.
//!
//! Every page's statements (which keys exist, the upserts, the activities'
//! joins) are planned from the statistics `ANALYZE` gathers. A table that
//! goes from empty to a million rows in one run, a first load, is planned
//! all along as the near-empty table the statistics describe. Autovacuum
//! analyzes a table once 10% of it changed, but at most once a minute per
//! database, and not at all where it is turned off. Measured on the bulk
//! load at 470,000 rows with no statistics (docs/PERFORMANCE.md): one
//! page's existence query read the whole stream through a bitmap scan into
//! a hash join, 1.6 s, where the index lookups it should be take 44 ms;
//! the load fell from 9,000 to 2,000 records/s.
//!
//! So the store checks, every [`CHECK_EVERY`] rows this process wrote to a
//! table, whether the rows changed since the table's last analyze reach
//! what the planner believes it holds (the table at least doubled), and
//! analyzes it then. Growth in doublings makes a load of n rows pay about
//! log2(n / 10,000) analyzes, each reading a fixed sample (30,000 rows at
//! the default statistics target). The decision is the database's own
//! count, so several replicas writing the same table, or autovacuum having
//! got there first, do not cause extra analyzes. That count can also run
//! ahead: each connection reports its rows about a second after its commit
//! (later when the statistics are contended), so rows committed just
//! before an analyze but reported after it count again towards the next.
//! About a second's writes, so the next analyze may come a check early
//! while the table is small next to them; never a missed one.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgPool;

/// Rows one process writes to a table between two checks; also the least
/// growth that is worth an analyze.
pub(super) const CHECK_EVERY: u64 = 10_000;

/// The tables a page writes that grow with a source. Table names only
/// ever come from this list, so they can be spliced into `ANALYZE`.
pub(super) const TABLES: [&str; 6] = [
    "source_records",
    "work_items",
    "people",
    "org_units",
    "offerings",
    "activities",
];

/// What this process wrote to one table of one database.
#[derive(Default)]
struct Written {
    /// Rows since the last check.
    since_check: u64,
    /// Rows since this process last analyzed the table: the database's own
    /// count (`n_mod_since_analyze`) reaches it only once every writer has
    /// flushed its statistics, up to seconds later.
    since_analyze: u64,
}

static WRITTEN: Mutex<Option<HashMap<(String, &'static str), Written>>> = Mutex::new(None);

fn written<T>(f: impl FnOnce(&mut HashMap<(String, &'static str), Written>) -> T) -> T {
    let mut guard = WRITTEN.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(HashMap::new))
}

/// Counts `rows` (table, rows just committed) and returns the tables whose
/// count since the last check reached [`CHECK_EVERY`], with the rows
/// written since their last analyze; their check counts restart.
fn due(database: &str, rows: &[(&'static str, usize)]) -> Vec<(&'static str, u64)> {
    written(|all| {
        let mut due = Vec::new();
        for &(table, n) in rows.iter().filter(|(_, n)| *n > 0) {
            let w = all.entry((database.to_string(), table)).or_default();
            w.since_check += n as u64;
            w.since_analyze += n as u64;
            if w.since_check >= CHECK_EVERY {
                w.since_check = 0;
                due.push((table, w.since_analyze));
            }
        }
        due
    })
}

/// Called after a commit that wrote `rows` (table, rows): analyzes those of
/// the tables whose statistics describe less than half of them. Never fails
/// the write, which is committed: a failed check or analyze is logged and
/// autovacuum (where it runs) is left to it.
pub(super) async fn wrote(pool: &PgPool, database: &str, rows: &[(&'static str, usize)]) {
    let due = due(database, rows);
    if due.is_empty() {
        return;
    }
    match refresh(pool, &due).await {
        Ok(analyzed) => written(|all| {
            for (table, counted) in due.iter().filter(|(t, _)| analyzed.contains(t)) {
                if let Some(w) = all.get_mut(&(database.to_string(), *table)) {
                    // Rows written while the analyze ran still count.
                    w.since_analyze = w.since_analyze.saturating_sub(*counted);
                }
            }
        }),
        Err(e) => {
            let tables: Vec<_> = due.iter().map(|(t, _)| *t).collect();
            tracing::warn!(?tables, error = %e, "could not refresh the planner's statistics");
        }
    }
}

/// Analyzes those of `tables` (name, rows this process wrote since it last
/// analyzed it) changed since their last analyze by at least as many rows
/// as the planner believes they hold, and by [`CHECK_EVERY`]. Returns the
/// tables analyzed.
pub(super) async fn refresh(
    pool: &PgPool,
    tables: &[(&'static str, u64)],
) -> Result<Vec<&'static str>, sqlx::Error> {
    let names: Vec<&str> = tables.iter().map(|(t, _)| *t).collect();
    let ours: Vec<f64> = tables.iter().map(|(_, n)| *n as f64).collect();
    // `reltuples` is -1 for a table never analyzed.
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT s.relname::text FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
         JOIN UNNEST($1::text[], $2::float8[]) AS o(name, rows) ON o.name = s.relname \
         WHERE s.schemaname = current_schema() \
           AND GREATEST(s.n_mod_since_analyze, o.rows) >= GREATEST($3, c.reltuples)",
    )
    .bind(&names)
    .bind(&ours)
    .bind(CHECK_EVERY as f64)
    .fetch_all(pool)
    .await?;
    let stale: Vec<&'static str> = TABLES
        .into_iter()
        .filter(|t| stale.iter().any(|s| s == t))
        .collect();
    if stale.is_empty() {
        return Ok(stale);
    }
    let started = std::time::Instant::now();
    sqlx::query(&format!("ANALYZE {}", stale.join(", ")))
        .execute(pool)
        .await?;
    // Debug: at info a run logs one line per stream.
    tracing::debug!(
        tables = ?stale,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "refreshed the planner's statistics after fast growth"
    );
    Ok(stale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_counts_per_database_and_table_and_restarts() {
        let db = "postgres:due-test/one";
        assert!(due(db, &[("work_items", 9_999)]).is_empty());
        // Another database's rows do not count towards this one's.
        assert!(due("postgres:due-test/two", &[("work_items", 5_000)]).is_empty());
        assert_eq!(
            due(db, &[("work_items", 1), ("source_records", 10_000)]),
            [("work_items", 10_000), ("source_records", 10_000)]
        );
        // The check count restarts; the count since the analyze goes on.
        assert!(due(db, &[("work_items", 9_999), ("people", 0)]).is_empty());
        assert_eq!(due(db, &[("work_items", 1)]), [("work_items", 20_000)]);
    }
}
