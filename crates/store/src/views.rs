//! Reads for the HTTP API: work items and people, a page at a time, newest
//! first, with the filters agents use; one item with its activities and
//! links. Each list is one query, keyset-paged on the primary key (`id <
//! cursor ORDER BY id DESC`), so a page costs the same at any depth.
//!
//! Times come back as `YYYY-MM-DDTHH:MM:SSZ` text on both backends (SQLite
//! keeps them as ISO text in more than one shape), JSON columns as JSON.
//! Confidential work items (`attributes.confidential = "<class>"`) are left
//! out of a list unless the caller is cleared for the class.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::QueryBuilder;

use super::{Store, StoreError};

/// Which work items a list returns.
#[derive(Debug, Clone, Default)]
pub struct WorkItemFilter<'a> {
    pub department: Option<&'a str>,
    pub status: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub system: Option<&'a str>,
    /// The requester's reference (an e-mail address or the source's id).
    pub requester: Option<&'a str>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Only items with a smaller id: the cursor of the page before.
    pub before_id: Option<i64>,
    pub limit: i64,
    /// The confidentiality classes the caller is cleared for.
    pub classes: &'a [String],
}

/// One work item as the store holds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkItemRow {
    pub id: i64,
    pub source_system: String,
    pub source_stream: String,
    pub external_id: String,
    pub external_url: Option<String>,
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub native_status: Option<String>,
    pub priority: Option<i16>,
    pub department: Option<String>,
    pub requester_ref: Option<String>,
    pub assignee_group: Option<String>,
    pub opened_at: Option<String>,
    pub updated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub due_at: Option<String>,
    /// When the source deleted it (a tombstone, migration 0020).
    pub deleted_at: Option<String>,
    pub attributes: String,
    pub classified: String,
}

/// A comment or status change.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ActivityRow {
    pub kind: String,
    pub author_ref: Option<String>,
    pub body: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub occurred_at: Option<String>,
    pub source_system: String,
    /// `public` or `internal`.
    pub visibility: String,
}

/// A link from or to a work item, with the other end if the store has it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    /// `routed` or `task`.
    pub relation: String,
    /// True when this item is the origin, false when it is the target.
    pub outgoing: bool,
    pub other_system: String,
    pub other_external_id: String,
    pub other_id: Option<i64>,
    pub other_title: Option<String>,
    pub other_status: Option<String>,
    pub other_url: Option<String>,
}

/// Which people a list returns.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter<'a> {
    pub department: Option<&'a str>,
    pub active: Option<bool>,
    pub email: Option<&'a str>,
    pub before_id: Option<i64>,
    pub limit: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PersonRow {
    pub id: i64,
    pub source_system: String,
    pub external_id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub manager_ref: Option<String>,
    pub active: Option<bool>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub attributes: String,
    pub classified: String,
}

/// A time column as `YYYY-MM-DDTHH:MM:SSZ` text.
fn time(pg: bool, column: &str) -> String {
    if pg {
        format!(
            "to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS {column}"
        )
    } else {
        format!("strftime('%Y-%m-%dT%H:%M:%SZ', {column}) AS {column}")
    }
}

fn json(pg: bool, column: &str) -> String {
    if pg {
        format!("{column}::text AS {column}")
    } else {
        column.to_string()
    }
}

pub(super) fn work_item_columns(pg: bool) -> String {
    let mut cols = vec![
        "id, source_system, source_stream, external_id, external_url, kind, title, description, \
         status, native_status, priority, department, requester_ref, assignee_group"
            .to_string(),
    ];
    for t in [
        "opened_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "due_at",
        "deleted_at",
    ] {
        cols.push(time(pg, t));
    }
    cols.push(json(pg, "attributes"));
    cols.push(json(pg, "classified"));
    cols.join(", ")
}

fn confidential(pg: bool) -> &'static str {
    if pg {
        "attributes->>'confidential'"
    } else {
        "json_extract(attributes, '$.confidential')"
    }
}

/// Push the list's WHERE clause.
fn work_item_filter<'q, DB: sqlx::Database>(
    qb: &mut QueryBuilder<'q, DB>,
    f: &'q WorkItemFilter<'q>,
    pg: bool,
) where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push(" WHERE 1 = 1");
    for (column, value) in [
        ("department", f.department),
        ("status", f.status),
        ("kind", f.kind),
        ("source_system", f.system),
        ("requester_ref", f.requester),
    ] {
        if let Some(v) = value {
            qb.push(format!(" AND {column} = ")).push_bind(v);
        }
    }
    if let Some(since) = f.updated_since {
        if pg {
            qb.push(" AND updated_at >= CAST(")
                .push_bind(since.to_rfc3339())
                .push(" AS TIMESTAMPTZ)");
        } else {
            // `likelihood` tells SQLite's planner, which has no statistics,
            // that what changed lately is a small share: it then reads the
            // expression's index (migration 0016) rather than every item
            // newest first. The value is the comparison's own.
            qb.push(" AND likelihood(strftime('%Y-%m-%dT%H:%M:%fZ', updated_at) >= ")
                .push_bind(super::outbox::sqlite_time(since))
                .push(", 0.05)");
        }
    }
    if let Some(before) = f.before_id {
        qb.push(" AND id < ").push_bind(before);
    }
    qb.push(format!(" AND ({} IS NULL", confidential(pg)));
    if !f.classes.is_empty() {
        qb.push(format!(" OR {} IN (", confidential(pg)));
        let mut sep = qb.separated(", ");
        for c in f.classes {
            sep.push_bind(c.as_str());
        }
        sep.push_unseparated(")");
    }
    qb.push(")");
}

impl Store {
    /// A page of work items, newest first.
    pub async fn work_items_page(
        &self,
        f: &WorkItemFilter<'_>,
    ) -> Result<Vec<WorkItemRow>, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                work_items_query(f, true, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                work_items_query(f, false, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// One work item by id.
    pub async fn work_item(&self, id: i64) -> Result<Option<WorkItemRow>, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                work_item_query(id, true, "")
                    .build_query_as()
                    .fetch_optional(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                work_item_query(id, false, "")
                    .build_query_as()
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// One work item by the system, stream and id it has there.
    pub async fn work_item_by_key(
        &self,
        system: &str,
        stream: &str,
        external_id: &str,
    ) -> Result<Option<WorkItemRow>, StoreError> {
        let key = (system, stream, external_id);
        Ok(match self {
            Store::Postgres(pool) => {
                work_item_by_key_query(key, true, "")
                    .build_query_as()
                    .fetch_optional(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                work_item_by_key_query(key, false, "")
                    .build_query_as()
                    .fetch_optional(pool)
                    .await?
            }
        })
    }

    /// A work item's activities, oldest first.
    pub async fn activities_of(&self, work_item_id: i64) -> Result<Vec<ActivityRow>, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                activities_query(work_item_id, true, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                activities_query(work_item_id, false, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
        })
    }

    /// The links from and to a record, with the other end's item if stored.
    pub async fn links_of(
        &self,
        system: &str,
        external_id: &str,
    ) -> Result<Vec<LinkRow>, StoreError> {
        let key = [(system.to_string(), external_id.to_string())];
        Ok(self
            .links_of_many(&key)
            .await?
            .into_iter()
            .map(|(_, link)| link)
            .collect())
    }

    /// A page of people (placeholders left out), newest first.
    pub async fn people_page(&self, f: &PeopleFilter<'_>) -> Result<Vec<PersonRow>, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                people_query(f, true, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                people_query(f, false, "")
                    .build_query_as()
                    .fetch_all(pool)
                    .await?
            }
        })
    }
}

impl Store {
    /// One person by id (a placeholder is no one).
    pub async fn person(&self, id: i64) -> Result<Option<PersonRow>, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                person_query(id, true, "")
                    .build_query_as()
                    .fetch_optional(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                person_query(id, false, "")
                    .build_query_as()
                    .fetch_optional(pool)
                    .await?
            }
        })
    }
}

// The statements, apart from running them, so `plans.rs` can ask the
// database how it runs exactly these (prefixed with `EXPLAIN`).

/// A page of work items; `explain` goes before the `SELECT`.
pub(super) fn work_items_query<'q, DB: sqlx::Database>(
    f: &'q WorkItemFilter<'q>,
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT {} FROM work_items",
        work_item_columns(pg)
    ));
    work_item_filter(&mut qb, f, pg);
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
    qb
}

/// One work item by id.
pub(super) fn work_item_query<'q, DB: sqlx::Database>(
    id: i64,
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT {} FROM work_items WHERE id = ",
        work_item_columns(pg)
    ));
    qb.push_bind(id);
    qb
}

/// One work item by its system, stream and external id.
pub(super) fn work_item_by_key_query<'q, DB: sqlx::Database>(
    key: (&'q str, &'q str, &'q str),
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT {} FROM work_items WHERE source_system = ",
        work_item_columns(pg)
    ));
    qb.push_bind(key.0)
        .push(" AND source_stream = ")
        .push_bind(key.1)
        .push(" AND external_id = ")
        .push_bind(key.2);
    qb
}

/// A work item's activities, oldest first.
pub(super) fn activities_query<'q, DB: sqlx::Database>(
    work_item_id: i64,
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT kind, author_ref, body, from_status, to_status, {}, source_system, \
         visibility FROM activities WHERE work_item_id = ",
        time(pg, "occurred_at")
    ));
    qb.push_bind(work_item_id).push(" ORDER BY occurred_at, id");
    qb
}

fn person_columns(pg: bool) -> String {
    format!(
        "SELECT id, source_system, external_id, display_name, email, employee_number, \
         department, manager_ref, active, {}, {}, {}, {} FROM people WHERE NOT placeholder",
        json(pg, "start_date"),
        json(pg, "end_date"),
        json(pg, "attributes"),
        json(pg, "classified")
    )
}

/// One person by id (a placeholder is no one).
pub(super) fn person_query<'q, DB: sqlx::Database>(
    id: i64,
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!("{explain}{} AND id = ", person_columns(pg)));
    qb.push_bind(id);
    qb
}

/// A page of people; `explain` goes before the `SELECT`.
pub(super) fn people_query<'q, DB: sqlx::Database>(
    f: &'q PeopleFilter<'q>,
    pg: bool,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!("{explain}{}", person_columns(pg)));
    if let Some(d) = f.department {
        qb.push(" AND department = ").push_bind(d);
    }
    if let Some(a) = f.active {
        qb.push(" AND active = ").push_bind(a);
    }
    if let Some(e) = f.email {
        qb.push(" AND lower(email) = lower(").push_bind(e).push(")");
    }
    if let Some(b) = f.before_id {
        qb.push(" AND id < ").push_bind(b);
    }
    qb.push(" ORDER BY id DESC LIMIT ").push_bind(f.limit);
    qb
}

/// Parse a JSON column read as text; a value that is not JSON reads as null.
pub fn json_column(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
