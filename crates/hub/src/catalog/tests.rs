//! The catalog at scale (how much work `check` does for a large manifest),
//! and its checks across files: routing targets against the manifests.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::Catalog;
use crate::diag::PARSES;

// Shared with `benches/check.rs`, which measures the same manifest.
#[path = "big_manifest.rs"]
mod fixture;
use fixture::big_manifest;

fn load(dir: &Path) -> Result<Catalog, crate::diag::Diagnostics> {
    let file = dir.join("switchboard.toml");
    std::fs::write(&file, "version = 1\n").unwrap();
    let cfg = crate::config::load_with_env(Some(&file), HashMap::new()).unwrap();
    Catalog::load(&cfg)
}

/// 12,000 streams without a mapping are 12,000 problems in one file. Each
/// is located at its own stream, and the file is parsed a fixed number of
/// times, not once per problem (which made `check` quadratic).
#[test]
fn a_manifest_with_12000_streams_is_checked_in_a_fixed_number_of_parses() {
    const STREAMS: usize = 12_000;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mappings")).unwrap();
    let manifest = dir.path().join("connectors/big.toml");
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    std::fs::write(&manifest, big_manifest(STREAMS)).unwrap();

    PARSES.with(|n| n.set(0));
    let errors = load(dir.path()).unwrap_err().0;
    let parses = PARSES.with(|n| n.get());

    assert_eq!(errors.len(), STREAMS);
    assert!(
        errors[STREAMS - 1]
            .message
            .starts_with("`streams.11999.name`: stream `table_11999` has no mapping"),
        "{}",
        errors[STREAMS - 1]
    );
    let lines: HashSet<usize> = errors.iter().map(|d| d.line).collect();
    assert_eq!(lines.len(), STREAMS, "each problem at its own stream");
    assert!(parses <= 3, "{parses} parses for {STREAMS} problems");
}

/// A mapping whose stream is misspelt is one problem, with its hint,
/// however many streams the manifest has.
#[test]
fn a_misspelt_stream_is_one_problem_with_its_hint() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("connectors/big.toml");
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    std::fs::write(&manifest, big_manifest(3)).unwrap();
    let mappings = dir.path().join("mappings");
    std::fs::create_dir_all(&mappings).unwrap();
    for (file, stream) in [
        ("big-table-00000.toml", "table_00000"),
        ("big-table-00001.toml", "tabel_00001"),
        ("big-table-00002.toml", "table_00002"),
    ] {
        std::fs::write(
            mappings.join(file),
            format!(
                "version = 1\nsystem = \"big\"\nstream = \"{stream}\"\nentity = \"org_unit\"\n\n[fields]\nname = {{ path = \"name\" }}\n"
            ),
        )
        .unwrap();
    }
    let errors = load(dir.path()).unwrap_err().0;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].message.contains("has no stream `tabel_00001`")
            && errors[0].hint.as_deref() == Some("did you mean `table_00001`?"),
        "{}",
        errors[0]
    );
}

fn shipped_routing() -> crate::routing::Routing {
    crate::routing::Routing::load(&crate::repo_root().join("routing.toml"))
        .unwrap_or_else(|d| panic!("{d}"))
}

fn shipped_manifests() -> Vec<crate::connector::Manifest> {
    let config = crate::config::LoadedConfig {
        settings: Default::default(),
        file: None,
        base_dir: crate::repo_root(),
    };
    Catalog::load(&config)
        .unwrap_or_else(|d| panic!("{d}"))
        .manifests
}

#[test]
fn targets_must_be_declared_actions_of_known_connectors() {
    let manifests = shipped_manifests();
    assert!(shipped_routing().check_targets(&manifests).is_empty());

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routing.toml");
    let text = std::fs::read_to_string(crate::repo_root().join("routing.toml"))
        .unwrap()
        .replace(
            "connector = \"maximo\", action = \"create_workorder\"",
            "connector = \"maximoo\", action = \"create_workorder\"",
        )
        .replace(
            "action = \"create_purchase_order\"",
            "action = \"create_po\"",
        )
        .replace("department = \"finance\"", "department = \"it\"");
    std::fs::write(&file, text).unwrap();
    let shown: Vec<String> = crate::routing::Routing::load(&file)
        .unwrap()
        .check_targets(&manifests)
        .iter()
        .map(ToString::to_string)
        .collect();
    let shown = shown.join("\n");
    for needle in [
        "no connector manifest has system `maximoo`",
        "did you mean `maximo`?",
        "connector `odoo` has no action `create_po`",
        "connector `odoo` serves department `finance`, not `it`",
    ] {
        assert!(shown.contains(needle), "no `{needle}` in:\n{shown}");
    }
}
