//! Connectors: one per external system, each of a registered kind.
//!
//! A connector pulls a stream's changes as pages, from a lower-bound cursor,
//! and hands back raw records with their key and cursor value. It never maps,
//! stores or decides what a cursor commit means: that is the sync engine's.
//! It also performs the write-back actions its manifest declares (create,
//! update, comment), with a body an outbound mapping rendered.
//!
//! Adding a kind is one folder here plus one line in [`KINDS`].
//!
//! A crate of its own (`switchboard-connector`): it knows the languages
//! (manifest paths, outbound bodies) and the model, never the store, sync or
//! the daemon. It owns the secrets and per-environment overrides its
//! manifests name, which the hub's config reads. The hub re-exports it as
//! `connector`.

pub mod cookies;
pub mod cursor;
pub mod exec;
pub mod file;
pub mod http;
pub mod jsonrpc;
pub mod login;
pub mod manifest;
pub mod oauth2;
mod overrides;
pub mod rest;
pub mod secret;
mod urls;
pub mod webhook;

use std::fmt::Debug;
use std::sync::Arc;

use serde_json::Value;
// Paths read as they did inside the hub: `crate::diag`, `crate::text`.
use switchboard_lang::{diag, mapping, routing};
use switchboard_model::text;
use toml::Spanned;
use toml::de::DeTable;

use crate::diag::{Diagnostic, SourceFile};
pub use cursor::{CursorFormat, CursorKeys, CursorRead, CursorSpec, WriteFormat};
pub use manifest::{Manifest, ManifestHeader};
pub use overrides::ConnectorOverride;
pub use secret::{Secret, SecretError, SecretRef};
pub use urls::{check_base_url, looks_secret, shown_url, url_has_password};

/// The repository root, where the shipped connectors live: unit tests load
/// them from there.
#[cfg(test)]
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// Parse and validate (no IO) the kind-specific keys of a manifest.
pub type ParseFn =
    fn(&SourceFile, Spanned<DeTable<'_>>) -> Result<Box<dyn ConnectorConfig>, Diagnostic>;

/// A connector kind: its name in manifests and how to parse its settings.
pub struct Kind {
    pub name: &'static str,
    pub parse: ParseFn,
}

/// Every connector kind this build knows.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "rest",
        parse: rest::parse,
    },
    Kind {
        name: "file",
        parse: file::parse,
    },
    Kind {
        name: "exec",
        parse: exec::parse,
    },
    Kind {
        name: "webhook",
        parse: webhook::parse,
    },
    Kind {
        name: "jsonrpc",
        parse: jsonrpc::parse,
    },
];

/// A kind's validated settings, before any IO.
pub trait ConnectorConfig: Debug + Send + Sync {
    fn streams(&self) -> Vec<StreamSpec>;
    /// Apply the environment's overrides from `switchboard.toml`.
    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String>;
    /// The write-back actions the manifest declares.
    fn actions(&self) -> Vec<ActionSpec> {
        Vec::new()
    }
    /// Resolve secrets and build clients (IO happens here, not in parse).
    fn build(&self, header: &ManifestHeader) -> Result<Arc<dyn Connector>, ConnectorError>;
}

/// What the sync engine needs to know of a stream.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub name: String,
    /// `None`: the stream is read in full every run.
    pub cursor: Option<CursorSpec>,
    /// The manifest's `max_pages`: a run that needs more pages is stopped
    /// with an error rather than paging on (a guard against a source that
    /// never says it is done).
    pub max_pages: Option<u64>,
}

/// How a stream sees records deleted at the source (`[streams.deletions]`,
/// docs/CONNECTORS.md "Deletions"); the sync engine acts on it
/// (`sync/deletions.rs`). Any of the three ways may be set together.
#[derive(Debug, Clone)]
pub struct DeletionSpec {
    /// A listed record that says it is deleted.
    pub status: Option<StatusMark>,
    /// A deleted-records endpoint ([`Connector::fetch_deleted`]) is read
    /// after each run.
    pub endpoint: bool,
    /// The endpoint's own cursor, kept as the stream `<stream>#deletions`.
    pub endpoint_cursor: Option<CursorSpec>,
    /// List the source's keys ([`Connector::fetch_keys`]) now and then and
    /// tombstone what is gone.
    pub reconcile: Option<Reconcile>,
}

/// A field of a listed record whose value means deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMark {
    pub path: Vec<String>,
    pub equals: Value,
}

impl StatusMark {
    /// Whether `payload` says it is deleted: its value at `path` is
    /// `equals` (a number compares by value: `1` equals `1.0`).
    pub fn says_deleted(&self, payload: &Value) -> bool {
        match (lookup(payload, &self.path), &self.equals) {
            (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (Some(v), e) => v == e,
            (None, _) => false,
        }
    }
}

/// When and how far a reconciliation may go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconcile {
    /// The least time between two reconciliations of the stream.
    pub every: std::time::Duration,
    /// The largest share of the live stored records one reconciliation
    /// may tombstone.
    pub max_fraction: f64,
}

/// Where paging stands within one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PageToken {
    /// The next unread position, and the key of the last record read, which
    /// the next request re-reads to prove nothing shifted in between.
    Offset {
        at: u64,
        last_key: Option<String>,
    },
    Page(u64),
    /// The first item of the next `Range` request.
    Range(u64),
    Url(String),
    Token(String),
}

/// One record as the source sent it.
#[derive(Debug, Clone)]
pub struct SourceRecord {
    /// The external id; `None` when the record lacks one (it will be quarantined).
    pub key: Option<String>,
    /// The cursor field's value, when the stream has a cursor.
    pub cursor: Option<String>,
    pub payload: Value,
}

impl SourceRecord {
    /// Apply the store's text rule ([`crate::text`]) to the key, the cursor
    /// and the payload; the payload serialized as it will be hashed and
    /// stored, and how many characters were replaced.
    pub fn scrubbed_json(&mut self) -> (String, usize) {
        let text = |s: &mut Option<String>| s.as_mut().map_or(0, crate::text::scrub_str);
        let fields = text(&mut self.key) + text(&mut self.cursor);
        let json = serde_json::to_string(&self.payload).unwrap_or_default();
        // serde_json writes U+0000, in a key or a value, only as `\u0000`:
        // a payload whose text lacks that has nothing to replace, and its
        // tree is not walked (the walk was 5% of a bulk load's CPU).
        if !json.contains("\\u0000") {
            return (json, fields);
        }
        let replaced = crate::text::scrub(&mut self.payload);
        let json = serde_json::to_string(&self.payload).unwrap_or_default();
        (json, fields + replaced)
    }
}

#[derive(Debug)]
pub struct Page {
    pub records: Vec<SourceRecord>,
    /// `None` when this was the last page.
    pub next: Option<PageToken>,
    /// The source's result set moved under us since the previous page
    /// (records changed or deleted), so records may have been skipped.
    pub shifted: bool,
}

/// A declared write-back action, as `check` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSpec {
    pub name: String,
    /// Whether it sends a body, which an outbound mapping must render.
    pub body: bool,
}

/// What a write-back action is given.
#[derive(Debug, Clone)]
pub struct ActionInput {
    /// The target record's id in this system, for updates and comments.
    pub target_id: Option<String>,
    /// The body, as the outbound mapping for this system and action
    /// rendered it from the canonical record.
    pub body: Value,
}

/// What a write-back action did.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    /// The affected record's id in this system: the new record's for a
    /// create, else the target's.
    pub id: Option<String>,
    pub status: u16,
    pub response: Value,
}

#[async_trait::async_trait]
pub trait Connector: Debug + Send + Sync {
    fn system(&self) -> &str;
    fn streams(&self) -> Vec<StreamSpec>;
    /// Fetch one page of `stream` with records whose cursor is at or after
    /// `from`; `token` is `None` for the first page of a run.
    async fn fetch_page(
        &self,
        stream: &str,
        from: Option<&str>,
        token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError>;

    /// For `switchboard check --connect`: prove the system answers and
    /// accepts our credentials, changing nothing. By default, read the first
    /// page of the first stream.
    /// The push side of a `webhook` connector, for the daemon's HTTP server.
    fn as_webhook(&self) -> Option<&webhook::WebhookConnector> {
        None
    }

    /// The write-back actions this connector can perform.
    fn actions(&self) -> Vec<String> {
        Vec::new()
    }

    /// The requests per second the connector allows itself against its
    /// system: a writer sizes its prefetch by it.
    fn rate_limit_per_sec(&self) -> Option<u32> {
        None
    }

    /// Perform a write-back action. Data errors come back as
    /// [`ConnectorError::Rejected`] with the whole exchange.
    async fn perform(
        &self,
        action: &str,
        _input: &ActionInput,
    ) -> Result<ActionOutcome, ConnectorError> {
        Err(ConnectorError::UnknownAction {
            system: self.system().to_string(),
            action: action.to_string(),
            known: self.actions().join(", "),
        })
    }

    /// Whether the stream makes sub-requests for each new or changed record
    /// (`[[streams.details]]`).
    fn has_details(&self, _stream: &str) -> bool {
        false
    }

    /// The details of one new or changed record: `(key, value)` pairs the
    /// sync adds to the record before mapping it. Only asked when
    /// [`Connector::has_details`] says so.
    async fn fetch_details(
        &self,
        _stream: &str,
        _record: &Value,
    ) -> Result<Vec<(String, Value)>, ConnectorError> {
        Ok(Vec::new())
    }

    /// How `stream` sees deletions; `None` when it does not say.
    fn deletions(&self, _stream: &str) -> Option<DeletionSpec> {
        None
    }

    /// One page of the stream's deleted-records endpoint from `from`: each
    /// record's key is a deleted record's external id.
    async fn fetch_deleted(
        &self,
        stream: &str,
        _from: Option<&str>,
        _token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        Err(ConnectorError::UnknownStream {
            system: self.system().to_string(),
            stream: format!("{stream} (no deleted-records endpoint)"),
        })
    }

    /// One page of the stream's keys, for a reconciliation.
    async fn fetch_keys(
        &self,
        stream: &str,
        _token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        Err(ConnectorError::UnknownStream {
            system: self.system().to_string(),
            stream: format!("{stream} (no key listing)"),
        })
    }

    /// Whether `check --connect` reads each stream's first page, as a
    /// run would (`true`), or only asks [`Connector::probe`], for kinds
    /// whose read has effects (a file moved, a tap started) or that read
    /// nothing (webhooks).
    fn probe_reads_pages(&self) -> bool {
        true
    }

    async fn probe(&self) -> Result<String, ConnectorError> {
        let Some(stream) = self.streams().into_iter().next() else {
            return Ok("no streams to read".into());
        };
        let page = self.fetch_page(&stream.name, None, None).await?;
        Ok(format!(
            "read the first page of `{}`: {} record(s)",
            stream.name,
            page.records.len()
        ))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("{system}: {} (HTTP {status}): {body}", auth_hint(*status))]
    Auth {
        system: String,
        status: u16,
        body: String,
    },
    #[error("{system}: {method} {url} answered {status}: {body}")]
    Status {
        system: String,
        method: String,
        url: String,
        status: u16,
        body: String,
    },
    /// A data error (400, 404, 409, 422, …): never retried. The whole
    /// exchange goes with it, for quarantine and the dead-letter queue.
    #[error("{system}: {} {} was refused with {}: {}", exchange.method, shown_url(&exchange.url, &exchange.query), exchange.status, http::excerpt(&exchange.response_body))]
    Rejected {
        system: String,
        exchange: Box<http::Exchange>,
    },
    /// No connection could be made: the request surely did not arrive.
    #[error("{system}: cannot connect to {url}: {message}")]
    Unreachable {
        system: String,
        url: String,
        message: String,
    },
    #[error("{system}: request to {url} failed: {message}")]
    Transport {
        system: String,
        url: String,
        message: String,
    },
    #[error(
        "{system}: rate limited; the server asks to wait {wait_secs}s, over the {max_secs}s this connector may wait"
    )]
    RateLimited {
        system: String,
        wait_secs: u64,
        max_secs: u64,
    },
    #[error("{system}: unexpected response from {url}: {message}")]
    Shape {
        system: String,
        url: String,
        message: String,
    },
    #[error("{system}: no action named `{action}` (actions: {known})")]
    UnknownAction {
        system: String,
        action: String,
        known: String,
    },
    #[error("{system}: action `{action}`: {message}")]
    Action {
        system: String,
        action: String,
        message: String,
    },
    #[error("{system}: no stream named `{stream}`")]
    UnknownStream { system: String, stream: String },
    #[error("{system}: secret: {source}")]
    Secret {
        system: String,
        #[source]
        source: SecretError,
    },
    #[error("{system}: {message}")]
    Build { system: String, message: String },
}

impl ConnectorError {
    /// Worth trying again later (the server was down, slow or busy), as
    /// opposed to a refusal that only a change of data or config can fix.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Status { .. }
                | Self::Transport { .. }
                | Self::Unreachable { .. }
                | Self::RateLimited { .. }
        )
    }

    /// Whether a write that failed this way may still have been applied:
    /// the server may have acted before the timeout or the 500. Only a
    /// refusal, a 429 or 503, or no connection at all says it did not.
    pub fn may_have_applied(&self) -> bool {
        match self {
            Self::Status { status, .. } => !matches!(status, 429 | 503),
            Self::Transport { .. } | Self::Shape { .. } => true,
            _ => false,
        }
    }
}

fn auth_hint(status: u16) -> &'static str {
    match status {
        403 => {
            "permission denied: the account authenticated but lacks a role or ACL for this request"
        }
        _ => "authentication failed: check the credentials",
    }
}

/// Split a dotted manifest path (`result`, `sys_id`, `data.items`,
/// `data."owner.".id`) once.
pub fn split_path(path: &str) -> Vec<String> {
    crate::mapping::path::key_segments(path)
}

/// Follow a split path into a JSON value; numeric segments index arrays.
pub fn lookup<'v>(mut value: &'v Value, segments: &[String]) -> Option<&'v Value> {
    for seg in segments {
        value = match value {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// Offset paging re-reads the previous page's last record (`expected`) as
/// the first of the next page: dropped when it is there (`false`); when it
/// is not, the positions after it moved under the run (`true`: shifted).
pub(crate) fn drop_overlap(records: &mut Vec<SourceRecord>, expected: Option<&str>) -> bool {
    let Some(expected) = expected else {
        return false;
    };
    match records.first() {
        Some(first) if first.key.as_deref() == Some(expected) => {
            records.remove(0);
            false
        }
        _ => true,
    }
}
