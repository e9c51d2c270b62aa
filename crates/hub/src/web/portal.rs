//! `/portal`: the employee's front door. Their requests in every
//! department, each with where it is now and where it went; one request's
//! history; and the catalogue's forms to ask for something. Reads and
//! raises through the API's functions, as a `portal` token acting for the
//! signed-in employee would.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::form::{self, Answers, KEY_FIELD};
use super::session::{MaybeSession, Session, forbidden_origin, same_origin};
use super::{Nav, WebState, error_page, failure, layout, status_class, to_sign_in, when};
use crate::api::{Ask, NativeService, Remote, Request};
use crate::services::Offering;

/// Requests shown on the portal's first page.
const LATEST: i64 = 50;

/// The signed-in employee, or the answer that sends them to sign in.
fn employee(session: Option<Session>, path: &str) -> Result<(Session, String), Box<Response>> {
    let Some(s) = session else {
        return Err(Box::new(to_sign_in(path)));
    };
    match (&s.employee, s.caller.has("portal")) {
        (Some(e), true) => {
            let e = e.clone();
            Ok((s, e))
        }
        _ => Err(Box::new(error_page(
            StatusCode::FORBIDDEN,
            Some(&s),
            "This sign-in is not for the portal",
            "The portal is for employees: sign out, then sign in with a portal token and your work e-mail address.",
        ))),
    }
}

fn status_badge(status: &str) -> Markup {
    html! { span class=(status_class(status)) { (status.replace('_', " ")) } }
}

/// Where a request went: the records made for it in departments'
/// systems, and a case's tasks.
fn journey(r: &Request) -> Markup {
    let j = &r.journey;
    html! {
        @if j.links.is_empty() && j.tasks.is_empty() {
            p class="muted" { "Not passed on to a department yet." }
        } @else {
            ul class="journey" {
                @for l in &j.links {
                    li {
                        span class="system" { (l.system) }
                        " "
                        @match &l.url {
                            Some(u) => a href=(u) { (l.external_id) },
                            None => span { (l.external_id) },
                        }
                        @if let Some(t) = &l.title { " — " (t) }
                        " "
                        @if let Some(s) = &l.status { (status_badge(s)) } @else { span class="badge new" { "sent" } }
                    }
                }
                @for t in &j.tasks {
                    li {
                        span class="system" { (t.department.as_deref().unwrap_or("task")) }
                        " " (t.title) " " (status_badge(&t.status))
                    }
                }
            }
        }
    }
}

fn summary(r: &Request) -> Markup {
    let item = &r.item;
    let title = item.title.as_deref().unwrap_or("(untitled)");
    html! {
        li class="card" {
            h3 { a href={ "/portal/requests/" (item.id) } { (title) } }
            dl class="facts" {
                div { dt { "Status" } dd { (status_badge(&item.status)) } }
                div { dt { "Department" } dd { (item.department.as_deref().unwrap_or("—")) } }
                div { dt { "Raised" } dd { (when(item.opened_at.as_deref())) } }
                div {
                    dt { "Reference" }
                    dd {
                        // A request raised here is the hub's own: its number
                        // is what to quote; the department's record is in
                        // the journey below.
                        @if item.system == crate::store::HUB {
                            "No. " (item.id)
                        } @else {
                            @match &item.url {
                                Some(u) => a href=(u) { (item.system) " " (item.external_id) },
                                None => { (item.system) " " (item.external_id) },
                            }
                        }
                    }
                }
            }
            h4 { "Where it is" }
            (journey(r))
        }
    }
}

/// The systems' own offerings, after the catalogue's, by department (the
/// order the API gives). Asked for in that system, so each links out; an
/// offering without a link is listed with no link rather than a dead one.
fn native_catalogue(native: &[NativeService], truncated: bool) -> Markup {
    let mut groups: Vec<(&str, Vec<&NativeService>)> = Vec::new();
    for o in native {
        let department = o.department.as_deref().unwrap_or("Other");
        match groups.last_mut() {
            Some((d, list)) if *d == department => list.push(o),
            _ => groups.push((department, vec![o])),
        }
    }
    html! {
        @if !groups.is_empty() {
            h3 id="elsewhere" { "Offered in other systems" }
            p { "These are asked for in the department's own system: the link opens its form there." }
            // Ids by position: a department's name may hold spaces.
            @for (i, (department, list)) in groups.iter().enumerate() {
                section class="native" aria-labelledby={ "native-" (i) } {
                    h4 id={ "native-" (i) } { "Department: " (department) }
                    ul class="offerings" {
                        @for o in list {
                            li class="card" {
                                h5 { (o.name) }
                                @if let Some(d) = &o.description { p { (d) } }
                                @if let Some(u) = &o.external_url {
                                    // The hidden rest makes the link say what
                                    // it is for when read out of its card.
                                    p { a href=(u) { "Ask in " (o.system)
                                        span class="visually-hidden" { " for " (o.name) } } }
                                }
                            }
                        }
                    }
                }
            }
            @if truncated {
                p class="muted" { "Only the first 1,000 are listed." }
            }
        }
    }
}

fn catalogue(offerings: &[Offering]) -> Markup {
    html! {
        @if offerings.is_empty() {
            p { "Nothing can be asked for here yet." }
        } @else {
            ul class="offerings" {
                @for o in offerings {
                    li class="card" {
                        h3 { a href={ "/portal/ask/" (o.id) } { (o.name) } }
                        p { (o.description) }
                        p class="muted" { "Handled by " (o.department)
                            @if let Some(h) = o.sla_hours { ", usually within " (h) " hours" } }
                    }
                }
            }
        }
    }
}

/// `GET /portal`.
pub(super) async fn home(State(state): State<WebState>, MaybeSession(s): MaybeSession) -> Response {
    let (s, email) = match employee(s, "/portal") {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let requests =
        match crate::api::latest_of(&state.api, &email, LATEST, &s.caller.classes()).await {
            Ok(r) => r,
            Err(p) => return failure(Some(&s), p),
        };
    let offerings = state
        .api
        .services
        .as_ref()
        .map(|c| c.offerings.as_slice())
        .unwrap_or_default();
    let (native, truncated) = match crate::api::native_of(&state.api).await {
        Ok(n) => n,
        Err(p) => return failure(Some(&s), p),
    };
    let main = html! {
        h1 { "Your requests" }
        section aria-labelledby="mine" {
            h2 id="mine" { "My requests" }
            @if requests.is_empty() {
                p { "You have not asked for anything yet." }
            } @else {
                ul class="requests" { @for r in &requests { (summary(r)) } }
            }
        }
        section aria-labelledby="ask" {
            h2 id="ask" { "Ask for something" }
            (catalogue(offerings))
            (native_catalogue(&native, truncated))
        }
    };
    layout("Your requests", Some(&s), Nav::Portal, main).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct RaisedQuery {
    raised: Option<String>,
}

/// `GET /portal/requests/{id}`.
pub(super) async fn request(
    State(state): State<WebState>,
    MaybeSession(s): MaybeSession,
    Path(id): Path<String>,
    Query(q): Query<RaisedQuery>,
) -> Response {
    let (s, email) = match employee(s, &format!("/portal/requests/{id}")) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let not_found = |s: &Session| {
        error_page(
            StatusCode::NOT_FOUND,
            Some(s),
            "No such request",
            "There is no request of yours with this number.",
        )
    };
    let Ok(number) = id.parse::<i64>() else {
        return not_found(&s);
    };
    let detail = match crate::api::detail_of(&state.api, &email, &s.caller.classes(), number).await
    {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&s),
        Err(p) => return failure(Some(&s), p),
    };
    let r = &detail.request;
    let title = r.item.title.clone().unwrap_or_else(|| "(untitled)".into());
    let main = html! {
        p { a href="/portal" { "← All my requests" } }
        @if q.raised.is_some() {
            p class="notice" role="status" { "Your request was sent. You can follow it here." }
        }
        h1 { (title) }
        ul class="requests" { (summary(r)) }
        @if let Some(d) = &r.item.description {
            h2 { "What you asked" }
            p class="description" { (d) }
        }
        h2 { "History" }
        @if detail.activities.is_empty() {
            p class="muted" { "Nothing has happened yet." }
        } @else {
            ol class="history" {
                @for a in &detail.activities {
                    li {
                        time { (when(a.at.as_deref())) } " "
                        @if let Some(to) = &a.to_status { "Now " (status_badge(to)) " " }
                        @if let Some(b) = &a.body { (b) }
                    }
                }
            }
        }
    };
    layout(&title, Some(&s), Nav::Portal, main).into_response()
}

fn offering<'a>(state: &'a WebState, id: &str) -> Option<&'a Offering> {
    state.api.services.as_ref().and_then(|c| c.offering(id))
}

fn ask_page(
    s: &Session,
    o: &Offering,
    answers: &Answers,
    problems: &HashMap<String, String>,
    key: &str,
    status: StatusCode,
) -> Response {
    let main = html! {
        p { a href="/portal" { "← My requests" } }
        h1 { (o.name) }
        p { (o.description) }
        @if !problems.is_empty() {
            div class="error" role="alert" {
                p { "Some answers need another look: see the messages by the fields below." }
            }
        }
        (form::render(o, answers, problems, key))
    };
    (status, layout(&o.name, Some(s), Nav::Portal, main)).into_response()
}

/// `GET /portal/ask/{offering}`: the offering's form, with a fresh key so
/// the same form sent twice raises one request.
pub(super) async fn ask(
    State(state): State<WebState>,
    MaybeSession(s): MaybeSession,
    Path(id): Path<String>,
) -> Response {
    let (s, _) = match employee(s, &format!("/portal/ask/{id}")) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(o) = offering(&state, &id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            Some(&s),
            "Nothing to ask here",
            "The catalogue has no such offering.",
        );
    };
    let key = uuid::Uuid::new_v4().simple().to_string();
    ask_page(
        &s,
        o,
        &Answers::new(),
        &HashMap::new(),
        &key,
        StatusCode::OK,
    )
}

/// `POST /portal/ask/{offering}`: checked against the form (problems shown
/// by their fields), then raised through the API's intake.
pub(super) async fn raise(
    State(state): State<WebState>,
    MaybeSession(s): MaybeSession,
    remote: Remote,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    if !same_origin(&headers) {
        return forbidden_origin();
    }
    let (s, email) = match employee(s, &format!("/portal/ask/{id}")) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(o) = offering(&state, &id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            Some(&s),
            "Nothing to ask here",
            "The catalogue has no such offering.",
        );
    };
    let mut key = String::new();
    let mut answers = Answers::new();
    for (name, value) in pairs {
        if name == KEY_FIELD {
            key = value;
        } else {
            answers.insert(name, value);
        }
    }
    if key.is_empty() {
        key = uuid::Uuid::new_v4().simple().to_string();
    }
    let fields: Map<String, Value> = answers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    // The same check the intake makes, first, to show each problem by
    // its field rather than as one message.
    if let Err(found) = o.validate_submission(&fields) {
        let problems = found
            .iter()
            .map(|p| {
                let field = o.fields.iter().find(|f| f.name == p.field());
                (p.field().to_string(), form::explain(p, field))
            })
            .collect();
        return ask_page(
            &s,
            o,
            &answers,
            &problems,
            &key,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let raised = crate::api::submit(
        &state.api,
        &s.caller,
        Ask {
            offering: &o.id,
            answers: &fields,
            requester: email,
            for_someone: false,
            key: Some(&key),
            remote: remote.0.as_deref(),
        },
    )
    .await;
    match raised {
        Ok(r) => Redirect::to(&format!("/portal/requests/{}?raised=1", r.request.item.id))
            .into_response(),
        Err(p) => failure(Some(&s), p),
    }
}
