//! The paged lists: `GET /request` with `start`, `limit`, `requestOwnership`,
//! `requestStatus`, `serviceDeskId`, `requestTypeId`, `searchTerm` and
//! `expand`, and `GET /request/{issueIdOrKey}/comment` with `public` and
//! `internal`, and `GET /servicedesk/{serviceDeskId}/requesttype` with
//! `start` and `limit` (Jira Service Management Cloud REST reference,
//! "Servicedesk" group, "Get request types":
//! https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-servicedesk/);
//! the `PagedDTO` links to a page's neighbours.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::super::State;
use super::super::model::{self, Request};
use super::super::render::{self, Ctx};
use super::{Req, ctx, error, not_found, respond};
use crate::jira::model::{REQUEST_TYPES, SERVICE_DESK_ID};

/// The documented default page size.
const DEFAULT_LIMIT: usize = 50;
/// The largest page served, whatever `limit` asks for. The docs say only "up
/// to the maximum set for these objects"; 100 is assumed.
const MAX_LIMIT: usize = 100;

/// The filters `requestOwnership` takes (documented).
const OWNERSHIPS: &[&str] = &[
    "OWNED_REQUESTS",
    "PARTICIPATED_REQUESTS",
    "ORGANIZATION",
    "ALL_ORGANIZATIONS",
    "APPROVER",
    "ALL_REQUESTS",
];

/// `start` and `limit`, or why they cannot be read (a 400).
pub(super) fn page_params(req: &Req) -> Result<(usize, usize), String> {
    let number = |name: &str, default: usize| match req.param(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| format!("The '{name}' parameter must be a non-negative integer.")),
    };
    let start = number("start", 0)?;
    let limit = number("limit", DEFAULT_LIMIT)?;
    Ok((start, limit.clamp(1, MAX_LIMIT)))
}

/// A 400 for a malformed parameter.
fn bad_parameter(message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        message,
        "sd.rest.error.invalid.parameter",
    )
}

/// One page (`values`, starting at `start` of `total`) and the links to its
/// neighbours; the links keep the request's other parameters (assumed: the
/// documented examples have none).
pub(super) fn page_of(
    values: Vec<Value>,
    total: usize,
    (start, limit): (usize, usize),
    req: &Req,
    ctx: &Ctx,
) -> Value {
    let last = start.saturating_add(values.len()) >= total;
    let url_at = |at: usize| {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in req
            .params
            .iter()
            .filter(|(k, _)| k != "start" && k != "limit")
        {
            ser.append_pair(k, v);
        }
        ser.append_pair("start", &at.to_string());
        ser.append_pair("limit", &limit.to_string());
        Value::String(format!("{}{}?{}", ctx.site, req.uri.path(), ser.finish()))
    };
    let mut links = Map::new();
    if !last {
        links.insert("next".into(), url_at(start + limit));
    }
    if start > 0 {
        links.insert("prev".into(), url_at(start.saturating_sub(limit)));
    }
    render::paged(values, start, limit, last, links, ctx)
}

/// Which requests `requestOwnership` lets the integration account see.
/// Organizations and approvals are not modelled, so their filters match
/// nothing. Without the parameter the documented default applies: owned,
/// participated and all organizations.
fn owned_by(ownership: &[String], st: &State, r: &Request) -> bool {
    let me = &st.me.account_id;
    ownership.iter().any(|o| match o.as_str() {
        "ALL_REQUESTS" => true,
        "OWNED_REQUESTS" => &r.reporter.account_id == me,
        "PARTICIPATED_REQUESTS" => r.participants.iter().any(|p| &p.account_id == me),
        _ => false,
    })
}

pub(super) fn list(st: &State, req: &Req, site: &str) -> Response {
    let bad = |message: String| bad_parameter(&message);
    let (start, limit) = match page_params(req) {
        Ok(p) => p,
        Err(message) => return bad_parameter(&message),
    };
    let mut ownership = req.values("requestOwnership");
    if let Some(wrong) = ownership.iter().find(|o| !OWNERSHIPS.contains(&o.as_str())) {
        return bad(format!("'{wrong}' is not a valid requestOwnership value."));
    }
    if ownership.is_empty() {
        ownership = [
            "OWNED_REQUESTS",
            "PARTICIPATED_REQUESTS",
            "ALL_ORGANIZATIONS",
        ]
        .map(String::from)
        .to_vec();
    }
    let status = req.param("requestStatus").unwrap_or("ALL_REQUESTS");
    if !["OPEN_REQUESTS", "CLOSED_REQUESTS", "ALL_REQUESTS"].contains(&status) {
        return bad(format!("'{status}' is not a valid requestStatus value."));
    }
    let desk = req.param("serviceDeskId");
    let request_type = req.param("requestTypeId");
    if request_type.is_some() && desk.is_none() {
        // Documented: the request type filter needs the service desk it belongs to.
        return bad("requestTypeId can only be used together with serviceDeskId.".into());
    }
    let term = req.param("searchTerm").map(str::to_lowercase);
    let mut matching: Vec<&Request> = st
        .data
        .iter()
        .filter(|r| owned_by(&ownership, st, r))
        .filter(|r| {
            let done = model::category(r.status()) == "DONE";
            match status {
                "OPEN_REQUESTS" => !done,
                "CLOSED_REQUESTS" => done,
                _ => true,
            }
        })
        .filter(|r| desk.is_none_or(|d| r.service_desk_id == d))
        .filter(|r| request_type.is_none_or(|t| r.request_type_id == t))
        .filter(|r| {
            term.as_deref()
                .is_none_or(|t| r.summary.to_lowercase().contains(t))
        })
        .collect();
    // Documented: "ordered chronologically by the latest activity on each
    // request"; newest first is assumed (as the portal lists them), ties by id.
    matching.sort_by(|a, b| {
        b.last_activity
            .cmp(&a.last_activity)
            .then(b.issue_id.cmp(&a.issue_id))
    });
    let ctx = ctx(st, site);
    let expand = req.expand();
    let page = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| render::request(r, &expand, &ctx))
        .collect();
    let body = page_of(page, matching.len(), (start, limit), req, &ctx);
    respond(StatusCode::OK, &body)
}

pub(super) fn comments(st: &State, req: &Req, id: &str, site: &str) -> Response {
    let Some(r) = st.find(id) else {
        return not_found();
    };
    let (start, limit) = match page_params(req) {
        Ok(p) => p,
        Err(message) => return bad_parameter(&message),
    };
    let flag = |name: &str| {
        req.param(name)
            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
    };
    let (public, internal) = (flag("public"), flag("internal"));
    let ctx = ctx(st, site);
    let shown: Vec<_> = r
        .comments
        .iter()
        .filter(|c| if c.public { public } else { internal })
        .collect();
    let page = shown
        .iter()
        .skip(start)
        .take(limit)
        .map(|c| render::comment(r, c, &ctx))
        .collect();
    let body = page_of(page, shown.len(), (start, limit), req, &ctx);
    respond(StatusCode::OK, &body)
}

/// A service desk's request types, in the order admins arranged them on
/// the portal (the seeded order), a page at a time. The simulator hosts one
/// service desk: any other id is a 404, as for a desk the account cannot see.
/// `groupId`, `searchQuery` and `expand=field` are not modelled.
pub(super) fn request_types(st: &State, req: &Req, desk: &str, site: &str) -> Response {
    let (start, limit) = match page_params(req) {
        Ok(p) => p,
        Err(message) => return bad_parameter(&message),
    };
    if desk != SERVICE_DESK_ID {
        return error(
            StatusCode::NOT_FOUND,
            "The service desk does not exist or you do not have permission to see it.",
            "sd.servicedesk.error.not.found",
        );
    }
    let ctx = ctx(st, site);
    let page = REQUEST_TYPES
        .iter()
        .skip(start)
        .take(limit)
        .map(|t| render::request_type_dto(t.id, &ctx))
        .collect();
    let body = page_of(page, REQUEST_TYPES.len(), (start, limit), req, &ctx);
    respond(StatusCode::OK, &body)
}
