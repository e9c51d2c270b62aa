//! Routing rules that can be replaced while the daemon runs: each page
//! takes the rules current when it is planned, and a reload swaps them only
//! after the edited file passed every check `switchboard check` makes
//! (see `daemon::reload`).

use std::sync::{Arc, RwLock};

use super::Routing;

#[derive(Debug, Clone)]
pub struct RoutingSlot {
    current: Arc<RwLock<Arc<Routing>>>,
}

impl RoutingSlot {
    pub fn new(routing: Arc<Routing>) -> Self {
        Self {
            current: Arc::new(RwLock::new(routing)),
        }
    }

    /// The rules in force now.
    pub fn current(&self) -> Arc<Routing> {
        // A poisoned lock still holds rules that passed every check.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace(&self, routing: Arc<Routing>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = routing;
    }
}
