//! How the database runs the API's reads: `EXPLAIN` of exactly the
//! statements `views.rs`, `requests.rs` and `offerings.rs` send, with the caller's values
//! bound, so a test can hold every list and detail query to an index on a
//! store large enough for the planner to mean it (`tests/explain.rs`).
//! Reads only; nothing here runs a statement for its rows.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::offerings::{MAX_NATIVE_OFFERINGS, native_offerings_query};
use super::requests::{links_query, requests_query, tasks_query};
use super::views::{
    activities_query, people_query, person_query, work_item_by_key_query, work_item_query,
    work_items_query,
};
use super::{PeopleFilter, RequestFilter, Store, StoreError, WorkItemFilter};

/// The values the statements are explained with: take them from the store
/// at hand (an employee who has requests, an item that has activities and
/// links), as the plan may depend on them.
#[derive(Debug, Clone)]
pub struct PlanProbe {
    pub email: String,
    pub work_item_id: i64,
    /// The same item's key: `(system, stream, external_id)`.
    pub work_item_key: (String, String, String),
    pub person_id: i64,
    pub department: String,
    pub status: String,
    pub kind: String,
    pub requester: String,
    pub updated_since: DateTime<Utc>,
    /// A value stream case whose tasks the employee's view lists.
    pub case_id: String,
}

/// One statement's plan: PostgreSQL's `EXPLAIN (ANALYZE, FORMAT JSON)`
/// document (the statement is run), or SQLite's `EXPLAIN QUERY PLAN` lines.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// Which read, as `function (filter)`.
    pub query: String,
    pub plan: String,
}

impl Store {
    /// The plan of every list and detail read of the API, with `p`'s values.
    pub async fn read_plans(&self, p: &PlanProbe) -> Result<Vec<ReadPlan>, StoreError> {
        let (pg, explain) = match self {
            // Run, not only planned: how many rows each step read and threw
            // away shows a page found by walking the table in an index's
            // order, which the plan alone does not.
            Store::Postgres(_) => (true, "EXPLAIN (ANALYZE, FORMAT JSON) "),
            Store::Sqlite(_) => (false, "EXPLAIN QUERY PLAN "),
        };
        let page = WorkItemFilter {
            limit: 50,
            ..Default::default()
        };
        let lists: Vec<(&str, WorkItemFilter)> = vec![
            ("work_items_page (no filter)", page.clone()),
            (
                "work_items_page (department)",
                WorkItemFilter {
                    department: Some(&p.department),
                    ..page.clone()
                },
            ),
            (
                "work_items_page (status)",
                WorkItemFilter {
                    status: Some(&p.status),
                    ..page.clone()
                },
            ),
            (
                "work_items_page (kind)",
                WorkItemFilter {
                    kind: Some(&p.kind),
                    ..page.clone()
                },
            ),
            (
                "work_items_page (system)",
                WorkItemFilter {
                    system: Some(&p.work_item_key.0),
                    ..page.clone()
                },
            ),
            (
                "work_items_page (requester)",
                WorkItemFilter {
                    requester: Some(&p.requester),
                    ..page.clone()
                },
            ),
            (
                "work_items_page (updated_since)",
                WorkItemFilter {
                    updated_since: Some(p.updated_since),
                    ..page.clone()
                },
            ),
            (
                "work_items_page (department, status, next page)",
                WorkItemFilter {
                    department: Some(&p.department),
                    status: Some(&p.status),
                    before_id: Some(p.work_item_id),
                    ..page.clone()
                },
            ),
        ];
        let people = PeopleFilter {
            limit: 50,
            ..Default::default()
        };
        let people_lists = [
            ("people_page (no filter)", people.clone()),
            (
                "people_page (department, active)",
                PeopleFilter {
                    department: Some(&p.department),
                    active: Some(true),
                    ..people.clone()
                },
            ),
            (
                "people_page (email)",
                PeopleFilter {
                    email: Some(&p.email),
                    ..people.clone()
                },
            ),
        ];
        let mine = RequestFilter {
            email: &p.email,
            id: None,
            before_id: None,
            limit: 50,
            classes: &[],
            own: true,
        };
        let requests = [
            ("requests_of (list)", mine.clone()),
            (
                "requests_of (one request)",
                RequestFilter {
                    id: Some(p.work_item_id),
                    limit: 1,
                    ..mine.clone()
                },
            ),
        ];
        let key = &p.work_item_key;
        let link_keys = [(key.0.clone(), key.2.clone())];
        let cases = [p.case_id.clone()];

        let mut plans = Vec::new();
        macro_rules! explain_all {
            ($pool:expr) => {{
                for (name, f) in &lists {
                    let mut qb = work_items_query(f, pg, explain);
                    plans.push((*name, explain_rows(&mut qb, $pool).await?));
                }
                for (name, f) in &people_lists {
                    let mut qb = people_query(f, pg, explain);
                    plans.push((*name, explain_rows(&mut qb, $pool).await?));
                }
                for (name, f) in &requests {
                    let mut qb = requests_query(f, pg, explain);
                    plans.push((*name, explain_rows(&mut qb, $pool).await?));
                }
                let mut qb = links_query(&link_keys, explain);
                plans.push(("links_of_many", explain_rows(&mut qb, $pool).await?));
                let mut qb = tasks_query(&cases, explain);
                plans.push(("tasks_of_cases", explain_rows(&mut qb, $pool).await?));
                let mut qb = work_item_query(p.work_item_id, pg, explain);
                plans.push(("work_item", explain_rows(&mut qb, $pool).await?));
                let by_key = (key.0.as_str(), key.1.as_str(), key.2.as_str());
                let mut qb = work_item_by_key_query(by_key, pg, explain);
                plans.push(("work_item_by_key", explain_rows(&mut qb, $pool).await?));
                let mut qb = activities_query(p.work_item_id, pg, explain);
                plans.push(("activities_of", explain_rows(&mut qb, $pool).await?));
                let mut qb = person_query(p.person_id, pg, explain);
                plans.push(("person", explain_rows(&mut qb, $pool).await?));
                let mut qb = native_offerings_query(MAX_NATIVE_OFFERINGS as i64 + 1, explain);
                plans.push(("native_offerings", explain_rows(&mut qb, $pool).await?));
            }};
        }
        match self {
            Store::Postgres(pool) => explain_all!(pool),
            Store::Sqlite(pool) => explain_all!(pool),
        }
        Ok(plans
            .into_iter()
            .map(|(query, plan)| ReadPlan {
                query: query.to_string(),
                plan,
            })
            .collect())
    }

    /// The plan the database makes for [`Store::requests_of`], with
    /// sequential scans discouraged on PostgreSQL (so a usable index shows
    /// even on a small table): for a test that the employee's view is
    /// index-backed.
    pub async fn requests_plan(&self, f: &RequestFilter<'_>) -> Result<String, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await?;
                let lines: Vec<String> = requests_query(f, true, "EXPLAIN ")
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await?;
                tx.rollback().await?;
                lines.join("\n")
            }
            Store::Sqlite(pool) => {
                explain_rows(&mut requests_query(f, false, "EXPLAIN QUERY PLAN "), pool).await?
            }
        })
    }
}

/// Run an `EXPLAIN`: PostgreSQL's one JSON document as text, SQLite's
/// plan lines (the `detail` column) one a line.
async fn explain_rows<'q, DB: ExplainRows>(
    qb: &mut QueryBuilder<'q, DB>,
    pool: &sqlx::Pool<DB>,
) -> Result<String, StoreError> {
    Ok(DB::rows(qb, pool).await?)
}

/// How each backend's `EXPLAIN` answers.
trait ExplainRows: sqlx::Database + Sized {
    async fn rows<'q>(
        qb: &mut QueryBuilder<'q, Self>,
        pool: &sqlx::Pool<Self>,
    ) -> Result<String, sqlx::Error>;
}

impl ExplainRows for sqlx::Postgres {
    async fn rows<'q>(
        qb: &mut QueryBuilder<'q, Self>,
        pool: &sqlx::Pool<Self>,
    ) -> Result<String, sqlx::Error> {
        let doc: serde_json::Value = qb.build_query_scalar().fetch_one(pool).await?;
        Ok(doc.to_string())
    }
}

impl ExplainRows for sqlx::Sqlite {
    async fn rows<'q>(
        qb: &mut QueryBuilder<'q, Self>,
        pool: &sqlx::Pool<Self>,
    ) -> Result<String, sqlx::Error> {
        let rows: Vec<(i64, i64, i64, String)> = qb.build_query_as().fetch_all(pool).await?;
        Ok(rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n"))
    }
}
