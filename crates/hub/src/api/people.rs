//! `GET /people` and `GET /people/{id}`: the directory the HR systems
//! feed, with classified fields (salary, say) withheld unless the token
//! carries their class.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{ApiState, Caller, Problem, next_cursor, page_size, parse_cursor};
use crate::store::{PeopleFilter, PersonRow, json_column};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    department: Option<String>,
    /// `true`: only people employed now; `false`: only those who are not.
    active: Option<bool>,
    /// One address, compared without regard to case.
    email: Option<String>,
    /// From `next_cursor` of the page before.
    cursor: Option<String>,
    /// People per page, 1 to 200 (default 50).
    limit: Option<i64>,
}

/// A person as one HR system (or other source) has them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Person {
    pub id: i64,
    pub system: String,
    pub external_id: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub manager_ref: Option<String>,
    pub active: Option<bool>,
    /// First working day, `YYYY-MM-DD`.
    pub start_date: Option<String>,
    /// Last working day, `YYYY-MM-DD`.
    pub end_date: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: Value,
    /// Classified fields left out: the token lacks their class.
    pub withheld: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonPage {
    pub items: Vec<Person>,
    pub next_cursor: Option<String>,
}

fn shape(row: PersonRow, classes: &[String]) -> Person {
    let record = json!({
        "id": row.id, "system": row.source_system, "external_id": row.external_id,
        "display_name": row.display_name, "email": row.email,
        "employee_number": row.employee_number, "department": row.department,
        "manager_ref": row.manager_ref, "active": row.active,
        "start_date": row.start_date, "end_date": row.end_date,
        "attributes": json_column(&row.attributes),
        "classified": json_column(&row.classified),
    });
    serde_json::from_value(super::visible(&record, classes)).unwrap_or_else(|_| Person {
        id: row.id,
        system: row.source_system,
        external_id: row.external_id,
        display_name: None,
        email: None,
        employee_number: None,
        department: None,
        manager_ref: None,
        active: None,
        start_date: None,
        end_date: None,
        attributes: json!({}),
        withheld: vec!["*".into()],
    })
}

/// The people directory, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/people",
    operation_id = "list_people",
    tag = "people",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of people", body = PersonPage),
        (status = 400, description = "A filter or cursor that cannot work", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PersonPage>, Problem> {
    caller.require("read")?;
    let Query(q) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = page_size(q.limit)?;
    let classes = caller.classes();
    let rows = state
        .store
        .people_page(&PeopleFilter {
            department: q.department.as_deref(),
            active: q.active,
            email: q.email.as_deref(),
            before_id: parse_cursor(q.cursor.as_deref())?,
            limit,
        })
        .await?;
    let got = rows.len();
    let next = next_cursor(rows.iter().map(|r| r.id), got, limit);
    Ok(Json(PersonPage {
        items: rows.into_iter().map(|r| shape(r, &classes)).collect(),
        next_cursor: next,
    }))
}

/// One person.
#[utoipa::path(
    get,
    path = "/api/v1/people/{id}",
    operation_id = "get_person",
    tag = "people",
    params(("id" = i64, Path, description = "The hub's id of the person")),
    responses(
        (status = 200, description = "The person", body = Person),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such person", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn detail(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Person>, Problem> {
    caller.require("read")?;
    let missing = || Problem::not_found(format!("no person {id}"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    let row = state.store.person(id).await?.ok_or_else(missing)?;
    Ok(Json(shape(row, &caller.classes())))
}
