//! `GET /services`: the front door's offerings from `services.toml`, with
//! their forms, for a portal to show and an agent to look up, and after
//! them the offerings synced from systems' own catalogues (`native`), which
//! an employee asks for in that system by following `external_url`. Where
//! each catalogue offering's work goes (`to`, `set`) stays the admins'
//! business.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{ApiState, Caller, Problem};
use crate::store::{MAX_NATIVE_OFFERINGS, NativeOffering};

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    /// In the catalogue's order: id, name, description, department, kind,
    /// confidential, sla_hours, and the form's fields (name, label, type,
    /// required, max_length, choices, help). See docs/SERVICES.md.
    #[schema(value_type = Vec<Object>)]
    pub offerings: Vec<Value>,
    /// The active items of the systems' own catalogues (ServiceNow catalogue
    /// items, Jira request types, …) as their connectors last synced them,
    /// by department (none last), then name. Not raised through the hub:
    /// `external_url` is where to ask. At most 1000 (see `native_truncated`).
    pub native: Vec<NativeService>,
    /// More native offerings are active than `native` lists (the cap is 1000).
    pub native_truncated: bool,
}

/// An offering of a system's own catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NativeService {
    /// `<system>:<external_id>`, e.g. `servicenow:e8d6…`.
    #[schema(example = "jira:11")]
    pub id: String,
    /// The connector it was synced from.
    pub system: String,
    pub name: String,
    pub description: Option<String>,
    /// As the item's mapping says, else its connector's department.
    pub department: Option<String>,
    pub category: Option<String>,
    /// The system's own page where an employee asks for it; `null` when the
    /// mapping builds none.
    pub external_url: Option<String>,
}

impl From<NativeOffering> for NativeService {
    fn from(o: NativeOffering) -> Self {
        NativeService {
            id: format!("{}:{}", o.source_system, o.external_id),
            system: o.source_system,
            name: o.name,
            description: o.description,
            department: o.department,
            category: o.category,
            external_url: o.external_url,
        }
    }
}

/// The offerings of the front door.
#[utoipa::path(
    get,
    path = "/api/v1/services",
    operation_id = "list_services",
    tag = "services",
    responses(
        (status = 200, description = "The service catalogue, then the systems' own catalogues", body = ServiceList),
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
    let (native, native_truncated) = native_of(&state).await?;
    Ok(Json(ServiceList {
        offerings,
        native,
        native_truncated,
    }))
}

/// The systems' own offerings as `native` lists them, and whether the list
/// was cut at the cap: for this route and the portal alike.
pub(crate) async fn native_of(state: &ApiState) -> Result<(Vec<NativeService>, bool), Problem> {
    let native = state.store.native_offerings(MAX_NATIVE_OFFERINGS).await?;
    let items = native.items.into_iter().map(NativeService::from).collect();
    Ok((items, native.truncated))
}
