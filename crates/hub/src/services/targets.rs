//! An offering's department and target checked against the connector
//! manifests, and its confidentiality against `routing.toml`'s clearance:
//! what the catalog adds once every file has loaded.

use std::collections::{BTreeMap, BTreeSet};

use super::Services;
use crate::connector::Manifest;
use crate::diag::{Diagnostic, SourceFile, suggest};

impl Services {
    /// Each offering's department must be one a connector serves, and its
    /// `to` a declared action of a connector in that department.
    pub fn check_targets(&self, manifests: &[Manifest]) -> Vec<Diagnostic> {
        self.check_targets_except(manifests, &|_| false, &|_| false)
    }

    /// [`Services::check_targets`], silent about what manifests that did
    /// not load would have declared (`failed_system`, `failed_department`):
    /// their own errors already say why.
    pub fn check_targets_except(
        &self,
        manifests: &[Manifest],
        failed_system: &dyn Fn(&str) -> bool,
        failed_department: &dyn Fn(&str) -> bool,
    ) -> Vec<Diagnostic> {
        let Ok(source) = SourceFile::read(&self.file) else {
            return Vec::new();
        };
        let systems: Vec<String> = manifests.iter().map(|m| m.header.system.clone()).collect();
        let departments: Vec<String> = manifests
            .iter()
            .map(|m| m.header.department.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut errors = Vec::new();
        for (i, o) in self.offerings.iter().enumerate() {
            let at = |k: &str| format!("offerings.{i}.{k}");
            let department_known = departments.contains(&o.department);
            if !department_known && !failed_department(&o.department) {
                let mut d = source.error_at_key(
                    &at("department"),
                    format!("no connector serves department `{}`", o.department),
                );
                d.hint = suggest(&o.department, &departments)
                    .map(|s| format!("did you mean `{s}`?"))
                    .or_else(|| Some(format!("departments are: {}", departments.join(", "))));
                errors.push(d);
            }
            let Some(to) = &o.to else { continue };
            let Some(m) = manifests.iter().find(|m| m.header.system == to.connector) else {
                if !failed_system(&to.connector) {
                    let mut d = source.error_at_key(
                        &at("to.connector"),
                        format!("no connector manifest has system `{}`", to.connector),
                    );
                    d.hint =
                        suggest(&to.connector, &systems).map(|s| format!("did you mean `{s}`?"));
                    errors.push(d);
                }
                continue;
            };
            // An unknown department is one mistake, already reported: the
            // connector not serving it would say it twice.
            if department_known && m.header.department != o.department {
                errors.push(source.error_at_key(
                    &at("to.connector"),
                    format!(
                        "connector `{}` serves department `{}`, not `{}`",
                        to.connector, m.header.department, o.department
                    ),
                ));
            }
            let actions: Vec<String> = m.config.actions().into_iter().map(|a| a.name).collect();
            if !actions.contains(&to.action) {
                let mut d = source.error_at_key(
                    &at("to.action"),
                    format!(
                        "connector `{}` has no action `{}` (it has: {})",
                        to.connector,
                        to.action,
                        if actions.is_empty() {
                            "none; leave `to` out and let routing.toml decide".to_string()
                        } else {
                            actions.join(", ")
                        }
                    ),
                );
                d.hint = suggest(&to.action, &actions).map(|s| format!("did you mean `{s}`?"));
                errors.push(d);
            }
        }
        errors
    }

    /// A confidential offering sent to a department not cleared for its
    /// class (`routing.toml`'s `[clearance]`) would arrive without its
    /// fields: the department that must act could not.
    pub fn check_clearance(&self, clearance: &BTreeMap<String, Vec<String>>) -> Vec<Diagnostic> {
        let Ok(source) = SourceFile::read(&self.file) else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        for (i, o) in self.offerings.iter().enumerate() {
            let (Some(class), Some(_)) = (&o.confidential, &o.to) else {
                continue;
            };
            if clearance
                .get(&o.department)
                .is_some_and(|c| c.contains(class))
            {
                continue;
            }
            let mut d = source.error_at_key(
                &format!("offerings.{i}.confidential"),
                format!(
                    "department `{}` is not cleared for `{class}`, so the work would reach it without its fields",
                    o.department
                ),
            );
            d.hint = Some(format!(
                "clear it in routing.toml: `[clearance]` `{} = [\"{class}\"]`",
                o.department
            ));
            errors.push(d);
        }
        errors
    }
}
