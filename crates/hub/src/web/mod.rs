//! The web pages a person uses (docs/PORTAL.md): the status page `/` for
//! whoever runs Switchboard, and the employee's front door `/portal`.
//!
//! Rendered on the server with maud, which escapes every value it
//! interpolates; no page needs JavaScript for anything. The pages read and
//! raise through the same functions as the HTTP API (`crate::api`), so a
//! page can show nothing the API would not, and sign-in goes through the
//! API's own token check (`session.rs`). This module shapes HTML and
//! nothing else: no SQL and no routing decisions of its own.

mod chart;
mod form;
mod portal;
mod session;
mod status;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};

use crate::api::ApiState;
use crate::config::WebSettings;
pub use session::SESSION_COOKIE;
use session::{Session, Sessions};

/// The one stylesheet, compiled in so the binary is the whole deployment.
const CSS: &str = include_str!("switchboard.css");

/// What the pages share.
#[derive(Clone)]
struct WebState {
    api: ApiState,
    sessions: Arc<Sessions>,
    /// `[web] trusted_user_header`: who a reverse proxy signed in.
    trusted_user_header: Option<HeaderName>,
}

/// The pages' routes, to be merged beside the API's.
pub fn router(api: ApiState, settings: &WebSettings) -> Router {
    let state = WebState {
        api,
        sessions: Arc::new(Sessions::default()),
        trusted_user_header: settings
            .trusted_user_header
            .as_deref()
            .and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok()),
    };
    Router::new()
        .route("/", get(status::page))
        .route("/signin", get(session::form).post(session::sign_in))
        .route("/signout", post(session::sign_out))
        .route("/portal", get(portal::home))
        .route("/portal/requests/{id}", get(portal::request))
        .route(
            "/portal/ask/{offering}",
            get(portal::ask).post(portal::raise),
        )
        .route("/assets/switchboard.css", get(css))
        .with_state(state)
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            // Compiled in: it changes only with the binary, and an hour
            // keeps an upgrade's new look from waiting long.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// Which page of the navigation is open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nav {
    Status,
    Portal,
    None,
}

/// Every page's frame: language, title, skip link, header with the
/// navigation the signed-in person may use, and the main landmark.
fn layout(title: &str, session: Option<&Session>, nav: Nav, main: Markup) -> Markup {
    let current = |n: Nav| if n == nav { Some("page") } else { None };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Switchboard" }
                link rel="stylesheet" href="/assets/switchboard.css";
            }
            body {
                a class="skip" href="#main" { "Skip to the content" }
                header class="top" {
                    span class="brand" { "Switchboard" }
                    @if let Some(s) = session {
                        nav aria-label="Main" {
                            ul {
                                @if s.caller.has("read") {
                                    li { a href="/" aria-current=[current(Nav::Status)] { "Status" } }
                                }
                                @if s.employee.is_some() {
                                    li { a href="/portal" aria-current=[current(Nav::Portal)] { "My requests" } }
                                }
                            }
                        }
                        div class="who" {
                            span { "Signed in as " strong { (s.who()) } }
                            @if !s.by_proxy {
                                form method="post" action="/signout" {
                                    button type="submit" class="link" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" { (main) }
            }
        }
    }
}

/// A page saying what went wrong, in words, with its status.
fn error_page(status: StatusCode, session: Option<&Session>, title: &str, text: &str) -> Response {
    let main = html! {
        h1 { (title) }
        p { (text) }
        p { a href="/" { "Back to the start" } }
    };
    (status, layout(title, session, Nav::None, main)).into_response()
}

/// To the sign-in page, coming back to `to` afterwards.
fn to_sign_in(to: &str) -> Response {
    let next = url::form_urlencoded::byte_serialize(to.as_bytes()).collect::<String>();
    Redirect::to(&format!("/signin?next={next}")).into_response()
}

/// A store or API failure as a page; the detail goes to the log.
fn failure(session: Option<&Session>, problem: crate::api::Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    tracing::warn!(status = problem.status, detail = %problem.detail, "web page failed");
    error_page(
        status,
        session,
        "Something went wrong",
        "This page could not be shown just now. Try again in a moment; if it keeps happening, tell the team that runs Switchboard.",
    )
}

/// A time as people read it: `2026-12-05 14:03 UTC`.
fn when(t: Option<&str>) -> String {
    match t {
        Some(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|_| t.to_string()),
        None => "—".into(),
    }
}

/// A status word's CSS class, so the colour (with the word) tells it.
fn status_class(status: &str) -> &'static str {
    match status {
        "resolved" | "closed" | "done" | "completed" => "badge ok",
        "cancelled" | "rejected" => "badge off",
        "new" | "open" => "badge new",
        _ => "badge busy",
    }
}
