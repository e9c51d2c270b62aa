//! The languages admins write: the mapping files that turn each system's
//! records into the canonical model, the routing rules that decide who
//! acts, and the diagnostics both report through (file, line, key, and a
//! "did you mean" hint).
//!
//! Pure: these compile text into programs and run them over JSON values.
//! No network, no store, no clock but the one a caller passes; the only IO
//! is reading the admin's own file. The hub (connectors, sync, store,
//! writers) depends on this crate and never the other way round.

pub mod diag;
pub mod mapping;
pub mod routing;

/// `crate::model` and `crate::text` read the same here as in the hub.
pub use switchboard_model as model;
pub use switchboard_model::text;

/// The repository root, where the shipped mappings and routing files live:
/// unit tests load them from there.
#[cfg(test)]
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}
