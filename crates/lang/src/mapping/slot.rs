//! A mapping that can be replaced while the daemon runs.
//!
//! Each sync run takes the mapping current at its start and keeps it for the
//! whole run, so one run never mixes two versions. A reload swaps the slot
//! only after the new file has compiled (see `daemon::reload`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::Mapping;

#[derive(Debug, Clone)]
pub struct MappingSlot {
    file: PathBuf,
    current: Arc<RwLock<Arc<Mapping>>>,
}

impl MappingSlot {
    pub fn new(mapping: Arc<Mapping>) -> Self {
        MappingSlot {
            file: mapping.file.clone(),
            current: Arc::new(RwLock::new(mapping)),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The mapping in force now.
    pub fn current(&self) -> Arc<Mapping> {
        // A poisoned lock still holds a compiled, valid mapping.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace(&self, mapping: Arc<Mapping>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = mapping;
    }
}
