//! A connector's overrides for one environment, from `[connectors.<system>]`
//! in `switchboard.toml`: the manifest says what a system is, these say
//! where this environment's instance is and how to log in to it.

use serde::Deserialize;

use crate::SecretRef;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorOverride {
    /// Turn a shipped connector off without deleting its manifest.
    pub enabled: Option<bool>,
    /// Point the manifest at this environment's instance.
    pub base_url: Option<String>,
    /// Replace the manifest's cron schedule.
    pub schedule: Option<String>,
    /// This environment's credentials: user name (basic auth).
    pub username: Option<SecretRef>,
    /// Password (basic auth).
    pub password: Option<SecretRef>,
    /// Token (bearer) or key (API-key header).
    pub token: Option<SecretRef>,
    /// Values of a `jsonrpc` manifest's `[vars]`, such as the database name.
    #[serde(default)]
    pub vars: std::collections::BTreeMap<String, SecretRef>,
    /// Replace the manifest's `[http] rate_limit_per_sec` in this
    /// environment (a sandbox that allows more, a production instance
    /// shared with other integrations that allows less). 0 is unlimited.
    pub rate_limit_per_sec: Option<u32>,
}
