//! Simulated vendor APIs, faithful to the real ones, for tests and `switchboard demo`.

pub mod bamboohr;
pub mod controls;
pub mod estate;
pub mod jira;
pub mod maximo;
pub mod odoo;
pub mod personio;
mod request;
pub mod server;
pub mod servicenow;
pub mod topdesk;
pub mod tryton;
