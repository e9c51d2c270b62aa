//! The `jsonrpc` kind's manifest keys (no IO).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::SecretRef;
use crate::rest::config::HttpOptions;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonRpcConfig {
    /// The server's root, e.g. `https://acme.odoo.com`.
    pub base_url: String,
    /// Path of the JSON-RPC endpoint under `base_url`, e.g. `/jsonrpc`.
    pub endpoint: String,
    /// `"2.0"` (the default) or `"1.0"`.
    #[serde(default = "two")]
    pub protocol: String,
    #[serde(default)]
    pub http: HttpOptions,
    /// Headers sent with every call, the login's too (an API version, a
    /// tenant); values may use `${vars.<name>}`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Values templates use as `${vars.<name>}`: a database name, a login,
    /// an API key (`env:` and `file:` values are secrets, masked in errors).
    #[serde(default)]
    pub vars: BTreeMap<String, SecretRef>,
    /// A login call made once; its result is `${session}` in later calls.
    #[serde(default)]
    pub session: Option<SessionConfig>,
    #[serde(default)]
    pub errors: ErrorConfig,
    pub streams: Vec<StreamConfig>,
    #[serde(default)]
    pub actions: BTreeMap<String, ActionConfig>,
    /// Vars set from credential overrides: masked like `env:` values.
    #[serde(skip)]
    pub overridden: Vec<String>,
}

/// The base URL masked (it may carry a password); vars by name only.
impl std::fmt::Debug for JsonRpcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streams: Vec<&str> = self.streams.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("JsonRpcConfig")
            .field("base_url", &crate::shown_url(&self.base_url, &[]))
            .field("endpoint", &self.endpoint)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("streams", &streams)
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn two() -> String {
    "2.0".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    pub method: String,
    pub params: Value,
    /// Dotted path of the session value in the result; `""` for the result.
    #[serde(default)]
    pub result: String,
    /// Headers sent with every call after the login, built from its result:
    /// `Authorization = "${'Session ' + base64(vars.login + ':' + session.0 + ':' + session.1)}"`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Cookies sent after the login, built the same way (cookies the login
    /// response sets are kept and sent back without this).
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    /// Query parameters added to the endpoint's URL after the login.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
}

/// How to read a JSON-RPC error object.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorConfig {
    /// Dotted path, in the error object, of the error's type name.
    pub name: String,
    /// Names meaning the credentials or session were refused.
    pub auth: Vec<String>,
    /// Names worth retrying later (a lock, a serialisation failure).
    pub transient: Vec<String>,
}

impl Default for ErrorConfig {
    fn default() -> Self {
        Self {
            name: "data.name".into(),
            auth: Vec::new(),
            transient: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    pub name: String,
    /// The JSON-RPC method, e.g. `call` or `execute_kw`.
    pub method: String,
    /// The params, with `${cursor}` (or its parts, `${cursor.year}`), `${offset}`, `${limit}`, `${page}`,
    /// `${session}` and `${vars.<name>}` placeholders.
    pub params: Value,
    /// Dotted path of the record array in the result; `""` when the result is it.
    #[serde(default)]
    pub records: String,
    /// Dotted path of each record's id.
    pub key: String,
    /// Records per call; the run ends at a short page.
    pub page_size: u32,
    /// The server writes `false` for an empty field of any type (Odoo
    /// does): read such a top-level `false` as null, except in the fields
    /// that really are booleans, listed in `keep_false`.
    #[serde(default)]
    pub false_is_null: bool,
    #[serde(default)]
    pub keep_false: Vec<String>,
    #[serde(default)]
    pub cursor: Option<CursorConfig>,
    /// Calls made for each new or changed record (a document's messages),
    /// joined to it under `into`.
    #[serde(default)]
    pub details: Vec<DetailsConfig>,
    /// `[streams.deletions]` is the `rest` kind's only: read here so
    /// `check` can say so rather than call it an unknown key.
    #[serde(default)]
    pub deletions: Option<toml::Value>,
}

/// `[[streams.details]]`: one call per new or changed record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsConfig {
    /// The key the array is put under in the record, e.g. `messages`.
    pub into: String,
    /// The JSON-RPC method, as a stream's.
    pub method: String,
    /// The params, naming the record's fields with `${record.<field>}`
    /// (and `${session}`, `${vars.<name>}`).
    pub params: Value,
    /// Dotted path of the array in the result; `""` when the result is it.
    #[serde(default)]
    pub records: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorConfig {
    /// Dotted path of the field that orders changes, e.g. `write_date`.
    #[serde(default)]
    pub field: String,
    /// Several change fields (`["create_date", "write_date"]`): a record's
    /// cursor is the greatest of those present. Instead of `field`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// How a field's value is read: `auto` (the default), `text`, `epoch`,
    /// `epoch_ms` or `parts` (an object of date parts).
    #[serde(default)]
    pub read: Option<String>,
    /// How `${cursor}` is written when not as stored: `rfc3339` (UTC, `Z`),
    /// `epoch`, `epoch_ms` or a chrono format. `${cursor.year}` and the
    /// other parts write it as an object instead.
    #[serde(default)]
    pub write_format: Option<String>,
    /// As the `rest` kind's: `rfc3339`, `integer`, `string` or a chrono
    /// format such as `%Y-%m-%d %H:%M:%S` (UTC).
    pub format: String,
    #[serde(default)]
    pub initial: Option<String>,
    #[serde(default = "sixty")]
    pub overlap_secs: u64,
    /// The params order records by the cursor, so it may be committed
    /// after every page. `false` (two change fields, which no single order
    /// follows): committed at the end of a run.
    #[serde(default = "yes")]
    pub ordered: bool,
}

fn yes() -> bool {
    true
}

impl CursorConfig {
    pub fn keys(&self) -> crate::CursorKeys<'_> {
        crate::CursorKeys {
            field: &self.field,
            fields: &self.fields,
            format: &self.format,
            read: self.read.as_deref(),
            write_format: self.write_format.as_deref(),
            initial: self.initial.as_deref(),
            overlap_secs: self.overlap_secs,
            ordered: self.ordered,
        }
    }
}

fn sixty() -> u64 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub method: String,
    /// The params, with `${body}` (the outbound mapping's output), `${id}`
    /// (the target record's id), `${session}` and `${vars.<name>}`.
    pub params: Value,
    /// Dotted path of the affected record's id in the result; `""` when
    /// the result is the id (Odoo's `create`). Absent: the target's id.
    #[serde(default)]
    pub id: Option<String>,
}
