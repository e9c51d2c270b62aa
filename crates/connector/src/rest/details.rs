//! `[[streams.details]]`: the sub-requests a stream makes for each new or
//! changed record (a ticket's comments, its history), read with the
//! stream's own paging machinery and joined to the record under `into`.
//! The sync asks for them only for records the list says changed, so an
//! unchanged record costs no request (docs/CONNECTORS.md).

use std::collections::BTreeMap;

use serde_json::Value;

use super::RestConnector;
use super::actions::escape_segment;
use super::config::{DetailsConfig, Pagination, QueryValue, StreamConfig};
use super::paging::{next_token, overlap_key};
use super::records::{self, scalar_string};
use super::request::page_request;
use crate::{ConnectorError, PageToken, lookup, split_path};

/// `{field}` placeholders in a details path or query value: each a dotted
/// path into the record. Checked when the manifest loads; `Ok(true)` when
/// the text names at least one field.
pub(super) fn placeholders(path: &str) -> Result<bool, String> {
    let mut rest = path;
    let mut any = false;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("`{path}`: `{{` without `}}`"));
        };
        let field = &rest[open + 1..open + close];
        if field.trim().is_empty() || field.contains('{') {
            return Err(format!(
                "`{path}`: `{{{field}}}` names no field of the record"
            ));
        }
        any = true;
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`{path}`: `}}` without `{{`"));
    }
    Ok(any)
}

/// A details request must name the record somewhere: in its path
/// (`/request/{issueId}/comment`) or a query value
/// (`sysparm_query = "element_id={sys_id}"`).
pub(super) fn check(d: &DetailsConfig) -> Result<(), (&'static str, String)> {
    let mut named = placeholders(&d.path).map_err(|e| ("path", e))?;
    for v in d.query.values().flat_map(|v| v.values()) {
        named |= placeholders(v).map_err(|e| ("query", e))?;
    }
    if !named {
        return Err((
            "path",
            format!(
                "`{}` names no field of the record, nor does the query, so every record would get \
                 the same details; use one such as `{{sys_id}}`",
                d.path
            ),
        ));
    }
    Ok(())
}

/// The path with the record's values in it, each escaped by `escape`;
/// `Err` names a field the record lacks.
fn render_with(
    path: &str,
    record: &Value,
    escape: impl Fn(&str) -> String,
) -> Result<String, String> {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|c| open + c)
            .unwrap_or(rest.len());
        out.push_str(&rest[..open]);
        let field = &rest[open + 1..close];
        let value = lookup(record, &split_path(field))
            .and_then(scalar_string)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("the record has no `{field}` for the details path `{path}`"))?;
        out.push_str(&escape(&value));
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A path: values percent-escaped, so a value cannot add segments.
fn render(path: &str, record: &Value) -> Result<String, String> {
    render_with(path, record, escape_segment)
}

/// A query value: as it is (the client encodes the query).
fn render_query(
    query: &BTreeMap<String, QueryValue>,
    record: &Value,
) -> Result<BTreeMap<String, QueryValue>, String> {
    query
        .iter()
        .map(|(k, v)| {
            let one = |s: &String| render_with(s, record, str::to_string);
            let rendered = match v {
                QueryValue::One(s) => QueryValue::One(one(s)?),
                QueryValue::Many(list) => {
                    QueryValue::Many(list.iter().map(one).collect::<Result<_, _>>()?)
                }
            };
            Ok((k.clone(), rendered))
        })
        .collect()
}

impl RestConnector {
    /// Every detail of `record` for stream `s`: `(into, array)` per
    /// `[[streams.details]]`.
    pub(super) async fn details_of(
        &self,
        s: &StreamConfig,
        record: &Value,
    ) -> Result<Vec<(String, Value)>, ConnectorError> {
        let mut out = Vec::with_capacity(s.details.len());
        for d in &s.details {
            let shape = |message: String| ConnectorError::Shape {
                system: self.system.clone(),
                url: format!("{}{}", self.base_url, d.path),
                message,
            };
            let path = render(&d.path, record).map_err(shape)?;
            let query = render_query(&d.query, record).map_err(shape)?;
            let items = self.read_all(s, d, path, query).await?;
            out.push((d.into.clone(), Value::Array(items)));
        }
        Ok(out)
    }

    /// All pages of one detail request, at most `max_pages`.
    async fn read_all(
        &self,
        s: &StreamConfig,
        d: &DetailsConfig,
        path: String,
        query: BTreeMap<String, QueryValue>,
    ) -> Result<Vec<Value>, ConnectorError> {
        // A stream of its own, for the paging code: no cursor, no body.
        let sub = StreamConfig {
            name: format!("{}.{}", s.name, d.into),
            path,
            records: d.records.clone(),
            key: d.key.clone().unwrap_or_default(),
            method: "GET".into(),
            body: None,
            query,
            headers: d.headers.clone(),
            ignore_fields: Vec::new(),
            pagination: d
                .pagination
                .clone()
                .unwrap_or(Pagination::NextLink { next_path: None }),
            cursor: None,
            details: Vec::new(),
            deletions: None,
        };
        let mut items = Vec::new();
        let mut token: Option<PageToken> = None;
        for _ in 0..d.max_pages.max(1) {
            let request = page_request(&self.base_url, &self.headers, &sub, None, token.as_ref());
            let url = request.url.clone();
            let mut resp = self.client.call(&request).await?;
            let shown = crate::shown_url(&url, &request.query);
            let mut page = records::records(&self.system, &sub, None, &shown, &mut resp)?;
            let received = page.len();
            // Offset pages re-read the previous page's last detail.
            if let Some(expected) = overlap_key(&sub, token.as_ref())
                && page.first().and_then(|r| r.key.as_deref()) == Some(expected)
            {
                page.remove(0);
            }
            let next = next_token(&sub, token.as_ref(), received, &page, &resp);
            items.extend(page.into_iter().map(|r| r.payload));
            token = match next {
                Some(PageToken::Url(next)) => Some(PageToken::Url(self.resolve_next(&url, &next)?)),
                Some(t) => Some(t),
                None => return Ok(items),
            };
        }
        Err(ConnectorError::Shape {
            system: self.system.clone(),
            url: crate::shown_url(&format!("{}{}", self.base_url, sub.path), &[]),
            message: format!(
                "details `{}` still had more pages after {} (`max_pages`)",
                d.into, d.max_pages
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_take_the_records_values_escaped() {
        let r = json!({"issueId": "10/01", "sys": {"id": 7}});
        assert_eq!(
            render("/request/{issueId}/comment", &r).unwrap(),
            "/request/10%2F01/comment"
        );
        assert_eq!(render("/x/{sys.id}", &r).unwrap(), "/x/7");
        assert!(
            render("/x/{missing}", &r)
                .unwrap_err()
                .contains("`missing`")
        );
        assert_eq!(placeholders("/request/{issueId}/comment"), Ok(true));
        assert_eq!(placeholders("/api/now/table/sys_journal_field"), Ok(false));
        for bad in ["/x/{", "/x/}", "/x/{}"] {
            assert!(placeholders(bad).is_err(), "{bad}");
        }
        let q: BTreeMap<String, QueryValue> = [(
            "sysparm_query".to_string(),
            QueryValue::One("element_id={sys.id}^ORDERBYsys_created_on".into()),
        )]
        .into();
        let QueryValue::One(v) = &render_query(&q, &r).unwrap()["sysparm_query"] else {
            panic!()
        };
        assert_eq!(v, "element_id=7^ORDERBYsys_created_on");
    }
}
