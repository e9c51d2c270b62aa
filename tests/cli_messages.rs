//! Messages an admin can act on, from the real binary: one mistake is one
//! error, located where it is; causes printed once; nothing a file or a
//! source sends can fake a line or redraw the terminal; and `map` going on
//! past bad lines.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{repo, write};

fn switchboard(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD")) {
        cmd.env_remove(k);
    }
    cmd
}

fn run(mut cmd: Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("binary runs");
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    assert!(!err.contains("panicked"), "the binary panicked:\n{err}");
    (status.code().unwrap_or(-1), out, err)
}

fn output(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run(switchboard(dir, args))
}

/// A copy of the shipped connectors/, mappings/ and routing.toml to break.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["connectors", "mappings"] {
        for entry in std::fs::read_dir(repo().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            write(&dir.path().join(sub).join(path.file_name().unwrap()), &text);
        }
    }
    let routing = std::fs::read_to_string(repo().join("routing.toml")).unwrap();
    write(&dir.path().join("routing.toml"), &routing);
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no `{from}`", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

/// 1-based line and column of the first `needle` in a file.
fn line_col(path: &Path, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.find(needle).expect("needle present");
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// `check` failed with exactly one problem; its text.
fn one_problem(dir: &Path) -> String {
    let (code, _, err) = output(dir, &["check"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("\n1 problem(s) found"),
        "more than one error:\n{err}"
    );
    err
}

#[test]
fn a_manifest_that_does_not_parse_is_one_error() {
    let ws = workspace();
    let manifest = ws.path().join("connectors/maximo.toml");
    edit(&manifest, "kind = \"rest\"", "kind = \"rest");
    // The config overrides it too; its mappings and routes name it.
    write(
        &ws.path().join("switchboard.toml"),
        "version = 1\n[connectors.maximo]\nbase_url = \"http://127.0.0.1:1\"\n",
    );
    let err = one_problem(ws.path());
    let (line, _) = line_col(&manifest, "kind = \"rest");
    assert!(
        err.contains(&format!("connectors/maximo.toml:{line}:")),
        "{err}"
    );
    assert!(!err.contains("no connector manifest has system"), "{err}");
}

#[test]
fn a_mapping_that_does_not_parse_leaves_its_stream_unreported() {
    let ws = workspace();
    let mapping = ws.path().join("mappings/servicenow-incident.toml");
    edit(
        &mapping,
        "stream = \"incident\"",
        "stream = \"incident\"\nstream = 2",
    );
    let err = one_problem(ws.path());
    let (line, col) = line_col(&mapping, "stream = 2");
    assert!(
        err.contains(&format!("servicenow-incident.toml:{line}:{col}:")),
        "{err}"
    );
    assert!(!err.contains("has no mapping"), "{err}");
    // An outbound mapping too broken to say its action: its file name does.
    let ws = workspace();
    let outbound = ws.path().join("mappings/servicenow-comment-incident.toml");
    std::fs::write(&outbound, "version = 1\nsystem = \"servicenow\n").unwrap();
    let err = one_problem(ws.path());
    assert!(err.contains("servicenow-comment-incident.toml:2:"), "{err}");
    assert!(!err.contains("has no body mapping"), "{err}");
}

#[test]
fn an_unknown_key_in_a_tagged_table_is_at_its_own_line() {
    let ws = workspace();
    let manifest = ws.path().join("connectors/servicenow.toml");
    // `[streams.pagination]` and `[auth]` are tables tagged by `type`.
    edit(&manifest, "page_size = 100", "page_sise = 100");
    let (line, col) = line_col(&manifest, "page_sise");
    let err = one_problem(ws.path());
    assert!(
        err.contains(&format!(
            "servicenow.toml:{line}:{col}: unknown field `page_sise`"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean `page_size`?"), "{err}");
    assert!(
        err.contains(&format!("\n{line} | page_sise = 100\n")),
        "{err}"
    );

    let ws = workspace();
    let manifest = ws.path().join("connectors/servicenow.toml");
    edit(
        &manifest,
        "password = \"env:SERVICENOW_PASSWORD\"",
        "pasword = \"env:SERVICENOW_PASSWORD\"",
    );
    let (line, col) = line_col(&manifest, "pasword");
    let err = one_problem(ws.path());
    assert!(
        err.contains(&format!(
            "servicenow.toml:{line}:{col}: unknown field `pasword`"
        )),
        "{err}"
    );
}

#[test]
fn invalid_utf8_is_located_at_the_first_bad_byte() {
    let ws = workspace();
    let mapping = ws.path().join("mappings/servicenow-incident.toml");
    let text = std::fs::read_to_string(&mapping).unwrap();
    let needle = "stream = \"incident\"";
    let (line, col) = line_col(&mapping, needle);
    // Latin-1 "é" where UTF-8 was expected: `stream = "incid\xe9nt"`.
    let at = text.find(needle).unwrap() + "stream = \"incid".len();
    let mut bytes = text.into_bytes();
    bytes[at] = 0xe9;
    std::fs::write(&mapping, &bytes).unwrap();
    let err = one_problem(ws.path());
    assert!(
        err.contains(&format!(
            "servicenow-incident.toml:{line}:{}: invalid UTF-8 at byte offset {at} (0xe9)",
            col + "stream = \"incid".len(),
        )),
        "{err}"
    );
    assert!(!err.contains("has no mapping"), "{err}");
}

#[test]
fn control_characters_from_a_file_are_escaped_and_long_lines_cut() {
    let ws = workspace();
    let manifest = ws.path().join("connectors/servicenow.toml");
    // A raw ESC sequence (clear screen) and a carriage return on the line at fault.
    edit(
        &manifest,
        "description = \"IT service desk: incidents and catalogue requests\"",
        "description = \"IT\r\x1b[2J desk\"",
    );
    let err = one_problem(ws.path());
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    assert!(
        err.contains("description = \"IT\\r\\x1b[2J desk\""),
        "{err}"
    );

    let ws = workspace();
    let manifest = ws.path().join("connectors/servicenow.toml");
    let long = "x".repeat(20_000);
    edit(
        &manifest,
        "description = \"IT service desk: incidents and catalogue requests\"",
        &format!("description = \"{long}\" trailing"),
    );
    let (line, col) = line_col(&manifest, " trailing");
    let err = one_problem(ws.path());
    assert!(
        err.contains(&format!("servicenow.toml:{line}:{}:", col + 1)),
        "{}",
        &err[..err.len().min(2000)]
    );
    assert!(
        err.len() < 1000,
        "the snippet was not cut: {} bytes",
        err.len()
    );
    let snippet = err
        .lines()
        .find(|l| l.starts_with(&format!("{line} | ")))
        .expect("a snippet line");
    assert!(
        snippet.contains("…") && snippet.contains("\" trailing"),
        "{snippet}"
    );
}

/// A system that answers every request with `status` and `body`.
fn answering(status: &str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let status = status.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A source's answer cannot fake a log line or reach the terminal raw.
#[test]
fn a_source_cannot_forge_a_log_line() {
    const FORGED: &str =
        "denied\n2026-01-01T00:00:00.000000Z  INFO switchboard: sync finished\r\x1b[2J";
    let url = answering("401 Unauthorized", FORGED);
    let dir = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(repo().join("connectors/servicenow.toml")).unwrap();
    write(&dir.path().join("connectors/servicenow.toml"), &manifest);
    for file in [
        "servicenow-incident.toml",
        "servicenow-request.toml",
        "servicenow-catalog_item.toml",
    ] {
        let text = std::fs::read_to_string(repo().join("mappings").join(file)).unwrap();
        write(&dir.path().join("mappings").join(file), &text);
    }
    // Writing back needs its body mappings; this test only reads.
    let text = std::fs::read_to_string(dir.path().join("connectors/servicenow.toml")).unwrap();
    let cut = text.find("[actions.").unwrap();
    write(&dir.path().join("connectors/servicenow.toml"), &text[..cut]);
    write(
        &dir.path().join("switchboard.toml"),
        &format!(
            "version = 1\n[store]\nurl = \"sqlite://{}\"\n[connectors.servicenow]\nbase_url = \"{url}\"\nusername = \"u\"\npassword = \"p\"\n",
            dir.path().join("s.db").display()
        ),
    );
    let (code, out, err) = output(dir.path(), &["check", "--connect"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let fail = out
        .lines()
        .find(|l| l.starts_with("FAIL servicenow"))
        .unwrap_or_else(|| panic!("no FAIL line: {out}"));
    assert!(fail.contains("denied\\n2026-01-01"), "{out}");
    assert!(!out.contains("\x1b[2J") && !out.contains('\r'), "{out:?}");

    let (code, _, err) = output(dir.path(), &["run", "--once"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("denied\\n2026-01-01"), "{err}");
    assert!(
        !err.lines()
            .any(|l| l.starts_with("2026-01-01T00:00:00.000000Z")),
        "a forged line:\n{err}"
    );
    // Log levels may be coloured; the source's own ESC sequence is not there raw.
    assert!(!err.contains("\x1b[2J") && !err.contains('\r'), "{err:?}");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL server that answers but has no such database: the error
/// says so and how to create it (Switchboard creates tables, not databases).
#[test]
fn a_missing_postgres_database_says_how_to_create_it() {
    let admin = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&admin).unwrap();
    let name = format!("sb_never_created_{}", std::process::id());
    url.set_path(&format!("/{name}"));
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = switchboard(dir.path(), &["migrate"]);
    cmd.env("SWITCHBOARD__STORE__URL", url.as_str());
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "database \"{name}\" does not exist; create it first: `CREATE DATABASE \"{name}\";`"
        )),
        "{err}"
    );
}

#[test]
fn an_unreachable_store_names_host_port_and_cause_once() {
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = switchboard(dir.path(), &["migrate"]);
    cmd.env(
        "SWITCHBOARD__STORE__URL",
        format!("postgres://switchboard:s3cret-pw@127.0.0.1:{port}/hub"),
    );
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot connect to the store, PostgreSQL at 127.0.0.1:{port} (database hub): "
        )),
        "{err}"
    );
    assert_eq!(err.matches("refused").count(), 1, "{err}");
    assert!(!err.contains("s3cret-pw"), "{err}");

    let mut cmd = switchboard(dir.path(), &["migrate"]);
    let missing = dir.path().join("no/such/folder/hub.db");
    cmd.env(
        "SWITCHBOARD__STORE__URL",
        format!("sqlite://{}", missing.display()),
    );
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("SQLite file {}: ", missing.display())),
        "{err}"
    );
    assert_eq!(
        err.matches("unable to open database file").count(),
        1,
        "{err}"
    );
}

fn map(input: &Path) -> (i32, String, String) {
    let mapping = repo().join("mappings/servicenow-incident.toml");
    output(
        input.parent().unwrap(),
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    )
}

const GOOD: &str = "{\"sys_id\": \"1\", \"state\": \"2\", \"short_description\": \"ok\"}";

#[test]
fn map_goes_on_past_a_line_that_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let mut bytes = format!("{GOOD}\n").into_bytes();
    bytes.extend_from_slice(b"{\"sys_id\": \"2\", \"short_description\": \"caf\xe9\"}\n");
    bytes.extend_from_slice(format!("{GOOD}\n").as_bytes());
    std::fs::write(&input, bytes).unwrap();
    let (code, out, err) = map(&input);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 2, "lines 1 and 3 are mapped:\n{out}");
    let offset = "{\"sys_id\": \"2\", \"short_description\": \"caf".len();
    assert!(
        err.contains(&format!(
            "record 2: {}:2: invalid UTF-8 at byte offset {offset} of the line (0xe9)",
            input.display()
        )),
        "{err}"
    );
    assert!(err.contains("1 record(s) failed to map"), "{err}");
}

#[test]
fn map_refuses_a_line_that_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    write(&input, &format!("{GOOD}\n[{GOOD}]\n\n\"text\"\n{GOOD}\n"));
    let (code, out, err) = map(&input);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let name = input.display();
    assert!(
        err.contains(&format!(
            "record 2: {name}:2: not a JSON object but an array"
        )),
        "{err}"
    );
    // Line 3 is empty and skipped; the count of records goes on from the lines.
    assert!(
        err.contains(&format!(
            "record 3: {name}:4: not a JSON object but a string"
        )),
        "{err}"
    );
    assert!(err.contains("2 record(s) failed to map"), "{err}");
}

#[test]
fn map_streams_stdin_and_keeps_explaining() {
    let mapping = repo().join("mappings/servicenow-incident.toml");
    let mut child = switchboard(
        &repo(),
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            "-",
            "--explain",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    // One line in, and its record comes out before the input ends.
    writeln!(stdin, "{GOOD}").unwrap();
    stdin.flush().unwrap();
    let mut first = Vec::new();
    while !first.last().is_some_and(|l: &String| l.starts_with('{')) {
        match received.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => first.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no record within 30 s of its line; got {first:?}");
            }
        }
    }
    assert_eq!(first[0], "# record 1", "{first:?}");
    writeln!(stdin, "42").unwrap();
    drop(stdin);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(1), "{err}");
    assert!(
        err.contains("record 2: -:2: not a JSON object but a number"),
        "{err}"
    );
}
