//! Reads for the employee's view: the work items a person raised or is
//! the subject of, in any department, and their journeys. One query per
//! page for the items, one for all their links, one for all their cases'
//! tasks: never a query per item.
//!
//! A person is known by e-mail address. They raised an item when its
//! requester reference is that address, or resolves to a person with it;
//! they are its subject when it is a value stream's case started for one of
//! their person records (onboarding, say): case ids end with the origin's
//! `system:stream:external_id` (`sync/route.rs`).

use sqlx::QueryBuilder;

use super::views::{LinkRow, WorkItemRow, work_item_columns};
use super::{CASES, HUB, Store, StoreError, TASKS};

/// Whose requests, which page.
#[derive(Debug, Clone)]
pub struct RequestFilter<'a> {
    pub email: &'a str,
    /// One item only (the detail view), still only if it is theirs.
    pub id: Option<i64>,
    pub before_id: Option<i64>,
    pub limit: i64,
    pub classes: &'a [String],
    /// The employee asks for their own: what they raised themselves shows
    /// even when it is confidential (their HR case is theirs to follow);
    /// what they are only the subject of does not. An agent's look at the
    /// same person (`false`) sees only the classes the agent holds.
    pub own: bool,
}

/// A value stream task of a case, as its journey shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub external_id: String,
    pub title: String,
    pub status: String,
    pub department: Option<String>,
}

macro_rules! push_filter {
    ($qb:expr, $f:expr, $pg:expr) => {{
        let conf = if $pg {
            "attributes->>'confidential'"
        } else {
            "json_extract(attributes, '$.confidential')"
        };
        // On PostgreSQL the person's ids are one array, computed once
        // (`ARRAY(...)` is an init plan): `requester_id IN (subquery)`
        // would be a filter, not an index arm, and the planner would walk
        // the whole primary key newest first to fill a page.
        let (ids_open, ids_close) = if $pg {
            (
                " OR requester_id = ANY(ARRAY(SELECT id FROM people WHERE lower(email) = lower(",
                ")))",
            )
        } else {
            (
                " OR requester_id IN (SELECT id FROM people WHERE lower(email) = lower(",
                "))",
            )
        };
        $qb.push(" WHERE (lower(requester_ref) = lower(")
            .push_bind($f.email)
            .push(")")
            .push(ids_open)
            .push_bind($f.email)
            .push(ids_close)
            .push(format!(
                " OR (source_system = '{HUB}' AND source_stream = '{CASES}' AND EXISTS (\
                 SELECT 1 FROM people p WHERE lower(p.email) = lower("
            ))
            .push_bind($f.email)
            .push(
                ") AND work_items.external_id LIKE \
                 '%:' || p.source_system || ':' || p.source_stream || ':' || p.external_id)))",
            );
        // The departments' own tasks are shown inside their case.
        $qb.push(format!(
            " AND NOT (source_system = '{HUB}' AND source_stream = '{TASKS}')"
        ));
        if let Some(id) = $f.id {
            $qb.push(" AND id = ").push_bind(id);
        }
        if let Some(before) = $f.before_id {
            $qb.push(" AND id < ").push_bind(before);
        }
        $qb.push(format!(" AND ({conf} IS NULL"));
        if $f.own {
            $qb.push(" OR lower(requester_ref) = lower(")
                .push_bind($f.email)
                .push(")");
        }
        if !$f.classes.is_empty() {
            $qb.push(format!(" OR {conf} IN ("));
            let mut sep = $qb.separated(", ");
            for c in $f.classes {
                sep.push_bind(c.as_str());
            }
            sep.push_unseparated(")");
        }
        $qb.push(") ORDER BY id DESC LIMIT ").push_bind($f.limit);
    }};
}

impl Store {
    /// A page of a person's requests, newest first.
    pub async fn requests_of(&self, f: &RequestFilter<'_>) -> Result<Vec<WorkItemRow>, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                requests_query(f, true, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                requests_query(f, false, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// The links of many records at once (one query), each with the
    /// record it belongs to as `(system, external_id)`.
    pub async fn links_of_many(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<((String, String), LinkRow)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<KeyedLink> = match self {
            Store::Postgres(pool) => {
                links_query(keys, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                links_query(keys, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    (r.key_system, r.key_id),
                    LinkRow {
                        relation: r.relation,
                        outgoing: r.outgoing,
                        other_system: r.other_system,
                        other_external_id: r.other_external_id,
                        other_id: r.other_id,
                        other_title: r.other_title,
                        other_status: r.other_status,
                        other_url: r.other_url,
                    },
                )
            })
            .collect())
    }

    /// The tasks of these value stream cases, by case id.
    pub async fn tasks_of_cases(&self, case_ids: &[String]) -> Result<Vec<TaskRow>, StoreError> {
        if case_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(match self {
            Store::Postgres(pool) => {
                tasks_query(case_ids, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                tasks_query(case_ids, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
        })
    }
}

// The statements, apart from running them, so `plans.rs` can ask the
// database how it runs exactly these (prefixed with `EXPLAIN`).

/// A page of a person's requests; `explain` goes before the `SELECT`.
pub(super) fn requests_query<'q, DB: sqlx::Database>(
    f: &'q RequestFilter<'q>,
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT {} FROM work_items",
        work_item_columns(pg)
    ));
    push_filter!(qb, f, pg);
    qb
}

/// The links from and to each of `keys`, with the other end's item.
pub(super) fn links_query<'q, DB: sqlx::Database>(
    keys: &'q [(String, String)],
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    &'q String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT l.from_system AS key_system, l.from_id AS key_id, l.relation, \
         TRUE AS outgoing, l.to_system AS other_system, l.to_id AS other_external_id, \
         w.id AS other_id, w.title AS other_title, w.status AS other_status, \
         w.external_url AS other_url FROM links l LEFT JOIN work_items w \
         ON w.source_system = l.to_system AND w.external_id = l.to_id WHERE "
    ));
    let mut sep = qb.separated(" OR ");
    for (system, id) in keys {
        sep.push("(l.from_system = ")
            .push_bind_unseparated(system)
            .push_unseparated(" AND l.from_id = ")
            .push_bind_unseparated(id)
            .push_unseparated(")");
    }
    qb.push(
        " UNION ALL SELECT l.to_system, l.to_id, l.relation, FALSE, l.from_system, \
         l.from_id, w.id, w.title, w.status, w.external_url FROM links l \
         LEFT JOIN work_items w ON w.source_system = l.from_system \
         AND w.external_id = l.from_id WHERE ",
    );
    let mut sep = qb.separated(" OR ");
    for (system, id) in keys {
        sep.push("(l.to_system = ")
            .push_bind_unseparated(system)
            .push_unseparated(" AND l.to_id = ")
            .push_bind_unseparated(id)
            .push_unseparated(")");
    }
    qb
}

/// The tasks of these value stream cases.
pub(super) fn tasks_query<'q, DB: sqlx::Database>(
    case_ids: &[String],
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT id, external_id, title, status, department FROM work_items \
         WHERE source_system = '{HUB}' AND source_stream = '{TASKS}' AND ("
    ));
    let mut sep = qb.separated(" OR ");
    for c in case_ids {
        sep.push("external_id LIKE ")
            .push_bind_unseparated(format!("{}#%", like_escape(c)))
            .push_unseparated(" ESCAPE '\\'");
    }
    qb.push(") ORDER BY id");
    qb
}

#[derive(sqlx::FromRow)]
struct KeyedLink {
    key_system: String,
    key_id: String,
    relation: String,
    outgoing: bool,
    other_system: String,
    other_external_id: String,
    other_id: Option<i64>,
    other_title: Option<String>,
    other_status: Option<String>,
    other_url: Option<String>,
}

/// `text` matched literally by LIKE.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
