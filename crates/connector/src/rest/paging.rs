//! Paging for the `rest` kind: which page to ask for next, and when a run
//! has read the last one. Offset pages overlap by one record so a source
//! that shifts under us is noticed (see `sync`).

use super::config::{Pagination, StreamConfig};
use super::scalar_string;
use crate::http::JsonResponse;
use crate::{PageToken, SourceRecord, lookup, split_path};

/// The key the first record of this offset page must have, when the request
/// overlaps the previous page by one record. Pages of one record cannot
/// overlap and still make progress.
pub(super) fn overlap_key<'t>(s: &StreamConfig, token: Option<&'t PageToken>) -> Option<&'t str> {
    match (&s.pagination, token) {
        (
            Pagination::Offset { page_size, .. },
            Some(PageToken::Offset {
                at,
                last_key: Some(key),
            }),
        ) if *at > 0 && *page_size >= 2 => Some(key),
        _ => None,
    }
}

/// The offset actually requested: one before the next unread position when
/// overlapping.
pub(super) fn request_offset(s: &StreamConfig, token: Option<&PageToken>) -> u64 {
    if let Some(PageToken::Range(at)) = token {
        return *at;
    }
    let at = match token {
        Some(PageToken::Offset { at, .. }) => *at,
        _ => 0,
    };
    if overlap_key(s, token).is_some() {
        at - 1
    } else {
        at
    }
}

pub(super) fn current_page(token: Option<&PageToken>, first_page: u64) -> u64 {
    match token {
        Some(PageToken::Page(p)) => *p,
        _ => first_page,
    }
}

/// Where the next page starts, or `None` after the last page. `received`
/// counts every record in the response, the overlapping one included.
pub(super) fn next_token(
    s: &StreamConfig,
    token: Option<&PageToken>,
    received: usize,
    records: &[SourceRecord],
    resp: &JsonResponse,
) -> Option<PageToken> {
    match &s.pagination {
        Pagination::Offset {
            page_size,
            last_page_path,
            more_status,
            ..
        } => {
            let next = request_offset(s, token) + received as u64;
            // A server may cap pages below what we asked for; when it says
            // where the end is, trust that over the page length.
            let last_flag = last_page_path.as_ref().map(|p| {
                lookup(&resp.body, &split_path(p)) == Some(&serde_json::Value::Bool(true))
            });
            let more = match (last_flag, more_status, total_count(&resp.headers)) {
                (Some(last), _, _) => received > 0 && !last,
                (None, Some(more), _) => received > 0 && resp.status == *more,
                (None, None, Some(total)) => received > 0 && next < total,
                (None, None, None) => received >= *page_size as usize,
            };
            more.then(|| PageToken::Offset {
                at: next,
                last_key: records.last().and_then(|r| r.key.clone()),
            })
        }
        Pagination::PageNumber {
            page_size,
            first_page,
            ..
        } => {
            let page = current_page(token, *first_page);
            (received >= *page_size as usize).then(|| PageToken::Page(page + 1))
        }
        Pagination::NextLink { next_path } => {
            let next = match next_path {
                Some(p) => lookup(&resp.body, &split_path(p)).and_then(scalar_string),
                None => link_next(&resp.headers),
            };
            next.filter(|n| !n.is_empty()).map(PageToken::Url)
        }
        Pagination::Range { page_size, .. } => {
            let next = request_offset(s, token) + received as u64;
            // 200 means the server sent the whole set, not a range.
            let more = match content_range_total(&resp.headers) {
                _ if resp.status != 206 || received == 0 => false,
                Some(Some(total)) => next < total,
                _ => received >= *page_size as usize,
            };
            more.then_some(PageToken::Range(next))
        }
        Pagination::CursorToken { token_path, .. } => lookup(&resp.body, &split_path(token_path))
            .and_then(scalar_string)
            .filter(|t| !t.is_empty() && received > 0)
            .map(PageToken::Token),
    }
}

/// The `rel="next"` target of an RFC 8288 `Link` header. Targets may
/// contain commas and `rel` may list several types, in any case.
pub fn link_next(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_links)
        .find(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case("next")))
        .map(|(target, _)| target)
}

/// Split one `Link` header value into (target, relation types).
fn parse_links(value: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|i| open + i) else {
            break;
        };
        let target = rest[open + 1..close].to_string();
        // Parameters run to the next `<` that starts a link; quoted values may hold commas.
        let params_end = rest[close..]
            .find(", <")
            .or_else(|| rest[close..].find(",<"))
            .map(|i| close + i);
        let params = &rest[close + 1..params_end.unwrap_or(rest.len())];
        let rels = params
            .split(';')
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("rel")
                    .then(|| value.trim().trim_matches('"').to_string())
            })
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect();
        links.push((target, rels));
        rest = &rest[params_end.map(|i| i + 1).unwrap_or(rest.len())..];
    }
    links
}

/// The total of `Content-Range: items 0-99/250`: `Some(None)` when the
/// server writes `*` (it does not know), `None` without the header.
pub(super) fn content_range_total(headers: &reqwest::header::HeaderMap) -> Option<Option<u64>> {
    let value = headers.get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    let (_, total) = value.rsplit_once('/')?;
    Some(total.trim().parse().ok())
}

/// `X-Total-Count`, as ServiceNow and many JSON APIs send it.
fn total_count(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("x-total-count")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}
