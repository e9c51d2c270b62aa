//! Reading drop files: a structure check before anything is stored, then
//! pages from a byte offset (CSV, JSON lines) or an element index (a JSON
//! array), so a restart resumes where the last committed page ended.
//!
//! Blocking file IO: callers run these on the blocking pool.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::config::{FileStream, Format};

/// Records read from one file, each with the position just after it.
pub struct Chunk {
    pub records: Vec<(Value, u64)>,
    /// The file has nothing after the last record returned.
    pub eof: bool,
}

/// Short content hash: tells a new export from one with the same name.
pub fn content_hash(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(&hasher.finalize()[..8]))
}

/// Check the whole file parses, without keeping what it reads: a file that
/// is broken at line 90,000 is refused before line 1 is stored.
pub fn check(path: &Path, s: &FileStream) -> Result<(), String> {
    match s.format {
        Format::Csv => {
            let mut rdr = csv_reader(File::open(path).map_err(|e| e.to_string())?, s);
            rdr.headers().map_err(|e| format!("header row: {e}"))?;
            let mut record = csv::ByteRecord::new();
            loop {
                match rdr.read_byte_record(&mut record) {
                    Ok(true) => {}
                    Ok(false) => return Ok(()),
                    Err(e) => return Err(e.to_string()),
                }
            }
        }
        Format::Jsonl => {
            let reader = BufReader::new(File::open(path).map_err(|e| e.to_string())?);
            for (i, line) in reader.lines().enumerate() {
                let line = line.map_err(|e| format!("line {}: {e}", i + 1))?;
                if line.trim().is_empty() {
                    continue;
                }
                crate::text::parse_json(&line)
                    .map(drop)
                    .map_err(|e| format!("line {}: not JSON: {e}", i + 1))?;
            }
            Ok(())
        }
        Format::Json => read_json(path, s).map(|_| ()),
    }
}

/// Up to `s.page_size` records from `offset`.
pub fn read(path: &Path, s: &FileStream, offset: u64) -> Result<Chunk, String> {
    match s.format {
        Format::Csv => read_csv(path, s, offset),
        Format::Jsonl => read_jsonl(path, s, offset),
        Format::Json => {
            let items = read_json(path, s)?;
            let total = items.len();
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
            let end = (start + s.page_size).min(total);
            let records = items
                .into_iter()
                .enumerate()
                .skip(start)
                .take(end - start)
                .map(|(i, v)| (v, i as u64 + 1))
                .collect();
            Ok(Chunk {
                records,
                eof: end == total,
            })
        }
    }
}

fn csv_reader<R: Read>(r: R, s: &FileStream) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(s.csv.delimiter as u8)
        .trim(if s.csv.trim {
            csv::Trim::All
        } else {
            csv::Trim::None
        })
        .from_reader(r)
}

fn read_csv(path: &Path, s: &FileStream, offset: u64) -> Result<Chunk, String> {
    let mut rdr = csv_reader(File::open(path).map_err(|e| e.to_string())?, s);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| format!("header row: {e}"))?
        .iter()
        // Excel writes a byte-order mark before the first header.
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    if offset > 0 {
        let mut pos = csv::Position::new();
        pos.set_byte(offset);
        rdr.seek(pos).map_err(|e| e.to_string())?;
    }
    let mut records = Vec::with_capacity(s.page_size.min(10_000));
    let mut row = csv::StringRecord::new();
    while records.len() < s.page_size {
        if !rdr.read_record(&mut row).map_err(|e| e.to_string())? {
            return Ok(Chunk { records, eof: true });
        }
        let object: Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .map(|(h, v)| (h.clone(), Value::String(v.to_string())))
            .collect();
        records.push((Value::Object(object), rdr.position().byte()));
    }
    // A full page: at the end only if nothing follows.
    let eof = !rdr.read_record(&mut row).map_err(|e| e.to_string())?;
    Ok(Chunk { records, eof })
}

fn read_jsonl(path: &Path, s: &FileStream, offset: u64) -> Result<Chunk, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(file);
    let mut at = offset;
    let mut records = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(Chunk { records, eof: true });
        }
        if records.len() == s.page_size {
            // Something follows the full page (blank lines count as nothing).
            if line.trim().is_empty() {
                at += n as u64;
                continue;
            }
            return Ok(Chunk {
                records,
                eof: false,
            });
        }
        at += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = crate::text::parse_json(&line)
            .map_err(|e| format!("at byte {}: not JSON: {e}", at - n as u64))?;
        records.push((value, at));
    }
}

fn read_json(path: &Path, s: &FileStream) -> Result<Vec<Value>, String> {
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    if len > s.max_json_bytes {
        return Err(format!(
            "{len} bytes is over `max_json_bytes` ({}); export as `jsonl` or `csv` to stream it, or raise the limit",
            s.max_json_bytes
        ));
    }
    // Read whole (the size is bounded above) so that unpaired surrogates
    // get the store's rule rather than failing the file (`text`).
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    match crate::text::parse_json_slice(&bytes).map_err(|e| format!("not JSON: {e}"))? {
        Value::Array(items) => Ok(items),
        _ => Err("a `json` file must hold one array of records".into()),
    }
}
