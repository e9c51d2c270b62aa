//! The `switchboard` binary as admins and operators use it: `check`, `run`
//! (including being killed mid-sync), and `demo`; the shared helpers and
//! `demo` here, the rest in `cli/` (`check.rs`, `run.rs`, `tools.rs`).

#[path = "cli/check.rs"]
mod check;
#[path = "cli/run.rs"]
mod run;
#[path = "cli/tools.rs"]
mod tools;

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use switchboard::sim::servicenow::{ServiceNowSim, SimConfig, SimHandle};
use switchboard::store::{CountedTable, Store};

use common::bin::{output, switchboard};
use common::{Backend, TestStore, repo, write};

/// A copy of the shipped connectors/ and mappings/ to break in a test.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["connectors", "mappings"] {
        for entry in std::fs::read_dir(repo().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            write(&dir.path().join(sub).join(path.file_name().unwrap()), &text);
        }
    }
    dir
}

fn edit(path: PathBuf, from: &str, to: &str) {
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn line_of(path: &Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

/// A config that points the shipped manifest at a simulator, with this test's store.
fn daemon_config(dir: &Path, sim: &SimHandle, store_url: &str, listen: &str) -> PathBuf {
    let path = dir.join("switchboard.toml");
    write(
        &path,
        &format!(
            r#"version = 1
[store]
url = "{store_url}"
[http]
listen = "{listen}"
[paths]
connectors = "{root}/connectors"
mappings = "{root}/mappings"
[connectors.servicenow]
base_url = "{base}"
username = "admin"
password = "sim-password"
schedule = "0 0 0 1 1 *"
[daemon]
lease_secs = 3
"#,
            root = repo().display(),
            base = sim.base_url,
        ),
    );
    path
}

#[test]
fn demo_once_syncs_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("demo.db").display());
    let (code, out, err) = output(
        &repo(),
        &[
            "demo",
            "--once",
            "-v",
            "--incidents",
            "120",
            "--store",
            &store,
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    // -v shows the log; it goes to a pipe here, not a terminal: no colour codes in it.
    assert!(err.contains(" INFO ") && !err.contains('\x1b'), "{err:?}");
    // At info a sync logs one line per stream, `sync finished`: its pages,
    // a baseline and deletions are at debug, or fields of that line. The
    // rest is routed work being delivered.
    for line in err.lines().filter(|l| l.contains(" INFO ")) {
        assert!(
            line.contains(": sync finished connector=")
                || line.contains(": routed work delivered connector="),
            "another info line: {line}"
        );
    }
    assert!(
        out.contains("synced servicenow/incident: 2 pages, 120 fetched, 120 stored"),
        "{out}"
    );
    // IT: ServiceNow's 3 catalogue requests, Jira Service Management (40)
    // and TOPdesk (50) add to its 120 incidents. Facilities: Maximo's 60
    // work orders. Finance: Odoo's 30 purchase orders, with its departments
    // and employees. HR: Personio's people.
    for line in [
        "synced jira/request: 1 pages, 40 fetched, 40 stored",
        "synced topdesk/incident: 1 pages, 50 fetched, 50 stored",
        "synced servicenow/request: 1 pages, 3 fetched, 3 stored",
        "synced maximo/workorder: 1 pages, 60 fetched, 60 stored",
        "synced odoo/departments: 1 pages, 8 fetched, 8 stored",
        "synced odoo/employees: 1 pages, 60 fetched, 60 stored",
        "synced odoo/purchase_orders: 1 pages, 30 fetched, 30 stored",
        "synced personio/employees: 1 pages, 40 fetched, 40 stored",
        // The journeys add 9: the heating ticket and its work order; the
        // onboarding case, its 3 tasks, and what they became in ServiceNow,
        // Maximo and Odoo. Ada Lovelace is the 101st person.
        "work items in the store: 312 (0 records in quarantine)",
        "people: 101 from HR and ERP",
        "heating: ServiceNow INC",
        "-> maximo work order",
        "in progress\"",
        "polled both again: 0 message(s) waiting",
        "onboarding: Personio hire Ada Lovelace -> case onboarding:personio:employees:",
        "3 task(s) delivered",
    ] {
        assert!(out.contains(line), "no `{line}` in:\n{out}");
    }
    for department in ["it", "facilities", "finance"] {
        assert!(
            out.lines().any(|l| l.trim_start().starts_with(department)),
            "no {department} work in:\n{out}"
        );
    }
    assert!(out.contains("it           closed"), "{out}");
}
