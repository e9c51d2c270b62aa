//! Switchboard: an integration hub for Enterprise Service Management.
//!
//! Data flows left to right through these modules (see docs/ARCHITECTURE.md):
//! `connector` (pull pages) -> `mapping` (to the canonical `model`) ->
//! `store` (idempotent upsert + cursor, one transaction), driven per stream by
//! `sync`, scheduled by `daemon`, declared in files checked by `catalog`.

pub mod api;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod connector;
pub mod daemon;
pub mod diag;
pub mod mapping;
pub mod model;
pub mod ops;
pub mod routing;
pub mod services;
pub mod shipped;
pub mod sim;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod text;
pub mod transport;
pub mod web;
pub mod writeback;
pub mod writer;
