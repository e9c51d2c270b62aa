//! Reading a `rest` response into records: where they are, their key and
//! cursor, and the fields left out before hashing.

use serde_json::Value;

use super::config::StreamConfig;
use crate::connector::http::JsonResponse;
use crate::connector::{ConnectorError, CursorSpec, SourceRecord, lookup, split_path};

pub(super) fn records(
    system: &str,
    s: &StreamConfig,
    cursor: Option<&CursorSpec>,
    url: &str,
    resp: &JsonResponse,
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
    let items: Vec<&Value> = match lookup(&resp.body, &path) {
        Some(Value::Array(a)) => a.iter().collect(),
        // Records keyed by id (`{"123": {...}, "124": {...}}`); one
        // record where a list should be is still a shape error.
        Some(Value::Object(m)) if m.values().all(Value::is_object) => m.values().collect(),
        Some(other) => {
            return Err(shape(format!(
                "`{}` is neither an array nor an object of records but {}",
                s.records,
                type_name(other)
            )));
        }
        None => return Err(shape(format!("no `{}` in the response body", s.records))),
    };
    let key_path = split_path(&s.key);
    let ignored: Vec<Vec<String>> = s.ignore_fields.iter().map(|p| split_path(p)).collect();
    Ok(items
        .into_iter()
        .map(|payload| {
            let mut payload = payload.clone();
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
