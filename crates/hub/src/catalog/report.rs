//! What `check` found, as it finds it: each problem located in its file,
//! and what files that failed to load would have declared.
//!
//! One mistake is one error. A manifest that does not parse has already
//! said so; the mappings, routes and overrides that name its system are not
//! told again that "no manifest has system X". Likewise a stream whose
//! mapping failed is not reported as unmapped.
//!
//! Each file is read and indexed once, however many problems point into
//! it, so a manifest with thousands of streams checks in linear time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, SourceFile};

/// "Did you mean" compares a name with every candidate. Past this many
/// comparisons in one check, problems come without the hint: a report that
/// long is fixed from the top, and a hint per line would cost the square of
/// the catalog's size.
const HINT_COMPARISONS: usize = 2_000_000;

#[derive(Debug, Default)]
pub(super) struct Report {
    pub errors: Vec<Diagnostic>,
    pub broken: Broken,
    files: HashMap<PathBuf, SourceFile>,
    compared: usize,
}

impl Report {
    /// A diagnostic at `key` of `file`; the file is read once per report.
    pub fn at(&mut self, file: &Path, key: &str, message: String) -> Diagnostic {
        self.at_first(file, &[key], message)
    }

    /// A diagnostic at the first of `keys` that `file` has (a stream's own
    /// `name`, else the `streams` array), or at the last of them.
    pub fn at_first(&mut self, file: &Path, keys: &[&str], message: String) -> Diagnostic {
        let source = match self.files.entry(file.to_path_buf()) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => match SourceFile::read(file) {
                Ok(source) => e.insert(source),
                Err(d) => return d,
            },
        };
        let key = keys
            .iter()
            .find(|k| source.key_span(k).is_some())
            .or(keys.last())
            .copied()
            .unwrap_or_default();
        source.error_at_key(key, message)
    }

    /// The candidate `input` is likely a typo of, while the budget for
    /// hints lasts.
    pub fn suggest(&mut self, input: &str, candidates: &[String]) -> Option<String> {
        self.compared += candidates.len();
        if self.compared > HINT_COMPARISONS {
            return None;
        }
        crate::diag::suggest(input, candidates)
    }
}

/// What the files that failed to load declared, as far as can be read.
#[derive(Debug, Default)]
pub(super) struct Broken {
    /// Systems of manifests that failed.
    systems: HashSet<String>,
    /// Departments they declare, as far as can be read.
    departments: HashSet<String>,
    /// Whether one of them is too broken to say its department.
    department_unread: bool,
    /// (system, stream or action) of mappings that failed.
    mappings: HashSet<(String, String)>,
    /// File names (without `.toml`) of mappings that failed, for those too
    /// broken to say their system: `servicenow-incident`.
    stems: HashSet<String>,
}

impl Broken {
    /// A manifest failed: its `system`, else its file name, as the loader defaults it.
    pub fn manifest(&mut self, path: &Path) {
        let [system, department] = &declared(path, &["system", "department"])[..] else {
            return;
        };
        self.systems
            .insert(system.clone().unwrap_or_else(|| stem(path)));
        match department {
            Some(d) => {
                self.departments.insert(d.clone());
            }
            None => self.department_unread = true,
        }
    }

    /// A mapping failed: its `system` with its `stream` or `action`.
    pub fn mapping(&mut self, path: &Path) {
        if let [Some(system), stream, action] = &declared(path, &["system", "stream", "action"])[..]
        {
            for name in [stream, action].into_iter().flatten() {
                self.mappings.insert((system.clone(), name.clone()));
            }
        }
        self.stems.insert(stem(path));
    }

    pub fn system(&self, system: &str) -> bool {
        self.systems.contains(system)
    }

    /// Whether a manifest that failed declares `department`, or one failed
    /// too broken to say: a department nobody else serves may be its.
    pub fn department(&self, department: &str) -> bool {
        self.department_unread || self.departments.contains(department)
    }

    /// Whether the mapping for `system`'s stream or action `name` failed to
    /// load (so its absence is already explained).
    pub fn mapping_of(&self, system: &str, name: &str) -> bool {
        self.mappings
            .contains(&(system.to_string(), name.to_string()))
            || self
                .stems
                .contains(&format!("{system}-{}", name.replace('_', "-")))
            || self.stems.contains(&format!("{system}-{name}"))
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The string values of top-level `keys` in a file, read as plain TOML
/// whatever else is wrong with it.
fn declared(path: &Path, keys: &[&str]) -> Vec<Option<String>> {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let doc = crate::diag::parse_toml(&text).ok();
    keys.iter()
        .map(|k| {
            let value = doc.as_ref()?.get_ref().get(*k)?;
            value.get_ref().as_str().map(str::to_string)
        })
        .collect()
}
