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

/// Watch every slot's file until `stop`.
pub async fn watch(slots: Vec<MappingSlot>, every: Duration, stop: CancellationToken) {
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
        for slot in &slots {
            check(slot, &mut seen).await;
        }
    }
}

/// Reload one slot if its file changed. Public for tests.
pub async fn check(slot: &MappingSlot, seen: &mut HashMap<PathBuf, String>) {
    let file = slot.file().to_path_buf();
    let text = match tokio::fs::read_to_string(&file).await {
        Ok(t) => t,
        Err(e) => {
            let marker = format!("unreadable: {e}");
            if seen.get(&file) != Some(&marker) {
                tracing::error!(file = %file.display(), error = %e, "mapping unreadable; the running version stays");
                seen.insert(file, marker);
            }
            return;
        }
    };
    let version = content_version(&text);
    if seen.get(&file) == Some(&version) {
        return;
    }
    seen.insert(file.clone(), version.clone());
    let running = slot.current();
    match Mapping::from_source(&SourceFile::new(file.clone(), text)) {
        Ok(m) if m.system == running.system && m.stream == running.stream => {
            tracing::info!(file = %file.display(), from = %running.version, to = %m.version, "mapping reloaded");
            slot.replace(Arc::new(m));
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
}
