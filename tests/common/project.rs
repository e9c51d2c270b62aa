//! A project folder an admin could have: the shipped connectors/,
//! mappings/, routing.toml and services.toml (or files of the test's own),
//! with one thing broken, and the real binary run in it under a deadline,
//! so a hang fails the test.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use switchboard::store::{CountedTable, Store};

use super::bin::switchboard;
use super::{repo, write};

/// The config every project starts with: an embedded store in the folder.
pub const CONFIG: &str = "version = 1\n\n[store]\nurl = \"sqlite://switchboard.db\"\n\n[http]\nlisten = \"127.0.0.1:0\"\n";

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// The shipped files and [`CONFIG`].
    pub fn shipped() -> Self {
        let p = Self::empty();
        for sub in ["connectors", "mappings"] {
            for entry in std::fs::read_dir(repo().join(sub)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read(&path).unwrap();
                p.write_bytes(
                    &format!("{sub}/{}", path.file_name().unwrap().to_str().unwrap()),
                    &text,
                );
            }
        }
        for file in ["routing.toml", "services.toml"] {
            p.write_bytes(file, &std::fs::read(repo().join(file)).unwrap());
        }
        p
    }

    /// [`CONFIG`] and empty connectors/ and mappings/ folders.
    pub fn empty() -> Self {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(p.path("connectors")).unwrap();
        std::fs::create_dir_all(p.path("mappings")).unwrap();
        p.write("switchboard.toml", CONFIG);
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) {
        write(&self.path(rel), text);
    }

    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Replace the first `from` in `rel` by `to`; `from` must be there.
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} has no `{from}`");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// Append `text` to `rel`.
    pub fn append(&self, rel: &str, text: &str) {
        let old = self.read(rel);
        self.write(rel, &format!("{old}{text}"));
    }

    /// The 1-based line of `rel` holding `needle`.
    pub fn line_of(&self, rel: &str, needle: &str) -> usize {
        self.read(rel)
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{rel} has no `{needle}`"))
            + 1
    }

    /// Run `switchboard args` here; it must end within 60 s.
    pub fn run(&self, args: &[&str]) -> Ran {
        run_in(self.dir.path(), args, &[], Duration::from_secs(60))
    }

    pub fn check(&self) -> Ran {
        self.run(&["check"])
    }
}

/// Run the binary in `dir` with `env`; a run past `limit` is killed and
/// fails the test as a hang.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Ran {
    let mut child = switchboard(dir, args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("switchboard {args:?} hung: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let ran = Ran {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: status.code(),
        signal: status.signal(),
        out: out.join().unwrap(),
        err: err.join().unwrap(),
    };
    ran.sane();
    ran
}

/// What a run of the binary left: its exit and its output.
#[derive(Debug)]
pub struct Ran {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub out: String,
    pub err: String,
}

impl Ran {
    /// No panic, no crash: an exit code of the binary's own.
    fn sane(&self) {
        assert!(
            self.signal.is_none(),
            "{:?} died of signal {:?}:\n{}",
            self.args,
            self.signal,
            self.err
        );
        assert!(
            !self.err.contains("panicked at") && !self.out.contains("panicked at"),
            "{:?} panicked:\n{}",
            self.args,
            self.err
        );
        assert_ne!(
            self.code,
            Some(101),
            "{:?} panicked:\n{}",
            self.args,
            self.err
        );
    }

    pub fn exits(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "{:?}: exit code\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.out,
            self.err
        );
        self
    }

    pub fn fails(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "{:?} should fail\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.out,
            self.err
        );
        self
    }

    /// stderr names `file:line:col` (`file` is a path suffix) and `key`.
    pub fn at(&self, file: &str, line: usize, key: &str) -> &Self {
        let prefix = format!("{file}:{line}:");
        let located = self.err.match_indices(&prefix).any(|(i, _)| {
            self.err[i + prefix.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        });
        assert!(located, "no `{prefix}<col>` in:\n{}", self.err);
        self.says(key)
    }

    /// stderr names `file:<line>:<col>`, whatever the line.
    pub fn located_in(&self, file: &str) -> &Self {
        let prefix = format!("{file}:");
        let located = self.err.match_indices(&prefix).any(|(i, _)| {
            let rest = &self.err[i + prefix.len()..];
            let line: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            !line.is_empty()
                && rest[line.len()..].starts_with(':')
                && rest[line.len() + 1..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
        });
        assert!(located, "no `{file}:<line>:<col>` in:\n{}", self.err);
        self
    }

    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.err.contains(text) || self.out.contains(text),
            "no `{text}` in:\nstdout:\n{}\nstderr:\n{}",
            self.out,
            self.err
        );
        self
    }

    /// `secret` appears in no output.
    pub fn hides(&self, secret: &str) -> &Self {
        assert!(
            !self.err.contains(secret) && !self.out.contains(secret),
            "the secret leaked:\nstdout:\n{}\nstderr:\n{}",
            self.out,
            self.err
        );
        self
    }
}

/// The shipped ServiceNow manifest and its mappings (inbound and
/// write-back) in `dir`, the other systems left out.
pub fn copy_servicenow(dir: &Path) {
    // The incident list alone: these runs are about the store and the
    // daemon, at the list's pace, not one journal request per incident.
    write(
        &dir.join("connectors/servicenow.toml"),
        &super::servicenow_list_text(),
    );
    for entry in std::fs::read_dir(repo().join("mappings")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("servicenow-") {
            write(
                &dir.join("mappings").join(&name),
                &std::fs::read_to_string(&path).unwrap(),
            );
        }
    }
}

/// The shipped files with `rel` edited; `check` must refuse them at the
/// line now holding `located`, naming `key`.
pub fn refused_at(rel: &str, from: &str, to: &str, located: &str, key: &str) -> Project {
    let p = Project::shipped();
    p.edit(rel, from, to);
    let line = p.line_of(rel, located);
    p.check().exits(1).at(rel, line, key);
    p
}

/// `switchboard run --once` in `p`, off the async runtime.
pub async fn run_once(p: &Project) -> Ran {
    let dir = p.dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        run_in(&dir, &["run", "--once"], &[], Duration::from_secs(60))
    })
    .await
    .unwrap()
}

/// Work items and quarantined records in the store at `url`.
pub async fn counts(url: &str) -> (i64, i64) {
    let store = Store::connect(url, 1).await.unwrap();
    let items = store.count(CountedTable::WorkItems).await.unwrap();
    let quarantined = store.count(CountedTable::Quarantine).await.unwrap();
    store.close().await;
    (items, quarantined)
}
