//! Routed delivery, two ways, on SQLite and PostgreSQL:
//! 1. Outbox -> RabbitMQ: N routed CloudEvents enqueued, then `run_relay`
//!    (the daemon's relay, with its window of unconfirmed publishes) timed
//!    until every row is marked sent and the queue holds all N, into a
//!    quorum work queue of a topology of our own. Beside it, in the same
//!    run, the peer: a bare lapin publisher keeping 256 publishes
//!    unconfirmed, sending the same bodies into an identical quorum queue
//!    (the broker's own ceiling for one client). Messages per second.
//! 2. Webhook -> Maximo: signed deliveries posted at a steady rate (200 a
//!    second), each on its own task, so they arrive concurrently; a rule
//!    routes each to `create_workorder`, and `run_local` with the daemon's
//!    default settings delivers it to the Maximo simulator. Per delivery,
//!    the time from sending the POST to the simulator having created the
//!    work order, as p50, p99 and max.
//!
//! `cargo bench --bench routing`: 20000 messages and 2000 webhooks, or
//! SWITCHBOARD_BENCH_MESSAGES, SWITCHBOARD_BENCH_BATCHES (claim sizes, e.g.
//! "256"), SWITCHBOARD_BENCH_WINDOWS (e.g. "256,1024"),
//! SWITCHBOARD_BENCH_WEBHOOKS and SWITCHBOARD_BENCH_RATE (webhooks a
//! second). Figures go into docs/PERFORMANCE.md by hand. Not a test: nothing
//! asserts a speed. Under `cargo test` (no `--bench` argument) it runs on
//! 200 messages and 20 webhooks, so it cannot rot. Needs PostgreSQL and
//! RabbitMQ, as the integration tests do.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{Next, from_fn};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use sqlx::Connection;
use switchboard::config::{ConnectorOverride, SecretRef};
use switchboard::connector::Manifest;
use switchboard::daemon::http::{Hook, router};
use switchboard::diag::SourceFile;
use switchboard::mapping::{AnyMapping, Mapping, MappingSlot};
use switchboard::routing::message::{Origin, Routed};
use switchboard::routing::{Event, Routing, RoutingSlot, Target};
use switchboard::sim::maximo::{MaximoSim, SimConfig};
use switchboard::store::{OutboxMessage, Store};
use switchboard::sync::Router;
use switchboard::transport::WorkHandler;
use switchboard::writer::local::{LocalOptions, run_local};
use switchboard::writer::{Writer, Writers};
use tokio_util::sync::CancellationToken;

#[path = "routing/cpu.rs"]
mod cpu;
#[path = "routing/relay.rs"]
mod relay;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const HOOK_SECRET: &str = "bench-hook-secret";
const STORES: [&str; 2] = ["SQLite", "PostgreSQL"];

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    // Sizes from the environment when benching; the smoke sizes otherwise.
    let var = |name: &str| std::env::var(name).ok().filter(|_| benching);
    let size = |name: &str, bench: u64, smoke: u64| {
        let set = var(name).and_then(|v| v.parse().ok());
        set.unwrap_or(if benching { bench } else { smoke })
    };
    let messages = size("SWITCHBOARD_BENCH_MESSAGES", 20_000, 200) as usize;
    let list = |name: &str, default: &str| -> Vec<usize> {
        var(name)
            .unwrap_or_else(|| default.into())
            .split(',')
            .filter_map(|b| b.trim().parse().ok())
            .collect()
    };
    let batches = list("SWITCHBOARD_BENCH_BATCHES", "256");
    let windows = list("SWITCHBOARD_BENCH_WINDOWS", "1024");
    let webhooks = size("SWITCHBOARD_BENCH_WEBHOOKS", 2000, 20) as usize;
    let rate = size("SWITCHBOARD_BENCH_RATE", 200, 200).max(1);
    let amqp = std::env::var("SWITCHBOARD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        relay::relay_bench(&amqp, messages, &batches, &windows).await;
        latency_bench(webhooks, rate).await;
    });
}

/// A migrated, empty store: a SQLite file, or a PostgreSQL database of its
/// own that `done` drops.
struct BenchStore {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl BenchStore {
    async fn new(kind: &str, tag: &str) -> Self {
        let (mut dir, mut pg) = (None, None);
        let url = if kind == "SQLite" {
            let d = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", d.path().join("bench.db").display());
            dir = Some(d);
            url
        } else {
            let admin = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("sb_bench_routing_{}_{tag}", std::process::id());
            admin_sql(&admin, &format!("DROP DATABASE IF EXISTS {name}")).await;
            admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
            let mut url = url::Url::parse(&admin).expect("postgres url");
            url.set_path(&format!("/{name}"));
            pg = Some((admin, name));
            url.to_string()
        };
        // 8 connections: the daemon's default `store.max_connections`.
        let store = Store::connect(&url, 8).await.expect("store connects");
        store.migrate().await.expect("migrations");
        Self {
            store,
            _dir: dir,
            pg,
        }
    }

    async fn done(self) {
        self.store.close().await;
        if let Some((admin, name)) = self.pg {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            admin_sql(&admin, &sql).await;
        }
    }
}

async fn admin_sql(admin: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {admin}: {e}"));
    sqlx::query(sql).execute(&mut conn).await.expect(sql);
}

/// Routed work as the sync router makes it: a CloudEvent of about 1.7 KB
/// for a Maximo work order, from an IT ticket with a paragraph of text.
fn routed(i: usize) -> OutboxMessage {
    let id = format!("INC{:07}", 1_000_000 + i);
    let record = json!({
        "entity": "work_item", "kind": "incident", "external_id": id,
        "title": format!("No heating on floor {} of building {}", i % 9, i % 4),
        "description": "Radiators on the east side have been cold since 7:00. The thermostat \
            shows 16 degrees although it is set to 21. Facilities were told by phone yesterday; \
            the caller asks for a visit before noon because the meeting rooms are booked all \
            afternoon. No smell of gas, no visible leak. The caller can be reached at the \
            reception desk of the third floor.",
        "status": "new", "native_status": "1", "priority": 2,
        "requester_ref": format!("{i:032x}"), "department": "it",
        "assignee_group": "Service Desk", "service": "Building services",
        "location_ref": format!("HQ-{}-{:03}", i % 4, i % 300),
        "external_url": format!("https://example.service-now.com/incident.do?sys_id={i:032x}"),
        "opened_at": "2026-11-23T07:12:00Z", "updated_at": "2026-11-23T07:15:31Z",
        "due_at": "2026-11-23T15:12:00Z",
        "attributes": {"number": id, "impact": "2", "urgency": "2", "category": "facilities",
                       "contact_type": "phone", "caller": "Ada Lovelace"},
        "classified": {}
    });
    let event = Event {
        kind: "created".into(),
        system: "servicenow".into(),
        stream: "incident".into(),
        from_status: None,
        to_status: Some("new".into()),
    };
    let target = Target {
        department: "facilities".into(),
        connector: "maximo".into(),
        action: "create_workorder".into(),
    };
    let set = BTreeMap::from([("attributes.maximo_siteid".into(), json!("BEDFORD"))]);
    let m = Routed {
        origin: Origin {
            system: "servicenow",
            stream: "incident",
            external_id: &id,
        },
        record: &record,
        event: &event,
        by: "heating-and-leaks-to-facilities",
        target: &target,
        target_id: None,
        priority: None,
        sla_hours: Some(8),
        set: &set,
    }
    .message(&BTreeMap::new(), chrono::Utc::now());
    OutboxMessage {
        event_id: m.id,
        routing_key: m.routing_key,
        payload: m.body,
        not_before: None,
    }
}

/// A webhook connector for an IT desk, as an admin would write one.
const HOOK_MANIFEST: &str = r#"version = 1
system = "desk-hooks"
kind = "webhook"
department = "it"
secret = "SECRET"
signature_header = "X-Hub-Signature"
signature_prefix = "sha256="
delivery_id_header = "X-Delivery"

[stream]
name = "issue"
records = "issue"
key = "key"
"#;

const HOOK_MAPPING: &str = r#"version = 1
system = "desk-hooks"
stream = "issue"
entity = "work_item"

[fields]
kind = { const = "incident" }
title = { path = "fields.summary" }
description = { path = "fields.description" }
status = { path = "fields.status", map = "status" }
priority = { path = "fields.priority", map = "priority" }
location = { path = "fields.location" }

[maps]
status = { open = "new", done = "resolved" }
priority = { High = 2, Medium = 3 }
"#;

/// Every new work item goes to Facilities as a Maximo work order.
const ROUTING: &str = r#"version = 1
[[rules]]
name = "everything-to-facilities"
on = ["created"]
to = { department = "facilities", connector = "maximo", action = "create_workorder" }
set = { "attributes.maximo_siteid" = "BEDFORD", "attributes.maximo_worktype" = "CM" }

[default]
"#;

async fn latency_bench(m: usize, rate: u64) {
    println!(
        "\nwebhook -> Maximo simulator: {m} deliveries at {rate} a second, each on its own task; \
         the daemon's default delivery settings\n\n\
         | store | deliveries | rate (/s) | 202 p50 (ms) | 202 p99 (ms) \
         | in Maximo p50 (ms) | in Maximo p99 (ms) | in Maximo max (ms) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for name in STORES {
        let (accepted, delivered) = webhook_run(name, m, rate).await;
        let ([a50, a99, _], [d50, d99, max]) = (summary(accepted), summary(delivered));
        println!(
            "| {name} | {m} | {rate} | {a50:.1} | {a99:.1} | {d50:.1} | {d99:.1} | {max:.1} |"
        );
    }
}

/// p50, p99 (nearest rank) and max, in milliseconds.
fn summary(mut samples: Vec<Duration>) -> [f64; 3] {
    samples.sort();
    [50.0, 99.0, 100.0].map(|p: f64| {
        let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
        let at = samples.get(rank.saturating_sub(1)).copied();
        at.unwrap_or_default().as_secs_f64() * 1e3
    })
}

/// Post `m` deliveries, one every `1/rate` s whether or not the earlier ones
/// are done; for each, the time to the 202 and the time to the work order
/// existing in Maximo.
async fn webhook_run(store_kind: &str, m: usize, rate: u64) -> (Vec<Duration>, Vec<Duration>) {
    let bs = BenchStore::new(store_kind, "hooks").await;
    let store = bs.store.clone();

    // The Maximo simulator, behind a layer that notes which delivery's work
    // order it has just created, and when: the work order exists from then
    // on. Its request log has no times, and polling `count()` would add the
    // poll's own interval.
    let sim = MaximoSim::new(SimConfig::default());
    let seeded = sim.count();
    let (created_tx, mut created) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let room = regex::Regex::new(r"meeting room (\d+)").expect("regex");
    let stamp = from_fn(move |req: Request, next: Next| {
        let (tx, room) = (created_tx.clone(), room.clone());
        async move {
            let create = req.method() == Method::POST && req.uri().path().ends_with("/os/mxwo");
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let which = create
                .then(|| room.captures(&text))
                .flatten()
                .and_then(|c| c[1].parse::<usize>().ok());
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            let response = next.run(req).await;
            if let Some(i) = which
                && response.status().is_success()
            {
                let _ = tx.send((i, Instant::now()));
            }
            response
        }
    });
    let writers = maximo_writers(&store, serve(sim.router().layer(stamp)).await);

    let base = serve(router(store.clone(), desk_hooks())).await;

    let stop = CancellationToken::new();
    // The daemon's defaults: nothing here is tuned for the bench.
    let options = LocalOptions::default();
    let delivery = tokio::spawn(run_local(store.clone(), writers, options, stop.clone()));

    let client = reqwest::Client::new();
    let mut posts = tokio::task::JoinSet::new();
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for i in 0..m {
        tick.tick().await;
        let (client, base) = (client.clone(), base.clone());
        posts.spawn(async move {
            let body = json!({"webhookEvent": "issue_created", "issue": {"key": format!("DESK-{i}"), "fields": {
                "summary": format!("Radiator cold in meeting room {i}"),
                "description": "Cold since this morning; the thermostat is set to 21 degrees.",
                "status": "open", "priority": "High", "location": format!("HQ-3-{:03}", i % 300)}}})
            .to_string();
            let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).expect("hmac key");
            mac.update(body.as_bytes());
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let sent = Instant::now();
            let resp = client
                .post(format!("{base}/hooks/desk-hooks"))
                .header("X-Hub-Signature", signature)
                .header("X-Delivery", format!("bench-{i}"))
                .body(body)
                .send()
                .await
                .expect("webhook answers");
            let accepted = sent.elapsed();
            let status = resp.status().as_u16();
            let answer = resp.text().await.unwrap_or_default();
            assert_eq!(status, 202, "delivery {i}: {answer}");
            (i, sent, accepted)
        });
    }
    let mut sent_at = HashMap::with_capacity(m);
    let mut accepted = Vec::with_capacity(m);
    while let Some(post) = posts.join_next().await {
        let (i, sent, took) = post.expect("post task");
        sent_at.insert(i, sent);
        accepted.push(took);
    }
    let mut delivered = Vec::with_capacity(m);
    while delivered.len() < m {
        let Ok(Some((i, at))) = tokio::time::timeout(Duration::from_secs(10), created.recv()).await
        else {
            let dead = store.dead_letters().await;
            let (got, dead) = (delivered.len(), dead.map(|d| d.len()));
            panic!("{got} of {m} deliveries reached Maximo; dead letters: {dead:?}");
        };
        let sent = sent_at
            .get(&i)
            .expect("a work order for a delivery that was sent");
        delivered.push(at.duration_since(*sent));
    }
    stop.cancel();
    delivery.await.expect("delivery loop stops");
    assert_eq!(sim.count(), seeded + m, "one work order per delivery");
    bs.done().await;
    (accepted, delivered)
}

/// The webhook connector, its mapping and the routing rule, wired as the
/// daemon wires them (parsed from text, as `load` parses a file's).
fn desk_hooks() -> HashMap<String, Hook> {
    let source = |path: &str, text: &str| SourceFile::new(path, text.to_string());
    let routing = Routing::from_source(&source("routing.toml", ROUTING));
    let routing = Arc::new(routing.unwrap_or_else(|d| panic!("routing.toml: {d}")));
    let routing = RoutingSlot::new(routing);
    let text = HOOK_MANIFEST.replace("SECRET", HOOK_SECRET);
    let manifest = Manifest::from_source(&source("connectors/desk-hooks.toml", &text));
    let manifest = manifest.expect("webhook manifest parses");
    let connector = manifest.config.build(&manifest.header);
    let mapping = Mapping::from_source(&source("mappings/desk-hooks-issue.toml", HOOK_MAPPING));
    let departments = [("desk-hooks", "it"), ("maximo", "facilities")];
    let departments = departments.map(|(s, d)| (s.into(), d.into())).into();
    let hook = Hook {
        connector: connector.expect("webhook connector builds"),
        mapping: MappingSlot::new(Arc::new(mapping.expect("webhook mapping parses"))),
        department: "it".into(),
        router: Some(Arc::new(Router {
            routing,
            departments,
        })),
    };
    HashMap::from([("desk-hooks".to_string(), hook)])
}

/// The writer for the shipped Maximo manifest and create mapping, pointed
/// at the simulator at `base_url`.
fn maximo_writers(store: &Store, base_url: String) -> Writers {
    let path = Path::new(ROOT).join("connectors/maximo.toml");
    let text = std::fs::read_to_string(&path).expect("shipped manifest");
    // The simulator is ours: no need for the manifest's 4 requests a second.
    let limit = "rate_limit_per_sec = 4";
    assert!(
        text.contains(limit),
        "the Maximo rate limit is where the bench expects"
    );
    let text = text.replace(limit, "rate_limit_per_sec = 0");
    let mut m = Manifest::from_source(&SourceFile::new(path, text)).expect("manifest parses");
    let token = Some(SecretRef::Literal(SimConfig::default().api_key));
    let over = ConnectorOverride {
        base_url: Some(base_url),
        token,
        ..Default::default()
    };
    m.config.apply_override(&over).expect("override applies");
    let maximo = m.config.build(&m.header).expect("maximo connector builds");
    let file = Path::new(ROOT).join("mappings/maximo-create-workorder.toml");
    let outbound = match AnyMapping::load(&file) {
        Ok(AnyMapping::Outbound(o)) => Arc::new(o),
        other => panic!("{}: not an outbound mapping: {other:?}", file.display()),
    };
    let writer: Arc<dyn WorkHandler> = Arc::new(Writer::new(store.clone(), maximo, [outbound]));
    HashMap::from([("maximo".to_string(), writer)])
}

/// Serve `app` on a loopback port of its own; its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("local addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}
