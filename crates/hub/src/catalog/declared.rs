//! What each manifest declares (its streams and actions), gathered once:
//! a catalog with thousands of mappings checks each against its manifest
//! by a set lookup, not by listing the manifest's streams again.

use std::collections::HashSet;

use crate::connector::Manifest;

/// What one manifest declares, gathered once for every mapping that names it.
pub(super) struct Declared<'a> {
    pub manifest: &'a Manifest,
    /// Stream names in the manifest's order.
    pub streams: Vec<String>,
    /// The same names, to look one up.
    pub stream_set: HashSet<String>,
    pub actions: Vec<String>,
}

impl<'a> Declared<'a> {
    pub fn of(manifest: &'a Manifest) -> Self {
        let streams: Vec<String> = manifest
            .config
            .streams()
            .into_iter()
            .map(|s| s.name)
            .collect();
        Self {
            manifest,
            stream_set: streams.iter().cloned().collect(),
            streams,
            actions: manifest
                .config
                .actions()
                .into_iter()
                .map(|a| a.name)
                .collect(),
        }
    }
}

/// Names for a message, the first few of a long list: `a, b, c, … (12000 in all)`.
pub(super) fn some_of(names: &[String]) -> String {
    const SHOWN: usize = 10;
    if names.len() <= SHOWN {
        return names.join(", ");
    }
    format!("{}, … ({} in all)", names[..SHOWN].join(", "), names.len())
}
