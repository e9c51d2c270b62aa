//! Bulk load: the `switchboard` binary syncs N incidents from a simulated
//! ServiceNow (its own process) into SQLite and PostgreSQL, and we report
//! records per second and the syncing process's peak memory.
//!
//! `cargo bench --bench bulk_load` (N from SWITCHBOARD_BENCH_RECORDS, default
//! 100000). Figures go into docs/PERFORMANCE.md by hand, with the machine.
//! Not a test: nothing here asserts a speed. Under `cargo test` (no `--bench`
//! argument) it runs as a smoke check on 2000 records, so it cannot rot.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("SWITCHBOARD_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|_| benching)
        .unwrap_or(if benching { 100_000 } else { 2_000 });
    let page: usize = std::env::var("SWITCHBOARD_BENCH_PAGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let pg_admin = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());

    let mut sim = Command::new(BIN)
        .args(["simulate", "servicenow", "--incidents", &n.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulator starts");
    let mut first = String::new();
    BufReader::new(sim.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("simulator prints its URL");
    let base_url = first.trim().to_string();

    let dir = tempfile::tempdir().expect("temp dir");
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("connectors/servicenow.toml"))
        .expect("shipped manifest");
    // The incident list alone: the bulk load is what is measured, not the
    // journal read per incident (`[[streams.details]]`), the catalogue
    // requests or the write-back actions that follow it in the file.
    let incidents = ["\n# An incident's comments", "\n# Catalogue requests"]
        .iter()
        .find_map(|marker| shipped.find(marker))
        .map_or(shipped.as_str(), |end| &shipped[..end]);
    let manifest = incidents
        .replace("page_size = 100", &format!("page_size = {page}"))
        // The simulator is ours: no need to be polite to it.
        .replace("rate_limit_per_sec = 10", "rate_limit_per_sec = 0");
    write(&dir.path().join("connectors/servicenow.toml"), &manifest);
    let mapping =
        std::fs::read_to_string(Path::new(ROOT).join("mappings/servicenow-incident.toml"))
            .expect("shipped mapping");
    write(
        &dir.path().join("mappings/servicenow-incident.toml"),
        &mapping,
    );

    let pg_db = format!("sb_bench_{}", std::process::id());
    psql(&pg_admin, &format!("DROP DATABASE IF EXISTS {pg_db}"));
    psql(&pg_admin, &format!("CREATE DATABASE {pg_db}"));
    let mut pg_url = url::Url::parse(&pg_admin).expect("postgres url");
    pg_url.set_path(&format!("/{pg_db}"));

    println!("bulk load of {n} ServiceNow incidents, {page} per page, from {base_url}");
    println!(
        "| store | records | seconds | records/s | CPU seconds (sync process) | records per CPU-second | peak RSS (MiB) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    for (name, store) in [("SQLite", sqlite.as_str()), ("PostgreSQL", pg_url.as_str())] {
        let config = dir.path().join(format!("{name}.toml"));
        write(
            &config,
            &format!(
                "version = 1\n[store]\nurl = \"{store}\"\n[log]\nlevel = \"warn\"\n\
                 [connectors.servicenow]\nbase_url = \"{base_url}\"\nusername = \"admin\"\npassword = \"sim-password\"\n"
            ),
        );
        // Migrations first, so the timed run is the sync alone.
        let ok = Command::new(BIN)
            .args(["migrate", "--config", config.to_str().unwrap()])
            .status()
            .expect("migrate runs");
        assert!(ok.success(), "migrate failed for {name}");
        let started = Instant::now();
        let child = Command::new(BIN)
            .args(["run", "--once", "--config", config.to_str().unwrap()])
            .spawn()
            .expect("run starts");
        let (ok, max_rss_kib, cpu) = wait_with_rusage(child);
        let secs = started.elapsed().as_secs_f64();
        assert!(ok, "run --once failed for {name}");
        // A fast run that stored nothing would be a lie: count what landed.
        let stored = count_work_items(store);
        assert_eq!(
            stored, n as i64,
            "{name}: {stored} work items stored, expected {n}"
        );
        println!(
            "| {name} | {n} | {secs:.2} | {:.0} | {cpu:.2} | {:.0} | {:.1} |",
            n as f64 / secs,
            n as f64 / cpu,
            max_rss_kib as f64 / 1024.0
        );
    }
    psql(
        &pg_admin,
        &format!("DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"),
    );
    let _ = sim.kill();
    let _ = sim.wait();
}

fn count_work_items(url: &str) -> i64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = switchboard::store::Store::connect(url, 1)
            .await
            .expect("store");
        let n = store
            .count(switchboard::store::CountedTable::WorkItems)
            .await
            .expect("count");
        store.close().await;
        n
    })
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn psql(url: &str, sql: &str) {
    let ok = Command::new("psql")
        .args([url, "-q", "-c", sql])
        .status()
        .expect("psql runs");
    assert!(ok.success(), "psql failed: {sql}");
}

/// Wait for a child; return its success, peak RSS (KiB) and CPU seconds, from wait4.
fn wait_with_rusage(child: Child) -> (bool, i64, f64) {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid bit pattern; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own un-waited child; the pointers are valid for the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4 failed");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        ok,
        usage.ru_maxrss,
        secs(usage.ru_utime) + secs(usage.ru_stime),
    )
}
