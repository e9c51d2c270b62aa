//! Golden tests: every shipped mapping maps its sample input
//! (`tests/golden/<mapping>.input.jsonl`) to exactly the expected canonical
//! records (`<mapping>.expected.jsonl`), and every shipped mapping has one.

mod common;

use std::path::Path;

use serde_json::Value;
use switchboard::mapping::AnyMapping;

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line is JSON"))
        .collect()
}

#[test]
fn every_shipped_mapping_matches_its_golden_output() {
    let root = common::repo();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("mappings")).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let mapping = AnyMapping::load(&file).unwrap_or_else(|d| panic!("{d}"));
        let golden = root.join("tests/golden");
        let input = jsonl(&golden.join(format!("{name}.input.jsonl")));
        let expected = jsonl(&golden.join(format!("{name}.expected.jsonl")));
        assert_eq!(
            input.len(),
            expected.len(),
            "{name}: one expected record per input"
        );
        assert!(!input.is_empty(), "{name}: the golden input is empty");
        for (i, (record, want)) in input.iter().zip(&expected).enumerate() {
            let got = match &mapping {
                AnyMapping::Inbound(m) => {
                    m.apply(record).map(|c| serde_json::to_value(&c).unwrap())
                }
                AnyMapping::Outbound(m) => m.render_value(record).map(|b| b.unwrap_or(Value::Null)),
            }
            .unwrap_or_else(|e| panic!("{name} record {}: {e}", i + 1));
            assert_eq!(&got, want, "{name} record {}", i + 1);
        }
        checked += 1;
    }
    assert!(checked > 0, "no shipped mappings found");
}
