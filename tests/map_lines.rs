//! `switchboard map` over JSON lines maps chunks of lines on several
//! threads and parses only the fields the mapping reads. These tests hold
//! it to the one-record-at-a-time path that `--explain` still takes: the
//! same stdout (less the explanation), the same stderr, in the same order,
//! and the same exit code, over a large input with every kind of bad line.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::bin::switchboard;
use serde_json::Value;

/// Records between two bad lines, so every chunk of lines holds some.
const EVERY: usize = 37;

/// `n` ServiceNow-shaped incidents built from the golden ones, with a bad
/// or unusual line after every `EVERY`: each kind of line the full parse
/// refuses, repairs or reads some other way.
fn input(n: usize) -> Vec<u8> {
    let golden = std::fs::read_to_string(
        common::repo().join("tests/golden/servicenow-incident.input.jsonl"),
    )
    .expect("golden input");
    let records: Vec<Value> = golden
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("golden line is JSON"))
        .collect();
    let odd: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        b"[1, 2]".to_vec(),
        b"\"a string\"".to_vec(),
        b"42".to_vec(),
        b"null".to_vec(),
        b"".to_vec(),
        b"   ".to_vec(),
        b"{\"state\": \"2\", \"short_description\": \"\xff\"}".to_vec(),
        // Fails to map: a state the value map lacks.
        br#"{"state": "9", "short_description": "unknown state"}"#.to_vec(),
        // Out of range in a field the mapping never reads: still not JSON.
        br#"{"state": "2", "sys_mod_count": 1e400}"#.to_vec(),
        // An unpaired surrogate, read and unread: repaired, then mapped.
        br#"{"state": "2", "close_notes": "\ud800", "priority": "1"}"#.to_vec(),
        br#"{"state": "2", "short_description": "x\udc00y"}"#.to_vec(),
        // An escaped key the mapping reads.
        br#"{"state": "2", "short\u005fdescription": "escaped key"}"#.to_vec(),
        // A repeated key: the last one counts.
        br#"{"state": "9", "short_description": "twice", "state": "7"}"#.to_vec(),
        // Nested past the parser's limit, in a field nobody reads.
        format!(
            r#"{{"state": "2", "close_notes": {}{}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        )
        .into_bytes(),
        br#"{"state": "2"} trailing"#.to_vec(),
        b"{\"state\": \"6\", \"short_description\": \"crlf\"}\r".to_vec(),
        // Longer than a chunk of input.
        format!(
            r#"{{"state": "1", "short_description": "long", "close_notes": "{}"}}"#,
            "x".repeat(700_000)
        )
        .into_bytes(),
    ];
    let mut out = Vec::new();
    for i in 0..n {
        let mut r = records[i % records.len()].clone();
        r["sys_id"] = Value::String(format!("{i:032x}"));
        r["number"] = Value::String(format!("INC{i:07}"));
        serde_json::to_writer(&mut out, &r).expect("serializes");
        out.push(b'\n');
        if i % EVERY == EVERY - 1 {
            out.extend_from_slice(&odd[(i / EVERY) % odd.len()]);
            out.push(b'\n');
        }
    }
    // The last line without its newline.
    out.extend_from_slice(br#"{"state": "3", "short_description": "last"}"#);
    out
}

/// Exit code, stdout and stderr of `switchboard map`, reading `input`
/// (a path, or `-` with `stdin` fed to it).
fn map(dir: &Path, input: &str, stdin: Option<&[u8]>, explain: bool) -> (i32, Vec<u8>, Vec<u8>) {
    let mapping = common::repo().join("mappings/servicenow-incident.toml");
    let mut args = vec![
        "map",
        "--mapping",
        mapping.to_str().unwrap(),
        "--input",
        input,
    ];
    if explain {
        args.push("--explain");
    }
    let mut cmd: Command = switchboard(dir, &args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("binary runs");
    let mut pipe = child.stdin.take().expect("stdin");
    let feed = stdin.map(<[u8]>::to_vec).unwrap_or_default();
    let feeder = std::thread::spawn(move || {
        // A closed pipe is the binary's choice not to read stdin.
        let _ = pipe.write_all(&feed);
    });
    let out = child.wait_with_output().expect("binary ends");
    feeder.join().expect("feeder");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "the binary panicked:\n{err}");
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

/// The explanation's lines dropped: what the one-at-a-time path printed
/// as records.
fn records_only(stdout: &[u8]) -> Vec<u8> {
    stdout
        .split_inclusive(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"#"))
        .flatten()
        .copied()
        .collect()
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_file_maps_as_one_record_at_a_time_did_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incidents.jsonl");
    std::fs::write(&file, input(6_000)).unwrap();
    let file = file.to_str().unwrap();

    let (code, out, err) = map(dir.path(), file, None, false);
    let (want_code, explained, want_err) = map(dir.path(), file, None, true);
    let want_out = records_only(&explained);

    assert_eq!(code, 1, "bad lines fail the run");
    assert_eq!(code, want_code);
    let (got, want) = (lines(&out), lines(&want_out));
    assert!(want.len() > 6_000, "{} records printed", want.len());
    assert_eq!(got.len(), want.len(), "records printed");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "stdout line {}", i + 1);
    }
    assert_eq!(out, want_out, "stdout bytes");
    let (got, want) = (lines(&err), lines(&want_err));
    assert!(want.len() > 50, "{want:?}");
    assert_eq!(got, want, "stderr");
    // Every kind of odd line was met, in order.
    assert!(
        want.iter().any(|l| l.contains("number out of range")),
        "{want:?}"
    );
    assert!(
        want.iter().any(|l| l.contains("recursion limit")),
        "{want:?}"
    );
    assert!(want.iter().any(|l| l.contains("invalid UTF-8")), "{want:?}");
    assert!(
        want.iter()
            .any(|l| l.contains("not a JSON object but null")),
        "{want:?}"
    );
}

#[test]
fn stdin_maps_as_a_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = input(1_500);
    let file = dir.path().join("incidents.jsonl");
    std::fs::write(&file, &bytes).unwrap();

    let (code, out, err) = map(dir.path(), "-", Some(&bytes), false);
    let (want_code, explained, want_err) = map(dir.path(), "-", Some(&bytes), true);
    assert_eq!((code, lines(&err)), (want_code, lines(&want_err)));
    assert_eq!(out, records_only(&explained));
    assert!(
        lines(&err)
            .iter()
            .any(|l| l.starts_with("record ") && l.contains(": -:"))
    );
}

#[test]
fn a_stdin_record_goes_out_before_the_next_line_comes() {
    let dir = tempfile::tempdir().unwrap();
    let mapping = common::repo().join("mappings/servicenow-incident.toml");
    let args = [
        "map",
        "--mapping",
        mapping.to_str().unwrap(),
        "--input",
        "-",
    ];
    let mut child = switchboard(dir.path(), &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary runs");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(stdout) {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    for title in ["first", "second"] {
        writeln!(stdin, r#"{{"state": "1", "short_description": "{title}"}}"#).unwrap();
        stdin.flush().unwrap();
        // Generous: the line waits for nothing but the mapping.
        let line = rx.recv_timeout(std::time::Duration::from_secs(30));
        if line.is_err() {
            child.kill().unwrap();
        }
        let line = line.expect("the record is written while stdin stays open");
        assert!(line.contains(title), "{line}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
