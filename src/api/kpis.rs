//! `GET /kpis`: the same numbers for every department (volume, first
//! response and resolution times, backlog, SLA, reopens, journeys),
//! computed in SQL over the canonical store (docs/KPIS.md).

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{ApiState, Caller, Problem};
use crate::store::{KpiGroup, KpiQuery, StoreError};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KpiParams {
    /// Start of the window (RFC 3339), included.
    from: DateTime<Utc>,
    /// End of the window (RFC 3339), excluded; at most 366 days after `from`.
    to: DateTime<Utc>,
    /// `department` (default), `week` or `system`.
    group_by: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiReport {
    pub from: String,
    pub to: String,
    pub group_by: String,
    /// One row per group, each number as docs/KPIS.md defines it.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<Value>,
}

/// KPIs for a window, by department, ISO week or system.
#[utoipa::path(
    get,
    path = "/api/v1/kpis",
    operation_id = "get_kpis",
    tag = "kpis",
    params(KpiParams),
    responses(
        (status = 200, description = "The KPIs", body = KpiReport),
        (status = 400, description = "A window or grouping that cannot work", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid bearer token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks the `read` scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn report(
    State(state): State<ApiState>,
    caller: Caller,
    query: Result<Query<KpiParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<KpiReport>, Problem> {
    caller.require("read")?;
    let Query(p) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let group_by = p.group_by.as_deref().unwrap_or("department");
    let group: KpiGroup = group_by
        .parse()
        .map_err(|e: crate::store::KpiError| Problem::bad_request(e.to_string()))?;
    let q = KpiQuery::new(p.from, p.to, group).map_err(|e| Problem::bad_request(e.to_string()))?;
    let rows = match state.store.kpis(&q).await {
        Ok(rows) => rows,
        Err(StoreError::Kpi(e)) => return Err(Problem::bad_request(e.to_string())),
        Err(e) => return Err(e.into()),
    };
    Ok(Json(KpiReport {
        from: p.from.to_rfc3339(),
        to: p.to.to_rfc3339(),
        group_by: group_by.to_string(),
        rows: rows
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect(),
    }))
}
