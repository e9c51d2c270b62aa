//! The Grafana dashboard shipped in deploy/grafana parses, and every
//! metric its queries read is one the daemon exports (named in a
//! `counter!`, `gauge!` or `histogram!` in any crate under crates/), so no panel stays empty
//! because a metric was renamed.

mod common;

use std::collections::BTreeSet;

fn exported() -> BTreeSet<String> {
    let named =
        regex::Regex::new(r#"(?:counter|gauge|histogram)!\(\s*"(switchboard_[a-z_]+)""#).unwrap();
    let mut out = BTreeSet::new();
    let mut dirs = vec![common::repo().join("crates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.extend(named.captures_iter(&text).map(|c| c[1].to_string()));
            }
        }
    }
    out
}

#[test]
fn the_dashboard_reads_only_exported_metrics() {
    let path = common::repo().join("deploy/grafana/switchboard.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let exported = exported();
    assert!(
        exported.contains("switchboard_deliveries_total"),
        "{exported:?}"
    );
    let metric = regex::Regex::new(r"switchboard_[a-z_]+").unwrap();
    let mut read = 0;
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a query");
            for m in metric.find_iter(expr) {
                // A summary's series carry suffixes of the metric's name.
                let name = ["_sum", "_count", "_bucket"]
                    .iter()
                    .find_map(|s| m.as_str().strip_suffix(s))
                    .filter(|base| exported.contains(*base))
                    .unwrap_or(m.as_str());
                assert!(
                    exported.contains(name),
                    "panel `{}` reads `{name}`, which the daemon does not export",
                    panel["title"]
                );
                read += 1;
            }
        }
    }
    assert!(read >= 10, "the dashboard reads {read} metrics");
}
