//! The employee's view: everything a person raised or is the subject of,
//! in any department, with where it is now and its journey across systems
//! (the records linked to it, a case's tasks with their statuses).
//!
//! `GET /me/requests` and `GET /requests/{id}` are for the employee: signed
//! in with their own token (a JWT), or through a `portal` token, which acts
//! for the employee named by the `Switchboard-Employee` header (the portal
//! has signed them in); `GET /people/{id}/requests` is the same
//! list for an agent (`read`). An employee sees status changes and the
//! hub's own progress notes, never a department's internal comments.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::work_items::{Activity, Link, WorkItem, shape};
use super::{ApiState, Caller, Problem, next_cursor, page_size, parse_cursor};
use crate::store::{CASES, HUB, RequestFilter, WorkItemRow};

/// The header naming the employee a `portal` token acts for.
pub const EMPLOYEE_HEADER: &str = "switchboard-employee";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From `next_cursor` of the page before.
    cursor: Option<String>,
    /// Requests per page, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// A task of a value stream's case, in the department that does it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub department: Option<String>,
}

/// Where a request went: records in other systems, and a case's tasks.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Journey {
    pub links: Vec<Link>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Request {
    pub item: WorkItem,
    pub journey: Journey,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestPage {
    pub items: Vec<Request>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestDetail {
    pub request: Request,
    /// Status changes and the hub's progress notes, oldest first.
    pub activities: Vec<Activity>,
}

/// The requests with their journeys: links and tasks for the whole page
/// in one query each.
pub(crate) async fn with_journeys(
    state: &ApiState,
    rows: Vec<WorkItemRow>,
    classes: &[String],
) -> Result<Vec<Request>, Problem> {
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.source_system.clone(), r.external_id.clone()))
        .collect();
    let mut links: HashMap<(String, String), Vec<Link>> = HashMap::new();
    for (key, l) in state.store.links_of_many(&keys).await? {
        links.entry(key).or_default().push(Link::from(l));
    }
    let cases: Vec<String> = rows
        .iter()
        .filter(|r| r.source_system == HUB && r.source_stream == CASES)
        .map(|r| r.external_id.clone())
        .collect();
    let mut tasks: HashMap<String, Vec<Task>> = HashMap::new();
    for t in state.store.tasks_of_cases(&cases).await? {
        let case = t
            .external_id
            .rsplit_once('#')
            .map(|(c, _)| c.to_string())
            .unwrap_or_default();
        tasks.entry(case).or_default().push(Task {
            id: t.id,
            title: t.title,
            status: t.status,
            department: t.department,
        });
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let key = (r.source_system.clone(), r.external_id.clone());
            let journey = Journey {
                links: links.remove(&key).unwrap_or_default(),
                tasks: tasks.remove(&r.external_id).unwrap_or_default(),
            };
            Request {
                item: shape(r, classes),
                journey,
            }
        })
        .collect())
}

/// `email`'s latest `limit` requests with their journeys, newest first.
pub(crate) async fn latest_of(
    state: &ApiState,
    email: &str,
    limit: i64,
    classes: &[String],
) -> Result<Vec<Request>, Problem> {
    let q = PageQuery {
        cursor: None,
        limit: Some(limit),
    };
    Ok(page_of(state, email, q, classes, true).await?.items)
}

async fn page_of(
    state: &ApiState,
    email: &str,
    q: PageQuery,
    classes: &[String],
    own: bool,
) -> Result<RequestPage, Problem> {
    let limit = page_size(q.limit)?;
    let rows = state
        .store
        .requests_of(&RequestFilter {
            email,
            id: None,
            before_id: parse_cursor(q.cursor.as_deref())?,
            limit,
            classes,
            own,
        })
        .await?;
    let got = rows.len();
    let next = next_cursor(rows.iter().map(|r| r.id), got, limit);
    Ok(RequestPage {
        items: with_journeys(state, rows, classes).await?,
        next_cursor: next,
    })
}

/// What the signed-in employee raised or is the subject of, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/requests",
    operation_id = "list_my_requests",
    tag = "employee",
    params(PageQuery, ("Switchboard-Employee" = String, Header, description = "The e-mail address of the employee the portal acts for")),
    responses(
        (status = 200, description = "A page of the employee's requests", body = RequestPage),
        (status = 400, description = "No employee named, or a cursor that cannot work", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `portal` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn mine(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RequestPage>, Problem> {
    let email = caller.employee(&headers)?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    Ok(Json(
        page_of(&state, &email, q, &caller.classes(), true).await?,
    ))
}

/// A person's requests, as the employee sees them, for an agent.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}/requests",
    operation_id = "list_person_requests",
    tag = "people",
    params(("id" = i64, Path, description = "The hub's id of the person"), PageQuery),
    responses(
        (status = 200, description = "A page of the person's requests", body = RequestPage),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person, or one without an e-mail address", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn of_person(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<RequestPage>, Problem> {
    caller.require("read")?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let missing = || Problem::not_found(format!("no person {id} with an e-mail address"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    let email = state
        .store
        .person(id)
        .await?
        .and_then(|p| p.email)
        .ok_or_else(missing)?;
    Ok(Json(
        page_of(&state, &email, q, &caller.classes(), false).await?,
    ))
}

/// One of the employee's requests, with what they may see of its history.
#[utoipa::path(
    get,
    path = "/api/v1/requests/{id}",
    operation_id = "get_my_request",
    tag = "employee",
    params(("id" = i64, Path, description = "The hub's id of the request"), ("Switchboard-Employee" = String, Header, description = "The e-mail address of the employee the portal acts for")),
    responses(
        (status = 200, description = "The request", body = RequestDetail),
        (status = 400, description = "No employee named", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `portal` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such request of this employee", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn detail(
    State(state): State<ApiState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, Problem> {
    let email = caller.employee(&headers)?;
    let missing = || Problem::not_found(format!("no request {id} of {email}"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    detail_of(&state, &email, &caller.classes(), id)
        .await?
        .map(Json)
        .ok_or_else(missing)
}

/// One of `email`'s requests with what an employee may see of its
/// history; `None` when it is not theirs (or not there).
pub(crate) async fn detail_of(
    state: &ApiState,
    email: &str,
    classes: &[String],
    id: i64,
) -> Result<Option<RequestDetail>, Problem> {
    let rows = state
        .store
        .requests_of(&RequestFilter {
            email,
            id: Some(id),
            before_id: None,
            limit: 1,
            classes,
            own: true,
        })
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    // Status changes, and what a department or the hub marked public (a
    // reply, where the work went): a work note is the department's own.
    let activities = state
        .store
        .activities_of(id)
        .await?
        .into_iter()
        .filter(|a| a.kind == "status_change" || a.visibility == "public")
        .map(Activity::from)
        .collect();
    let mut requests = with_journeys(state, rows, classes).await?;
    Ok(Some(RequestDetail {
        request: requests.remove(0),
        activities,
    }))
}
