//! Webhook deliveries that are not what they claim, to a running
//! `switchboard run`, and secrets in failing commands: the daemon answers
//! each with its status and goes on taking deliveries, and no secret given
//! in config appears in any output.

use std::fs::File;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};

use crate::common::bin::switchboard;
use crate::common::project::{Project, copy_servicenow, counts, run_in, run_once};

// ---- webhooks through `switchboard run` ----

const HOOK_SECRET: &str = "hook-Secret-0f9e8d7c";

/// A running daemon with one webhook connector, `desk-hooks`.
struct Daemon {
    child: Child,
    base: String,
    log: std::path::PathBuf,
    url: String,
    _p: Project,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    async fn start() -> Daemon {
        let p = Project::empty();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("sqlite://{}", p.path("hub.db").display());
        p.write(
            "switchboard.toml",
            &format!(
                "version = 1\n\n[store]\nurl = \"{url}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n\
                 [connectors.desk-hooks]\ntoken = \"{HOOK_SECRET}\"\n"
            ),
        );
        p.write(
            "connectors/desk-hooks.toml",
            "version = 1\nsystem = \"desk-hooks\"\nkind = \"webhook\"\ndepartment = \"it\"\n\
             secret = \"env:SWITCHBOARD_TEST_UNSET_HOOK_SECRET\"\nsignature_header = \"X-Hub-Signature\"\n\
             signature_prefix = \"sha256=\"\ndelivery_id_header = \"X-Delivery\"\n\n\
             [stream]\nname = \"issue\"\nrecords = \"issue\"\nkey = \"key\"\n",
        );
        p.write(
            "mappings/desk-hooks-issue.toml",
            "version = 1\nsystem = \"desk-hooks\"\nstream = \"issue\"\nentity = \"work_item\"\n\n\
             [fields]\nkind = { const = \"request\" }\ntitle = { path = \"summary\" }\nstatus = { const = \"new\" }\n",
        );
        let log = p.path("daemon.log");
        let child = switchboard(p.dir.path(), &["run"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(File::create(p.path("daemon.out")).unwrap()))
            .stderr(Stdio::from(File::create(&log).unwrap()))
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut d = Daemon {
            child,
            base,
            log,
            url,
            _p: p,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/readyz", d.base)).await
                && r.status() == 200
            {
                return d;
            }
            assert!(
                d.child.try_wait().unwrap().is_none(),
                "the daemon exited: {}",
                d.log_text()
            );
            assert!(
                Instant::now() < deadline,
                "not ready in 30 s: {}",
                d.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn post(&self, system: &str, id: &str, body: Vec<u8>, signature: Option<String>) -> u16 {
        self.try_post(system, id, body, signature)
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn try_post(
        &self,
        system: &str,
        id: &str,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = reqwest::Client::new()
            .post(format!("{}/hooks/{system}", self.base))
            .header("X-Delivery", id)
            .body(body);
        if let Some(s) = signature {
            req = req.header("X-Hub-Signature", s);
        }
        req.send().await
    }

    /// Still alive and storing: a good delivery after the bad one is taken.
    async fn still_takes_deliveries(&self, expected_items: i64) {
        let body = json!({"issue": {"key": "SD-1", "summary": "Printer on fire"}}).to_string();
        assert_eq!(
            self.post(
                "desk-hooks",
                "good",
                body.clone().into_bytes(),
                Some(sign(body.as_bytes()))
            )
            .await,
            202
        );
        assert_eq!(counts(&self.url).await.0, expected_items);
        let log = self.log_text();
        assert!(!log.contains("panicked"), "{log}");
        assert!(!log.contains(HOOK_SECRET), "the secret leaked:\n{log}");
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_malformed_json_is_400_and_nothing_stored() {
    let d = Daemon::start().await;
    let body = b"{\"issue\": {\"key\": \"SD-9\",".to_vec();
    assert_eq!(
        d.post("desk-hooks", "bad-json", body.clone(), Some(sign(&body)))
            .await,
        400
    );
    assert_eq!(counts(&d.url).await.0, 0);
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_bad_signature_is_401() {
    let d = Daemon::start().await;
    let body = json!({"issue": {"key": "SD-9", "summary": "forged"}})
        .to_string()
        .into_bytes();
    assert_eq!(
        d.post(
            "desk-hooks",
            "forged",
            body.clone(),
            Some(sign(b"something else"))
        )
        .await,
        401
    );
    assert_eq!(
        d.post(
            "desk-hooks",
            "garbage",
            body.clone(),
            Some("sha256=zz".into())
        )
        .await,
        401
    );
    assert_eq!(d.post("desk-hooks", "unsigned", body, None).await, 401);
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_oversize_body_is_refused() {
    let d = Daemon::start().await;
    let summary = "x".repeat(8 << 20);
    let body = json!({"issue": {"key": "SD-9", "summary": summary}})
        .to_string()
        .into_bytes();
    let signature = sign(&body);
    // The daemon answers 413, and may close the connection while the
    // body is still being sent: either way it is refused, unread.
    match d
        .try_post("desk-hooks", "huge", body, Some(signature))
        .await
    {
        Ok(answer) => assert_eq!(answer.status().as_u16(), 413, "a body past the limit"),
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    assert_eq!(counts(&d.url).await, (0, 0));
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_unknown_system_is_404() {
    let d = Daemon::start().await;
    let body = b"{}".to_vec();
    assert_eq!(
        d.post("desk-hook", "x", body.clone(), Some(sign(&body)))
            .await,
        404
    );
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivery_without_the_record_path() {
    let d = Daemon::start().await;
    let body = json!({"changelog": {"items": []}}).to_string().into_bytes();
    let status = d
        .post("desk-hooks", "no-issue", body.clone(), Some(sign(&body)))
        .await;
    // Taken with no record in it: senders push events of other kinds too.
    assert_eq!(status, 202);
    assert_eq!(counts(&d.url).await, (0, 0));
    d.still_takes_deliveries(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_record_without_its_key() {
    let d = Daemon::start().await;
    let body = json!({"issue": {"summary": "no key"}})
        .to_string()
        .into_bytes();
    let status = d
        .post("desk-hooks", "no-key", body.clone(), Some(sign(&body)))
        .await;
    // Taken, and the record without its key is quarantined, as in a sync.
    assert_eq!(status, 202);
    assert_eq!(counts(&d.url).await, (0, 1));
    d.still_takes_deliveries(1).await;
}

// ---- secrets in failing commands ----

const PASSWORD: &str = "Pa55-never-print-me";

#[test]
fn secret_in_config_not_shown_when_check_fails() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        &format!("\n[connectors.servicenow]\nbase_url = \"ftp://x\"\npassword = \"{PASSWORD}\"\nusername = \"admin\"\n"),
    );
    p.check()
        .exits(1)
        .located_in("switchboard.toml")
        .hides(PASSWORD);
    p.run(&["run", "--once"]).fails().hides(PASSWORD);
}

#[test]
fn secret_in_a_store_url_not_shown_when_it_is_refused() {
    let p = Project::shipped();
    p.edit(
        "switchboard.toml",
        "sqlite://switchboard.db",
        &format!("postgress://sb:{PASSWORD}@127.0.0.1:1/sb"),
    );
    p.check()
        .exits(1)
        .at("switchboard.toml", 4, "url")
        .hides(PASSWORD);
}

#[test]
fn secret_in_a_broker_url_not_shown_when_it_is_refused() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        &format!("\n[broker]\nurl = \"http://guest:{PASSWORD}@127.0.0.1:15672\"\n"),
    );
    let line = p.line_of("switchboard.toml", "15672");
    p.check()
        .exits(1)
        .at("switchboard.toml", line, "url")
        .hides(PASSWORD);
}

#[test]
fn secret_in_an_unreachable_store_url_not_shown() {
    let p = Project::empty();
    p.edit(
        "switchboard.toml",
        "sqlite://switchboard.db",
        &format!("postgres://sb:{PASSWORD}@127.0.0.1:1/sb"),
    );
    p.run(&["run", "--once"]).fails().hides(PASSWORD);
    p.run(&["migrate"]).fails().hides(PASSWORD);
}

#[test]
fn secret_in_an_unreachable_broker_url_not_shown() {
    let p = Project::empty();
    p.append(
        "switchboard.toml",
        &format!("\n[broker]\nurl = \"amqp://guest:{PASSWORD}@127.0.0.1:1/%2f\"\n"),
    );
    p.run(&["dlq", "list"]).fails().hides(PASSWORD);
}

#[test]
fn secret_from_an_unset_variable_names_it() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        "\n[connectors.servicenow]\nusername = \"admin\"\npassword = \"env:SWITCHBOARD_TEST_NO_SUCH_VAR\"\n",
    );
    p.run(&["run", "--once"])
        .fails()
        .says("SWITCHBOARD_TEST_NO_SUCH_VAR");
}

#[test]
fn secret_from_a_missing_file_names_it() {
    let p = Project::shipped();
    p.append(
        "switchboard.toml",
        "\n[connectors.servicenow]\nusername = \"admin\"\npassword = \"file:/nonexistent/sn-password\"\n",
    );
    p.run(&["run", "--once"])
        .fails()
        .says("/nonexistent/sn-password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_refused_by_the_system_not_shown() {
    let sim = ServiceNowSim::spawn(SimConfig {
        incidents: 5,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let p = Project::empty();
    copy_servicenow(p.dir.path());
    p.append(
        "switchboard.toml",
        &format!(
            "\n[connectors.servicenow]\nbase_url = \"{}\"\nusername = \"admin\"\npassword = \"{PASSWORD}\"\n",
            sim.base_url
        ),
    );
    let ran = run_once(&p).await;
    ran.fails().says("401").hides(PASSWORD);
    let dir = p.dir.path().to_path_buf();
    let ran = tokio::task::spawn_blocking(move || {
        run_in(&dir, &["check", "--connect"], &[], Duration::from_secs(60))
    })
    .await
    .unwrap();
    ran.fails().hides(PASSWORD);
}
