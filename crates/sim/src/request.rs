//! What every simulator's handler sees of a request (the test controls
//! they share are `controls.rs`). Vendor-specific readings (`flag`, repeated parameters) are
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

/// A URI's query parameters, percent-decoded, in order (names may repeat).
pub(crate) fn query_params(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}
