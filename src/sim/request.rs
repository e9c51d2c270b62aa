//! What every simulator's handler sees of a request, and the test hooks
//! they share. Vendor-specific readings (`flag`, repeated parameters) are
//! `impl Req` blocks in each simulator.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};

pub(crate) struct Req<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    pub(crate) params: &'a [(String, String)],
    pub(crate) body: &'a Bytes,
}

impl Req<'_> {
    pub(crate) fn path(&self) -> &str {
        self.uri.path()
    }

    /// The last value of a parameter, as most web frameworks read it.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The hooks registered for the `n`th list request, taken out of `hooks`.
/// They run after the state lock is released, as they usually change state.
pub(crate) fn due_hooks<H>(hooks: &mut Vec<(usize, H)>, n: usize) -> Vec<(usize, H)> {
    let (due, later) = std::mem::take(hooks)
        .into_iter()
        .partition(|(at, _)| *at == n);
    *hooks = later;
    due
}
