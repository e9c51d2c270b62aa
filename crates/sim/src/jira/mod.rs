//! Jira Service Management Cloud simulator: one IT service desk behind the
//! servicedeskapi's request resources, for integration tests and the demo.
//! This module owns the public handle and the shared state (customers,
//! requests, clock, request log, injected faults, hooks); `model` the data
//! and the workflow, `render` the JSON shapes, `http` the wire behaviour
//! (`http/read` the paged lists, `http/writes` the create, comment and
//! transition endpoints) and `seed` the initial data. It never decides
//! anything for the connector: it only answers as the real API does.
//!
//! Followed: the Jira Service Management Cloud REST reference, "Request"
//! group (developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/:
//! GET/POST `/rest/servicedeskapi/request`, `…/{issueIdOrKey}/comment`,
//! `…/{issueIdOrKey}/transition`), its pagination (`start`, `limit`,
//! `isLastPage`) and the Jira Cloud "Rate limiting" page
//! (developer.atlassian.com/cloud/jira/platform/rate-limiting/).

mod http;
pub mod model;
mod render;
pub mod seed;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

pub use model::{Comment, Customer, Request, StatusChange};

use crate::controls::{Controls, HasControls, Sim};

/// How the simulated site is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The integration account's email: the user name of Basic auth on Jira Cloud.
    pub email: String,
    /// Its API token: the password of Basic auth.
    pub api_token: String,
    /// Number of seeded requests.
    pub requests: usize,
    pub seed: u64,
    /// The site's time zone, in which every date is rendered.
    pub time_zone: Tz,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            email: "switchboard@example.com".into(),
            api_token: "sim-api-token".into(),
            requests: 40,
            seed: 42,
            time_zone: chrono_tz::Europe::Amsterdam,
        }
    }
}

/// A failure the next authenticated requests answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After`, `X-RateLimit-Reset`, `X-RateLimit-Limit`,
    /// `X-RateLimit-Remaining` and `RateLimit-Reason`, as Jira's burst limit sends it.
    TooManyRequests { retry_after_secs: u64 },
    /// 500 with a servicedeskapi error body.
    ServerError,
    /// 503; Jira sends `Retry-After` with some ("a resource limit has been reached").
    Unavailable { retry_after_secs: Option<u64> },
}

/// One request as the simulator saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded, in order (names may repeat).
    pub query: Vec<(String, String)>,
    pub status: u16,
}

impl RequestLog {
    /// The last value of a query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The site's state; its test controls are [`Controls`].
pub struct State {
    config: SimConfig,
    /// The integration account the configured credentials belong to (an agent).
    me: Customer,
    customers: Vec<Customer>,
    agents: Vec<Customer>,
    /// In creation order.
    data: Vec<Request>,
    controls: Controls<Fault, RequestLog, JiraSim>,
    next_issue: u64,
    next_comment: u64,
}

impl State {
    fn now(&self) -> DateTime<Utc> {
        self.controls.clock().unwrap_or_else(Utc::now)
    }

    fn find_mut(&mut self, id_or_key: &str) -> Option<&mut Request> {
        self.data.iter_mut().find(|r| r.is(id_or_key))
    }

    fn find(&self, id_or_key: &str) -> Option<&Request> {
        self.data.iter().find(|r| r.is(id_or_key))
    }

    /// Stores a request, numbering it when it has no issue id yet; returns the issue id.
    fn insert(&mut self, mut request: Request) -> u64 {
        if request.issue_id == 0 {
            self.next_issue += 1;
            request.issue_id = 10_000 + self.next_issue;
            request.issue_key = format!("IT-{}", self.next_issue);
        }
        let id = request.issue_id;
        self.data.push(request);
        id
    }

    fn add_comment(&mut self, id_or_key: &str, body: &str, public: bool) -> Option<Comment> {
        let now = self.now();
        self.next_comment += 1;
        let comment = Comment {
            id: self.next_comment,
            body: body.to_string(),
            public,
            author: self.me.clone(),
            created: now,
        };
        let r = self.find_mut(id_or_key)?;
        r.comments.push(comment.clone());
        r.last_activity = r.last_activity.max(now);
        Some(comment)
    }
}

impl HasControls for State {
    type Fault = Fault;
    type Log = RequestLog;
    fn controls(&mut self) -> &mut Controls<Fault, RequestLog, JiraSim> {
        &mut self.controls
    }
}

/// A handle on one simulated site; clones share the same state. The test
/// controls (`inject`, `requests`, `set_latency`, `set_now`, `clear_now`,
/// `after_list_request`) are [`Sim`]'s; a list request is
/// `GET /rest/servicedeskapi/request` answered 200.
pub type JiraSim = Sim<State>;

/// `JiraSim` serving on a local port (see [`crate::server`]).
pub type SimHandle = crate::server::SimHandle<JiraSim>;

impl JiraSim {
    /// A seeded site on the real clock.
    pub fn new(config: SimConfig) -> Self {
        Self::build(config, None)
    }

    /// A seeded site whose clock is frozen at `now`, so seed timestamps and
    /// the relative `friendly` dates are reproducible too.
    pub fn with_clock(config: SimConfig, now: DateTime<Utc>) -> Self {
        Self::build(config, Some(now))
    }

    fn build(config: SimConfig, clock: Option<DateTime<Utc>>) -> Self {
        let mut rng = seed::Rng::new(config.seed);
        let people = seed::people(&mut rng);
        let mut next_comment = 10_000;
        let data = seed::requests(
            &mut rng,
            &people,
            config.requests,
            clock.unwrap_or_else(Utc::now),
            &mut next_comment,
        );
        let me = Customer {
            account_id: rng.account_id(),
            email: Some(config.email.clone()),
            display_name: "Switchboard Integration".into(),
            time_zone: config.time_zone.name().into(),
        };
        let state = State {
            next_issue: data.len() as u64,
            config,
            me,
            customers: people.customers,
            agents: people.agents,
            data,
            controls: Controls::new(clock),
            next_comment,
        };
        Sim::from_state(state)
    }

    /// Binds 127.0.0.1:0 and serves until the handle is dropped or shut down.
    pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
        Self::new(config).serve().await
    }

    /// A new, unsaved request of `request_type_id` raised now by the first
    /// seeded customer, for a test to adjust and `insert`.
    pub fn template(&self, request_type_id: &str, summary: &str) -> Request {
        let st = self.lock();
        let now = st.now();
        Request {
            issue_id: 0,
            issue_key: String::new(),
            service_desk_id: model::SERVICE_DESK_ID.into(),
            request_type_id: request_type_id.into(),
            reporter: st
                .customers
                .first()
                .cloned()
                .unwrap_or_else(|| st.me.clone()),
            participants: Vec::new(),
            summary: summary.into(),
            description: None,
            priority: None,
            created: now,
            history: vec![StatusChange {
                status: model::INITIAL_STATUS.into(),
                at: now,
            }],
            comments: Vec::new(),
            last_activity: now,
        }
    }

    /// Stores a request and returns its issue id; one with `issue_id == 0`
    /// gets the next id and key.
    pub fn insert(&self, request: Request) -> String {
        self.lock().insert(request).to_string()
    }

    /// Changes a request as an agent would in the Jira UI; the change counts
    /// as activity now. False when there is no such request.
    pub fn update(&self, id_or_key: &str, change: impl FnOnce(&mut Request)) -> bool {
        let mut st = self.lock();
        let now = st.now();
        let Some(r) = st.find_mut(id_or_key) else {
            return false;
        };
        change(r);
        r.last_activity = r.last_activity.max(now);
        true
    }

    /// Moves a request to `status` now, as an agent's transition would.
    pub fn transition(&self, id_or_key: &str, status: &str) -> bool {
        let mut st = self.lock();
        let now = st.now();
        st.find_mut(id_or_key)
            .map(|r| r.set_status(status, now))
            .is_some()
    }

    /// Adds a comment by the integration account now.
    pub fn comment(&self, id_or_key: &str, body: &str, public: bool) -> bool {
        self.lock().add_comment(id_or_key, body, public).is_some()
    }

    pub fn get(&self, id_or_key: &str) -> Option<Request> {
        self.lock().find(id_or_key).cloned()
    }

    /// A request as `GET /rest/servicedeskapi/request/{id}?expand=…` shows
    /// it to a client of `site` (e.g. `https://acme.atlassian.net`).
    pub fn render(&self, id_or_key: &str, expand: &str, site: &str) -> Option<Value> {
        let st = self.lock();
        let ctx = render::Ctx {
            site,
            tz: st.config.time_zone,
            now: st.now(),
        };
        st.find(id_or_key)
            .map(|r| render::request(r, &render::Expand::parse([expand]), &ctx))
    }

    /// Every request, in creation order.
    pub fn records(&self) -> Vec<Request> {
        self.lock().data.clone()
    }

    pub fn count(&self) -> usize {
        self.lock().data.len()
    }

    /// The seeded employees (who raise requests).
    pub fn customers(&self) -> Vec<Customer> {
        self.lock().customers.clone()
    }

    /// The seeded IT agents.
    pub fn agents(&self) -> Vec<Customer> {
        self.lock().agents.clone()
    }

    /// The integration account the configured credentials belong to.
    pub fn me(&self) -> Customer {
        self.lock().me.clone()
    }
}
