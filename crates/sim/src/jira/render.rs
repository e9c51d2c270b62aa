//! How the simulator's data goes out on the wire: `CustomerRequestDTO` with
//! its `requestFieldValues`, `currentStatus` and `_links`, the expansions a
//! client asks for with `expand`, `UserDTO`, `CommentDTO` and the `PagedDTO`
//! envelope (`size`, `start`, `limit`, `isLastPage`, `values`, `_links`).
//!
//! Shapes follow the examples of the Jira Service Management Cloud REST
//! reference (developer.atlassian.com/cloud/jira/service-desk/rest,
//! "Request" group). The deprecated `name` and `key` of users are left out,
//! as Cloud no longer fills them since the GDPR migration.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::model::{
    self, Comment, Customer, FormField, PROJECT_ID, PROJECT_KEY, PROJECT_NAME, Request, date_dto,
    request_type,
};

/// What every customer request lists under `_expands`.
pub const EXPANDABLE: &[&str] = &[
    "participant",
    "status",
    "sla",
    "requestType",
    "serviceDesk",
    "attachment",
    "action",
    "comment",
];

/// The page size of an expanded list inside a request (assumed: the
/// documented default page size of the servicedeskapi).
const EMBEDDED_LIMIT: usize = 50;

/// What a rendering needs beyond the data: where the site is, its time zone
/// and its clock (for the relative `friendly` dates).
pub struct Ctx<'a> {
    /// `http://host:port`, as the client addressed the site.
    pub site: &'a str,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

impl Ctx<'_> {
    fn date(&self, t: DateTime<Utc>) -> Value {
        date_dto(t, self.tz, self.now)
    }

    pub fn api_base(&self) -> String {
        format!("{}/rest/servicedeskapi", self.site)
    }
}

/// The expansions asked for: `expand` may repeat and each value may be a
/// comma-separated list (Atlassian's REST layer accepts both).
#[derive(Debug, Default, Clone)]
pub struct Expand(BTreeSet<String>);

impl Expand {
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        Expand(
            values
                .into_iter()
                .flat_map(|v| v.split(','))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        )
    }

    fn has(&self, name: &str) -> bool {
        self.0.contains(name)
    }
}

pub fn user(c: &Customer, ctx: &Ctx) -> Value {
    let rest = format!("{}/rest/api/2/user?accountId={}", ctx.site, c.account_id);
    let initials: String = c
        .display_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect();
    let avatar = |size: u32| {
        format!(
            "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/{initials}-{size}.png"
        )
    };
    json!({
        "accountId": c.account_id,
        "emailAddress": c.email,
        "displayName": c.display_name,
        "active": true,
        "timeZone": c.time_zone,
        "_links": {
            "jiraRest": rest,
            "avatarUrls": {
                "48x48": avatar(48),
                "24x24": avatar(24),
                "16x16": avatar(16),
                "32x32": avatar(32),
            },
            "self": rest,
        },
    })
}

pub fn comment(r: &Request, c: &Comment, ctx: &Ctx) -> Value {
    json!({
        "_expands": ["attachment", "renderedBody"],
        "id": c.id.to_string(),
        "body": c.body,
        "public": c.public,
        "author": user(&c.author, ctx),
        "created": ctx.date(c.created),
        "_links": {
            "self": format!("{}/request/{}/comment/{}", ctx.api_base(), r.issue_id, c.id),
        },
    })
}

/// A `PagedDTO` envelope. `links` are the page's own (`next`, `prev`, …);
/// `base` and `context` are added.
pub fn paged(
    values: Vec<Value>,
    start: usize,
    limit: usize,
    last: bool,
    links: Map<String, Value>,
    ctx: &Ctx,
) -> Value {
    let mut all = Map::new();
    all.insert("base".into(), Value::String(ctx.api_base()));
    all.insert("context".into(), Value::String(String::new()));
    all.extend(links);
    json!({
        "_expands": [],
        "size": values.len(),
        "start": start,
        "limit": limit,
        "isLastPage": last,
        "_links": all,
        "values": values,
    })
}

/// The first page of a list embedded by an expansion.
fn embedded(values: Vec<Value>, ctx: &Ctx) -> Value {
    let last = values.len() <= EMBEDDED_LIMIT;
    let first: Vec<Value> = values.into_iter().take(EMBEDDED_LIMIT).collect();
    paged(first, 0, EMBEDDED_LIMIT, last, Map::new(), ctx)
}

fn field_values(r: &Request, ctx: &Ctx) -> Vec<Value> {
    let fields = request_type(&r.request_type_id)
        .map_or(&[FormField::Summary, FormField::Description][..], |t| {
            t.fields
        });
    let mut out = Vec::new();
    for field in fields {
        match field {
            FormField::Summary => {
                out.push(json!({"fieldId": "summary", "label": "Summary", "value": r.summary}));
            }
            FormField::Description => {
                if let Some(d) = &r.description {
                    out.push(json!({
                        "fieldId": "description",
                        "label": "Description",
                        "value": d,
                        "renderedValue": {"html": format!("<p>{}</p>", escape_html(d))},
                    }));
                }
            }
            FormField::Priority => {
                if let Some(p) = &r.priority {
                    let id = model::priority_id(p).unwrap_or("3");
                    out.push(json!({
                        "fieldId": "priority",
                        "label": "Priority",
                        "value": {
                            "self": format!("{}/rest/api/2/priority/{id}", ctx.site),
                            "iconUrl": format!("{}/images/icons/priorities/{}.svg", ctx.site, p.to_lowercase()),
                            "name": p,
                            "id": id,
                        },
                    }));
                }
            }
        }
    }
    out
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A `RequestTypeDTO`, as `expand=requestType` embeds it and the request
/// type list pages it.
pub(super) fn request_type_dto(id: &str, ctx: &Ctx) -> Value {
    let Some(t) = request_type(id) else {
        return Value::Null;
    };
    json!({
        "_expands": ["field"],
        "id": t.id,
        "_links": {"self": format!("{}/servicedesk/{}/requesttype/{}", ctx.api_base(), model::SERVICE_DESK_ID, t.id)},
        "name": t.name,
        "description": t.description,
        "helpText": "",
        "issueTypeId": t.issue_type_id,
        "serviceDeskId": model::SERVICE_DESK_ID,
        "groupIds": [t.group_id],
    })
}

/// One customer request, with the expansions asked for.
pub fn request(r: &Request, expand: &Expand, ctx: &Ctx) -> Value {
    let status = r.status();
    let mut v = json!({
        "_expands": EXPANDABLE,
        "issueId": r.issue_id.to_string(),
        "issueKey": r.issue_key,
        "requestTypeId": r.request_type_id,
        "serviceDeskId": r.service_desk_id,
        "createdDate": ctx.date(r.created),
        "reporter": user(&r.reporter, ctx),
        "requestFieldValues": field_values(r, ctx),
        "currentStatus": {
            "status": status,
            "statusCategory": model::category(status),
            "statusDate": ctx.date(r.status_date()),
        },
        "_links": {
            "jiraRest": format!("{}/rest/api/2/issue/{}", ctx.site, r.issue_id),
            "web": format!("{}/servicedesk/customer/portal/{}/{}", ctx.site, r.service_desk_id, r.issue_key),
            "agent": format!("{}/browse/{}", ctx.site, r.issue_key),
            "self": format!("{}/request/{}", ctx.api_base(), r.issue_id),
        },
    });
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    if expand.has("serviceDesk") {
        obj.insert(
            "serviceDesk".into(),
            json!({
                "id": r.service_desk_id,
                "projectId": PROJECT_ID,
                "projectName": PROJECT_NAME,
                "projectKey": PROJECT_KEY,
                "_links": {"self": format!("{}/servicedesk/{}", ctx.api_base(), r.service_desk_id)},
            }),
        );
    }
    if expand.has("requestType") {
        obj.insert(
            "requestType".into(),
            request_type_dto(&r.request_type_id, ctx),
        );
    }
    if expand.has("participant") {
        let users = r.participants.iter().map(|p| user(p, ctx)).collect();
        obj.insert("participants".into(), embedded(users, ctx));
    }
    if expand.has("status") {
        let history = r
            .history
            .iter()
            .map(|c| {
                json!({
                    "status": c.status,
                    "statusCategory": model::category(&c.status),
                    "statusDate": ctx.date(c.at),
                })
            })
            .collect();
        obj.insert("status".into(), embedded(history, ctx));
    }
    if expand.has("comment") {
        let comments = r.comments.iter().map(|c| comment(r, c, ctx)).collect();
        obj.insert("comments".into(), embedded(comments, ctx));
    }
    if expand.has("sla") {
        obj.insert("sla".into(), embedded(Vec::new(), ctx));
    }
    if expand.has("attachment") {
        obj.insert("attachments".into(), embedded(Vec::new(), ctx));
    }
    if expand.has("action") {
        let allowed = json!({"allowed": true});
        obj.insert(
            "actions".into(),
            json!({
                "addAttachment": allowed,
                "addComment": allowed,
                "addParticipant": allowed,
                "removeParticipant": allowed,
            }),
        );
    }
    v
}
