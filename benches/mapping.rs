//! Mapping throughput: a realistic ServiceNow incident (about 40 fields)
//! through the shipped mapping plus a CEL condition: value maps, timestamp
//! parsing, attributes. Measured per record on one core, parse and serialize
//! included, and side by side with `jaq` (a jq clone in Rust) running the
//! equivalent jq program over the same JSON lines, when `jaq` is on PATH.
//!
//! `cargo bench --bench mapping`. Figures go into docs/PERFORMANCE.md.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use criterion::{Criterion, Throughput};
use serde_json::Value;
use switchboard::diag::SourceFile;
use switchboard::mapping::Mapping;
use switchboard::sim::servicenow::{ServiceNowSim, SimConfig};

const RECORDS: usize = 20_000;
/// Under `cargo test` (no `--bench`): a quick check that the bench still runs.
const SMOKE_RECORDS: usize = 200;

/// The jq program equivalent to the bench mapping, rule for rule.
const JQ_PROGRAM: &str = r#"
def ts: if . == null or . == "" then null else (strptime("%Y-%m-%d %H:%M:%S") | mktime | todate) end;
def opt: if . == null or . == "" then null else . end;
{entity: "work_item", kind: "incident",
 title: ((.short_description | opt) // "(no short description)"),
 description: (.description | opt),
 status: ({"1":"new","2":"in_progress","3":"waiting","6":"resolved","7":"closed","8":"cancelled"}[.state] // error("state not in map")),
 native_status: (.state | opt),
 priority: ({"1":1,"2":2,"3":3,"4":4,"5":4}[.priority] // error("priority not in map")),
 requester_ref: (.caller_id | opt), assignee_group: (.assignment_group | opt),
 location_ref: (.location | opt), service: (.business_service | opt),
 opened_at: (.opened_at | ts), updated_at: (.sys_updated_on | ts), resolved_at: (.resolved_at | ts),
 closed_at: (.closed_at | ts), due_at: (.due_date | ts),
 attributes: ({number, category, impact, urgency, close_code} | with_entries(select(.value != null and .value != ""))
   + (if .impact == "1" and .urgency == "1" then {major: true} else {} end))}
"#;

/// The shipped mapping, plus (with `cel`) one CEL condition per record.
fn bench_mapping(cel: bool) -> Mapping {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("mappings/servicenow-incident.toml");
    let mut text = std::fs::read_to_string(&path).expect("shipped mapping");
    if cel {
        text += "\n[attributes.major]\nconst = true\nwhen = \"record.impact == '1' && record.urgency == '1'\"\n";
    }
    Mapping::from_source(&SourceFile::new(path, text)).expect("bench mapping compiles")
}

fn input_lines(records: usize) -> Vec<String> {
    let sim = ServiceNowSim::new(SimConfig {
        incidents: records,
        ..SimConfig::default()
    });
    sim.records("incident")
        .iter()
        .map(|r| serde_json::to_string(r).expect("record serializes"))
        .collect()
}

/// Parse, map and serialize one line: what a sync does per record.
fn map_line(mapping: &Mapping, line: &str) -> String {
    let record: Value = serde_json::from_str(line).expect("valid JSON");
    let canonical = mapping.apply(&record).expect("maps");
    serde_json::to_string(&canonical).expect("serializes")
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let records = if benching { RECORDS } else { SMOKE_RECORDS };
    let mapping = bench_mapping(true);
    let plain = bench_mapping(false);
    let lines = input_lines(records);
    let fields = serde_json::from_str::<Value>(&lines[0])
        .ok()
        .and_then(|v| v.as_object().map(|o| o.len()))
        .unwrap_or(0);

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("mapping");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("servicenow_incident", |b| {
        b.iter(|| {
            i = (i + 1) % lines.len();
            map_line(&mapping, &lines[i])
        })
    });
    // What the two ends cost without mapping: how much of the first figure
    // is serde_json's.
    group.bench_function("json_parse_and_serialize_only", |b| {
        b.iter(|| {
            i = (i + 1) % lines.len();
            let record: Value = serde_json::from_str(&lines[i]).expect("valid JSON");
            serde_json::to_string(&record).expect("serializes")
        })
    });
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    // A sync maps each record right after parsing it, while it is in
    // cache; cycling through all 20,000 parsed records would measure cache
    // misses instead, so the mapping step alone runs over a small set.
    let hot = &parsed[..parsed.len().min(64)];
    group.bench_function("servicenow_incident_apply_only", |b| {
        b.iter(|| {
            i = (i + 1) % hot.len();
            mapping.apply(&hot[i]).expect("maps")
        })
    });
    group.bench_function("servicenow_incident_apply_only_without_cel", |b| {
        b.iter(|| {
            i = (i + 1) % hot.len();
            plain.apply(&hot[i]).expect("maps")
        })
    });
    group.bench_function("servicenow_incident_without_cel", |b| {
        b.iter(|| {
            i = (i + 1) % lines.len();
            map_line(&plain, &lines[i])
        })
    });
    group.finish();
    c.final_summary();
    if !benching {
        for line in &lines {
            map_line(&mapping, line);
        }
        println!("mapping bench smoke: {records} records mapped");
        return;
    }

    // Side by side over the whole file, one core each.
    let started = Instant::now();
    let mut out = 0usize;
    for line in &lines {
        out += map_line(&mapping, line).len();
    }
    let ours = started.elapsed().as_secs_f64();
    println!(
        "switchboard: {RECORDS} records of {fields} fields in {ours:.3}s = {:.0} records/s ({out} bytes out)",
        RECORDS as f64 / ours
    );
    match jaq_seconds(&lines) {
        Some(secs) => println!(
            "jaq:         {RECORDS} records in {secs:.3}s = {:.0} records/s; switchboard is {:.1}x",
            RECORDS as f64 / secs,
            secs / ours
        ),
        None => println!("jaq: not on PATH (cargo install jaq), comparison skipped"),
    }
}

fn jaq_seconds(lines: &[String]) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let input = dir.path().join("incidents.jsonl");
    let mut f = std::fs::File::create(&input).ok()?;
    for line in lines {
        writeln!(f, "{line}").ok()?;
    }
    drop(f);
    let run = || {
        let started = Instant::now();
        let status = Command::new("jaq")
            .args(["-c", JQ_PROGRAM])
            .arg(&input)
            .stdout(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| started.elapsed().as_secs_f64())
    };
    run()?; // warm the page cache
    run()
}
