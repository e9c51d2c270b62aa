//! Hot reload of mapping files and the routing rules: poll the files and
//! swap in an edit only if it compiles and passes every check. A bad edit keeps the old version running and
//! logs every problem with its location, once per version of the file. A
//! mapping swapped in is tried at once on the stream's quarantined records.
//!
//! Polling, not file events: it behaves the same on every file system, and
//! with Kubernetes ConfigMap mounts, which swap a symlink rather than write
//! the file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::diag::{Diagnostics, SourceFile};
use crate::mapping::{Mapping, MappingSlot, content_version};
use crate::routing::{Routing, RoutingSlot};
use crate::store::Store;
use crate::sync::SyncJob;
use crate::telemetry::events;

/// Watch the mapping file of every job until `stop`. When a reload changes
/// what the mappings own, the store's declared owners follow, and the
/// stream's quarantined records are retried with the new mapping.
pub async fn watch(
    jobs: Vec<SyncJob>,
    every: Duration,
    store: Option<Store>,
    stop: CancellationToken,
) {
    let slots: Vec<MappingSlot> = jobs.iter().map(|j| j.mapping.clone()).collect();
    // The version last acted on per file: the one running, or a bad one
    // already reported, so a broken file is logged once, not every poll.
    let mut seen: HashMap<PathBuf, String> = slots
        .iter()
        .map(|s| (s.file().to_path_buf(), s.current().version.clone()))
        .collect();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        let mut swapped = Vec::new();
        for (job, slot) in jobs.iter().zip(&slots) {
            if check(slot, &slots, &mut seen).await {
                swapped.push(job);
            }
        }
        let Some(store) = &store else { continue };
        if swapped.is_empty() {
            continue;
        }
        let current: Vec<Arc<Mapping>> = slots.iter().map(MappingSlot::current).collect();
        // `check` refused conflicting claims, so this is the whole set.
        let owners = crate::mapping::owners(&current).unwrap_or_default();
        if let Err(e) = store.declare_owners(&owners).await {
            tracing::error!(error = %e, "cannot record field owners after a reload");
        }
        for job in swapped {
            retry_quarantine(job, store, &stop).await;
        }
    }
}

/// After a job's mapping was swapped: map its quarantined records again
/// with the new version, and log one line with what became of them. A
/// failure is logged; the records stay for `switchboard quarantine retry`.
async fn retry_quarantine(job: &SyncJob, store: &Store, stop: &CancellationToken) {
    match job.retry_quarantined(store, None, stop).await {
        Ok(report) => events::QuarantineRetried {
            connector: job.system(),
            stream: &job.stream.name,
            trigger: "reload",
            mapping_version: &job.mapping.current().version,
            report: &report,
        }
        .emit(),
        Err(e) => tracing::error!(
            connector = %job.system(), stream = %job.stream.name, error = %e,
            "cannot retry quarantined records after a reload; `switchboard quarantine retry` can"
        ),
    }
}

/// Reload one slot if its file changed and the new version compiles and
/// claims no field another system owns (`all`: every running slot).
/// Returns whether it swapped. Public for tests.
pub async fn check(
    slot: &MappingSlot,
    all: &[MappingSlot],
    seen: &mut HashMap<PathBuf, String>,
) -> bool {
    let file = slot.file().to_path_buf();
    let text = match tokio::fs::read_to_string(&file).await {
        Ok(t) => t,
        Err(e) => {
            let marker = format!("unreadable: {e}");
            if seen.get(&file) != Some(&marker) {
                tracing::error!(file = %file.display(), error = %e, "mapping unreadable; the running version stays");
                seen.insert(file, marker);
            }
            return false;
        }
    };
    let version = content_version(&text);
    if seen.get(&file) == Some(&version) {
        return false;
    }
    seen.insert(file.clone(), version.clone());
    let running = slot.current();
    match Mapping::from_source(&SourceFile::new(file.clone(), text)) {
        Ok(m) if m.system == running.system && m.stream == running.stream => {
            let m = Arc::new(m);
            let mut current: Vec<Arc<Mapping>> = all
                .iter()
                .filter(|s| s.file() != slot.file())
                .map(MappingSlot::current)
                .collect();
            current.push(Arc::clone(&m));
            if let Err(conflicts) = crate::mapping::owners(&current) {
                for c in conflicts {
                    tracing::error!(file = %file.display(), "mapping edit rejected; the running version stays: {c}");
                }
                return false;
            }
            tracing::info!(file = %file.display(), from = %running.version, to = %m.version, "mapping reloaded");
            slot.replace(m);
            return true;
        }
        Ok(m) => tracing::error!(
            file = %file.display(),
            "mapping now reads {}/{} instead of {}/{}; restart the daemon to apply; the running version stays",
            m.system, m.stream, running.system, running.stream
        ),
        Err(d) => tracing::error!(
            file = %file.display(),
            problems = d.0.len(),
            "mapping edit rejected; the running version stays:\n{d}"
        ),
    }
    false
}

/// What reloading `routing.toml` needs: the slot the sync jobs read, the
/// file, and a loader that reads and checks everything again (manifests,
/// mappings, routing) as `switchboard check` does, so an edit that passes
/// here also passes at the next start.
pub struct RoutingReload {
    pub slot: RoutingSlot,
    pub file: PathBuf,
    pub load: Arc<dyn Fn() -> Result<Option<Routing>, Diagnostics> + Send + Sync>,
}

/// Watch `routing.toml` until `stop`, swapping in an edit that passes.
pub async fn watch_routing(reload: RoutingReload, every: Duration, stop: CancellationToken) {
    let mut seen = tokio::fs::read_to_string(&reload.file)
        .await
        .ok()
        .map(|t| content_version(&t));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.cancelled() => return,
        }
        check_routing(&reload, &mut seen).await;
    }
}

/// Reload the rules if the file changed and everything still checks.
/// `seen` is the version last acted on. Returns whether it swapped.
/// Public for tests.
pub async fn check_routing(reload: &RoutingReload, seen: &mut Option<String>) -> bool {
    let file = reload.file.display().to_string();
    let version = match tokio::fs::read_to_string(&reload.file).await {
        Ok(text) => content_version(&text),
        Err(e) => format!("unreadable: {e}"),
    };
    if seen.as_deref() == Some(version.as_str()) {
        return false;
    }
    *seen = Some(version);
    // Reading and compiling every file is blocking work.
    let load = Arc::clone(&reload.load);
    let loaded = match tokio::task::spawn_blocking(move || load()).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(file = %file, error = %e, "routing reload failed; the running rules stay");
            return false;
        }
    };
    match loaded {
        Ok(Some(routing)) => {
            tracing::info!(file = %file, rules = routing.rules.len(), "routing reloaded");
            reload.slot.replace(Arc::new(routing));
            true
        }
        Ok(None) => {
            tracing::error!(
                file = %file,
                "routing file is gone; the running rules stay (restart the daemon to route nothing)"
            );
            false
        }
        Err(d) => {
            tracing::error!(
                file = %file,
                problems = d.0.len(),
                "routing edit rejected; the running rules stay:\n{d}"
            );
            false
        }
    }
}
