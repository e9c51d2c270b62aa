//! The fast path of `switchboard map` over JSON lines: read in large
//! chunks, map chunks on every core, write them out in input order.
//!
//! One thread reads the input a chunk at a time and cuts each chunk after
//! its last complete line; workers parse and map whole chunks into one
//! output buffer each; the calling thread writes the buffers, and the
//! stderr notes between them, strictly in the order the chunks were read.
//! At most [`in_flight`] chunks exist at once, so memory stays flat however
//! long the input. A chunk is what one read gave (once it holds a complete
//! line), so a slow producer on stdin gets each record mapped and written
//! as soon as its line arrives, and a file is read in [`CHUNK`] blocks.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde_json::Value;

use super::parse::{Keep, parse_line};
use crate::mapping::{AnyMapping, RecordError};
use crate::telemetry::text::Escaped;

/// Bytes asked of one read, and so about the size of a chunk.
const CHUNK: usize = 256 * 1024;

/// Lines of input, from the start of one line to the end of another.
struct Job {
    bytes: Vec<u8>,
    done: std::sync::mpsc::Sender<Done>,
}

/// One mapped chunk: its stdout bytes and the stderr notes that go
/// between them.
#[derive(Debug, Default)]
struct Done {
    out: Vec<u8>,
    notes: Vec<Note>,
    /// Records (non-blank lines) in the chunk.
    records: usize,
    /// Lines in the chunk, blank ones too.
    lines: usize,
}

/// A line for stderr, about one record of the chunk.
#[derive(Debug)]
struct Note {
    /// Where in `out` it falls: stdout before it is written first.
    at: usize,
    /// The record's number within the chunk, from 1.
    record: usize,
    /// Its line within the chunk, from 1.
    line: usize,
    message: String,
    /// Whether the record failed (rather than being skipped).
    failed: bool,
}

/// What the writer takes next, in input order.
enum Slot {
    Chunk(Receiver<Done>),
    /// Reading stopped here.
    Failed(std::io::Error),
}

/// Chunks that may exist at once: enough to keep every worker busy while
/// the writer waits on the oldest.
fn in_flight(workers: usize) -> usize {
    2 * workers + 2
}

/// Map every line of `input` (`-`: stdin) to stdout; record errors go to
/// stderr as `record N: FILE:LINE: …`. Returns how many records failed.
pub(super) fn run(mapping: &AnyMapping, input: &Path) -> anyhow::Result<usize> {
    let name = input.display().to_string();
    let source: Box<dyn Read + Send> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(input).with_context(|| format!("cannot read {name}"))?)
    };
    let keep = match mapping {
        AnyMapping::Inbound(m) => m.record_fields().map(|f| Keep::new(&f)),
        // An outbound body may be rendered from any field.
        AnyMapping::Outbound(_) => None,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    let (order_tx, order_rx) = sync_channel::<Slot>(in_flight(workers));
    let (job_tx, job_rx) = channel::<Job>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    std::thread::scope(|scope| {
        scope.spawn(move || read_chunks(source, &job_tx, &order_tx));
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let keep = keep.as_ref();
            scope.spawn(move || {
                loop {
                    // Held only while waiting: the next job goes to
                    // whichever worker is free first.
                    let job = job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok(job) = job else { return };
                    // The writer gone (stdout closed) is not this thread's
                    // error to report.
                    let _ = job.done.send(map_chunk(mapping, keep, &job.bytes));
                }
            });
        }
        // Returning drops `order_rx`, which stops the reader, which stops
        // the workers: the scope then ends.
        write_in_order(order_rx, &name)
    })
}

/// Read `source` into chunks of whole lines and hand each to the workers,
/// its place in line kept by `order`.
fn read_chunks(
    mut source: impl Read,
    jobs: &std::sync::mpsc::Sender<Job>,
    order: &SyncSender<Slot>,
) {
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let mut buf = Vec::with_capacity(CHUNK.max(2 * carry.len()));
        buf.append(&mut carry);
        let eof = loop {
            if buf.capacity() - buf.len() < CHUNK / 4 {
                // A line longer than a chunk: room for more of it.
                buf.reserve(buf.capacity());
            }
            let start = buf.len();
            buf.resize(buf.capacity(), 0);
            let read = source.read(&mut buf[start..]);
            match read {
                Ok(n) => {
                    buf.truncate(start + n);
                    if n == 0 {
                        break true;
                    }
                    if memchr::memchr(b'\n', &buf[start..]).is_some() {
                        break false;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
                Err(e) => {
                    let _ = order.send(Slot::Failed(e));
                    return;
                }
            }
        };
        if !eof && let Some(last) = memchr::memrchr(b'\n', &buf) {
            carry.extend_from_slice(&buf[last + 1..]);
            buf.truncate(last + 1);
        }
        if !buf.is_empty() {
            let (done, result) = channel();
            // The writer gone means stdout closed: nothing more to read for.
            if order.send(Slot::Chunk(result)).is_err()
                || jobs.send(Job { bytes: buf, done }).is_err()
            {
                return;
            }
        }
        if eof {
            return;
        }
    }
}

/// Parse and map each line of one chunk.
fn map_chunk(mapping: &AnyMapping, keep: Option<&Keep>, bytes: &[u8]) -> Done {
    let mut done = Done {
        out: Vec::with_capacity(bytes.len()),
        ..Done::default()
    };
    for line in lines(bytes) {
        done.lines += 1;
        let Some(parsed) = parse_line(line, keep) else {
            continue;
        };
        done.records += 1;
        let note = match parsed.map(|record| map_into(mapping, &record, &mut done.out)) {
            Ok(Ok(true)) => continue,
            Ok(Ok(false)) => ("skipped by skip_if".to_string(), false),
            // The error quotes the record's values.
            Ok(Err(e)) => (Escaped(e).to_string(), true),
            Err(message) => (message, true),
        };
        done.notes.push(Note {
            at: done.out.len(),
            record: done.records,
            line: done.lines,
            message: note.0,
            failed: note.1,
        });
    }
    done
}

/// The lines of `bytes`, each with its `\n` (the last may lack one), as
/// `read_until` gives them. Found with `memchr`: looked for a byte at a
/// time, they cost about 7% of all the instructions of a run.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        Some(line)
    })
}

/// Append the mapped record and a newline to `out`, as `map_one` prints
/// it; `false`: skipped.
fn map_into(mapping: &AnyMapping, record: &Value, out: &mut Vec<u8>) -> Result<bool, RecordError> {
    let start = out.len();
    let written = match mapping {
        AnyMapping::Inbound(m) => {
            if m.skips(record)? {
                return Ok(false);
            }
            serde_json::to_writer(&mut *out, &m.apply(record)?)
        }
        AnyMapping::Outbound(m) => match m.render_value(record)? {
            Some(body) => serde_json::to_writer(&mut *out, &body),
            None => return Ok(false),
        },
    };
    // Serializing cannot fail (every field is JSON); were it to, the line
    // is empty, as before.
    if written.is_err() {
        out.truncate(start);
    }
    out.push(b'\n');
    Ok(true)
}

/// Write each chunk's output as it comes due, in input order. Returns how
/// many records failed.
fn write_in_order(order: Receiver<Slot>, name: &str) -> anyhow::Result<usize> {
    // Locked once; line-buffered, so each note's records are out before it.
    let mut stdout = std::io::stdout().lock();
    let (mut records, mut lines, mut failed) = (0, 0, 0);
    for slot in order {
        let result = match slot {
            Slot::Chunk(result) => result,
            Slot::Failed(e) => {
                return Err(anyhow::Error::new(e).context(format!("cannot read {name}")));
            }
        };
        let done = result
            .recv()
            .map_err(|_| anyhow::anyhow!("a mapping thread stopped"))?;
        let mut written = 0;
        for note in &done.notes {
            stdout.write_all(&done.out[written..note.at])?;
            stdout.flush()?;
            written = note.at;
            failed += usize::from(note.failed);
            eprintln!(
                "record {}: {name}:{}: {}",
                records + note.record,
                lines + note.line,
                note.message
            );
        }
        stdout.write_all(&done.out[written..])?;
        records += done.records;
        lines += done.lines;
    }
    stdout.flush()?;
    Ok(failed)
}
