//! Tests for mapping files: applying the shipped ServiceNow mapping, per-record
//! errors, value conversion, and the compile-time diagnostics admins see.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Map;
use serde_json::json;

use super::*;
use crate::diag::Diagnostic;
use crate::model::{Person, WorkItem};

const FILE: &str = "mappings/t.toml";

fn compile(text: &str) -> Result<Mapping, Diagnostics> {
    Mapping::from_source(&SourceFile::new(FILE, text))
}

fn mapping(text: &str) -> Mapping {
    compile(text).unwrap_or_else(|e| panic!("mapping should compile:\n{e}"))
}

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match compile(text) {
        Ok(m) => panic!("mapping should not compile: {m:?}"),
        Err(d) => d.0,
    }
}

/// The one diagnostic whose message contains `needle`.
fn diag_with<'a>(diags: &'a [Diagnostic], needle: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.message.contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one diagnostic containing {needle:?}, got: {diags:#?}"
    );
    found[0]
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

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

fn work_item(c: Canonical) -> WorkItem {
    match c {
        Canonical::WorkItem(w) => w,
        other => panic!("expected a work item, got {other:?}"),
    }
}

fn person(c: Canonical) -> Person {
    match c {
        Canonical::Person(p) => p,
        other => panic!("expected a person, got {other:?}"),
    }
}

const HEAD: &str = "version = 1\nsystem = \"sys\"\nstream = \"s\"\nentity = \"work_item\"\n";

/// A work-item mapping whose required fields are satisfied, plus `extra` lines
/// in `[fields]` and then `rest` after it (attributes, maps).
fn work_item_mapping(extra: &str, rest: &str) -> String {
    format!(
        "{HEAD}\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"title\", default = \"untitled\" }}\nstatus = {{ const = \"open\" }}\n{extra}\n{rest}"
    )
}

mod children;
mod diagnostics;
mod empty_values;
mod lookups;
mod maps;
mod offerings;
mod outbound;
mod ownership;
mod reads;
mod rules;
mod shipped;
mod sources;
mod timestamps;
mod typed_targets;
mod versions;

#[allow(unused_imports)]
use diagnostics::*;
#[allow(unused_imports)]
use empty_values::*;
#[allow(unused_imports)]
use maps::*;
#[allow(unused_imports)]
use shipped::*;
#[allow(unused_imports)]
use sources::*;
#[allow(unused_imports)]
use timestamps::*;
#[allow(unused_imports)]
use typed_targets::*;
#[allow(unused_imports)]
use versions::*;
