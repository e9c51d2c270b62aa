//! The `exec` kind: an external program that speaks the Singer protocol on
//! stdout (`SCHEMA`, `RECORD` and `STATE` JSON lines), so any of the many
//! existing Singer taps can be a connector.
//!
//! A run starts the tap with `--config <file>` and, once a state has been
//! committed, `--state <file>`. Records of the stream are gathered into
//! pages; a `STATE` message ends a page, and the state becomes that page's
//! cursor, committed with its records. Singer taps emit a state only once
//! the records before it are out, so a restart resumes from the last
//! committed state and re-reads at most the records after it, which the
//! store's upserts absorb.
//!
//! Cursor: `seq|state-json`, `seq` counting pages across runs so cursors
//! compare in the order the tap emitted them.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::Mutex;
use toml::Spanned;
use toml::de::DeTable;

use super::{
    Connector, ConnectorConfig, ConnectorError, CursorFormat, CursorSpec, ManifestHeader, Page,
    PageToken, SourceRecord, StreamSpec, lookup, split_path,
};
use crate::diag::{Diagnostic, SourceFile};
use crate::{ConnectorOverride, SecretRef};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    /// The tap: a program on `PATH` or a path, e.g. `tap-postgres`.
    pub command: String,
    /// Arguments before `--config`, e.g. `["--catalog", "catalog.json"]`.
    #[serde(default)]
    pub args: Vec<String>,
    /// The tap's configuration, written to a private temporary file and
    /// passed as `--config`. String values may be `env:VAR` or `file:PATH`.
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
    /// The longest a tap may stay silent before the run fails.
    #[serde(default = "default_idle_secs")]
    pub idle_timeout_secs: u64,
    pub streams: Vec<ExecStream>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecStream {
    /// The tap's stream name, as in its `RECORD` messages.
    pub name: String,
    /// Dotted path of the record's unique id.
    pub key: String,
    /// Records per page when the tap emits states rarely.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
}

fn default_idle_secs() -> u64 {
    300
}

fn default_page_size() -> usize {
    1000
}

/// Parse and validate an `exec` manifest's own keys.
pub fn parse(
    source: &SourceFile,
    table: Spanned<DeTable<'_>>,
) -> Result<Box<dyn ConnectorConfig>, Diagnostic> {
    let cfg: ExecConfig = source.deserialize_table(table, super::manifest::HEADER_KEYS)?;
    if cfg.command.trim().is_empty() {
        return Err(source.error_at_key("command", "name the tap program, e.g. `tap-csv`"));
    }
    if cfg.streams.is_empty() {
        return Err(source.error_at_key("streams", "at least one `[[streams]]` is needed"));
    }
    // A set, not a scan of the streams before: manifests can have thousands.
    let mut names = std::collections::HashSet::new();
    for (i, s) in cfg.streams.iter().enumerate() {
        if !names.insert(s.name.as_str()) {
            return Err(source.error_at_key(
                &format!("streams.{i}.name"),
                format!("duplicate stream `{}`", s.name),
            ));
        }
        if s.page_size == 0 {
            return Err(source.error_at_key(
                &format!("streams.{i}.page_size"),
                "`page_size` must be at least 1",
            ));
        }
    }
    Ok(Box::new(cfg))
}

fn cursor_spec() -> CursorSpec {
    CursorSpec {
        fields: Vec::new(),
        format: CursorFormat::Text,
        read: crate::CursorRead::Auto,
        write: None,
        overlap: Duration::ZERO,
        initial: String::new(),
        ordered: true,
    }
}

impl ConnectorConfig for ExecConfig {
    fn streams(&self) -> Vec<StreamSpec> {
        stream_specs(&self.streams)
    }

    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String> {
        if !over.vars.is_empty() {
            return Err("`vars` sets a jsonrpc manifest's [vars]; this connector has none".into());
        }
        if over.base_url.is_some()
            || over.username.is_some()
            || over.password.is_some()
            || over.rate_limit_per_sec.is_some()
        {
            return Err("an `exec` connector takes its settings in the manifest's [config]".into());
        }
        Ok(())
    }

    fn build(&self, header: &ManifestHeader) -> Result<Arc<dyn Connector>, ConnectorError> {
        let system = header.system.clone();
        let config = resolve(&self.config).map_err(|source| ConnectorError::Secret {
            system: system.clone(),
            source,
        })?;
        Ok(Arc::new(ExecConnector {
            system,
            cfg: self.clone(),
            tap_config: config,
            running: Mutex::new(None),
        }))
    }
}

fn stream_specs(streams: &[ExecStream]) -> Vec<StreamSpec> {
    streams
        .iter()
        .map(|s| StreamSpec {
            name: s.name.clone(),
            cursor: Some(cursor_spec()),
            max_pages: None,
        })
        .collect()
}

/// The tap's config as JSON, with `env:` and `file:` strings resolved.
fn resolve(config: &BTreeMap<String, toml::Value>) -> Result<Value, crate::SecretError> {
    fn go(v: &toml::Value) -> Result<Value, crate::SecretError> {
        Ok(match v {
            toml::Value::String(s) if s.starts_with("env:") || s.starts_with("file:") => {
                Value::String(SecretRef::parse(s).resolve()?.expose().to_string())
            }
            toml::Value::Array(items) => {
                Value::Array(items.iter().map(go).collect::<Result<_, _>>()?)
            }
            toml::Value::Table(t) => Value::Object(
                t.iter()
                    .map(|(k, v)| Ok((k.clone(), go(v)?)))
                    .collect::<Result<_, _>>()?,
            ),
            other => serde_json::to_value(other).unwrap_or(Value::Null),
        })
    }
    let map = config
        .iter()
        .map(|(k, v)| Ok((k.clone(), go(v)?)))
        .collect::<Result<serde_json::Map<_, _>, _>>()?;
    Ok(Value::Object(map))
}

#[derive(Debug)]
struct ExecConnector {
    system: String,
    cfg: ExecConfig,
    tap_config: Value,
    /// The tap of the run in progress, read a page at a time.
    running: Mutex<Option<Running>>,
}

#[derive(Debug)]
struct Running {
    stream: String,
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    /// The page number of the last page handed out, across runs.
    seq: u64,
    /// The latest state seen, JSON text.
    state: Option<String>,
    /// Holds the config and state files until the tap exits.
    _dir: tempfile::TempDir,
}

fn encode(seq: u64, state: &str) -> String {
    format!("{seq:012}|{state}")
}

fn decode(cursor: &str) -> Option<(u64, &str)> {
    let (seq, state) = cursor.split_once('|')?;
    Some((seq.parse().ok()?, state))
}

impl ExecConnector {
    fn fail(&self, message: String) -> ConnectorError {
        ConnectorError::Shape {
            system: self.system.clone(),
            url: self.cfg.command.clone(),
            message,
        }
    }

    async fn start(&self, stream: &str, from: Option<&str>) -> Result<Running, ConnectorError> {
        let dir = tempfile::tempdir().map_err(|e| self.fail(format!("temporary folder: {e}")))?;
        let config_path = dir.path().join("config.json");
        // Written owner-only: it may hold the tap's credentials.
        write_private(&config_path, &self.tap_config.to_string())
            .map_err(|e| self.fail(format!("cannot write the tap config: {e}")))?;
        let mut cmd = Command::new(&self.cfg.command);
        cmd.args(&self.cfg.args).arg("--config").arg(&config_path);
        let committed = from.and_then(decode);
        if let Some((_, state)) = committed {
            let state_path = dir.path().join("state.json");
            write_private(&state_path, state)
                .map_err(|e| self.fail(format!("cannot write the tap state: {e}")))?;
            cmd.arg("--state").arg(&state_path);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ConnectorError::Transport {
                system: self.system.clone(),
                url: self.cfg.command.clone(),
                message: format!("cannot start the tap: {e}"),
            })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| self.fail("no stdout".into()))?;
        Ok(Running {
            stream: stream.to_string(),
            child,
            lines: BufReader::new(stdout).lines(),
            seq: committed.map_or(0, |(seq, _)| seq),
            state: committed.map(|(_, s)| s.to_string()),
            _dir: dir,
        })
    }

    /// Read until a state, a full page or the end of the tap's output.
    async fn next_page(
        &self,
        run: &mut Running,
        spec: &ExecStream,
    ) -> Result<Page, ConnectorError> {
        let key = split_path(&spec.key);
        let idle = Duration::from_secs(self.cfg.idle_timeout_secs.max(1));
        let mut payloads: Vec<Value> = Vec::new();
        let mut ended = false;
        loop {
            let line = tokio::time::timeout(idle, run.lines.next_line())
                .await
                .map_err(|_| self.fail(format!("the tap wrote nothing for {}s", idle.as_secs())))?
                .map_err(|e| self.fail(format!("reading the tap's output: {e}")))?;
            let Some(line) = line else {
                ended = true;
                break;
            };
            if line.trim().is_empty() {
                continue;
            }
            let msg: Value = crate::text::parse_json(&line).map_err(|e| {
                self.fail(format!("not a Singer message ({e}): {}", excerpt(&line)))
            })?;
            match msg.get("type").and_then(Value::as_str) {
                Some("RECORD")
                    if msg.get("stream").and_then(Value::as_str) == Some(&run.stream) =>
                {
                    payloads.push(msg.get("record").cloned().unwrap_or(Value::Null));
                    if payloads.len() >= spec.page_size {
                        break;
                    }
                }
                Some("STATE") => {
                    run.state = Some(msg.get("value").cloned().unwrap_or(Value::Null).to_string());
                    if !payloads.is_empty() {
                        break;
                    }
                }
                // SCHEMA, ACTIVATE_VERSION, BATCH and other streams' records.
                _ => {}
            }
        }
        if ended {
            self.finish(run).await?;
        }
        run.seq += 1;
        // Every record of the page carries the state that covers it: the
        // state after the page if the tap sent one, else the one before.
        let cursor = run.state.as_ref().map(|s| encode(run.seq, s));
        let records = payloads
            .into_iter()
            .map(|payload| SourceRecord {
                key: lookup(&payload, &key).and_then(scalar),
                cursor: cursor.clone(),
                payload,
            })
            .collect();
        Ok(Page {
            records,
            // The tap keeps its own place; the token only says "more", and
            // numbers the page so that a run's guard against loops (which
            // refuses a token it has seen) sees each page as new.
            next: (!ended).then(|| PageToken::Token(format!("{}#{}", run.stream, run.seq))),
            shifted: false,
        })
    }

    /// The tap's exit: an error, with its last words, unless it succeeded.
    async fn finish(&self, run: &mut Running) -> Result<(), ConnectorError> {
        let status = run
            .child
            .wait()
            .await
            .map_err(|e| self.fail(format!("waiting for the tap: {e}")))?;
        if status.success() {
            return Ok(());
        }
        let mut stderr = String::new();
        if let Some(mut err) = run.child.stderr.take() {
            let _ = err.read_to_string(&mut stderr).await;
        }
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(self.fail(format!(
            "the tap exited with {status}: {}",
            tail.join(" | ")
        )))
    }
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn excerpt(s: &str) -> String {
    s.chars().take(200).collect()
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait::async_trait]
impl Connector for ExecConnector {
    fn system(&self) -> &str {
        &self.system
    }

    fn streams(&self) -> Vec<StreamSpec> {
        stream_specs(&self.cfg.streams)
    }

    fn probe_reads_pages(&self) -> bool {
        false
    }

    /// Running a tap would start a sync: only check it can be started.
    async fn probe(&self) -> Result<String, ConnectorError> {
        let command = std::path::Path::new(&self.cfg.command);
        let found = if command.components().count() > 1 {
            command.is_file().then(|| command.to_path_buf())
        } else {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(command))
                    .find(|p| p.is_file())
            })
        };
        match found {
            Some(path) => Ok(format!("tap found at {}", path.display())),
            None => Err(ConnectorError::Transport {
                system: self.system.clone(),
                url: self.cfg.command.clone(),
                message: "the tap is not a file and not on PATH".into(),
            }),
        }
    }

    async fn fetch_page(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        let spec = self
            .cfg
            .streams
            .iter()
            .find(|s| s.name == stream)
            .ok_or_else(|| self.fail(format!("no stream `{stream}`")))?;
        let mut running = self.running.lock().await;
        // A new run (no token) starts a new tap; a stale one is killed.
        if token.is_none() || running.as_ref().is_none_or(|r| r.stream != stream) {
            *running = Some(self.start(stream, from.filter(|f| !f.is_empty())).await?);
        }
        let Some(run) = running.as_mut() else {
            return Err(self.fail("the tap is not running".into()));
        };
        let page = self.next_page(run, spec).await;
        if !matches!(&page, Ok(p) if p.next.is_some()) {
            *running = None;
        }
        page
    }
}

#[cfg(test)]
mod tests;
