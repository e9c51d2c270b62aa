//! The crate graph is the architecture (docs/ARCHITECTURE.md, "Crates"),
//! and `cargo metadata` is its source of truth: the vendor simulators
//! (`switchboard-sim`) reach the binary only through the root package's
//! optional `demo` feature and no production crate depends on them, the
//! arrows between the workspace's crates are exactly the ones listed here
//! and in the doc, and they have no cycle. A new crate or arrow is meant
//! to be a deliberate edit of this file.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

const ROOT: &str = "switchboard";
const SIM: &str = "switchboard-sim";

/// Every arrow between workspace crates that production builds follow
/// (normal and build dependencies): (from, to).
const ARROWS: &[(&str, &str)] = &[
    ("switchboard", "switchboard-hub"),
    ("switchboard-connector", "switchboard-lang"),
    ("switchboard-connector", "switchboard-model"),
    ("switchboard-delivery", "switchboard-connector"),
    ("switchboard-delivery", "switchboard-lang"),
    ("switchboard-delivery", "switchboard-store"),
    ("switchboard-hub", "switchboard-connector"),
    ("switchboard-hub", "switchboard-delivery"),
    ("switchboard-hub", "switchboard-lang"),
    ("switchboard-hub", "switchboard-model"),
    ("switchboard-hub", "switchboard-store"),
    ("switchboard-lang", "switchboard-model"),
    ("switchboard-store", "switchboard-lang"),
    ("switchboard-store", "switchboard-model"),
    // Optional: only with the `demo` feature (checked below).
    ("switchboard", "switchboard-sim"),
];

/// Arrows that only tests and benches follow (dev-dependencies).
const TEST_ARROWS: &[(&str, &str)] = &[
    ("switchboard", "switchboard-sim"),
    // The REST connector's unit tests run the ServiceNow simulator.
    ("switchboard-connector", "switchboard-sim"),
    // With `parse-count`, for the catalog's tests of how often it parses.
    ("switchboard-hub", "switchboard-lang"),
];

/// The pure crates and every dependency each may have: no runtime, no
/// network, no database. Adding one is a deliberate edit here.
const PURE: &[(&str, &[&str])] = &[
    ("switchboard-model", &["chrono", "serde", "serde_json"]),
    (
        "switchboard-lang",
        &[
            "cel",
            "chrono",
            "chrono-tz",
            "hex",
            "regex",
            "serde",
            "serde_json",
            "sha2",
            "strsim",
            "switchboard-model",
            "thiserror",
            "toml",
        ],
    ),
];

/// One dependency of one workspace crate on another.
#[derive(Debug)]
struct Arrow {
    from: String,
    to: String,
    /// `normal`, `dev` or `build`.
    kind: String,
    optional: bool,
}

/// The workspace's packages by name, from `cargo metadata --no-deps`.
fn packages() -> BTreeMap<String, Value> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let members: BTreeSet<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| id.as_str().expect("a package id"))
        .collect();
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| members.contains(p["id"].as_str().expect("an id")))
        .map(|p| (p["name"].as_str().expect("a name").to_string(), p.clone()))
        .collect()
}

/// Every dependency of a workspace crate on another workspace crate.
fn arrows(packages: &BTreeMap<String, Value>) -> Vec<Arrow> {
    let mut out = Vec::new();
    for (from, package) in packages {
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let to = dep["name"].as_str().expect("a dependency name");
            if !packages.contains_key(to) {
                continue;
            }
            out.push(Arrow {
                from: from.clone(),
                to: to.to_string(),
                kind: dep["kind"].as_str().unwrap_or("normal").to_string(),
                optional: dep["optional"].as_bool().unwrap_or(false),
            });
        }
    }
    out
}

fn pairs<'a>(arrows: impl Iterator<Item = &'a Arrow>) -> BTreeSet<(String, String)> {
    arrows.map(|a| (a.from.clone(), a.to.clone())).collect()
}

fn listed(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(from, to)| (from.to_string(), to.to_string()))
        .collect()
}

#[test]
fn the_workspace_has_the_documented_crates() {
    let names: Vec<String> = packages().into_keys().collect();
    assert_eq!(
        names,
        [
            "switchboard",
            "switchboard-connector",
            "switchboard-delivery",
            "switchboard-hub",
            "switchboard-lang",
            "switchboard-model",
            "switchboard-sim",
            "switchboard-store"
        ]
    );
}

#[test]
fn no_production_crate_depends_on_the_simulators() {
    let packages = packages();
    for arrow in arrows(&packages) {
        if arrow.to != SIM || arrow.kind == "dev" {
            continue;
        }
        assert_eq!(
            arrow.from, ROOT,
            "{} depends on {SIM} ({}): only tests and the root's `demo` feature may",
            arrow.from, arrow.kind
        );
        assert!(
            arrow.kind == "normal" && arrow.optional,
            "the root depends on {SIM} as {} (optional: {}): it must be an optional normal dependency",
            arrow.kind,
            arrow.optional
        );
    }
    // And the optional dependency is switched on by `demo` alone, which is
    // a default feature (the container and `cargo install` get the demo).
    let features = &packages[ROOT]["features"];
    assert_eq!(features["demo"], serde_json::json!(["dep:switchboard-sim"]));
    assert_eq!(features["default"], serde_json::json!(["demo"]));
    let others: Vec<&String> = features
        .as_object()
        .expect("features")
        .iter()
        .filter(|(name, enables)| {
            *name != "demo" && enables.to_string().contains("switchboard-sim")
        })
        .map(|(name, _)| name)
        .collect();
    assert!(others.is_empty(), "features {others:?} also enable {SIM}");
}

#[test]
fn the_arrows_between_crates_are_the_documented_ones() {
    let all = arrows(&packages());
    let production = pairs(all.iter().filter(|a| a.kind != "dev"));
    assert_eq!(production, listed(ARROWS), "normal and build dependencies");
    let tests = pairs(all.iter().filter(|a| a.kind == "dev"));
    assert_eq!(tests, listed(TEST_ARROWS), "dev-dependencies");

    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md"),
    )
    .expect("docs/ARCHITECTURE.md");
    for (from, to) in ARROWS {
        assert!(
            doc.contains(&format!("{from} -> {to}")),
            "docs/ARCHITECTURE.md does not show the arrow `{from} -> {to}`"
        );
    }
}

#[test]
fn the_crate_graph_has_no_cycle() {
    // Every kind of arrow, tests' included: cargo would accept a cycle
    // through a dev-dependency, but it would still tie two crates together.
    let all = arrows(&packages());
    let mut remaining: BTreeSet<(String, String)> = pairs(all.iter());
    let mut crates: BTreeSet<String> = remaining
        .iter()
        .flat_map(|(from, to)| [from.clone(), to.clone()])
        .collect();
    // Take away crates that depend on nothing left until none remain; if
    // some remain and each depends on another, those form a cycle.
    loop {
        let leaves: Vec<String> = crates
            .iter()
            .filter(|c| !remaining.iter().any(|(from, _)| from == *c))
            .cloned()
            .collect();
        if leaves.is_empty() {
            break;
        }
        for leaf in &leaves {
            crates.remove(leaf);
            remaining.retain(|(_, to)| to != leaf);
        }
    }
    assert!(crates.is_empty(), "a cycle among {crates:?}: {remaining:?}");
}

#[test]
fn the_pure_crates_depend_on_nothing_that_does_io() {
    let packages = packages();
    for (name, allowed) in PURE {
        let deps: BTreeSet<&str> = packages[*name]["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["kind"].is_null())
            .map(|d| d["name"].as_str().expect("a dependency name"))
            .collect();
        let extra: Vec<&&str> = deps.iter().filter(|d| !allowed.contains(d)).collect();
        assert!(
            extra.is_empty(),
            "{name} is meant to be pure (docs/ARCHITECTURE.md, \"Crates\") but depends on {extra:?}"
        );
    }
}

/// The container builds the dependencies against stub crates first; a
/// crate it does not know is left out of that layer, or its stub artifacts
/// are taken for the real ones.
#[test]
fn the_container_build_knows_every_crate() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("deploy/container/Dockerfile"))
        .expect("deploy/container/Dockerfile");
    let stubs = dockerfile
        .lines()
        .find(|l| l.contains("for dir in"))
        .expect("the Dockerfile's stub loop");
    for (name, package) in packages() {
        let manifest = std::path::Path::new(package["manifest_path"].as_str().expect("a path"));
        let dir = manifest
            .parent()
            .expect("a folder")
            .strip_prefix(root.canonicalize().expect("the root"))
            .expect("inside the workspace");
        if !dir.as_os_str().is_empty() {
            let copy = format!("COPY {}/Cargo.toml", dir.display());
            assert!(dockerfile.contains(&copy), "the Dockerfile has no `{copy}`");
            let dir = dir.display().to_string();
            assert!(
                stubs.contains(&format!(" {dir} ")) || stubs.contains(&format!(" {dir};")),
                "the Dockerfile's stub loop has no `{dir}`: {stubs}"
            );
        }
        let clean = format!("--package {name} ");
        assert!(
            dockerfile.contains(&clean) || dockerfile.contains(&format!("--package {name}\n")),
            "the Dockerfile does not clean `{name}` after the stub build"
        );
    }
}
