//! `switchboard map`: run one mapping over sample records, to write and
//! debug a mapping without a connector or a store.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::mapping::{AnyMapping, RecordError};
use crate::telemetry::text::Escaped;
use parse::{object, parse_line};

mod parse;
mod pipeline;

#[derive(Debug, clap::Args)]
pub struct MapArgs {
    /// The mapping file to apply.
    #[arg(long)]
    mapping: PathBuf,
    /// Sample records: a `.jsonl` file or `-` (stdin) with one JSON object
    /// per line, read and mapped a line at a time; or a `.json` file (one
    /// record or an array of them), read whole. A line that is not UTF-8,
    /// not JSON, or not an object is reported on stderr as
    /// `record N: FILE:LINE: …`, and the next line goes on; the exit code is
    /// then 1, as for a record that fails to map.
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
    let lines = args.input.as_os_str() == "-" || args.input.extension().is_none_or(|e| e != "json");
    // `--explain` and a `.json` document stay on the simple path: one is
    // for reading by eye, the other is read whole anyway.
    let failed = if lines && !args.explain {
        pipeline::run(&mapping, &args.input)?
    } else {
        map_one_by_one(args, &mapping)?
    };
    if failed > 0 {
        anyhow::bail!("{failed} record(s) failed to map");
    }
    Ok(())
}

/// Map the records one at a time; returns how many failed.
fn map_one_by_one(args: &MapArgs, mapping: &AnyMapping) -> anyhow::Result<usize> {
    // Records from stdin go out as each is mapped (stdout is line-buffered),
    // for a pipeline that feeds them as they come; a file's go out in blocks.
    let stdout = std::io::stdout().lock();
    let mut out: Box<dyn Write> = if args.input.as_os_str() == "-" {
        Box::new(stdout)
    } else {
        Box::new(std::io::BufWriter::new(stdout))
    };
    let mut failed = 0;
    for (n, item) in records(&args.input)?.enumerate() {
        let n = n + 1;
        let Record { at, value } =
            item.with_context(|| format!("cannot read {}", args.input.display()))?;
        let record = match value {
            Ok(r) => r,
            Err(e) => {
                failed += 1;
                eprintln!("record {n}: {at}: {e}");
                continue;
            }
        };
        if args.explain {
            write_explanation(&mut out, n, mapping, &record)?;
        }
        match map_one(mapping, &record) {
            Ok(Some(json)) => writeln!(out, "{json}")?,
            Ok(None) => eprintln!("record {n}: {at}: skipped by skip_if"),
            Err(e) => {
                failed += 1;
                // The error quotes the record's values.
                eprintln!("record {n}: {at}: {}", Escaped(e));
            }
        }
    }
    out.flush()?;
    Ok(failed)
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
        let from = match (&step.source, &step.input, &step.when_false) {
            (_, _, Some(when)) => format!("when `{when}` is false"),
            (None, _, None) => "const".to_string(),
            (Some(src), Some(v), None) => format!("{src} = {v}"),
            (Some(src), None, None) => format!("{src} (missing)"),
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

/// One record of the input, or why its line is not one.
pub(super) struct Record {
    /// Where it is: `file:line` (`-:line` for stdin), or `file` with the
    /// record's place for an element of a `.json` array.
    pub at: String,
    /// A JSON object, or what is wrong with the line.
    pub value: Result<Value, String>,
}

/// The records of the input, one at a time. JSON lines (a `.jsonl` file or
/// stdin) are read a line at a time, so memory stays flat however long the
/// input; a bad line is an error in its place and the next line goes on.
/// A `.json` file is one document, read whole. An I/O error ends it.
pub(super) fn records(
    input: &Path,
) -> anyhow::Result<Box<dyn Iterator<Item = std::io::Result<Record>>>> {
    if input.as_os_str() == "-" {
        return Ok(Box::new(Lines::new("-".into(), std::io::stdin().lock())));
    }
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
    let name = input.display().to_string();
    if input.extension().is_some_and(|e| e == "json") {
        let value: Value = serde_json::from_reader(std::io::BufReader::new(file))
            .with_context(|| format!("{name} is not JSON"))?;
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        return Ok(Box::new(items.into_iter().enumerate().map(
            move |(i, v)| {
                Ok::<_, std::io::Error>(Record {
                    at: format!("{name} (element {i})"),
                    value: object(v),
                })
            },
        )));
    }
    Ok(Box::new(Lines::new(name, std::io::BufReader::new(file))))
}

/// JSON lines, read into one reused buffer.
struct Lines<R> {
    name: String,
    reader: R,
    buf: Vec<u8>,
    line: usize,
}

impl<R> Lines<R> {
    fn new(name: String, reader: R) -> Self {
        Self {
            name,
            reader,
            buf: Vec::new(),
            line: 0,
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = std::io::Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(e)),
            }
            self.line += 1;
            let Some(value) = parse_line(&self.buf, None) else {
                continue;
            };
            let at = format!("{}:{}", self.name, self.line);
            return Some(Ok(Record { at, value }));
        }
    }
}
