//! `remap` maps what the store holds again after a mapping edit, without a
//! request to the source, and never writes back a payload a sync changed
//! meanwhile; `resync` reads a stream again from a given cursor, or from
//! its start. Real binary and simulator, both stores.

mod common;

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard::mapping::Mapping;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::{PageWrite, Store, Unchanged};
use tokio_util::sync::CancellationToken;

use common::bin::output;
use common::hub::scalar;
use common::{Backend, TestStore, incident_job, servicenow_manifest, write};

const SEEDED: usize = 25;

fn workspace(base: &str, store_url: &str) -> (tempfile::TempDir, String) {
    let ws = tempfile::tempdir().unwrap();
    let connectors = common::hub::copy_edited("connectors", ws.path(), |_, t| t);
    let mappings = common::hub::copy_edited("mappings", ws.path(), |_, t| t);
    let config = ws.path().join("switchboard.toml");
    write(
        &config,
        &format!(
            "version = 1\n[store]\nurl = \"{store_url}\"\n[paths]\nconnectors = \"{}\"\nmappings = \"{}\"\n\
             [connectors.servicenow]\nbase_url = \"{base}\"\nusername = \"admin\"\npassword = \"sim-password\"\n",
            connectors.display(),
            mappings.display()
        ),
    );
    (ws, config.to_str().unwrap().to_string())
}

async fn titles(store: &Store) -> Vec<String> {
    let sql = "SELECT title FROM work_items WHERE source_system = 'servicenow' \
               AND source_stream = 'incident' ORDER BY external_id";
    match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

async fn remap_maps_what_is_stored_without_asking_the_source(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: SEEDED,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (ws, config) = workspace(&sn.base_url, &ts.url);
    let run = |args: &[&str]| output(ws.path(), &[args, &["--config", &config]].concat());
    let (code, out, err) = run(&["sync", "servicenow", "--stream", "incident"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        titles(&ts.store)
            .await
            .iter()
            .all(|t| !t.starts_with("INC"))
    );

    // The admin's edit: the number in front of every title.
    let mapping = ws.path().join("mappings/servicenow-incident.toml");
    let text = std::fs::read_to_string(&mapping).unwrap().replace(
        r#"title = { path = "short_description", default = "(no short description)" }"#,
        r#"title = { template = "{number}: {short_description}" }"#,
    );
    write(&mapping, &text);
    let requests = sn.sim.requests().len();
    let (code, out, err) = run(&["remap", "servicenow", "incident"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(&format!(
            "servicenow/incident: {SEEDED} remapped, {SEEDED} stored, 0 quarantined, 0 skipped"
        )),
        "{out}"
    );
    assert_eq!(
        sn.sim.requests().len(),
        requests,
        "no request to the source"
    );
    let after = titles(&ts.store).await;
    assert_eq!(after.len(), SEEDED);
    assert!(after.iter().all(|t| t.starts_with("INC")), "{after:?}");
    // The next sync finds what it reads again (the overlap) unchanged:
    // same payload, same mapping version.
    let (code, out, err) = run(&["sync", "servicenow", "--stream", "incident"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains(" fetched, 0 stored, ") && !out.contains(" 0 unchanged"),
        "{out}"
    );

    // A name that matches nothing says what does.
    let (code, _, err) = run(&["remap", "servicenow", "incidnet"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("has no stream `incidnet`") && err.contains("incident"),
        "{err}"
    );
    sn.shutdown().await;
}

async fn a_remap_never_writes_back_what_a_sync_changed(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: 3,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let job = incident_job(&servicenow_manifest(&sn.base_url, &[]));
    let stop = CancellationToken::new();
    job.run(&ts.store, &stop, &|_, _| {}).await.unwrap();
    let rows = ts
        .store
        .source_rows_after("servicenow", "incident", "", 10)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let row = &rows[0];
    // What the remap read, at a hash a sync has since replaced.
    let read = Unchanged {
        read: vec![(row.external_id.clone(), "an older hash".into())],
    };
    let mapping: Arc<Mapping> = job.mapping.current();
    let mut payload: Value = row.payload.clone();
    payload["short_description"] = json!("stale");
    let staged = switchboard::store::StagedRecord {
        external_id: row.external_id.clone(),
        content_hash: "stale".into(),
        payload_json: payload.to_string(),
        outcome: Ok(mapping.apply(&payload).unwrap()),
    };
    let outcome = ts
        .store
        .apply_remap(
            PageWrite {
                system: "servicenow",
                stream: "incident",
                mapping_version: &mapping.version,
                records: vec![staged],
                cursor: None,
                delivery: None,
                outbox: Vec::new(),
                effects: Default::default(),
            },
            &read,
        )
        .await
        .unwrap();
    assert!(outcome.stale, "{outcome:?}");
    let stale = scalar(
        &ts.store,
        "SELECT COUNT(*) FROM work_items WHERE title = 'stale'",
    )
    .await;
    assert_eq!(stale, 0, "nothing written");
    sn.shutdown().await;
}

async fn resync_reads_a_stream_again_from_a_cursor(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: SEEDED,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (ws, config) = workspace(&sn.base_url, &ts.url);
    let run = |args: &[&str]| output(ws.path(), &[args, &["--config", &config]].concat());
    let (code, out, err) = run(&["sync", "servicenow", "--stream", "incident"]);
    assert_eq!(code, 0, "{out}\n{err}");

    let (code, out, err) = run(&[
        "resync",
        "servicenow",
        "incident",
        "--from",
        "2100-01-01 00:00:00",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("servicenow/incident: reading again from `2100-01-01 00:00:00`"),
        "{out}"
    );
    let last = sn
        .sim
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.ends_with("/incident"))
        .unwrap();
    // From the given cursor, less the overlap.
    assert_eq!(
        last.query.get("sysparm_query").map(String::as_str),
        Some("sys_updated_on>=2099-12-31 23:59:00^ORDERBYsys_updated_on^ORDERBYsys_id")
    );

    // Without --from: the whole stream, from the cursor's `initial`.
    let (code, out, err) = run(&["resync", "servicenow", "incident"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("{SEEDED} fetched")), "{out}");

    let (code, _, err) = run(&["resync", "servicenow", "incident", "--from", "yesterday"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("`--from yesterday` is not a cursor of `servicenow/incident`: it is read as `%Y-%m-%d %H:%M:%S`"),
        "{err}"
    );
    sn.shutdown().await;
}

on_every_backend!(
    remap_maps_what_is_stored_without_asking_the_source,
    a_remap_never_writes_back_what_a_sync_changed,
    resync_reads_a_stream_again_from_a_cursor
);
