//! Points the shipped connectors at the simulated estate, as an admin
//! points them at real instances: each simulator's base URL and
//! credentials (plain data from `switchboard-sim`) become a
//! `[connectors.<system>]` override. This is the one place where the
//! simulators meet the hub's config, so neither crate knows the other;
//! `demo` and the end-to-end tests share it.

use std::collections::BTreeMap;

use switchboard_sim::estate::{Access, Estate};

use crate::config::{ConnectorOverride, SecretRef, Settings};

/// One connector's override for its simulator. `schedule` (six-field cron)
/// replaces the manifest's, when given.
pub fn connector_override(access: &Access, schedule: Option<&str>) -> ConnectorOverride {
    let literal = |v: &Option<String>| v.clone().map(SecretRef::Literal);
    ConnectorOverride {
        enabled: Some(true),
        base_url: Some(access.base_url.clone()),
        schedule: schedule.map(str::to_string),
        username: literal(&access.username),
        password: literal(&access.password),
        token: literal(&access.token),
        vars: access
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), SecretRef::Literal(v.clone())))
            .collect(),
        // Simulators on loopback: no politeness to keep, and the demo and
        // tests then do not wait on the vendors' rate limits.
        rate_limit_per_sec: Some(0),
    }
}

/// Every connector of the estate, by system name.
pub fn overrides(estate: &Estate, schedule: Option<&str>) -> BTreeMap<String, ConnectorOverride> {
    estate
        .access
        .iter()
        .map(|(system, access)| (system.clone(), connector_override(access, schedule)))
        .collect()
}

/// Point `settings`' connectors at the simulators.
pub fn configure(estate: &Estate, settings: &mut Settings, schedule: Option<&str>) {
    settings.connectors.extend(overrides(estate, schedule));
}
