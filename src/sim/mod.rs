//! Simulated vendor APIs, faithful to the real ones, for tests and `switchboard demo`.

pub mod jira;
pub mod personio;
mod request;
pub mod server;
pub mod servicenow;
pub mod topdesk;
