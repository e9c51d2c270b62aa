//! Colour codes are for a person at a terminal. With its log on a
//! pseudo-terminal the binary colours the levels; `NO_COLOR` turns that off
//! there too. (A pipe or a file never gets colour: tests/standalone.rs and
//! tests/cli.rs.) And on a terminal the demo's spinner steps aside for each
//! log line instead of the line being written into it.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Stdio;

use common::bin::switchboard;

/// What `demo --once -v` writes to its stderr when that is a terminal.
fn log_on_a_terminal(no_color: Option<&str>) -> String {
    let (mut leader, mut follower) = (0, 0);
    // SAFETY: openpty writes two new descriptors into the two integers;
    // the null name, termios and window size ask for the defaults.
    let rc = unsafe {
        libc::openpty(
            &mut leader,
            &mut follower,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nothing else.
    let (leader, follower) = unsafe { (File::from_raw_fd(leader), OwnedFd::from_raw_fd(follower)) };

    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut cmd = switchboard(
        dir.path(),
        &[
            "demo",
            "--once",
            "-v",
            "--incidents",
            "20",
            "--store",
            &store,
        ],
    );
    cmd.env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(follower))
        .spawn()
        .expect("binary runs");
    // Read while it runs: a full terminal buffer would block it. The read
    // ends in EIO once the child, the last holder of the follower, exits.
    let reader = std::thread::spawn(move || {
        let mut leader = leader;
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        while let Ok(n) = leader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&out).into_owned()
    });
    let status = child.wait().unwrap();
    // The spawn's copy of the follower closed with the child's exit.
    drop(cmd);
    let log = reader.join().unwrap();
    assert!(status.success(), "{log}");
    assert!(log.contains("INFO"), "no log on the terminal: {log:?}");
    assert!(!log.contains("panicked"), "{log}");
    log
}

/// Whether `text` holds a colour (SGR) sequence: ESC [ digits and `;`, then
/// `m`. The spinner's own line clearing (ESC [ 2K) is not colour.
fn coloured(text: &str) -> bool {
    text.split("\x1b[").skip(1).any(|rest| {
        let end = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
        end.starts_with('m')
    })
}

/// `text` without its escape sequences (ESC [ parameters, then a letter).
fn unescaped(text: &str) -> String {
    let mut parts = text.split("\x1b[");
    let mut out = parts.next().unwrap_or_default().to_string();
    for rest in parts {
        let end = rest.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
        out.push_str(end.get(1..).unwrap_or_default());
    }
    out
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let log = log_on_a_terminal(None);
    assert!(coloured(&log), "no colour on a terminal: {log:?}");
    // Each log line starts a screen line of its own: what the terminal
    // shows from the last carriage return or newline before it is the
    // line's timestamp, not the spinner's text.
    for shown in unescaped(&log).split(['\n', '\r']) {
        if shown.contains(" INFO ") {
            assert!(
                shown.starts_with(|c: char| c.is_ascii_digit()),
                "a log line written into the spinner: {shown:?}"
            );
        }
    }
    let plain = log_on_a_terminal(Some("1"));
    assert!(!coloured(&plain), "colour with NO_COLOR=1: {plain:?}");
    // no-color.org: an empty NO_COLOR does not count.
    assert!(coloured(&log_on_a_terminal(Some(""))));
}
