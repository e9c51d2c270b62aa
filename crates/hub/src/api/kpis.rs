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
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::OnceCell;

use crate::store::{KpiGroup, KpiQuery, KpiRow, Store, StoreError};

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
    let rows = match shared_kpis(&state.store, &q).await {
        Ok(rows) => rows,
        Err(e) => match &*e {
            StoreError::Kpi(e) => return Err(Problem::bad_request(e.to_string())),
            other => return Err(Problem::unavailable(other)),
        },
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

/// The answer of one KPI computation, shared by every call that waits on it.
type Shared = Result<Arc<Vec<KpiRow>>, Arc<StoreError>>;
type InFlight = HashMap<(String, KpiQuery), Arc<OnceCell<Shared>>>;

/// KPI computations under way, by store and query.
static IN_FLIGHT: LazyLock<Mutex<InFlight>> = LazyLock::new(Default::default);

/// The KPIs of `q`, computed once for all the calls asking for the same
/// window and grouping at the same time. A dashboard shown on many screens
/// asks for the same quarter at once; each computation reads a quarter of
/// the store, so 50 at once would queue for the database's cores for
/// seconds (docs/PERFORMANCE.md). A call that arrives after a computation
/// finished starts a new one: nothing is kept, so no answer is older than
/// the call that asked for it, less the one computation it joined.
async fn shared_kpis(store: &Store, q: &KpiQuery) -> Shared {
    let key = (store.identity(), q.clone());
    let cell = IN_FLIGHT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(key.clone())
        .or_default()
        .clone();
    // A caller that goes away mid-computation hands it to the next waiter.
    let answer = cell
        .get_or_init(|| async { store.kpis(q).await.map(Arc::new).map_err(Arc::new) })
        .await
        .clone();
    let mut in_flight = IN_FLIGHT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if in_flight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
        in_flight.remove(&key);
    }
    answer
}
