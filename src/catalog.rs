//! The catalog: every manifest and mapping the admins declared, loaded,
//! validated and cross-checked as one set.
//!
//! `switchboard check` is this module's output printed; `run` and `demo`
//! build their sync jobs from it. Loading reads files only; building
//! ([`Catalog::jobs`]) resolves secrets and creates clients.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::LoadedConfig;
use crate::connector::Manifest;
use crate::connector::manifest::parse_schedule;
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::mapping::{AnyMapping, Mapping, MappingSlot, OutboundMapping};
use crate::routing::Routing;
use crate::sync::SyncJob;

#[derive(Debug)]
pub struct Catalog {
    pub manifests: Vec<Manifest>,
    /// Inbound mappings: one per stream.
    pub mappings: Vec<Arc<Mapping>>,
    /// Outbound mappings: write-back bodies, one per system action.
    pub outbound: Vec<Arc<OutboundMapping>>,
    /// The routing rules, when `routing.toml` exists.
    pub routing: Option<Routing>,
}

/// One connector ready to schedule: its jobs (one per stream) and its schedule.
#[derive(Debug)]
pub struct ConnectorJobs {
    pub system: String,
    /// Shared by the jobs and the writer, so they share one rate limit.
    pub connector: Arc<dyn crate::connector::Connector>,
    pub schedule: Option<cron::Schedule>,
    pub jobs: Vec<SyncJob>,
}

impl Catalog {
    /// Load everything under the configured folders and report every problem at once.
    pub fn load(config: &LoadedConfig) -> Result<Self, Diagnostics> {
        let mut errors = Vec::new();
        let mut manifests = Vec::new();
        for path in toml_files(&config.connectors_dir(), &mut errors) {
            match Manifest::load(&path) {
                Ok(m) => manifests.push(m),
                Err(d) => errors.extend(d.0),
            }
        }
        let mut mappings = Vec::new();
        let mut outbound = Vec::new();
        for path in toml_files(&config.mappings_dir(), &mut errors) {
            match AnyMapping::load(&path) {
                Ok(AnyMapping::Inbound(m)) => mappings.push(Arc::new(m)),
                Ok(AnyMapping::Outbound(m)) => outbound.push(Arc::new(m)),
                Err(d) => errors.extend(d.0),
            }
        }
        let routing_file = config.routing_file();
        let routing = if routing_file.is_file() {
            match Routing::load(&routing_file) {
                Ok(r) => Some(r),
                Err(d) => {
                    errors.extend(d.0);
                    None
                }
            }
        } else {
            None
        };
        let mut catalog = Catalog {
            manifests,
            mappings,
            outbound,
            routing,
        };
        catalog.apply_overrides(config, &mut errors);
        catalog.cross_check(&mut errors);
        if let Some(r) = &catalog.routing {
            errors.extend(r.check_targets(&catalog.manifests));
            catalog.check_progress_ownership(r, &mut errors);
        }
        if errors.is_empty() {
            Ok(catalog)
        } else {
            // In file order, so the admin can fix them top to bottom.
            errors.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
            Err(Diagnostics(errors))
        }
    }

    /// Progress posted to an origin must not overwrite what the origin
    /// owns: a `[progress]` action whose body sets the native field an
    /// owned canonical field is read from (ServiceNow's `state` for
    /// `status`) would let the target's status replace the ticket's own.
    fn check_progress_ownership(&self, routing: &Routing, errors: &mut Vec<Diagnostic>) {
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
                        let mut d = self.at(
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
                        errors.push(d);
                    }
                }
            }
        }
    }

    fn apply_overrides(&mut self, config: &LoadedConfig, errors: &mut Vec<Diagnostic>) {
        let config_file = config
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from("(environment)"));
        let source = SourceFile::read(&config_file)
            .unwrap_or_else(|_| SourceFile::new(config_file.clone(), String::new()));
        for (system, over) in &config.settings.connectors {
            let Some(m) = self
                .manifests
                .iter_mut()
                .find(|m| &m.header.system == system)
            else {
                let known: Vec<String> = self
                    .manifests
                    .iter()
                    .map(|m| m.header.system.clone())
                    .collect();
                let mut d = source.error_at_key(
                    &format!("connectors.{system}"),
                    format!("no connector manifest has system `{system}`"),
                );
                d.hint =
                    crate::diag::suggest(system, &known).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
                continue;
            };
            if let Some(enabled) = over.enabled {
                m.header.enabled = enabled;
            }
            if let Some(schedule) = &over.schedule {
                match parse_schedule(schedule) {
                    Ok(_) => m.header.schedule = Some(schedule.clone()),
                    Err(e) => errors
                        .push(source.error_at_key(&format!("connectors.{system}.schedule"), e)),
                }
            }
            if let Err(e) = m.config.apply_override(over) {
                errors.push(source.error_at_key(&format!("connectors.{system}"), e));
            }
        }
    }

    /// Every stream needs exactly one mapping; every mapping needs its stream.
    fn cross_check(&self, errors: &mut Vec<Diagnostic>) {
        let mut systems: HashMap<&str, &Manifest> = HashMap::new();
        for m in &self.manifests {
            if let Some(other) = systems.insert(&m.header.system, m) {
                errors.push(self.at(
                    &m.file,
                    "system",
                    format!(
                        "system `{}` is also defined in {}",
                        m.header.system,
                        other.file.display()
                    ),
                ));
            }
        }
        let mut seen: BTreeMap<(&str, &str), &Path> = BTreeMap::new();
        for map in &self.mappings {
            if let Some(first) = seen.insert((&map.system, &map.stream), &map.file) {
                errors.push(self.at(
                    &map.file,
                    "stream",
                    format!(
                        "stream `{}/{}` is already mapped by {}",
                        map.system,
                        map.stream,
                        first.display()
                    ),
                ));
            }
            let Some(manifest) = systems.get(map.system.as_str()) else {
                let known: Vec<String> = systems.keys().map(|s| s.to_string()).collect();
                let mut d = self.at(
                    &map.file,
                    "system",
                    format!("no connector manifest has system `{}`", map.system),
                );
                d.hint = crate::diag::suggest(&map.system, &known)
                    .map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
                continue;
            };
            let streams: Vec<String> = manifest
                .config
                .streams()
                .into_iter()
                .map(|s| s.name)
                .collect();
            if !streams.contains(&map.stream) {
                let mut d = self.at(
                    &map.file,
                    "stream",
                    format!(
                        "connector `{}` has no stream `{}` (it has: {})",
                        map.system,
                        map.stream,
                        streams.join(", ")
                    ),
                );
                d.hint = crate::diag::suggest(&map.stream, &streams)
                    .map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
        }
        let mut actions: BTreeMap<(&str, &str), &Path> = BTreeMap::new();
        for out in &self.outbound {
            if let Some(first) = actions.insert((&out.system, &out.action), &out.file) {
                errors.push(self.at(
                    &out.file,
                    "action",
                    format!(
                        "action `{}/{}` already has a body mapping in {}",
                        out.system,
                        out.action,
                        first.display()
                    ),
                ));
            }
            let Some(manifest) = systems.get(out.system.as_str()) else {
                let known: Vec<String> = systems.keys().map(|s| s.to_string()).collect();
                let mut d = self.at(
                    &out.file,
                    "system",
                    format!("no connector manifest has system `{}`", out.system),
                );
                d.hint = crate::diag::suggest(&out.system, &known)
                    .map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
                continue;
            };
            let declared: Vec<String> = manifest
                .config
                .actions()
                .into_iter()
                .map(|a| a.name)
                .collect();
            if !declared.contains(&out.action) {
                let mut d = self.at(
                    &out.file,
                    "action",
                    format!(
                        "connector `{}` has no action `{}` (it has: {}); declare `[actions.{}]` in {}",
                        out.system,
                        out.action,
                        if declared.is_empty() { "none".to_string() } else { declared.join(", ") },
                        out.action,
                        manifest.file.display()
                    ),
                );
                d.hint = crate::diag::suggest(&out.action, &declared)
                    .map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
        }
        // An action that sends a body needs the mapping that renders it.
        for m in self.manifests.iter().filter(|m| m.header.enabled) {
            for a in m.config.actions().into_iter().filter(|a| a.body) {
                if !actions.contains_key(&(m.header.system.as_str(), a.name.as_str())) {
                    errors.push(self.at(&m.file, &format!("actions.{}", a.name), format!(
                        "action `{}` has no body mapping; add mappings/{}-{}.toml with `direction = \"outbound\"` and `action = \"{}\"`",
                        a.name, m.header.system, a.name.replace('_', "-"), a.name
                    )));
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
                errors.push(self.at(&c.claimant.file, &format!("owns.{i}"), c.to_string()));
            }
        }
        for m in self.manifests.iter().filter(|m| m.header.enabled) {
            for s in m.config.streams() {
                if !seen.contains_key(&(m.header.system.as_str(), s.name.as_str())) {
                    errors.push(self.at(&m.file, "streams", format!(
                        "stream `{}` has no mapping; add mappings/{}-{}.toml or disable the connector",
                        s.name, m.header.system, s.name
                    )));
                }
            }
        }
    }

    /// Who owns which field, as the mappings declare (checked at load).
    pub fn owners(&self) -> Vec<crate::mapping::Owner> {
        crate::mapping::owners(&self.mappings).unwrap_or_default()
    }

    fn at(&self, file: &Path, key: &str, message: String) -> Diagnostic {
        match SourceFile::read(file) {
            Ok(src) => src.error_at_key(key, message),
            Err(d) => d,
        }
    }

    /// Build the enabled connectors' jobs: resolves secrets, creates clients.
    pub fn jobs(&self) -> Result<Vec<ConnectorJobs>, crate::connector::ConnectorError> {
        let router = self.routing.as_ref().map(|r| {
            Arc::new(crate::sync::Router {
                routing: crate::routing::RoutingSlot::new(Arc::new(r.clone())),
                departments: self
                    .manifests
                    .iter()
                    .map(|m| (m.header.system.clone(), m.header.department.clone()))
                    .collect(),
            })
        });
        let mut out = Vec::new();
        for m in self.manifests.iter().filter(|m| m.header.enabled) {
            let connector = m.config.build(&m.header)?;
            let jobs = connector
                .streams()
                .into_iter()
                .filter_map(|stream| {
                    let mapping = self
                        .mappings
                        .iter()
                        .find(|map| map.system == m.header.system && map.stream == stream.name)?;
                    let stream = crate::connector::StreamSpec {
                        max_pages: m.header.max_pages.map(std::num::NonZeroU64::get),
                        ..stream
                    };
                    Some(SyncJob {
                        connector: connector.clone(),
                        stream,
                        mapping: MappingSlot::new(mapping.clone()),
                        department: m.header.department.clone(),
                        router: router.clone(),
                    })
                })
                .collect();
            out.push(ConnectorJobs {
                system: m.header.system.clone(),
                connector: connector.clone(),
                schedule: m
                    .header
                    .schedule
                    .as_deref()
                    .and_then(|s| parse_schedule(s).ok()),
                jobs,
            });
        }
        Ok(out)
    }
}

impl Catalog {
    /// A writer per built connector that has outbound mappings: what the
    /// transports deliver routed work to.
    pub fn writers(
        &self,
        store: &crate::store::Store,
        built: &[ConnectorJobs],
    ) -> crate::writer::Writers {
        built
            .iter()
            .filter(|c| self.outbound.iter().any(|o| o.system == c.system))
            .map(|c| {
                let w = crate::writer::Writer::new(
                    store.clone(),
                    c.connector.clone(),
                    self.outbound.iter().cloned(),
                );
                (
                    c.system.clone(),
                    Arc::new(w) as Arc<dyn crate::transport::WorkHandler>,
                )
            })
            .collect()
    }
}

/// The `.toml` files of a folder, sorted so reports are stable. `is_file`
/// follows symlinks, as Kubernetes ConfigMap mounts are links.
fn toml_files(dir: &Path, errors: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(Diagnostic {
                file: dir.to_path_buf(),
                line: 1,
                col: 1,
                message: format!("cannot read folder: {e}"),
                hint: Some("set [paths] in switchboard.toml, or run from the folder that holds connectors/ and mappings/".into()),
                ..Default::default()
            });
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    files
}
