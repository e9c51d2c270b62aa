//! The catalog: every manifest and mapping the admins declared, loaded,
//! validated and cross-checked as one set.
//!
//! `switchboard check` is this module's output printed; `run` and `demo`
//! build their sync jobs from it. Loading reads files only; building
//! ([`Catalog::jobs`]) resolves secrets and creates clients.

mod checks;
mod declared;
mod report;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ConnectorOverride, LoadedConfig};
use crate::connector::Manifest;
use crate::connector::manifest::{env_key, parse_schedule};
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::mapping::{AnyMapping, Mapping, MappingSlot, OutboundMapping};
use crate::routing::Routing;
use crate::services::Services;
use crate::sync::SyncJob;
use report::Report;

#[derive(Debug)]
pub struct Catalog {
    pub manifests: Vec<Manifest>,
    /// Inbound mappings: one per stream.
    pub mappings: Vec<Arc<Mapping>>,
    /// Outbound mappings: write-back bodies, one per system action.
    pub outbound: Vec<Arc<OutboundMapping>>,
    /// The routing rules, when `routing.toml` exists.
    pub routing: Option<Routing>,
    /// The service catalogue, when `services.toml` exists.
    pub services: Option<Services>,
}

/// One connector ready to schedule: its jobs (one per stream) and its schedule.
#[derive(Debug, Clone)]
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
        let mut report = Report::default();
        let mut manifests = Vec::new();
        for path in toml_files(&config.connectors_dir(), &mut report.errors) {
            match Manifest::load(&path) {
                Ok(m) => manifests.push(m),
                Err(d) => {
                    report.errors.extend(d.0);
                    report.broken.manifest(&path);
                }
            }
        }
        let mut mappings = Vec::new();
        let mut outbound = Vec::new();
        for path in toml_files(&config.mappings_dir(), &mut report.errors) {
            match AnyMapping::load(&path) {
                Ok(AnyMapping::Inbound(m)) => mappings.push(Arc::new(m)),
                Ok(AnyMapping::Outbound(m)) => outbound.push(Arc::new(m)),
                Err(d) => {
                    report.errors.extend(d.0);
                    report.broken.mapping(&path);
                }
            }
        }
        let routing = load_optional(&config.routing_file(), Routing::load, &mut report);
        let services = load_optional(&config.services_file(), Services::load, &mut report);
        let mut catalog = Catalog {
            manifests,
            mappings,
            outbound,
            routing,
            services,
        };
        catalog.apply_overrides(config, &mut report);
        catalog.cross_check(&mut report);
        if let Some(r) = &catalog.routing {
            let broken = &report.broken;
            let targets = r.check_targets_except(&catalog.manifests, &|s| broken.system(s));
            report.errors.extend(targets);
            catalog.check_progress_ownership(r, &mut report);
        }
        if let Some(s) = &catalog.services {
            let broken = &report.broken;
            let targets = s.check_targets_except(
                &catalog.manifests,
                &|system| broken.system(system),
                &|department| broken.department(department),
            );
            report.errors.extend(targets);
            if let Some(r) = &catalog.routing {
                report.errors.extend(s.check_clearance(&r.clearance));
            }
        }
        let mut errors = report.errors;
        if errors.is_empty() {
            Ok(catalog)
        } else {
            // In file order, so the admin can fix them top to bottom.
            errors.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
            Err(Diagnostics(errors))
        }
    }

    fn apply_overrides(&mut self, config: &LoadedConfig, report: &mut Report) {
        let config_file = config
            .file
            .clone()
            .unwrap_or_else(|| PathBuf::from("(environment)"));
        let source = SourceFile::read(&config_file)
            .unwrap_or_else(|_| SourceFile::new(config_file.clone(), String::new()));
        // A system's overrides come under its own name (`[connectors.hr-csv]`
        // in the file) and under its environment name
        // (`SWITCHBOARD__CONNECTORS__HR_CSV__…` arrives as `hr_csv`); the
        // environment's are applied last, so they win.
        let mut overrides: Vec<(&String, &ConnectorOverride)> =
            config.settings.connectors.iter().collect();
        overrides.sort_by_key(|(key, _)| {
            self.manifests
                .iter()
                .any(|m| &m.header.system != *key && env_key(&m.header.system) == **key)
        });
        for (system, over) in overrides {
            let Some(m) = self
                .manifests
                .iter_mut()
                .find(|m| &m.header.system == system || env_key(&m.header.system) == *system)
            else {
                if report.broken.system(system) {
                    continue;
                }
                let known: Vec<String> = self
                    .manifests
                    .iter()
                    .map(|m| m.header.system.clone())
                    .collect();
                let mut d = source.error_at_key(
                    &format!("connectors.{system}"),
                    format!("no connector manifest has system `{system}`"),
                );
                d.hint = report.suggest(system, &known).map(did_you_mean);
                report.errors.push(d);
                continue;
            };
            if let Some(enabled) = over.enabled {
                m.header.enabled = enabled;
            }
            if let Some(schedule) = &over.schedule {
                match parse_schedule(schedule) {
                    Ok(_) => m.header.schedule = Some(schedule.clone()),
                    Err(e) => report
                        .errors
                        .push(source.error_at_key(&format!("connectors.{system}.schedule"), e)),
                }
            }
            if let Err(e) = m.config.apply_override(over) {
                report
                    .errors
                    .push(source.error_at_key(&format!("connectors.{system}"), e));
            }
        }
    }

    /// Who owns which field, as the mappings declare (checked at load).
    pub fn owners(&self) -> Vec<crate::mapping::Owner> {
        crate::mapping::owners(&self.mappings).unwrap_or_default()
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

/// What is planned for an enabled connector, known without building it
/// (no secrets resolved, no system contacted): for status views.
#[derive(Debug, Clone)]
pub struct ConnectorPlan {
    pub system: String,
    pub schedule: Option<cron::Schedule>,
    /// The streams that have a mapping, so sync.
    pub streams: Vec<String>,
}

impl From<&ConnectorJobs> for ConnectorPlan {
    fn from(c: &ConnectorJobs) -> Self {
        Self {
            system: c.system.clone(),
            schedule: c.schedule.clone(),
            streams: c.jobs.iter().map(|j| j.stream.name.clone()).collect(),
        }
    }
}

impl Catalog {
    /// Every enabled connector as `jobs` would build it, without building.
    pub fn plans(&self) -> Vec<ConnectorPlan> {
        self.manifests
            .iter()
            .filter(|m| m.header.enabled)
            .map(|m| ConnectorPlan {
                system: m.header.system.clone(),
                schedule: m
                    .header
                    .schedule
                    .as_deref()
                    .and_then(|s| parse_schedule(s).ok()),
                streams: m
                    .config
                    .streams()
                    .into_iter()
                    .map(|s| s.name)
                    .filter(|name| {
                        self.mappings
                            .iter()
                            .any(|map| map.system == m.header.system && &map.stream == name)
                    })
                    .collect(),
            })
            .collect()
    }

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

/// A file that may be absent (`routing.toml`, `services.toml`): loaded
/// when it is there, its problems reported; nothing when it is not.
fn load_optional<T>(
    path: &Path,
    load: fn(&Path) -> Result<T, Diagnostics>,
    report: &mut Report,
) -> Option<T> {
    if !path.is_file() {
        return None;
    }
    load(path).map_err(|d| report.errors.extend(d.0)).ok()
}

fn did_you_mean(name: impl std::fmt::Display) -> String {
    format!("did you mean `{name}`?")
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
