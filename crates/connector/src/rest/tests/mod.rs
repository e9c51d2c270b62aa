//! Tests for the `rest` connector kind, built from manifests as production
//! does: paging styles against the ServiceNow simulator and small axum
//! servers, retries and their limits, response shapes, `Link` parsing, and
//! manifest validation.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;
use crate::{Manifest, SourceRecord};
use switchboard_sim::servicenow::{Fault, ServiceNowSim, SimConfig, SimHandle};

const SERVICENOW_FILE: &str = include_str!("../../../../../connectors/servicenow.toml");

/// The shipped ServiceNow manifest up to its first stream's details: the
/// incident list alone, without its journal details or deletions, so a
/// test's edit has exactly one place to go and the requests counted are
/// the list's.
static SERVICENOW: std::sync::LazyLock<&'static str> = std::sync::LazyLock::new(|| {
    let end = SERVICENOW_FILE
        .find("\n# An incident's comments")
        .expect("the shipped manifest's journal details follow its incident list");
    &SERVICENOW_FILE[..end]
});

/// Lower bound early enough to include every seeded incident.
const FROM: &str = "2000-01-01 00:00:00";

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} should occur once");
    text.replacen(from, to, 1)
}

fn parse(text: &str) -> Result<Manifest, Diagnostic> {
    Manifest::from_source(&SourceFile::new("connectors/t.toml", text))
}

fn manifest(text: &str) -> Manifest {
    parse(text).unwrap_or_else(|d| panic!("manifest should parse: {d}"))
}

fn manifest_error(text: &str) -> Diagnostic {
    match parse(text) {
        Ok(m) => panic!("manifest should be rejected: {m:?}"),
        Err(d) => d,
    }
}

fn connect(text: &str) -> Arc<dyn Connector> {
    let m = manifest(text);
    m.config
        .build(&m.header)
        .unwrap_or_else(|e| panic!("connector should build: {e}"))
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i + 1, col + 1);
        }
    }
    panic!("{needle:?} not in text")
}

mod auth;
mod link_header;
mod manifest;
mod mock;
mod scripted;
mod servicenow;
mod shapes;
mod writes;

#[allow(unused_imports)]
use auth::*;
#[allow(unused_imports)]
use link_header::*;
#[allow(unused_imports)]
use manifest::*;
#[allow(unused_imports)]
use mock::*;
#[allow(unused_imports)]
use scripted::*;
#[allow(unused_imports)]
use servicenow::*;
#[allow(unused_imports)]
use shapes::*;
