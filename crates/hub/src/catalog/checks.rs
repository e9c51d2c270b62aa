//! The catalog's cross-checks, once every file has loaded on its own: each
//! stream has exactly one mapping and each mapping its stream, names and
//! environment keys are unique, and progress never overwrites what an
//! origin owns. Pure: problems go to the report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::declared::{Declared, some_of};
use super::report::Report;
use super::{Catalog, did_you_mean};
use crate::connector::Manifest;
use crate::connector::manifest::env_key;
use crate::routing::Routing;

impl Catalog {
    /// Progress posted to an origin must not overwrite what the origin
    /// owns: a `[progress]` action whose body sets the native field an
    /// owned canonical field is read from (ServiceNow's `state` for
    /// `status`) would let the target's status replace the ticket's own.
    pub(super) fn check_progress_ownership(&self, routing: &Routing, report: &mut Report) {
        for (system, action) in &routing.progress {
            let Some(out) = self
                .outbound
                .iter()
                .find(|o| &o.system == system && &o.action == action)
            else {
                continue;
            };
            let writes = out.writes();
            for inbound in self.mappings.iter().filter(|m| &m.system == system) {
                for (field, sources) in inbound.owned_sources() {
                    if let Some(native) = sources.iter().find(|s| writes.contains(s)) {
                        let mut d = report.at(
                            &routing.file,
                            &format!("progress.{system}"),
                            format!(
                                "`{action}` writes `{native}`, which {system} owns as `{field}` ({}): \
                                 progress would overwrite the origin's own {field}",
                                inbound.file.display()
                            ),
                        );
                        d.hint = Some(
                            "post progress with a comment action, such as comment_incident".into(),
                        );
                        report.errors.push(d);
                    }
                }
            }
        }
    }

    /// Every stream needs exactly one mapping; every mapping needs its stream.
    pub(super) fn cross_check(&self, report: &mut Report) {
        let mut systems: HashMap<&str, Declared<'_>> = HashMap::new();
        let mut env_names: HashMap<String, &Manifest> = HashMap::new();
        for m in &self.manifests {
            if let Some(other) = env_names.insert(env_key(&m.header.system), m)
                && other.header.system != m.header.system
            {
                let mut d = report.at(
                    &m.file,
                    "system",
                    format!(
                        "system `{}` and `{}` ({}) would share the environment variables \
                         SWITCHBOARD__CONNECTORS__{}__…",
                        m.header.system,
                        other.header.system,
                        other.file.display(),
                        env_key(&m.header.system).to_uppercase()
                    ),
                );
                d.hint = Some("`-` and `_` are the same in a variable name: rename one".into());
                report.errors.push(d);
            }
            if let Some(other) = systems.insert(&m.header.system, Declared::of(m)) {
                let d = report.at(
                    &m.file,
                    "system",
                    format!(
                        "system `{}` is also defined in {}",
                        m.header.system,
                        other.manifest.file.display()
                    ),
                );
                report.errors.push(d);
            }
        }
        let known_systems: Vec<String> = systems.keys().map(|s| s.to_string()).collect();
        // A name a typo was taken for: its own "has no mapping" would repeat that one mistake.
        let mut meant: HashSet<(&str, String)> = HashSet::new();
        let mut seen: BTreeMap<(&str, &str), &Path> = BTreeMap::new();
        for map in &self.mappings {
            if let Some(first) = seen.insert((&map.system, &map.stream), &map.file) {
                let d = report.at(
                    &map.file,
                    "stream",
                    format!(
                        "stream `{}/{}` is already mapped by {}",
                        map.system,
                        map.stream,
                        first.display()
                    ),
                );
                report.errors.push(d);
            }
            let Some(declared) = systems.get(map.system.as_str()) else {
                if !report.broken.system(&map.system) {
                    let mut d = report.at(
                        &map.file,
                        "system",
                        format!("no connector manifest has system `{}`", map.system),
                    );
                    d.hint = report
                        .suggest(&map.system, &known_systems)
                        .map(did_you_mean);
                    report.errors.push(d);
                }
                continue;
            };
            if !declared.stream_set.contains(map.stream.as_str()) {
                let mut d = report.at(
                    &map.file,
                    "stream",
                    format!(
                        "connector `{}` has no stream `{}` (it has: {})",
                        map.system,
                        map.stream,
                        some_of(&declared.streams)
                    ),
                );
                if let Some(s) = report.suggest(&map.stream, &declared.streams) {
                    d.hint = Some(did_you_mean(&s));
                    meant.insert((map.system.as_str(), s));
                }
                report.errors.push(d);
            }
        }
        let mut actions: BTreeMap<(&str, &str), &Path> = BTreeMap::new();
        for out in &self.outbound {
            if let Some(first) = actions.insert((&out.system, &out.action), &out.file) {
                let d = report.at(
                    &out.file,
                    "action",
                    format!(
                        "action `{}/{}` already has a body mapping in {}",
                        out.system,
                        out.action,
                        first.display()
                    ),
                );
                report.errors.push(d);
            }
            let Some(declared) = systems.get(out.system.as_str()) else {
                if !report.broken.system(&out.system) {
                    let mut d = report.at(
                        &out.file,
                        "system",
                        format!("no connector manifest has system `{}`", out.system),
                    );
                    d.hint = report
                        .suggest(&out.system, &known_systems)
                        .map(did_you_mean);
                    report.errors.push(d);
                }
                continue;
            };
            if !declared.actions.contains(&out.action) {
                let mut d = report.at(
                    &out.file,
                    "action",
                    format!(
                        "connector `{}` has no action `{}` (it has: {}); declare `[actions.{}]` in {}",
                        out.system,
                        out.action,
                        if declared.actions.is_empty() { "none".to_string() } else { some_of(&declared.actions) },
                        out.action,
                        declared.manifest.file.display()
                    ),
                );
                if let Some(s) = report.suggest(&out.action, &declared.actions) {
                    d.hint = Some(did_you_mean(&s));
                    meant.insert((out.system.as_str(), s));
                }
                report.errors.push(d);
            }
        }
        // An action that sends a body needs the mapping that renders it.
        for m in self.manifests.iter().filter(|m| m.header.enabled) {
            let system = m.header.system.as_str();
            for a in m.config.actions().into_iter().filter(|a| a.body) {
                let explained = report.broken.mapping_of(system, &a.name)
                    || meant.contains(&(system, a.name.clone()));
                if !explained && !actions.contains_key(&(system, a.name.as_str())) {
                    let d = report.at(&m.file, &format!("actions.{}", a.name), format!(
                        "action `{}` has no body mapping; add mappings/{}-{}.toml with `direction = \"outbound\"` and `action = \"{}\"`",
                        a.name, system, a.name.replace('_', "-"), a.name
                    ));
                    report.errors.push(d);
                }
            }
        }
        if let Err(conflicts) = crate::mapping::owners(&self.mappings) {
            for c in conflicts {
                let i = c
                    .claimant
                    .owns
                    .iter()
                    .position(|f| f == &c.field)
                    .unwrap_or(0);
                let d = report.at(&c.claimant.file, &format!("owns.{i}"), c.to_string());
                report.errors.push(d);
            }
        }
        for m in self.manifests.iter().filter(|m| m.header.enabled) {
            let system = m.header.system.as_str();
            for (i, stream) in m.config.streams().into_iter().enumerate() {
                let s = stream.name;
                let explained = seen.contains_key(&(system, s.as_str()))
                    || report.broken.mapping_of(system, &s)
                    || meant.contains(&(system, s.clone()));
                if !explained {
                    let own = format!("streams.{i}.name");
                    let d = report.at_first(
                        &m.file,
                        &[own.as_str(), "streams"],
                        format!(
                            "stream `{s}` has no mapping; add mappings/{system}-{s}.toml or disable the connector"
                        ),
                    );
                    report.errors.push(d);
                }
            }
        }
    }
}
