//! Scale-out throughput: 1, 2 and 3 `switchboard run` processes on one
//! PostgreSQL and one RabbitMQ (docs/SCALING.md), measuring
//!
//! - a bulk sync spread over several streams: S copies of the ServiceNow
//!   incident list (S connectors) of R incidents each, from their first run
//!   at start to every record stored, in records/s;
//! - routed messages end to end: M new ServiceNow incidents about heating,
//!   each routed to Maximo (outbox -> RabbitMQ -> writer -> the Maximo
//!   simulator), in messages/s from the first work order created to the
//!   last (and from the insert, sync included);
//!
//! and each instance's peak RSS (`VmHWM`) before it is stopped. The
//! simulators run in this process, on the same cores as the instances.
//!
//! `cargo bench --bench scale_out` (S, R, M from SWITCHBOARD_BENCH_STREAMS,
//! _RECORDS, _ROUTED; defaults 6, 20000, 2000). Figures go into
//! docs/PERFORMANCE.md by hand, with the machine. Nothing here asserts a
//! speed. Under `cargo test` (no `--bench`) it runs small (2 streams of
//! 500, 100 routed, 1 and 2 instances) so it cannot rot.

// The test harness's own modules, at the crate root as `super::` in
// instances.rs expects.
#[path = "../tests/common/bin.rs"]
#[allow(dead_code)]
mod bin;
#[path = "../tests/common/broker.rs"]
#[allow(dead_code)]
mod broker;
#[path = "../tests/common/instances.rs"]
#[allow(dead_code)]
mod instances;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use switchboard::sim::estate::Estate;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};
use switchboard::store::Store;

use instances::Cluster;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn shipped(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap()
}

/// A fresh, migrated PostgreSQL database: its URL.
async fn fresh_store(tag: &str) -> (String, Store) {
    let admin_url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL answers");
    let name = format!("sb_bench_{}_{tag}", std::process::id());
    for sql in [
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        format!("CREATE DATABASE \"{name}\""),
    ] {
        sqlx::query(&sql).execute(&mut admin).await.unwrap();
    }
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let store = Store::connect(url.as_str(), 2).await.unwrap();
    store.migrate().await.unwrap();
    (url.to_string(), store)
}

async fn drop_store(url: &str, store: Store) {
    store.close().await;
    let admin_url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = url.rsplit('/').next().unwrap().to_string();
    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let _ = sqlx::query(&sql).execute(&mut admin).await;
    }
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Store::Sqlite(_) => unreachable!("PostgreSQL only"),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Peak RSS of each running instance, in MiB, as "a / b / c".
fn rss_line(cluster: &Cluster) -> (String, u64) {
    let rss = cluster.peak_rss_kib();
    let max = rss.values().copied().max().unwrap_or(0);
    let line = rss
        .values()
        .map(|k| format!("{:.0}", mib(*k)))
        .collect::<Vec<_>>()
        .join(" / ");
    (line, max)
}

async fn bulk(instances: usize, streams: usize, records: usize) {
    let (url, store) = fresh_store(&format!("bulk{instances}")).await;
    let sn = ServiceNowSim::spawn(SimConfig {
        incidents: records,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = shipped("connectors/servicenow.toml");
    let list = &manifest[..manifest.find("# An incident's comments").unwrap()];
    let systems: Vec<String> = (1..=streams).map(|i| format!("bulk{i}")).collect();
    for s in &systems {
        let text = list
            .replace("system = \"servicenow\"", &format!("system = \"{s}\""))
            .replace("page_size = 100", "page_size = 1000");
        write(&dir.path().join(format!("connectors/{s}.toml")), &text);
        let mapping = shipped("mappings/servicenow-incident.toml")
            .replace("system = \"servicenow\"", &format!("system = \"{s}\""));
        write(
            &dir.path().join(format!("mappings/{s}-incident.toml")),
            &mapping,
        );
    }
    let (base, names) = (sn.base_url.clone(), systems.clone());
    let prefix = format!("sbbench{}bulk{instances}", std::process::id());
    let mut cluster = Cluster::new(dir, &url, &prefix, move |_| {
        names
            .iter()
            .map(|s| {
                format!(
                    "[connectors.{s}]\nbase_url = \"{base}\"\nusername = \"admin\"\n\
                     password = \"sim-password\"\nschedule = \"0 0 0 1 1 *\"\nrate_limit_per_sec = 0\n"
                )
            })
            .collect()
    });
    let total = (streams * records) as i64;
    let started = Instant::now();
    cluster.start_all(instances);
    let s = store.clone();
    cluster
        .wait_for("every record stored", Duration::from_secs(1800), || {
            let s = s.clone();
            async move { scalar(&s, "SELECT COUNT(*) FROM work_items").await >= total }
        })
        .await;
    let secs = started.elapsed().as_secs_f64();
    let ran_on = scalar(
        &store,
        "SELECT COUNT(DISTINCT holder) FROM stream_leases WHERE holder IS NOT NULL",
    )
    .await;
    let (rss, max) = rss_line(&cluster);
    println!(
        "| bulk sync | {instances} | {streams} x {records} | {secs:.1} | {:.0} records/s | {rss} |",
        total as f64 / secs
    );
    let _ = ran_on;
    drop(cluster);
    PEAK.fetch_max(max, std::sync::atomic::Ordering::Relaxed);
    let topology = switchboard::transport::Topology::for_prefix(&prefix);
    broker::delete_topology(&topology, &[]).await;
    drop_store(&url, store).await;
    sn.shutdown().await;
}

static PEAK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

async fn routed(instances: usize, items: usize) {
    let (url, store) = fresh_store(&format!("routed{instances}")).await;
    let estate = Estate::spawn(5).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    for sub in ["connectors", "mappings"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            write(
                &dir.path().join(sub).join(&name),
                &std::fs::read_to_string(&path).unwrap(),
            );
        }
    }
    // The incident list alone, a page of 1000.
    let manifest = shipped("connectors/servicenow.toml");
    let (a, b) = (
        manifest.find("# An incident's comments").unwrap(),
        manifest.find("# Catalogue requests").unwrap(),
    );
    let list = format!("{}{}", &manifest[..a], &manifest[b..])
        .replace("page_size = 100\n", "page_size = 1000\n");
    write(&dir.path().join("connectors/servicenow.toml"), &list);
    for file in ["routing.toml", "services.toml"] {
        std::fs::copy(Path::new(ROOT).join(file), dir.path().join(file)).unwrap();
    }
    let tables = format!(
        "[connectors.servicenow]\nenabled = true\nbase_url = \"{}\"\nusername = \"admin\"\npassword = \"sim-password\"\n\
         schedule = \"* * * * * *\"\nrate_limit_per_sec = 0\n\
         [connectors.maximo]\nenabled = true\nbase_url = \"{}\"\ntoken = \"sim-maximo-api-key\"\n\
         schedule = \"0 0 0 1 1 *\"\nrate_limit_per_sec = 0\n{}",
        estate.servicenow.base_url,
        estate.maximo.base_url,
        ["jira", "topdesk", "personio", "odoo", "bamboohr", "hr-csv"]
            .iter()
            .map(|s| format!("[connectors.{s}]\nenabled = false\n"))
            .collect::<String>()
    );
    let prefix = format!("sbbench{}routed{instances}", std::process::id());
    let mut cluster = Cluster::new(dir, &url, &prefix, move |_| tables.clone());
    cluster
        .start_routing(instances, &store, Duration::from_secs(60))
        .await;
    // The writers' queues are declared once each instance's writer runs.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = estate.maximo.sim.count();
    let inserted = Instant::now();
    for i in 0..items {
        let record =
            json!({"short_description": format!("No heating in room B{i:05}"), "state": "1"});
        estate
            .servicenow
            .sim
            .insert("incident", record.as_object().unwrap().clone());
    }
    let mut first = None;
    let maximo = &estate.maximo.sim;
    cluster
        .wait_for("every item applied", Duration::from_secs(1800), || {
            let done = maximo.count() - before;
            if done > 0 && first.is_none() {
                first = Some(Instant::now());
            }
            async move { done >= items }
        })
        .await;
    let last = Instant::now();
    let first = first.unwrap_or(inserted);
    let flow = (last - first).as_secs_f64().max(0.001);
    let whole = (last - inserted).as_secs_f64();
    let (rss, max) = rss_line(&cluster);
    println!(
        "| routed | {instances} | {items} | {whole:.1} (first to last {flow:.1}) | {:.0} messages/s ({:.0} from the insert) | {rss} |",
        items as f64 / flow,
        items as f64 / whole
    );
    drop(cluster);
    PEAK.fetch_max(max, std::sync::atomic::Ordering::Relaxed);
    let topology = switchboard::transport::Topology::for_prefix(&prefix);
    broker::delete_topology(&topology, &["maximo", "servicenow", "odoo"]).await;
    drop_store(&url, store).await;
    estate.shutdown().await;
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let (streams, records, items, counts) = if benching {
        (
            env_or("SWITCHBOARD_BENCH_STREAMS", 6),
            env_or("SWITCHBOARD_BENCH_RECORDS", 20_000),
            env_or("SWITCHBOARD_BENCH_ROUTED", 2_000),
            vec![1, 2, 3],
        )
    } else {
        (2, 500, 100, vec![1, 2])
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "scale-out on {} cores: {streams} streams x {records} incidents, {items} routed items",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "| what | instances | work | seconds | throughput | peak RSS per instance (MiB) |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | --- |");
        for &n in &counts {
            bulk(n, streams, records).await;
        }
        for &n in &counts {
            routed(n, items).await;
        }
        println!(
            "largest peak RSS of one instance: {:.0} MiB",
            mib(PEAK.load(std::sync::atomic::Ordering::Relaxed))
        );
    });
}
