//! Switchboard's hub: the daemon and what it serves, over the crates below
//! it. Everything the `switchboard` binary runs, less its command line (the
//! root package) and the vendor simulators (`switchboard-sim`, which this
//! crate never depends on).
//!
//! Data flows left to right (see docs/ARCHITECTURE.md): `connector` (pull
//! pages) -> `mapping` (to the canonical `model`) -> `store` (idempotent
//! upsert + cursor, one transaction), driven per stream by `sync` (here),
//! scheduled by `daemon` (here), declared in files checked by `catalog`
//! (here); routed work leaves through the outbox to `transport` and
//! `writer`. The modules of other crates are re-exported below under their
//! old names.

pub mod api;
pub mod catalog;
pub mod config;
pub mod daemon;
pub mod ops;
pub mod services;
pub mod sync;
pub mod telemetry;
pub mod web;

/// The canonical model and the text rule live in a crate of their own
/// (`switchboard-model`, pure); `crate::model` and `crate::text` read as before.
pub use switchboard_model as model;
pub use switchboard_model::text;

/// The admins' languages, mapping and routing, and the diagnostics they
/// report through, are `switchboard-lang` (pure); `crate::mapping`,
/// `crate::routing` and `crate::diag` read as before.
pub use switchboard_lang::{diag, mapping, routing};

/// The store (schema, migrations, every statement) is `switchboard-store`;
/// `crate::store` reads as before.
pub use switchboard_store as store;

/// The connectors (kinds, HTTP client, cursors, secrets) are
/// `switchboard-connector`; `crate::connector` reads as before.
pub use switchboard_connector as connector;

/// Delivery of routed work (the outbox relay, AMQP transport, writers) is
/// `switchboard-delivery`; `crate::transport`, `crate::writer` and
/// `crate::writeback` read as before.
pub use switchboard_delivery::{transport, writeback, writer};

/// The repository root, where the shipped connectors, mappings, routing
/// and services files live: unit tests load them from there.
#[cfg(test)]
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}
