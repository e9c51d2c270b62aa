//! `GET /work-items` and `GET /work-items/{id}`: the agent's view of every
//! department's work, with each item's activities and the records linked
//! to it in other systems.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{ApiState, Caller, Problem, next_cursor, page_size, parse_cursor};
use crate::store::{ActivityRow, LinkRow, WorkItemFilter, WorkItemRow, json_column};

/// Filters of the work item list; all optional, combined with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Department, e.g. `facilities`.
    department: Option<String>,
    /// Canonical status: new, open, in_progress, waiting, resolved, closed, cancelled.
    status: Option<String>,
    /// incident, request, work_order, case or task.
    kind: Option<String>,
    /// The system the item lives in, e.g. `maximo`.
    system: Option<String>,
    /// The requester's reference (e-mail address or the source's id).
    requester: Option<String>,
    /// Only items the source updated at or after this time (RFC 3339).
    updated_since: Option<DateTime<Utc>>,
    /// From `next_cursor` of the page before.
    cursor: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// A work item in any department's system, as the hub holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkItem {
    /// The hub's id, for `GET /work-items/{id}`.
    pub id: i64,
    pub system: String,
    pub stream: String,
    /// The native system's id.
    pub external_id: String,
    /// A link to the record in the native system, if its mapping gives one.
    pub url: Option<String>,
    pub kind: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub status: String,
    /// The status as the native system names it.
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
    /// When the record was deleted in its system: the hub keeps it, marked
    /// (a tombstone, docs/CONNECTORS.md "Deletions"); absent while live.
    pub deleted_at: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Value,
    /// Classified fields left out: the token lacks their class.
    pub withheld: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkItemPage {
    pub items: Vec<WorkItem>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    /// `comment` or `status_change`.
    pub kind: String,
    pub author: Option<String>,
    pub body: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub at: Option<String>,
    pub system: String,
    /// `public`: the requester may read it too (their request's page
    /// shows it); `internal`: the departments only.
    pub visibility: String,
}

/// A record in another system linked to this one by routed work.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    /// `routed` (a rule sent work) or `task` (a value stream's task).
    pub relation: String,
    /// `to` when this item is the origin, `from` when it is the target.
    pub direction: &'static str,
    pub system: String,
    pub external_id: String,
    /// The hub's id of the other record, once it has been synced.
    pub id: Option<i64>,
    pub title: Option<String>,
    pub status: Option<String>,
    pub url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkItemDetail {
    pub item: WorkItem,
    pub activities: Vec<Activity>,
    pub links: Vec<Link>,
}

impl From<ActivityRow> for Activity {
    fn from(a: ActivityRow) -> Self {
        Self {
            kind: a.kind,
            author: a.author_ref,
            body: a.body,
            from_status: a.from_status,
            to_status: a.to_status,
            at: a.occurred_at,
            system: a.source_system,
            visibility: a.visibility,
        }
    }
}

impl From<LinkRow> for Link {
    fn from(l: LinkRow) -> Self {
        Self {
            relation: l.relation,
            direction: if l.outgoing { "to" } else { "from" },
            system: l.other_system,
            external_id: l.other_external_id,
            id: l.other_id,
            title: l.other_title,
            status: l.other_status,
            url: l.other_url,
        }
    }
}

/// The item as the caller may see it: classified fields of a class the
/// token lacks are left out, and named in `withheld`.
pub fn shape(row: WorkItemRow, classes: &[String]) -> WorkItem {
    let record = json!({
        "id": row.id, "system": row.source_system, "stream": row.source_stream,
        "external_id": row.external_id, "url": row.external_url, "kind": row.kind,
        "title": row.title, "description": row.description, "status": row.status,
        "native_status": row.native_status, "priority": row.priority,
        "department": row.department, "requester_ref": row.requester_ref,
        "assignee_group": row.assignee_group, "opened_at": row.opened_at,
        "updated_at": row.updated_at, "resolved_at": row.resolved_at,
        "closed_at": row.closed_at, "due_at": row.due_at,
        "deleted_at": row.deleted_at,
        "attributes": json_column(&row.attributes),
        "classified": json_column(&row.classified),
    });
    serde_json::from_value(super::visible(&record, classes)).unwrap_or_else(|_| WorkItem {
        id: row.id,
        system: row.source_system,
        stream: row.source_stream,
        external_id: row.external_id,
        url: None,
        kind: row.kind,
        title: None,
        description: None,
        status: row.status,
        native_status: None,
        priority: None,
        department: row.department,
        requester_ref: None,
        assignee_group: None,
        opened_at: None,
        updated_at: None,
        resolved_at: None,
        closed_at: None,
        due_at: None,
        deleted_at: row.deleted_at,
        attributes: json!({}),
        withheld: vec!["*".into()],
    })
}

/// Whether the caller is cleared for the item's confidentiality class.
fn cleared(row: &WorkItemRow, classes: &[String]) -> bool {
    match json_column(&row.attributes)
        .get("confidential")
        .and_then(Value::as_str)
    {
        None => true,
        Some(class) => classes.iter().any(|c| c == class),
    }
}

/// Work items of every department, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/work-items",
    operation_id = "list_work_items",
    tag = "work items",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of work items", body = WorkItemPage),
        (status = 400, description = "A filter or cursor that cannot work", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<WorkItemPage>, Problem> {
    caller.require("read")?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = page_size(q.limit)?;
    let classes = caller.classes();
    let filter = WorkItemFilter {
        department: q.department.as_deref(),
        status: q.status.as_deref(),
        kind: q.kind.as_deref(),
        system: q.system.as_deref(),
        requester: q.requester.as_deref(),
        updated_since: q.updated_since,
        before_id: parse_cursor(q.cursor.as_deref())?,
        limit,
        classes: &classes,
    };
    let rows = state.store.work_items_page(&filter).await?;
    let got = rows.len();
    let next = next_cursor(rows.iter().map(|r| r.id), got, limit);
    let items = rows.into_iter().map(|r| shape(r, &classes)).collect();
    Ok(Json(WorkItemPage {
        items,
        next_cursor: next,
    }))
}

/// One work item with its activities and linked records.
#[utoipa::path(
    get,
    path = "/api/v1/work-items/{id}",
    operation_id = "get_work_item",
    tag = "work items",
    params(("id" = i64, Path, description = "The hub's id of the work item")),
    responses(
        (status = 200, description = "The work item", body = WorkItemDetail),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such work item, or one the token may not see", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn detail(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WorkItemDetail>, Problem> {
    caller.require("read")?;
    let classes = caller.classes();
    let missing = || Problem::not_found(format!("no work item {id}"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    let row = match state.store.work_item(id).await? {
        // A confidential item is not there for a caller not cleared for it.
        Some(row) if cleared(&row, &classes) => row,
        _ => return Err(missing()),
    };
    let activities = state
        .store
        .activities_of(id)
        .await?
        .into_iter()
        .map(Activity::from)
        .collect();
    let links = state
        .store
        .links_of(&row.source_system, &row.external_id)
        .await?
        .into_iter()
        .map(Link::from)
        .collect();
    Ok(Json(WorkItemDetail {
        item: shape(row, &classes),
        activities,
        links,
    }))
}
