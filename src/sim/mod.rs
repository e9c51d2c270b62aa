//! Simulated vendor APIs, faithful to the real ones, for tests and `switchboard demo`.

pub mod servicenow;
