//! Signing in to the pages: a token from `[api] tokens`, checked by the
//! API's own `Tokens::authenticate`, becomes a session; or a reverse proxy
//! says who the employee is (`[web] trusted_user_header`).
//!
//! The cookie holds a random session id, never the token. Sessions live
//! in this process's memory: signing out really ends one, nothing secret
//! reaches the browser, and there is no key to manage. The price is that a
//! restart signs everyone out, which for an operator's status page and an
//! employee raising a request now and then is cheap. A signed or encrypted
//! cookie would survive restarts but could not be revoked, and would need
//! a key that every replica shares.
//!
//! Every form POST must come from this site: its `Origin` (else its
//! `Referer`) must name the host the request was sent to, on top of the
//! cookie's `SameSite=Strict`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{Nav, WebState, layout};
use crate::api::Caller;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "switchboard_session";

/// How long a session lasts without use: a working day.
const IDLE: Duration = Duration::from_secs(8 * 3600);

/// Who is signed in.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub caller: Caller,
    /// For a portal sign-in: the employee it acts for.
    pub employee: Option<String>,
    /// Signed in by the reverse proxy, so there is nothing to sign out of.
    pub by_proxy: bool,
}

impl Session {
    /// The name shown in the header.
    pub fn who(&self) -> &str {
        self.employee.as_deref().unwrap_or(&self.caller.name)
    }
}

struct Entry {
    session: Session,
    last_used: Instant,
}

/// The sessions of this process, by the id their cookie carries.
#[derive(Default)]
pub(super) struct Sessions {
    by_id: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    fn open(&self, session: Session) -> String {
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let now = Instant::now();
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        // Expired sessions go when new ones come, so the map stays small.
        map.retain(|_, e| now.duration_since(e.last_used) < IDLE);
        map.insert(
            id.clone(),
            Entry {
                session,
                last_used: now,
            },
        );
        id
    }

    fn get(&self, id: &str) -> Option<Session> {
        let now = Instant::now();
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.get_mut(id)?;
        if now.duration_since(entry.last_used) >= IDLE {
            map.remove(id);
            return None;
        }
        entry.last_used = now;
        Some(entry.session.clone())
    }

    fn close(&self, id: &str) {
        let mut map = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(id);
    }
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// The signed-in person, if any: a session cookie, else the proxy's header.
pub(super) struct MaybeSession(pub Option<Session>);

impl FromRequestParts<WebState> for MaybeSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(s) = cookie(&parts.headers).and_then(|id| state.sessions.get(id)) {
            return Ok(MaybeSession(Some(s)));
        }
        let proxied = state
            .trusted_user_header
            .as_ref()
            .and_then(|h| parts.headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|e| e.contains('@'))
            .map(|e| Session {
                caller: Caller::portal_user(e),
                employee: Some(e.to_string()),
                by_proxy: true,
            });
        Ok(MaybeSession(proxied))
    }
}

/// Whether a form POST came from a page of this site: the host its
/// `Origin` (or, without one, its `Referer`) names is the `Host` it was
/// sent to. A POST with neither is refused: every browser that can submit
/// these forms sends one.
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let from = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok());
    match (host, from) {
        (Some(host), Some(url)) => {
            let origin_host = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => return false,
            };
            origin_host.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

/// The answer to a POST from elsewhere.
pub(super) fn forbidden_origin() -> Response {
    super::error_page(
        StatusCode::FORBIDDEN,
        None,
        "This form came from another site",
        "Switchboard only takes forms sent from its own pages. Open the page again and send the form from there.",
    )
}

/// Where to go after signing in: a path on this site, nothing else.
fn safe_next(next: Option<&str>) -> Option<&str> {
    next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

/// `GET /signin`.
pub(super) async fn form(
    MaybeSession(session): MaybeSession,
    Query(q): Query<NextQuery>,
) -> Response {
    sign_in_page(
        StatusCode::OK,
        session.as_ref(),
        q.next.as_deref(),
        None,
        "",
    )
}

fn sign_in_page(
    status: StatusCode,
    session: Option<&super::Session>,
    next: Option<&str>,
    error: Option<&str>,
    employee: &str,
) -> Response {
    let main = html! {
        h1 { "Sign in to Switchboard" }
        p { "Use the access token you were given. An employee signing in to raise and follow requests also gives their work e-mail address." }
        @if let Some(e) = error {
            p class="error" role="alert" id="signin-error" { (e) }
        }
        form method="post" action="/signin" class="stack" {
            @if let Some(n) = safe_next(next) {
                input type="hidden" name="next" value=(n);
            }
            div class="field" {
                label for="token" { "Access token" }
                input id="token" name="token" type="password" required autocomplete="current-password"
                    aria-describedby=[error.map(|_| "signin-error")];
            }
            div class="field" {
                label for="employee" { "Your work e-mail address" }
                p class="help" id="employee-help" { "Needed for the employee portal; leave empty for the status page." }
                input id="employee" name="employee" type="email" autocomplete="email"
                    value=(employee) aria-describedby="employee-help";
            }
            button type="submit" { "Sign in" }
        }
    };
    (status, layout("Sign in", session, Nav::None, main)).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct SignIn {
    token: String,
    #[serde(default)]
    employee: String,
    next: Option<String>,
}

/// `POST /signin`: the token through the API's check, then a session.
pub(super) async fn sign_in(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(f): Form<SignIn>,
) -> Response {
    if !same_origin(&headers) {
        return forbidden_origin();
    }
    let next = safe_next(f.next.as_deref());
    let employee = f.employee.trim();
    let caller = match state.api.tokens.authenticate(f.token.trim()) {
        Ok(c) => c,
        Err(p) if p.status == StatusCode::TOO_MANY_REQUESTS.as_u16() => {
            let msg = "Too many attempts with this token. Wait a minute and try again.";
            return sign_in_page(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                next,
                Some(msg),
                employee,
            );
        }
        Err(_) => {
            let msg = "That token is not one Switchboard knows. Check it and try again.";
            return sign_in_page(StatusCode::UNAUTHORIZED, None, next, Some(msg), employee);
        }
    };
    let portal = caller.has("portal");
    if portal && !employee.is_empty() && !employee.contains('@') {
        let msg = "Give your work e-mail address, such as name@example.com.";
        return sign_in_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            next,
            Some(msg),
            employee,
        );
    }
    let acts_for_employee = portal && !employee.is_empty();
    if !caller.has("read") && !acts_for_employee {
        let msg = if portal {
            "This token is for the employee portal: give your work e-mail address too."
        } else {
            "This token cannot open any of these pages."
        };
        return sign_in_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            next,
            Some(msg),
            employee,
        );
    }
    let employee = acts_for_employee.then(|| employee.to_string());
    let landing = if employee.is_some() { "/portal" } else { "/" };
    tracing::info!(caller = %caller.name, portal = employee.is_some(), "signed in to the web pages");
    let id = state.sessions.open(Session {
        caller,
        employee,
        by_proxy: false,
    });
    // Secure when the browser reached us over TLS (at a proxy in front).
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        IDLE.as_secs()
    );
    let mut response = Redirect::to(next.unwrap_or(landing)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// `POST /signout`: the session ends here, not only in the browser.
pub(super) async fn sign_out(State(state): State<WebState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return forbidden_origin();
    }
    if let Some(id) = cookie(&headers) {
        state.sessions.close(id);
    }
    let mut response = Redirect::to("/signin").into_response();
    let gone = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&gone) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
