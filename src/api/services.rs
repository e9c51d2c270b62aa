//! `GET /services`: the front door's offerings from `services.toml`, with
//! their forms, for a portal to show and an agent to look up. Where each
//! offering's work goes (`to`, `set`) stays the admins' business.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{ApiState, Caller, Problem};

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    /// In the catalogue's order: id, name, description, department, kind,
    /// confidential, sla_hours, and the form's fields (name, label, type,
    /// required, max_length, choices, help). See docs/SERVICES.md.
    #[schema(value_type = Vec<Object>)]
    pub offerings: Vec<Value>,
}

/// The offerings of the front door.
#[utoipa::path(
    get,
    path = "/api/v1/services",
    operation_id = "list_services",
    tag = "services",
    responses(
        (status = 200, description = "The service catalogue", body = ServiceList),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token has neither `read` nor `portal`, nor is it an employee's own", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    caller: Caller,
) -> Result<Json<ServiceList>, Problem> {
    // The catalogue is what an employee asks from, however they sign in.
    if !caller.has("portal") && !caller.is_employee() {
        caller.require("read")?;
    }
    let offerings = state
        .services
        .as_ref()
        .map(|s| {
            s.offerings
                .iter()
                .filter_map(|o| serde_json::to_value(o).ok())
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(ServiceList { offerings }))
}
