//! Building a `rest` stream's page requests: query, headers, the optional
//! search body, and where each paging value goes.

use reqwest::Method;
use serde_json::Value;

use super::config::{Pagination, QueryValue, StreamConfig};
use super::paging::{current_page, request_offset};
use crate::PageToken;
use crate::http::HttpRequest;

/// The placeholders a stream's `body` may carry.
const BODY_PLACEHOLDERS: [&str; 4] = ["{cursor}", "{limit}", "{offset}", "{page}"];

/// Pairs for the request's query string, a list value repeated.
pub(super) fn query_pairs<'a>(
    query: impl IntoIterator<Item = (&'a String, &'a QueryValue)>,
) -> Vec<(String, String)> {
    query
        .into_iter()
        .flat_map(|(k, v)| v.values().iter().map(move |v| (k.clone(), v.clone())))
        .collect()
}

/// The request for one page of `s`.
pub(super) fn page_request(
    base_url: &str,
    headers: &[(String, String)],
    s: &StreamConfig,
    from: Option<&str>,
    token: Option<&PageToken>,
) -> HttpRequest {
    let method = Method::from_bytes(s.method.as_bytes()).unwrap_or(Method::GET);
    let mut req = HttpRequest::new(method, &format!("{base_url}{}", s.path)).read_only();
    req.headers = headers.to_vec();
    req.headers
        .extend(s.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    // A next link (made absolute by `resolve_next`) already carries every
    // parameter the server wants back; a body search still needs its body.
    if let Some(PageToken::Url(next)) = token {
        req.url = next.clone();
        req.body = s.body.as_deref().map(|b| render_body(b, from, &[]));
        return req;
    }
    req.query = query_pairs(&s.query);
    let mut in_body: Vec<(&'static str, String)> = Vec::new();
    let in_template = |p: &str| s.body.as_deref().is_some_and(|b| b.contains(p));
    let mut param =
        |query: &mut Vec<(String, String)>, placeholder: &'static str, name: &str, v: u64| {
            if in_template(placeholder) {
                in_body.push((placeholder, v.to_string()));
            } else {
                query.push((name.to_string(), v.to_string()));
            }
        };
    if let (Some(c), Some(from)) = (&s.cursor, from)
        && let Some(name) = &c.param
    {
        req.query
            .push((name.clone(), c.template.replace("{cursor}", from)));
    }
    match &s.pagination {
        Pagination::Offset {
            limit_param,
            offset_param,
            page_size,
            ..
        } => {
            let offset = request_offset(s, token);
            param(
                &mut req.query,
                "{limit}",
                limit_param,
                u64::from(*page_size),
            );
            param(&mut req.query, "{offset}", offset_param, offset);
        }
        Pagination::PageNumber {
            page_param,
            size_param,
            page_size,
            first_page,
        } => {
            let page = current_page(token, *first_page);
            param(&mut req.query, "{page}", page_param, page);
            param(&mut req.query, "{limit}", size_param, u64::from(*page_size));
        }
        Pagination::Range { unit, page_size } => {
            let at = request_offset(s, token);
            let last = at + u64::from(*page_size) - 1;
            req.headers
                .push(("Range".into(), format!("{unit}={at}-{last}")));
        }
        Pagination::CursorToken {
            token_param,
            size_param,
            page_size,
            ..
        } => {
            if let Some(PageToken::Token(t)) = token {
                req.query.push((token_param.clone(), t.clone()));
            }
            if let (Some(p), Some(n)) = (size_param, page_size) {
                param(&mut req.query, "{limit}", p, u64::from(*n));
            }
        }
        Pagination::NextLink { .. } => {}
    }
    req.body = s.body.as_deref().map(|b| render_body(b, from, &in_body));
    req
}

/// Fill a body template. The cursor lands inside a JSON string, so it is
/// escaped as one; numbers go in bare. Validation rendered the template
/// with sample values, so the result is JSON.
pub(super) fn render_body(template: &str, from: Option<&str>, numbers: &[(&str, String)]) -> Value {
    let escaped = from
        .map(|f| {
            let quoted = Value::String(f.to_string()).to_string();
            quoted[1..quoted.len() - 1].to_string()
        })
        .unwrap_or_default();
    let mut text = template.replace("{cursor}", &escaped);
    for (placeholder, value) in numbers {
        text = text.replace(placeholder, value);
    }
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Check at parse time that the body template is JSON once filled.
pub(super) fn check_body(template: &str) -> Result<(), String> {
    let text = BODY_PLACEHOLDERS[1..]
        .iter()
        .fold(template.replace("{cursor}", "x"), |t, p| t.replace(p, "1"));
    serde_json::from_str::<Value>(&text)
        .map(|_| ())
        .map_err(|e| format!("not JSON once its placeholders are filled: {e}"))
}
