//! The HTTP API under `/api/v1` (docs/API.md): the unified picture the
//! store holds, for agents, portals and dashboards, without SQL.
//!
//! Every call carries a bearer token from `[api] tokens` (`auth.rs`);
//! errors are RFC 9457 problem details (`problem.rs`); the OpenAPI 3.1
//! document is generated from the handlers and served at
//! `/api/v1/openapi.json`. Handlers only read the store and shape the
//! answer: what a caller may not see (a confidential item, a classified
//! field) is left out here, once, for every route.

pub mod auth;
mod intake;
pub mod jwt;
mod kpis;
mod ops;
mod people;
mod problem;
mod repair;
mod requests;
mod services;
mod work_items;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use utoipa::OpenApi;

pub use auth::{Caller, Tokens, check_origin};
pub use intake::IDEMPOTENCY_HEADER;
pub use ops::{ConnectorStatus, Remote, StreamStatus, connector_statuses};
pub use problem::Problem;
pub use repair::DeadLetterBroker;
pub use requests::EMPLOYEE_HEADER;
// For the web pages (`crate::web`), which show what these routes answer.
pub(crate) use intake::{Ask, submit};
pub(crate) use requests::{Request, detail_of, latest_of};
pub use services::NativeService;
pub(crate) use services::native_of;

use crate::store::Store;

/// What the API's handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    pub store: Store,
    pub tokens: Arc<Tokens>,
    /// `services.toml`, if the deployment has one.
    pub services: Option<Arc<crate::services::Services>>,
    /// The routing the sync jobs share, for requests raised here.
    pub router: Option<Arc<crate::sync::Router>>,
    /// The connectors the daemon runs (filled in by `daemon::run`).
    pub connectors: Vec<Arc<crate::catalog::ConnectorJobs>>,
    /// With `[broker]`: where RabbitMQ keeps the writers' dead letters
    /// (`/dead-letters` reads and replays them there too).
    pub broker: Option<DeadLetterBroker>,
}

/// Every route the API serves, as `(method, path)`: the OpenAPI document
/// must describe each (a test holds them together).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/work-items"),
    ("get", "/api/v1/work-items/{id}"),
    ("get", "/api/v1/people"),
    ("get", "/api/v1/people/{id}"),
    ("get", "/api/v1/people/{id}/requests"),
    ("get", "/api/v1/me/requests"),
    ("get", "/api/v1/requests/{id}"),
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/services"),
    ("get", "/api/v1/kpis"),
    ("get", "/api/v1/connectors"),
    ("post", "/api/v1/connectors/{name}/sync"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/quarantine"),
    ("get", "/api/v1/quarantine/{id}"),
    ("post", "/api/v1/quarantine/{id}/retry"),
    ("post", "/api/v1/quarantine/retry"),
    ("get", "/api/v1/dead-letters"),
    ("post", "/api/v1/dead-letters/{id}/replay"),
    ("post", "/api/v1/dead-letters/replay"),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard API",
        description = "The unified picture of every department's work: work items, their journeys across systems, and the people directory. Authenticate with `Authorization: Bearer <token>`: a token from `[api] tokens`, or an employee's own JWT from the identity provider configured in `[api.jwt]` (which may list, read and raise only that employee's requests and read the catalogue); errors are RFC 9457 problem details."
    ),
    paths(
        work_items::list,
        work_items::detail,
        people::list,
        people::detail,
        requests::of_person,
        requests::mine,
        requests::detail,
        intake::raise,
        services::list,
        kpis::report,
        ops::connectors,
        ops::sync_now,
        ops::audit,
        repair::quarantine::list,
        repair::quarantine::detail,
        repair::quarantine::retry_one,
        repair::quarantine::retry_many,
        repair::dead_letters::list,
        repair::dead_letters::replay_one,
        repair::dead_letters::replay_all,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `[api] tokens` (its scopes decide what it may call), or an employee's own JWT signed by the identity provider of `[api.jwt]` (that employee's requests and the catalogue only)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's routes, to be merged into the daemon's router.
pub fn router(state: ApiState) -> Router {
    let v1 = Router::new()
        .route(
            "/openapi.json",
            get(|| async { axum::Json(ApiDoc::openapi()) }),
        )
        .route("/work-items", get(work_items::list))
        .route("/work-items/{id}", get(work_items::detail))
        .route("/people", get(people::list))
        .route("/people/{id}", get(people::detail))
        .route("/people/{id}/requests", get(requests::of_person))
        .route("/me/requests", get(requests::mine))
        .route("/requests", axum::routing::post(intake::raise))
        .route("/requests/{id}", get(requests::detail))
        .route("/services", get(services::list))
        .route("/kpis", get(kpis::report))
        .route("/connectors", get(ops::connectors))
        .route(
            "/connectors/{name}/sync",
            axum::routing::post(ops::sync_now),
        )
        .route("/audit", get(ops::audit))
        .route("/quarantine", get(repair::quarantine::list))
        .route("/quarantine/{id}", get(repair::quarantine::detail))
        .route(
            "/quarantine/{id}/retry",
            axum::routing::post(repair::quarantine::retry_one),
        )
        .route(
            "/quarantine/retry",
            axum::routing::post(repair::quarantine::retry_many),
        )
        .route("/dead-letters", get(repair::dead_letters::list))
        .route(
            "/dead-letters/{id}/replay",
            axum::routing::post(repair::dead_letters::replay_one),
        )
        .route(
            "/dead-letters/replay",
            axum::routing::post(repair::dead_letters::replay_all),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn(measure));
    let v1 = match cors(&state.tokens.cors_origins) {
        Some(layer) => v1.layer(layer),
        None => v1,
    };
    Router::new().nest("/api/v1", v1.with_state(state))
}

/// Count each call and time it, by route (the path's pattern, never the
/// ids in it), method and status, for `/metrics`.
async fn measure(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("switchboard_api_requests_total",
        "route" => route.clone(), "method" => method, "status" => status)
    .increment(1);
    metrics::histogram!("switchboard_api_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Browsers on these origins may call the API; none configured: no CORS
/// headers at all, so only same-origin pages and non-browser clients can.
fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(allowed)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static(EMPLOYEE_HEADER),
                HeaderName::from_static(IDEMPOTENCY_HEADER),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn not_found(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("no route `{}`", uri.path()))
}

/// A record as a caller may see it: fields classified with a class the
/// token lacks are left out and named in `withheld`; `classified` itself is
/// the hub's bookkeeping and never shown.
fn visible(record: &serde_json::Value, classes: &[String]) -> serde_json::Value {
    use serde_json::{Value, json};
    let (mut seen, withheld) = crate::routing::message::withhold(record, classes);
    if let Value::Object(m) = &mut seen {
        m.remove("classified");
        m.insert("withheld".into(), json!(withheld));
        if !m.get("attributes").is_some_and(Value::is_object) {
            m.insert("attributes".into(), json!({}));
        }
    }
    seen
}

/// How many items a page holds: `limit`, 1 to 200, default 50.
fn page_size(limit: Option<i64>) -> Result<i64, Problem> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=200).contains(&n) => Ok(n),
        Some(n) => Err(Problem::bad_request(format!(
            "limit {n} is out of range: 1 to 200"
        ))),
    }
}

/// The opaque cursor of a page: the id to continue below.
fn parse_cursor(cursor: Option<&str>) -> Result<Option<i64>, Problem> {
    cursor
        .map(|c| {
            c.parse::<i64>()
                .map_err(|_| Problem::bad_request(format!("`{c}` is not a cursor this API gave")))
        })
        .transpose()
}

/// The cursor of the next page, when this one was full.
fn next_cursor(
    ids: impl DoubleEndedIterator<Item = i64>,
    got: usize,
    limit: i64,
) -> Option<String> {
    (got as i64 == limit)
        .then(|| ids.last().map(|id| id.to_string()))
        .flatten()
}
