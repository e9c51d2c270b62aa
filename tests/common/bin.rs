//! The `switchboard` binary, run as an admin would: in a folder of its own,
//! with no `SWITCHBOARD__…` variables or `RUST_LOG` leaking in from the
//! test's environment.

use std::path::Path;
use std::process::{Command, Output};

pub fn switchboard(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SWITCHBOARD__")) {
        cmd.env_remove(k);
    }
    cmd
}

/// Run to the end: exit code, stdout, stderr. A panic fails the test.
pub fn output(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = switchboard(dir, args).output().expect("binary runs");
    let (out, err) = (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    );
    assert!(!err.contains("panicked"), "the binary panicked:\n{err}");
    (status.code().unwrap_or(-1), out, err)
}
