//! Which top-level fields of a source record a mapping can read at all.
//!
//! A caller that parses records only to map them (`switchboard map`) can
//! then build just those fields and skip the rest of each line: the
//! mapping's output depends on nothing else. The answer errs towards
//! `None` (read the whole record) whenever a source is not a plain path
//! from a named key: a CEL expression that uses `record` as a whole, or a
//! path that starts with an index.

use super::Mapping;
use super::path::Path;
use super::rule::Source;

impl Mapping {
    /// The top-level keys this mapping reads from a record, sorted and
    /// distinct; `None` when it may read any of them. Mapping a record
    /// that holds only these keys gives what mapping the whole record
    /// gives.
    pub fn record_fields(&self) -> Option<Vec<String>> {
        let mut fields: Vec<String> = Vec::new();
        let mut add = |path: &Path| -> Option<()> {
            fields.push(path.head()?.to_string());
            Some(())
        };
        for rule in &self.root.rules {
            match &rule.from {
                Source::Path(p) => add(p)?,
                Source::Coalesce(ps) => ps.iter().try_for_each(&mut add)?,
                Source::Template(t) => t.parts_paths().try_for_each(&mut add)?,
                // CEL reads what `cel_fields` says, below.
                Source::Const(_) | Source::Expr(_) => {}
            }
        }
        // Element rules read inside the array, which is kept whole.
        for children in &self.children {
            add(&children.each)?;
        }
        // Every `when`, `expr` and `skip_if` of the root rule set.
        fields.extend(self.root.cel_fields.clone()?);
        fields.sort();
        fields.dedup();
        Some(fields)
    }
}
