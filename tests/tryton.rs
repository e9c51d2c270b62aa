//! A JSON-RPC system with a session header and an object-valued cursor,
//! from files alone: the worked example of docs/CONNECTORS.md, cut out of
//! the document, run by the `switchboard` binary against the Tryton
//! simulator on both stores. A full read, then an incremental one that
//! reads only the overlap and what changed; a session that expires is
//! renewed once.

mod common;

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use serde_json::json;
use switchboard::connector::{Connector, ConnectorError, Manifest};
use switchboard::diag::SourceFile;
use switchboard::sim::tryton::{SimConfig, TrytonSim};
use switchboard::store::CountedTable;

use common::{Backend, TestStore, write};

const PASSWORD: &str = "tryton-pw-s3cret";

/// The example's two files, cut out of docs/CONNECTORS.md.
fn example_files() -> (String, String) {
    let doc = std::fs::read_to_string(common::repo().join("docs/CONNECTORS.md")).unwrap();
    let section = doc
        .split("## Worked example: a JSON-RPC system")
        .nth(1)
        .expect("JSON-RPC worked example section");
    let blocks: Vec<&str> = section
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default())
        .collect();
    // Pages of 10 rather than 100, so the simulator's 25 parties take three.
    let manifest = blocks[0].replace("page_size = 100", "page_size = 10");
    assert_ne!(manifest, blocks[0], "the example pages by 100");
    (manifest, blocks[1].to_string())
}

fn sim_config() -> SimConfig {
    SimConfig {
        login: "sync".into(),
        password: PASSWORD.into(),
        ..SimConfig::default()
    }
}

fn run_once(dir: &Path, config: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--config", config.to_str().unwrap(), "run", "--once"])
        .current_dir(dir)
        .env("TRYTON_PASSWORD", PASSWORD)
        .env_remove("RUST_LOG")
        .output()
        .expect("binary runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.code().unwrap_or(-1), err)
}

/// Records the simulator returned to the `n..` searches.
fn returned_since(sim: &TrytonSim, n: usize) -> usize {
    sim.searches("party.party")[n..]
        .iter()
        .map(|r| r.returned)
        .sum()
}

async fn a_jsonrpc_system_with_a_session_header(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = TrytonSim::spawn(sim_config()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (manifest, mapping) = example_files();
    write(&dir.path().join("connectors/tryton.toml"), &manifest);
    write(&dir.path().join("mappings/tryton-parties.toml"), &mapping);
    let config = dir.path().join("switchboard.toml");
    write(
        &config,
        &format!(
            "version = 1\n[store]\nurl = \"{}\"\n[paths]\nconnectors = \"connectors\"\nmappings = \"mappings\"\n[connectors.tryton]\nbase_url = \"{}\"\n",
            ts.url, h.base_url
        ),
    );

    let (code, err) = run_once(dir.path(), &config);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 25);
    let first = h.sim.searches("party.party");
    assert_eq!(first.len(), 3, "pages of 10");
    assert!(
        first
            .iter()
            .all(|r| r.auth_scheme.as_deref() == Some("Session") && r.session_valid),
        "every search carries the session header"
    );
    let logins = |sim: &TrytonSim| {
        sim.requests()
            .iter()
            .filter(|r| r.method.as_deref() == Some("common.db.login"))
            .count()
    };
    assert_eq!(logins(&h.sim), 1);
    // The first bound is the epoch, written as a datetime object.
    assert_eq!(first[0].domain().unwrap()[1][2]["year"], json!(1970));
    // The cursor: the latest of create_date and write_date (party 24,
    // written on 3 November), kept as RFC 3339 with `Z`.
    let cursor = ts.store.cursor("tryton", "parties").await.unwrap();
    assert_eq!(cursor.as_deref(), Some("2026-11-03T07:00:00Z"));

    // A party written and one created in December; the next run reads
    // those and the overlap only.
    h.sim
        .set_now(Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap());
    h.sim
        .write_party(5, |p| p.email = Some("five@example.com".into()));
    h.sim.create_party("Newcomer");
    let (code, err) = run_once(dir.path(), &config);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ts.store.count(CountedTable::People).await.unwrap(), 26);
    assert_eq!(
        returned_since(&h.sim, first.len()),
        3,
        "party 24 (the overlap), 5 and 26"
    );
    let second = &h.sim.searches("party.party")[first.len()];
    assert_eq!(
        second.domain().unwrap()[2][2],
        json!({"__class__": "datetime", "year": 2026, "month": 11, "day": 3,
            "hour": 6, "minute": 59, "second": 0, "microsecond": 0}),
        "the bound less the overlap, as an object, in the write_date clause"
    );
    let cursor = ts.store.cursor("tryton", "parties").await.unwrap();
    assert_eq!(cursor.as_deref(), Some("2026-12-01T10:00:00Z"));

    // `check --connect` sends what a first run sends: the session header,
    // and the initial bound as a datetime object.
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--config", config.to_str().unwrap(), "check", "--connect"])
        .current_dir(dir.path())
        .env("TRYTON_PASSWORD", PASSWORD)
        .output()
        .expect("binary runs");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("ok   tryton/parties: 10 record"), "{shown}");
    assert!(!shown.contains(PASSWORD));
}

on_every_backend!(a_jsonrpc_system_with_a_session_header);

/// The example's manifest, pointed at the simulator, as the daemon builds it.
fn connector(base: &str) -> std::sync::Arc<dyn Connector> {
    let (manifest, _) = example_files();
    let text = manifest.replace("https://erp.example.com", base);
    let m = Manifest::from_source(&SourceFile::new("connectors/tryton.toml", text))
        .unwrap_or_else(|d| panic!("{d}"));
    // SAFETY: every test in this binary sets the same value.
    unsafe { std::env::set_var("TRYTON_PASSWORD", PASSWORD) };
    m.config.build(&m.header).expect("builds")
}

#[tokio::test]
async fn an_expired_session_is_renewed_once() {
    let h = TrytonSim::spawn(sim_config()).await.unwrap();
    let conn = connector(&h.base_url);
    let bound = Some("2026-11-01T00:00:00Z");
    conn.fetch_page("parties", bound, None).await.unwrap();
    h.sim.expire_sessions();
    let page = conn.fetch_page("parties", bound, None).await.unwrap();
    assert_eq!(page.records.len(), 10);
    let calls: Vec<(String, u16)> = h
        .sim
        .requests()
        .iter()
        .map(|r| (r.method.clone().unwrap_or_default(), r.status))
        .collect();
    let search = "model.party.party.search_read".to_string();
    let login = "common.db.login".to_string();
    assert_eq!(
        calls,
        [
            (login.clone(), 200),
            (search.clone(), 200),
            (search.clone(), 401),
            (login, 200),
            (search, 200)
        ]
    );
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_without_the_password() {
    let h = TrytonSim::spawn(SimConfig {
        password: "another".into(),
        ..sim_config()
    })
    .await
    .unwrap();
    let err = connector(&h.base_url)
        .fetch_page("parties", None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(PASSWORD));
}
