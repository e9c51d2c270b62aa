//! `run --once` with a `[broker]` delivers what it routed: it declares the
//! writers' queues, publishes the outbox and runs the writers until each
//! message it published was applied, so a cron job's work reaches the
//! target system without a daemon. What a target does not take in time
//! waits in RabbitMQ, and one line says so. Real binary, real RabbitMQ,
//! both stores, against the simulators.

mod common;

use std::path::Path;

use serde_json::{Map, Value, json};
use switchboard::sim::estate::Estate;
use switchboard::sim::maximo::Fault;

use common::bin::output;
use common::broker::{amqp_url, delete_topology};
use common::{Backend, TestStore, repo, write};

/// `[connectors.x]` tables pointing ServiceNow and Maximo at the
/// simulators; every other shipped connector off.
fn connector_tables(estate: &Estate) -> String {
    let mut out = String::new();
    for (system, o) in &estate.access {
        if !["servicenow", "maximo"].contains(&system.as_str()) {
            continue;
        }
        out.push_str(&format!("[connectors.{system}]\nenabled = true\n"));
        out.push_str(&format!("base_url = \"{}\"\n", o.base_url));
        for (key, value) in [
            ("username", &o.username),
            ("password", &o.password),
            ("token", &o.token),
        ] {
            if let Some(v) = value {
                out.push_str(&format!("{key} = \"{v}\"\n"));
            }
        }
    }
    for system in ["jira", "topdesk", "personio", "odoo", "bamboohr", "hr-csv"] {
        out.push_str(&format!("[connectors.{system}]\nenabled = false\n"));
    }
    out
}

fn workspace(store_url: &str, prefix: &str, estate: &Estate) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    for sub in ["connectors", "mappings"] {
        common::hub::copy_edited(sub, ws.path(), |_, t| t);
    }
    for file in ["routing.toml", "services.toml"] {
        std::fs::copy(repo().join(file), ws.path().join(file)).unwrap();
    }
    write(
        &ws.path().join("switchboard.toml"),
        &format!(
            "version = 1\n[store]\nurl = \"{store_url}\"\n[broker]\nurl = \"{}\"\nprefix = \"{prefix}\"\n{}",
            amqp_url(),
            connector_tables(estate)
        ),
    );
    ws
}

async fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (dir, args): (std::path::PathBuf, Vec<String>) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        output(&dir, &args)
    })
    .await
    .unwrap()
}

fn heating() -> Map<String, Value> {
    [
        ("short_description", json!("No heating on floor 3")),
        ("state", json!("1")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

async fn routed_work_reaches_the_target_within_the_run(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let estate = Estate::spawn(5).await.unwrap();
    let prefix = format!("sbonce{}{backend:?}", std::process::id()).to_lowercase();
    let ws = workspace(&ts.url, &prefix, &estate);

    // The first run is the baseline: stored, nothing routed.
    let (code, out, err) = run(ws.path(), &["run", "--once"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let before = estate.maximo.sim.count();

    estate.servicenow.sim.insert("incident", heating());
    let (code, out, err) = run(ws.path(), &["run", "--once", "--deliver-for", "60"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    // Delivered when the command returns, not later by a daemon.
    assert_eq!(estate.maximo.sim.count(), before + 1, "{out}\n{err}");
    let order = estate.maximo.sim.records().into_iter().last().unwrap();
    assert_eq!(order["description"], "No heating on floor 3");
    assert!(out.contains("delivered 1 routed message(s)"), "{out}");
    // No "returned message" warning: the queues were there before the
    // first message was published.
    assert!(!err.contains("returned the message"), "{err}");
    assert!(!err.contains("unroutable"), "{err}");

    // Nothing left to do: the next run publishes and waits for nothing.
    let (code, out, err) = run(ws.path(), &["run", "--once"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(estate.maximo.sim.count(), before + 1);
    assert!(!out.contains("wait in RabbitMQ"), "{out}");

    let topology = switchboard::transport::Topology::for_prefix(&prefix);
    delete_topology(&topology, &["maximo", "servicenow", "odoo"]).await;
    estate.shutdown().await;
}

async fn work_a_target_does_not_take_in_time_waits_and_says_so(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let estate = Estate::spawn(5).await.unwrap();
    let prefix = format!("sbwait{}{backend:?}", std::process::id()).to_lowercase();
    let ws = workspace(&ts.url, &prefix, &estate);
    let (code, out, err) = run(ws.path(), &["sync", "servicenow"]).await;
    assert_eq!(code, 0, "{out}\n{err}");

    // Maximo is down for the whole of the next sync's delivery time.
    let before = estate.maximo.sim.count();
    estate.maximo.sim.inject(Fault::Unavailable, 1000);
    estate.servicenow.sim.insert("incident", heating());
    let (code, out, err) = run(ws.path(), &["sync", "servicenow", "--deliver-for", "3"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("1 routed message(s) wait in RabbitMQ and 0 in the outbox"),
        "{out}\n{err}"
    );
    assert_eq!(estate.maximo.sim.count(), before, "nothing was created");

    let topology = switchboard::transport::Topology::for_prefix(&prefix);
    delete_topology(&topology, &["maximo", "servicenow", "odoo"]).await;
    estate.shutdown().await;
}

on_every_backend!(
    routed_work_reaches_the_target_within_the_run,
    work_a_target_does_not_take_in_time_waits_and_says_so
);
