//! Hot reload of mapping files: poll `mappings/` and swap in an edited
//! mapping only if it compiles. A bad edit keeps the old version running and
//! logs every problem with its location, once per version of the file.
//!
//! Polling, not file events: it behaves the same on every file system, and
//! with Kubernetes ConfigMap mounts, which swap a symlink rather than write
//! the file.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::diag::SourceFile;
use crate::mapping::{Mapping, MappingSlot, content_version};
use crate::store::Store;

/// Watch every slot's file until `stop`. When a reload changes what the
/// mappings own, the store's declared owners follow.
pub async fn watch(
    slots: Vec<MappingSlot>,
    every: Duration,
    store: Option<Store>,
    stop: CancellationToken,
) {
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
        let mut swapped = false;
        for slot in &slots {
            swapped |= check(slot, &slots, &mut seen).await;
        }
        if let (true, Some(store)) = (swapped, &store) {
            let current: Vec<Arc<Mapping>> = slots.iter().map(MappingSlot::current).collect();
            // `check` refused conflicting claims, so this is the whole set.
            let owners = crate::mapping::owners(&current).unwrap_or_default();
            if let Err(e) = store.declare_owners(&owners).await {
                tracing::error!(error = %e, "cannot record field owners after a reload");
            }
        }
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
