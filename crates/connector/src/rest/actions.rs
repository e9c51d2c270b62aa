//! The `rest` kind's write-back: one templated call per action, its body
//! rendered by the outbound mapping for this system and action.

use reqwest::Method;

use super::config::ActionConfig;
use super::records::scalar_string;
use super::request::query_pairs;
use crate::http::{HttpRequest, JsonResponse};
use crate::{ActionInput, ActionOutcome, ConnectorError, lookup, split_path};

/// Methods an action may use: a write-back never reads.
pub(super) const METHODS: [&str; 4] = ["POST", "PUT", "PATCH", "DELETE"];

/// One piece of an action's path.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Text(String),
    /// The target record's id in this system.
    Id,
    /// A value of the rendered body.
    Body(Vec<String>),
}

/// An action's path, parsed once: `/api/now/table/incident/{id}`.
#[derive(Debug, Clone)]
pub(super) struct PathTemplate(Vec<Segment>);

impl PathTemplate {
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .map(|i| open + i)
                .ok_or_else(|| format!("`{text}`: `{{` without `}}`"))?;
            if open > 0 {
                parts.push(Segment::Text(rest[..open].to_string()));
            }
            let name = rest[open + 1..close].trim();
            parts.push(match name.strip_prefix("body.") {
                _ if name == "id" => Segment::Id,
                Some(path) if !path.is_empty() => Segment::Body(split_path(path)),
                _ => {
                    return Err(format!(
                        "`{text}`: unknown placeholder `{{{name}}}`; use `{{id}}` (the target record's id) or `{{body.<field>}}`"
                    ));
                }
            });
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("`{text}`: `}}` without `{{`"));
        }
        if !rest.is_empty() {
            parts.push(Segment::Text(rest.to_string()));
        }
        Ok(Self(parts))
    }

    /// The path with every placeholder filled and escaped, or the name of
    /// the first one that has no value.
    fn render(&self, input: &ActionInput) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Segment::Text(t) => out.push_str(t),
                Segment::Id => {
                    let id = input.target_id.as_deref().ok_or("{id}")?;
                    out.push_str(&escape_segment(id));
                }
                Segment::Body(path) => {
                    let value = lookup(&input.body, path)
                        .and_then(scalar_string)
                        .ok_or_else(|| format!("{{body.{}}}", path.join(".")))?;
                    out.push_str(&escape_segment(&value));
                }
            }
        }
        Ok(out)
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters, so an id
/// cannot add path segments or a query.
pub(super) fn escape_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The HTTP request an action makes for `input`.
pub(super) fn action_request(
    system: &str,
    base_url: &str,
    headers: &[(String, String)],
    name: &str,
    action: &ActionConfig,
    path: &PathTemplate,
    input: &ActionInput,
) -> Result<HttpRequest, ConnectorError> {
    let path = path
        .render(input)
        .map_err(|missing| ConnectorError::Action {
            system: system.to_string(),
            action: name.to_string(),
            message: format!(
                "the path `{}` needs {missing}, which has no value",
                action.path
            ),
        })?;
    // Validated against METHODS at parse time.
    let method = Method::from_bytes(action.method.as_bytes()).unwrap_or(Method::POST);
    let mut req = HttpRequest::new(method, &format!("{base_url}{path}"));
    req.query = query_pairs(&action.query);
    req.headers = headers.to_vec();
    req.headers
        .extend(action.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    if !action.no_body {
        req.body = Some(input.body.clone());
    }
    Ok(req)
}

/// What a successful call tells us: the affected record's id from the
/// body or a `Location`-style header, else the id we wrote to.
pub(super) fn outcome(
    action: &ActionConfig,
    input: &ActionInput,
    resp: JsonResponse,
) -> ActionOutcome {
    // `id = ""`: the body is the id itself (a create answered `42`).
    let from_body = action
        .id
        .as_ref()
        .and_then(|p| match p.is_empty() {
            true => Some(&resp.body),
            false => lookup(&resp.body, &split_path(p)),
        })
        .and_then(scalar_string);
    let from_header = action.id_header.as_ref().and_then(|h| {
        let url = resp.headers.get(h.as_str())?.to_str().ok()?;
        let path = url.split(['?', '#']).next()?;
        path.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    });
    ActionOutcome {
        id: from_body
            .or(from_header)
            .or_else(|| input.target_id.clone()),
        status: resp.status,
        response: resp.body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn input(id: Option<&str>, body: Value) -> ActionInput {
        ActionInput {
            target_id: id.map(str::to_string),
            body,
        }
    }

    #[test]
    fn paths_fill_and_escape_their_placeholders() {
        let t = PathTemplate::parse("/rest/request/{id}/comment").unwrap();
        assert_eq!(
            t.render(&input(Some("SD-1/2 x"), json!({}))).unwrap(),
            "/rest/request/SD-1%2F2%20x/comment"
        );
        assert_eq!(t.render(&input(None, json!({}))).unwrap_err(), "{id}");
        let b = PathTemplate::parse("/orders/{body.order.number}").unwrap();
        assert_eq!(
            b.render(&input(None, json!({"order": {"number": 42}})))
                .unwrap(),
            "/orders/42"
        );
        assert_eq!(
            b.render(&input(None, json!({}))).unwrap_err(),
            "{body.order.number}"
        );
    }

    #[test]
    fn the_id_is_read_from_an_array_or_a_bare_body() {
        let action = |id: &str| ActionConfig {
            method: "POST".into(),
            path: "/x".into(),
            query: Default::default(),
            headers: Default::default(),
            id: Some(id.into()),
            id_header: None,
            no_body: false,
        };
        let answered = |body: Value| crate::http::JsonResponse {
            body,
            headers: Default::default(),
            status: 201,
        };
        let id = |path: &str, body: Value| {
            outcome(
                &action(path),
                &input(Some("target"), json!({})),
                answered(body),
            )
            .id
        };
        assert_eq!(id("0", json!([42])).as_deref(), Some("42"));
        assert_eq!(id("0.id", json!([{"id": "A-1"}])).as_deref(), Some("A-1"));
        assert_eq!(id("", json!(42)).as_deref(), Some("42"));
        assert_eq!(id("", json!("WO-1001")).as_deref(), Some("WO-1001"));
        // Nothing there: the target's own id, as without `id`.
        assert_eq!(id("1", json!([42])).as_deref(), Some("target"));
    }

    #[test]
    fn bad_paths_are_refused_with_the_fix() {
        let err = PathTemplate::parse("/x/{sys_id}").unwrap_err();
        assert!(err.contains("`{id}`"), "{err}");
        assert!(PathTemplate::parse("/x/{id").is_err());
        assert!(PathTemplate::parse("/x/id}").is_err());
        assert!(PathTemplate::parse("/x/{body.}").is_err());
    }
}
