//! `[[streams.details]]` for the `jsonrpc` kind: one call per new or
//! changed record (an Odoo document's messages, `mail.message` rows whose
//! `res_id` is the record's id), its params naming the record's fields with
//! `${record.<field>}`. The answer's array joins the record under `into`,
//! as the `rest` kind's details do; the sync asks only for records the list
//! says changed (docs/CONNECTORS.md).

use serde_json::Value;

use super::config::DetailsConfig;
use super::connector::JsonRpcConnector;
use super::split_path_or_root;
use super::template::{Scope, Template};
use crate::{ConnectorError, lookup, shown_url};

impl JsonRpcConnector {
    /// Every detail of `record`: `(into, array)` per call. A result with
    /// nothing at `records` (`null`, or `false` as Odoo writes an empty
    /// value) is no details; anything but an array there is an error.
    pub(super) async fn details_of(
        &self,
        calls: &[(DetailsConfig, Template)],
        record: &Value,
    ) -> Result<Vec<(String, Value)>, ConnectorError> {
        let mut out = Vec::with_capacity(calls.len());
        for (d, params) in calls {
            let shape = |message: String| ConnectorError::Shape {
                system: self.system.clone(),
                url: shown_url(&self.url, &[]),
                message,
            };
            let scope = Scope {
                record: Some(record),
                ..Scope::default()
            };
            let result = self.call(&d.method, params, scope, true).await?;
            let items = match lookup(&result, &split_path_or_root(&d.records)) {
                Some(Value::Array(items)) => items.clone(),
                None | Some(Value::Null) | Some(Value::Bool(false)) => Vec::new(),
                Some(other) => {
                    return Err(shape(format!(
                        "details `{}`: `{}` in the result is {}, not an array",
                        d.into,
                        if d.records.is_empty() {
                            "the result"
                        } else {
                            &d.records
                        },
                        match other {
                            Value::Object(_) => "an object",
                            Value::String(_) => "text",
                            _ => "a scalar",
                        }
                    )));
                }
            };
            out.push((d.into.clone(), Value::Array(items)));
        }
        Ok(out)
    }
}
