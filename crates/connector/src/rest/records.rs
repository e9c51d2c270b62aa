//! Reading a `rest` response into records: where they are, their key and
//! cursor, and the fields left out before hashing.

use serde_json::Value;

use super::config::StreamConfig;
use crate::http::JsonResponse;
use crate::{ConnectorError, CursorSpec, SourceRecord, lookup, split_path};

pub(super) fn records(
    system: &str,
    s: &StreamConfig,
    cursor: Option<&CursorSpec>,
    url: &str,
    resp: &mut JsonResponse,
) -> Result<Vec<SourceRecord>, ConnectorError> {
    if resp.status == 204 {
        return Ok(Vec::new());
    }
    let path = if s.records.is_empty() {
        Vec::new()
    } else {
        split_path(&s.records)
    };
    let shape = |message: String| ConnectorError::Shape {
        system: system.to_string(),
        url: url.to_string(),
        message,
    };
    match lookup(&resp.body, &path) {
        Some(Value::Array(_)) => {}
        // Records keyed by id (`{"123": {...}, "124": {...}}`); one
        // record where a list should be is still a shape error.
        Some(Value::Object(m)) if m.values().all(Value::is_object) => {}
        Some(other) => {
            return Err(shape(format!(
                "`{}` is neither an array nor an object of records but {}",
                s.records,
                type_name(other)
            )));
        }
        None => return Err(shape(format!("no `{}` in the response body", s.records))),
    }
    // Moved out of the body rather than copied (a deep copy of every
    // record was a fifth of a bulk load's time), unless the paging reads
    // something from inside the records afterwards.
    let items: Vec<Value> = match lookup_mut(&mut resp.body, &path) {
        Some(found) if !paging_reads_inside(s, &path) => match std::mem::take(found) {
            Value::Array(a) => a,
            Value::Object(m) => m.into_iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        },
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(m)) => m.values().cloned().collect(),
        _ => Vec::new(),
    };
    let key_path = split_path(&s.key);
    let ignored: Vec<Vec<String>> = s.ignore_fields.iter().map(|p| split_path(p)).collect();
    Ok(items
        .into_iter()
        .map(|mut payload| {
            for path in &ignored {
                remove_path(&mut payload, path);
            }
            SourceRecord {
                key: lookup(&payload, &key_path).and_then(scalar_string),
                cursor: cursor.and_then(|c| c.value_of(&payload)),
                payload,
            }
        })
        .collect())
}

/// Whether a path the paging reads from the body after the records
/// (`last_page_path`, `next_path`, `token_path`) lies within them.
fn paging_reads_inside(s: &StreamConfig, records: &[String]) -> bool {
    use super::config::Pagination;
    let read = match &s.pagination {
        Pagination::Offset { last_page_path, .. } => last_page_path.as_deref(),
        Pagination::NextLink { next_path, .. } => next_path.as_deref(),
        Pagination::CursorToken { token_path, .. } => Some(token_path.as_str()),
        Pagination::PageNumber { .. } | Pagination::Range { .. } => None,
    };
    read.is_some_and(|p| split_path(p).starts_with(records))
}

/// [`lookup`], for changing what it finds.
fn lookup_mut<'v>(mut value: &'v mut Value, segments: &[String]) -> Option<&'v mut Value> {
    for seg in segments {
        value = match value {
            Value::Object(m) => m.get_mut(seg)?,
            Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Remove the value at `path`; `*` walks every element of an array.
fn remove_path(value: &mut Value, path: &[String]) {
    match (path, value) {
        ([last], Value::Object(m)) => {
            m.remove(last);
        }
        ([star, rest @ ..], Value::Array(items)) if star == "*" => {
            for item in items {
                remove_path(item, rest);
            }
        }
        ([head, rest @ ..], Value::Object(m)) => {
            if let Some(next) = m.get_mut(head) {
                remove_path(next, rest);
            }
        }
        _ => {}
    }
}

pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
