//! Switchboard: an integration hub for Enterprise Service Management.
//!
//! This package is the `switchboard` binary: its command line (`cli`) and
//! the project files embedded in it (`shipped`). The hub itself is the
//! `switchboard-hub` crate, re-exported here so `switchboard::store`,
//! `switchboard::mapping` and the rest read as they always have; the
//! vendor simulators (`switchboard-sim`) come in only with the `demo`
//! feature (docs/ARCHITECTURE.md, "Crates").

pub use switchboard_hub::*;

pub mod cli;
pub mod shipped;

#[cfg(feature = "demo")]
pub use switchboard_sim as sim;
