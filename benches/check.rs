//! `switchboard check` over one large manifest: the time `Catalog::load`
//! takes for a `rest` manifest of N streams, in two cases:
//! 1. no mappings at all, so every stream is a problem (N problems in one
//!    file, each located at its own stream);
//! 2. a mapping per stream, every one naming a stream the manifest lacks
//!    (N problems in N files, each checked against N stream names).
//!
//! `cargo bench --bench check`: 12000 streams, or SWITCHBOARD_BENCH_STREAMS.
//! Prints the median and range of 5 loads per case. With
//! SWITCHBOARD_BENCH_DIR, the catalog of case 1 is written there and kept,
//! to time `switchboard check` in it as a whole process. Figures go into
//! docs/PERFORMANCE.md by hand. Not a test: nothing asserts a speed. Under
//! `cargo test --benches` (no `--bench` argument) it runs on 200 streams,
//! so it cannot rot.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use switchboard::catalog::Catalog;

// The manifest the catalog's own tests count the work of.
#[path = "../crates/hub/src/catalog/big_manifest.rs"]
mod fixture;
use fixture::big_manifest;

const RUNS: usize = 5;

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let streams = std::env::var("SWITCHBOARD_BENCH_STREAMS")
        .ok()
        .filter(|_| benching)
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 12_000 } else { 200 });

    let dir = tempfile::tempdir().expect("temp dir");
    let keep = std::env::var_os("SWITCHBOARD_BENCH_DIR").filter(|_| benching);
    let root = keep.as_deref().map_or(dir.path(), Path::new);
    std::fs::create_dir_all(root.join("connectors")).expect("connectors/");
    std::fs::create_dir_all(root.join("mappings")).expect("mappings/");
    std::fs::write(root.join("connectors/big.toml"), big_manifest(streams)).expect("manifest");
    let config = root.join("switchboard.toml");
    std::fs::write(&config, "version = 1\n").expect("config");
    let cfg = switchboard::config::load_with_env(Some(&config), HashMap::new()).expect("config");

    report("streams without mappings", streams, &cfg);
    if keep.is_some() {
        println!("catalog kept in {}", root.display());
        return;
    }
    write_mappings(root, streams);
    report("mappings naming a missing stream", streams, &cfg);
}

fn report(case: &str, streams: usize, cfg: &switchboard::config::LoadedConfig) {
    let mut times = Vec::new();
    let mut problems = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let result = Catalog::load(cfg);
        times.push(started.elapsed());
        problems = result.err().map_or(0, |d| d.0.len());
    }
    times.sort();
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "check, {streams} streams, {case}: {problems} problems; median {:.3} s (range {:.3}–{:.3} s over {RUNS} loads)",
        secs(times[RUNS / 2]),
        secs(times[0]),
        secs(times[RUNS - 1]),
    );
}

/// One mapping per stream, each naming `tbl_NNNNN` where the manifest says `table_NNNNN`.
fn write_mappings(root: &Path, streams: usize) {
    for i in 0..streams {
        std::fs::write(
            root.join(format!("mappings/big-table-{i:05}.toml")),
            format!(
                "version = 1\nsystem = \"big\"\nstream = \"tbl_{i:05}\"\nentity = \"org_unit\"\n\n[fields]\nname = {{ path = \"name\" }}\n"
            ),
        )
        .expect("mapping");
    }
}
