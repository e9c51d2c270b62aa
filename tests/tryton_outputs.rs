//! Credentials never reach an output. The Tryton example's connector, with
//! a password in its base URL, the login password from the environment and
//! a session header built from the login's result, syncs records that go
//! to quarantine, fails a sync on a refused login, and fails two writes
//! (one refused: a dead letter; one on a 503: an outbox error). Every
//! output is collected (error texts and their `Debug`, the log at debug
//! level, quarantine rows, sync errors, outbox errors and dead-letter
//! payloads as stored) and searched for each secret. Also: a cursor field
//! that no record has is warned about once and counted in `/metrics`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::json;
use switchboard::connector::{Connector, Manifest};
use switchboard::diag::SourceFile;
use switchboard::mapping::{Mapping, MappingSlot, OutboundMapping};
use switchboard::routing::message::{Origin, Routed};
use switchboard::routing::{Event, Target};
use switchboard::sim::tryton::{Fault, SimConfig, TrytonSim};
use switchboard::store::OutboxMessage;
use switchboard::sync::SyncJob;
use switchboard::transport::WorkHandler;
use switchboard::writer::local::{LocalOptions, deliver_once};
use switchboard::writer::{Writer, Writers};
use tokio_util::sync::CancellationToken;

use common::hub::texts;
use common::{Backend, TestStore};

const PASSWORD: &str = "tryton-pw-s3cret";
const URL_PASSWORD: &str = "url-pw-s3cret";

/// The log, at debug level, for this test's thread.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn capture() -> (Log, tracing::subscriber::DefaultGuard) {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
}

/// The worked example's manifest with an action, and `edit` applied.
fn manifest(base: &str, edit: impl Fn(String) -> String) -> Manifest {
    let doc = std::fs::read_to_string(common::repo().join("connectors/tryton.toml")).unwrap();
    let text = doc
        .replace("enabled = false\n", "")
        .replace("https://erp.example.com", base)
        .replace("[http]\n", "")
        + "\n[http]\nmax_attempts = 1\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\n\n[actions.create_party]\nmethod = \"model.party.party.create\"\nparams = [[\"${body}\"], {}]\nid = \"0\"\n";
    // SAFETY: every test in this binary sets the same value.
    unsafe { std::env::set_var("TRYTON_PASSWORD", PASSWORD) };
    Manifest::from_source(&SourceFile::new("connectors/tryton.toml", edit(text)))
        .unwrap_or_else(|d| panic!("{d}"))
}

fn job(connector: Arc<dyn Connector>, mapping: &str) -> SyncJob {
    let mapping = Mapping::from_source(&SourceFile::new("mappings/tryton-parties.toml", mapping))
        .unwrap_or_else(|d| panic!("{d}"));
    let stream = connector.streams().remove(0);
    SyncJob {
        connector,
        stream,
        mapping: MappingSlot::new(Arc::new(mapping)),
        department: "finance".into(),
        router: None,
    }
}

/// Every party fails the mapping (a code is not a date): quarantine.
const QUARANTINING: &str = "version = 1\nsystem = \"tryton\"\nstream = \"parties\"\nentity = \"person\"\n\n[fields]\ndisplay_name = { path = \"name\" }\nstart_date = { path = \"code\" }\n";

fn outbox_message(n: u32) -> OutboxMessage {
    let record =
        json!({"entity": "person", "display_name": format!("Writer {n}"), "classified": {}});
    let event = Event {
        kind: "created".into(),
        system: "hr".into(),
        stream: "people".into(),
        from_status: None,
        to_status: None,
    };
    let target = Target {
        department: "finance".into(),
        connector: "tryton".into(),
        action: "create_party".into(),
    };
    let id = format!("p{n}");
    let m = Routed {
        origin: Origin {
            system: "hr",
            stream: "people",
            external_id: &id,
        },
        record: &record,
        event: &event,
        by: "test",
        target: &target,
        target_id: None,
        priority: None,
        sla_hours: None,
        set: &BTreeMap::new(),
    }
    .message(&BTreeMap::new(), chrono::Utc::now());
    OutboxMessage {
        event_id: m.id,
        routing_key: m.routing_key,
        payload: m.body,
        not_before: None,
    }
}

async fn no_credential_reaches_any_output(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = TrytonSim::spawn(SimConfig {
        login: "sync".into(),
        password: PASSWORD.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let base = h
        .base_url
        .replace("http://", &format!("http://bot:{URL_PASSWORD}@"));
    let (log, _guard) = capture();
    let mut outputs: Vec<String> = Vec::new();

    // A sync whose records all go to quarantine.
    let m = manifest(&base, |t| t);
    let connector = m.config.build(&m.header).unwrap();
    outputs.push(format!("{connector:?} {m:?}"));
    let report = job(connector.clone(), QUARANTINING)
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect("the sync runs");
    assert_eq!(report.quarantined, 25, "{report:?}");

    // A sync whose login is refused.
    let wrong = manifest(&base, |t| {
        t.replace("env:TRYTON_PASSWORD", "env:TRYTON_WRONG")
    });
    // SAFETY: only this test reads the variable.
    unsafe { std::env::set_var("TRYTON_WRONG", "wrong-pw-s3cret") };
    let refused = wrong.config.build(&wrong.header).unwrap();
    let err = job(refused, QUARANTINING)
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .expect_err("a refused login fails the run");
    outputs.push(format!("{err} {err:?}"));

    // Two writes: refused by the server (a dead letter), and met by a 503
    // (an error kept on the outbox row for the next try).
    let outbound = OutboundMapping::from_source(&SourceFile::new(
        "mappings/tryton-create-party.toml",
        "version = 1\ndirection = \"outbound\"\nsystem = \"tryton\"\naction = \"create_party\"\nentity = \"person\"\n\n[fields]\nname = { path = \"display_name\" }\n",
    ))
    .unwrap_or_else(|d| panic!("{d}"));
    let writer = Writer::new(ts.store.clone(), connector.clone(), [Arc::new(outbound)]);
    let writers = Writers::from([(
        "tryton".to_string(),
        Arc::new(writer) as Arc<dyn WorkHandler>,
    )]);
    let options = LocalOptions::default();
    ts.store.enqueue(&[outbox_message(1)]).await.unwrap();
    let r = deliver_once(&ts.store, &writers, &options).await.unwrap();
    assert_eq!(r.dead, 1, "{r:?}");
    h.sim.fail_next(Fault::Unavailable, 1);
    ts.store.enqueue(&[outbox_message(2)]).await.unwrap();
    let r = deliver_once(&ts.store, &writers, &options).await.unwrap();
    assert_eq!(r.retried, 1, "{r:?}");
    let direct = connector
        .perform(
            "create_party",
            &switchboard::connector::ActionInput {
                target_id: None,
                body: json!({"name": "x"}),
            },
        )
        .await
        .unwrap_err();
    outputs.push(format!("{direct} {direct:?}"));

    for sql in [
        "SELECT reason || ' ' || CAST(payload AS TEXT) FROM quarantine",
        "SELECT COALESCE(last_error, '') FROM sync_state",
        "SELECT COALESCE(last_error, '') || ' ' || CAST(payload AS TEXT) FROM outbox",
    ] {
        outputs.extend(texts(&ts.store, sql).await);
    }
    let dead = ts.store.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 1);
    outputs.push(format!("{dead:?}"));
    let log = log.text();
    assert!(
        log.contains("model.party.party.create"),
        "the log is captured"
    );
    outputs.push(log);

    let tokens = h.sim.session_tokens();
    assert!(!tokens.is_empty(), "a session was opened");
    let mut secrets = vec![
        PASSWORD.to_string(),
        URL_PASSWORD.to_string(),
        "wrong-pw-s3cret".to_string(),
    ];
    for t in tokens {
        let header = base64::engine::general_purpose::STANDARD.encode(format!("sync:1:{t}"));
        secrets.extend([t, header]);
    }
    let all = outputs.join("\n");
    assert!(all.contains("***"), "something was masked");
    for secret in &secrets {
        assert!(!all.contains(secret.as_str()), "`{secret}` leaked:\n{all}");
    }
}

async fn a_missing_cursor_field_is_warned_once_and_counted(backend: Backend) {
    let metrics = switchboard::telemetry::metrics().expect("recorder");
    let ts = TestStore::new(backend).await;
    let h = TrytonSim::spawn(SimConfig {
        login: "sync".into(),
        password: PASSWORD.into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (log, _guard) = capture();
    let m = manifest(&h.base_url, |t| {
        t.replace(
            "fields = [\"create_date\", \"write_date\"]",
            "field = \"changed_on\"",
        )
    });
    let mapping =
        std::fs::read_to_string(common::repo().join("mappings/tryton-parties.toml")).unwrap();
    let report = job(m.config.build(&m.header).unwrap(), &mapping)
        .run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (report.stored, report.cursor_missing),
        (25, 25),
        "{report:?}"
    );
    assert_eq!(report.cursor, None, "nothing to commit");
    let text = log.text();
    let warnings = text
        .lines()
        .filter(|l| l.contains("cursor field missing or unreadable"))
        .collect::<Vec<_>>();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("stream=parties") && warnings[0].contains("key=1"));
    assert!(warnings[0].contains("changed_on"));
    let rendered = metrics.render();
    assert!(
        rendered
            .lines()
            .any(|l| l.starts_with("switchboard_cursor_missing_total{")
                && l.contains("stream=\"parties\"")),
        "{rendered}"
    );
}

on_every_backend!(
    no_credential_reaches_any_output,
    a_missing_cursor_field_is_warned_once_and_counted
);
