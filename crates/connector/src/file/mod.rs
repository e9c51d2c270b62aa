//! The `file` kind: CSV, JSON and JSON-lines exports dropped into a
//! directory, as HR and ERP systems often deliver them.
//!
//! The file is the batch. Before anything from a file is stored, the whole
//! file is checked; a broken one moves to `failed/` with the reason beside
//! it. A good one is read a page at a time, and each page's cursor says
//! exactly where in which file it ended: `seq|name|hash|offset`. The sync
//! engine commits that cursor with the page's records, so a restart resumes
//! mid-file where the last committed page ended, and no record is applied
//! twice. A file moves to `done/` only on the fetch after its last page was
//! committed; if the process dies in between, the next run sees the cursor
//! at the file's end and finishes the move.
//!
//! `seq` numbers files in the order they were taken, so cursors compare in
//! processing order whatever the files are called. `hash` tells a new export
//! from an old one that reused its name.

mod config;
mod reader;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use toml::Spanned;
use toml::de::DeTable;

use super::{
    Connector, ConnectorConfig, ConnectorError, CursorFormat, CursorSpec, ManifestHeader, Page,
    PageToken, SourceRecord, StreamSpec, lookup, split_path,
};
use crate::ConnectorOverride;
use crate::diag::{Diagnostic, SourceFile};
pub use config::{FileConfig, FileStream, Format};

/// Parse and validate a `file` manifest's own keys.
pub fn parse(
    source: &SourceFile,
    table: Spanned<DeTable<'_>>,
) -> Result<Box<dyn ConnectorConfig>, Diagnostic> {
    let cfg: FileConfig = source.deserialize_table(table, super::manifest::HEADER_KEYS)?;
    if cfg.streams.is_empty() {
        return Err(source.error_at_key("streams", "at least one `[[streams]]` is needed"));
    }
    // A set, not a scan of the streams before: manifests can have thousands.
    let mut names = std::collections::HashSet::new();
    let mut patterns = std::collections::HashMap::new();
    for (i, s) in cfg.streams.iter().enumerate() {
        let at = |k: &str| format!("streams.{i}.{k}");
        if s.deletions.is_some() {
            return Err(source.error_at_key(
                &at("deletions"),
                "deletions are not supported for kind `file` yet (only `rest` reads \
                 `[streams.deletions]`); map a deleted status to `cancelled` instead \
                 (docs/CONNECTORS.md, \"Deletions\")",
            ));
        }
        if !names.insert(s.name.as_str()) {
            return Err(source.error_at_key(&at("name"), format!("duplicate stream `{}`", s.name)));
        }
        if s.page_size == 0 {
            return Err(source.error_at_key(&at("page_size"), "`page_size` must be at least 1"));
        }
        if s.pattern.contains('/') || s.pattern.is_empty() {
            return Err(source.error_at_key(
                &at("pattern"),
                "a file name pattern such as `employees-*.csv`, without folders",
            ));
        }
        if !s.csv.delimiter.is_ascii() {
            return Err(source.error_at_key(&at("csv.delimiter"), "one ASCII character, e.g. `;`"));
        }
        if let Some(o) = patterns.insert(s.pattern.as_str(), s) {
            return Err(source.error_at_key(
                &at("pattern"),
                format!(
                    "stream `{}` already takes `{}`; each file must belong to one stream",
                    o.name, s.pattern
                ),
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

impl ConnectorConfig for FileConfig {
    fn streams(&self) -> Vec<StreamSpec> {
        self.streams
            .iter()
            .map(|s| StreamSpec {
                name: s.name.clone(),
                cursor: Some(cursor_spec()),
                max_pages: None,
            })
            .collect()
    }

    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String> {
        if !over.vars.is_empty() {
            return Err("`vars` sets a jsonrpc manifest's [vars]; this connector has none".into());
        }
        if over.base_url.is_some()
            || over.username.is_some()
            || over.password.is_some()
            || over.token.is_some()
            || over.rate_limit_per_sec.is_some()
        {
            return Err(
                "a `file` connector has no URL or credentials; set `directory` in its manifest"
                    .into(),
            );
        }
        Ok(())
    }

    fn build(&self, header: &ManifestHeader) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(FileConnector {
            system: header.system.clone(),
            dir: PathBuf::from(&self.directory),
            streams: self.streams.clone(),
            hashes: Mutex::default(),
        }))
    }
}

/// A file as last seen: name, length and modification time.
type FileStamp = (String, u64, Option<std::time::SystemTime>);

#[derive(Debug)]
struct FileConnector {
    system: String,
    dir: PathBuf,
    streams: Vec<FileStream>,
    /// Content hashes by (name, length, modified), so a file is hashed once.
    hashes: Mutex<HashMap<FileStamp, String>>,
}

/// Where a run stands: a file (numbered in the order taken) and an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pos {
    seq: u64,
    name: String,
    hash: String,
    offset: u64,
}

impl Pos {
    /// Zero-padded so that cursors compare as text in processing order.
    fn encode(&self) -> String {
        format!(
            "{:010}|{}|{}|{:016}",
            self.seq, self.name, self.hash, self.offset
        )
    }

    fn decode(s: &str) -> Option<Pos> {
        let (seq, rest) = s.split_once('|')?;
        let (rest, offset) = rest.rsplit_once('|')?;
        let (name, hash) = rest.rsplit_once('|')?;
        Some(Pos {
            seq: seq.parse().ok()?,
            name: name.to_string(),
            hash: hash.to_string(),
            offset: offset.parse().ok()?,
        })
    }
}

/// The step after a page: read on in a file, or move a finished one.
fn token(done: bool, pos: &Pos) -> PageToken {
    PageToken::Token(format!(
        "{}{}",
        if done { "done:" } else { "at:" },
        pos.encode()
    ))
}

impl FileConnector {
    fn stream(&self, name: &str) -> Result<&FileStream, ConnectorError> {
        self.streams
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| ConnectorError::Shape {
                system: self.system.clone(),
                url: self.dir.display().to_string(),
                message: format!("no stream `{name}`"),
            })
    }

    fn io(&self, path: &Path, e: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::Transport {
            system: self.system.clone(),
            url: path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Files of the stream waiting in the drop directory, by name.
    fn waiting(&self, s: &FileStream) -> Result<Vec<String>, ConnectorError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| self.io(&self.dir, e))?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| config::matches(&s.pattern, n))
            .collect();
        names.sort();
        Ok(names)
    }

    fn hash(&self, name: &str) -> Result<String, ConnectorError> {
        let path = self.dir.join(name);
        let meta = std::fs::metadata(&path).map_err(|e| self.io(&path, e))?;
        let key = (name.to_string(), meta.len(), meta.modified().ok());
        if let Some(h) = self.hashes.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(h);
        }
        let h = reader::content_hash(&path).map_err(|e| self.io(&path, e))?;
        if let Ok(mut m) = self.hashes.lock() {
            m.insert(key, h.clone());
        }
        Ok(h)
    }

    /// Move a file into `done/` or `failed/`, never over another file.
    fn move_to(&self, name: &str, folder: &str) -> Result<PathBuf, ConnectorError> {
        let from = self.dir.join(name);
        let target_dir = self.dir.join(folder);
        std::fs::create_dir_all(&target_dir).map_err(|e| self.io(&target_dir, e))?;
        let mut to = target_dir.join(name);
        let mut n = 1;
        while to.exists() {
            to = target_dir.join(format!("{name}.{n}"));
            n += 1;
        }
        std::fs::rename(&from, &to).map_err(|e| self.io(&from, e))?;
        Ok(to)
    }

    /// The next waiting file that checks out, numbered `seq`; broken ones
    /// are moved to `failed/` on the way.
    fn take_next(&self, s: &FileStream, seq: u64) -> Result<Option<Pos>, ConnectorError> {
        for name in self.waiting(s)? {
            let path = self.dir.join(&name);
            match reader::check(&path, s) {
                Ok(()) => {
                    return Ok(Some(Pos {
                        seq,
                        hash: self.hash(&name)?,
                        name,
                        offset: 0,
                    }));
                }
                Err(reason) => {
                    let moved = self.move_to(&name, "failed")?;
                    let note = moved.with_file_name(format!(
                        "{}.error.txt",
                        moved
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ));
                    let text = format!("{}: {reason}\n", path.display());
                    std::fs::write(&note, &text).map_err(|e| self.io(&note, e))?;
                    tracing::error!(connector = %self.system, file = %path.display(), %reason, moved_to = %moved.display(), "file refused; nothing from it was stored");
                }
            }
        }
        Ok(None)
    }

    /// Where the first page of a run starts: inside the file the committed
    /// cursor names, if it is still waiting unchanged, else the next file.
    fn first(&self, s: &FileStream, from: Option<&str>) -> Result<Option<Pos>, ConnectorError> {
        let committed = from.and_then(Pos::decode);
        if let Some(pos) = &committed
            && self.waiting(s)?.contains(&pos.name)
            && self.hash(&pos.name)? == pos.hash
        {
            return Ok(Some(pos.clone()));
        }
        self.take_next(s, committed.map_or(1, |p| p.seq + 1))
    }

    fn read_page(&self, s: &FileStream, pos: Pos) -> Result<Page, ConnectorError> {
        let path = self.dir.join(&pos.name);
        let chunk =
            reader::read(&path, s, pos.offset).map_err(|message| ConnectorError::Shape {
                system: self.system.clone(),
                url: path.display().to_string(),
                message,
            })?;
        let key = split_path(&s.key);
        let mut last = pos.clone();
        let records = chunk
            .records
            .into_iter()
            .map(|(payload, after)| {
                last.offset = after;
                SourceRecord {
                    key: lookup(&payload, &key).and_then(scalar),
                    cursor: Some(last.encode()),
                    payload,
                }
            })
            .collect();
        Ok(Page {
            records,
            next: Some(token(chunk.eof, &last)),
            shifted: false,
        })
    }

    fn fetch(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        let s = self.stream(stream)?;
        let step = match token {
            None => None,
            Some(PageToken::Token(t)) => Some(t.as_str()),
            Some(other) => {
                return Err(ConnectorError::Shape {
                    system: self.system.clone(),
                    url: self.dir.display().to_string(),
                    message: format!("unexpected page token {other:?}"),
                });
            }
        };
        let pos = match step.and_then(|t| t.split_once(':')) {
            None => self.first(s, from)?,
            Some(("at", p)) => Pos::decode(p),
            Some((_, p)) => {
                // The previous page ended this file and has been committed.
                let done = Pos::decode(p);
                if let Some(d) = &done
                    && self.dir.join(&d.name).exists()
                    && self.hash(&d.name)? == d.hash
                {
                    self.move_to(&d.name, "done")?;
                }
                self.take_next(s, done.map_or(1, |d| d.seq + 1))?
            }
        };
        match pos {
            Some(pos) => self.read_page(s, pos),
            None => Ok(Page {
                records: Vec::new(),
                next: None,
                shifted: false,
            }),
        }
    }
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait::async_trait]
impl Connector for FileConnector {
    fn system(&self) -> &str {
        &self.system
    }

    fn streams(&self) -> Vec<StreamSpec> {
        self.streams
            .iter()
            .map(|s| StreamSpec {
                name: s.name.clone(),
                cursor: Some(cursor_spec()),
                max_pages: None,
            })
            .collect()
    }

    fn probe_reads_pages(&self) -> bool {
        false
    }

    /// Reading a page could move a broken file to `failed/`: only look.
    async fn probe(&self) -> Result<String, ConnectorError> {
        let mut waiting = Vec::new();
        for s in &self.streams {
            waiting.push(format!(
                "{} waiting for `{}`",
                self.waiting(s)?.len(),
                s.name
            ));
        }
        Ok(format!(
            "folder {} is readable; {}",
            self.dir.display(),
            waiting.join(", ")
        ))
    }

    async fn fetch_page(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        // File IO blocks; it runs on the blocking pool, with a copy of what
        // it needs so the async task is not tied to it.
        let this = FileConnector {
            system: self.system.clone(),
            dir: self.dir.clone(),
            streams: self.streams.clone(),
            hashes: Mutex::new(self.hashes.lock().map(|m| m.clone()).unwrap_or_default()),
        };
        let (stream, from, token) = (stream.to_string(), from.map(str::to_string), token.cloned());
        let (page, hashes) = tokio::task::spawn_blocking(move || {
            let page = this.fetch(&stream, from.as_deref(), token.as_ref());
            (page, this.hashes.into_inner().unwrap_or_default())
        })
        .await
        .map_err(|e| ConnectorError::Transport {
            system: self.system.clone(),
            url: self.dir.display().to_string(),
            message: format!("file task failed: {e}"),
        })?;
        if let Ok(mut m) = self.hashes.lock() {
            *m = hashes;
        }
        page
    }
}

#[cfg(test)]
mod tests;
