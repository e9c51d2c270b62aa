//! Arrays of children: each element of an array in the record mapped by its
//! own rules, into the work item's activities (a ticket's comments) or into
//! an attribute holding an array of objects (an order's lines).
//!
//! Element rules read the element, so `path = "value"` is the element's
//! `value`; CEL sees the element as `record`.

use std::path::Path as FilePath;

use serde_json::Value;

use super::path::{Found, Path};
use super::target::Filled;
use super::{At, Explained, RecordError, RuleSet};

#[derive(Debug, Clone)]
pub(super) struct Children {
    /// `comments` in `[children.comments]`: activity keys are prefixed with
    /// it, so two arrays into activities cannot collide.
    pub name: String,
    /// The array in the source record.
    pub each: Path,
    pub into: Into,
    pub rules: RuleSet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Into {
    /// The work item's activities.
    Activities,
    /// `attributes.<name>`: an array of objects.
    Attribute(String),
}

impl Children {
    /// The elements to map. A missing array or `null` is no children; a
    /// single object is one child (XML-shaped sources collapse one-element
    /// lists that way).
    fn elements<'v>(&self, record: &'v Value) -> Vec<&'v Value> {
        match self.each.find(record) {
            Found::Nothing => Vec::new(),
            Found::One(Value::Array(items)) => items.iter().collect(),
            Found::One(Value::Null) => Vec::new(),
            Found::One(v) => vec![v],
            Found::Many(vs) => vs
                .into_iter()
                .flat_map(|v| match v {
                    Value::Array(items) => items.iter().collect::<Vec<_>>(),
                    other => vec![other],
                })
                .collect(),
        }
    }

    /// Map every element and add the results to `out`. One bad element
    /// fails the whole record: a ticket stored without one of its comments
    /// would look complete and not be.
    pub fn apply(
        &self,
        record: &Value,
        file: &FilePath,
        out: &mut Filled,
    ) -> Result<(), RecordError> {
        let each = self.each.as_str();
        let mut activities = Vec::new();
        let mut objects = Vec::new();
        for (i, element) in self.elements(record).into_iter().enumerate() {
            let at = At {
                file,
                element: Some((each, i)),
            };
            match self.rules.fill(element, at)? {
                Filled::Activity(mut a) => {
                    a.key = if a.key.is_empty() {
                        format!("{}:{i}", self.name)
                    } else {
                        format!("{}:{}", self.name, a.key)
                    };
                    activities.push(a);
                }
                Filled::Object(o) => objects.push(Value::Object(o)),
                _ => {}
            }
        }
        match (&self.into, out) {
            (Into::Activities, Filled::WorkItem(w)) => {
                w.activities.get_or_insert_with(Vec::new).extend(activities);
            }
            (Into::Attribute(name), out) => {
                if let Some(attrs) = out.attributes() {
                    attrs.insert(name.clone(), Value::Array(objects));
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub fn explain(&self, record: &Value, out: &mut Vec<Explained>) {
        for (i, element) in self.elements(record).into_iter().enumerate() {
            self.rules.explain(element, Some(i), out);
        }
    }
}
