//! `switchboard map`: run one mapping over sample records, to write and
//! debug a mapping without a connector or a store.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use crate::mapping::{AnyMapping, RecordError};

#[derive(Debug, clap::Args)]
pub struct MapArgs {
    /// The mapping file to apply.
    #[arg(long)]
    mapping: PathBuf,
    /// Sample records: a `.jsonl` file (one record per line), a `.json` file
    /// (one record or an array of them), or `-` for JSON lines on stdin.
    #[arg(long)]
    input: PathBuf,
    /// Show, per record and rule, the value read and the value produced.
    #[arg(long)]
    explain: bool,
}

/// Canonical records go to stdout as JSON lines; record errors to stderr.
/// Exits non-zero when any record fails, so it can gate a mapping change.
pub fn run(args: &MapArgs) -> anyhow::Result<()> {
    match map_records(args) {
        // `switchboard map … | head` closing the pipe early is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}

fn map_records(args: &MapArgs) -> anyhow::Result<()> {
    let mapping = AnyMapping::load(&args.mapping).map_err(anyhow::Error::new)?;
    let records = read_records(&args.input)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0;
    for (n, record) in records.into_iter().enumerate() {
        let n = n + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                eprintln!("record {n}: {e}");
                continue;
            }
        };
        if args.explain {
            write_explanation(&mut out, n, &mapping, &record)?;
        }
        match map_one(&mapping, &record) {
            Ok(Some(json)) => writeln!(out, "{json}")?,
            Ok(None) => eprintln!("record {n}: skipped by skip_if"),
            Err(e) => {
                failed += 1;
                eprintln!("record {n}: {e}");
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        anyhow::bail!("{failed} record(s) failed to map");
    }
    Ok(())
}

/// Inbound: the canonical record. Outbound: the native body, from a
/// canonical record as an inbound mapping prints it. As JSON text; `None`:
/// skipped.
fn map_one(mapping: &AnyMapping, record: &Value) -> Result<Option<String>, RecordError> {
    match mapping {
        AnyMapping::Inbound(m) => {
            if m.skips(record)? {
                return Ok(None);
            }
            // Serializing a canonical record cannot fail: every field is JSON.
            Ok(Some(
                serde_json::to_string(&m.apply(record)?).unwrap_or_default(),
            ))
        }
        AnyMapping::Outbound(m) => Ok(m.render_value(record)?.map(|body| body.to_string())),
    }
}

fn write_explanation(
    out: &mut impl Write,
    n: usize,
    mapping: &AnyMapping,
    record: &Value,
) -> anyhow::Result<()> {
    writeln!(out, "# record {n}")?;
    let steps = match mapping {
        AnyMapping::Inbound(m) => m.explain(record),
        AnyMapping::Outbound(m) => m.explain(record),
    };
    for step in steps {
        let from = match (&step.source, &step.input) {
            (None, _) => "const".to_string(),
            (Some(src), Some(v)) => format!("{src} = {v}"),
            (Some(src), None) => format!("{src} (missing)"),
        };
        let to = match &step.output {
            Ok(Some(v)) => v.to_string(),
            Ok(None) => "(empty)".to_string(),
            Err(e) => format!("ERROR {e}"),
        };
        writeln!(out, "#   {:<28} {from} -> {to}", step.rule)?;
    }
    Ok(())
}

/// Every record of the input, each parsed on its own so one bad line is
/// reported with its line number and the rest still map.
pub(super) fn read_records(input: &PathBuf) -> anyhow::Result<Vec<Result<Value, String>>> {
    let lines = |reader: Box<dyn BufRead>| -> anyhow::Result<Vec<Result<Value, String>>> {
        let mut records = Vec::new();
        // Split on bytes, not `lines()`: a line that is not UTF-8 is that
        // record's error, not the end of the whole input.
        for (i, line) in reader.split(b'\n').enumerate() {
            let line = match String::from_utf8(line?) {
                Ok(line) => line,
                Err(e) => {
                    let at = e.utf8_error().valid_up_to() + 1;
                    records.push(Err(format!(
                        "{}:{}:{at}: not UTF-8",
                        input.display(),
                        i + 1
                    )));
                    continue;
                }
            };
            if line.trim().is_empty() {
                continue;
            }
            records.push(
                // As a sync parses a page, so the preview matches the store.
                crate::text::parse_json(&line)
                    .map_err(|e| format!("{}:{}: not JSON: {e}", input.display(), i + 1)),
            );
        }
        Ok(records)
    };
    if input.as_os_str() == "-" {
        return lines(Box::new(std::io::BufReader::new(std::io::stdin())));
    }
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
    if input.extension().is_some_and(|e| e == "json") {
        let value: Value = serde_json::from_reader(std::io::BufReader::new(file))
            .with_context(|| format!("{} is not JSON", input.display()))?;
        return Ok(match value {
            Value::Array(items) => items.into_iter().map(Ok).collect(),
            one => vec![Ok(one)],
        });
    }
    lines(Box::new(std::io::BufReader::new(file)))
}
