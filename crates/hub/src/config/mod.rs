//! The daemon's own configuration: `switchboard.toml` layered under
//! `SWITCHBOARD__SECTION__KEY` environment variables.
//!
//! The file is parsed strictly first, so a typo is reported with its line and
//! column; the `config` crate then layers the environment on top, which is how
//! containers and Kubernetes set the store URL and listen address. This module
//! reads the file and the environment and nothing else: it never connects.

mod api;
mod daemon;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diag::{Diagnostic, SourceFile};
pub use api::{ApiSettings, ApiToken, JwtAlgorithm, JwtSettings, KeyFamily};
pub use daemon::{DEFAULT_OUTBOX_POLL, DaemonSettings};
// Secrets and a connector's per-environment overrides are the connectors'
// own types (`switchboard-connector`); the config reads them.
pub use crate::connector::{ConnectorOverride, Secret, SecretError, SecretRef};

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "switchboard.toml";
/// Prefix of overriding environment variables: `SWITCHBOARD__STORE__URL`.
pub const ENV_PREFIX: &str = "SWITCHBOARD";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    File(#[from] Diagnostic),
    #[error("config file `{0}` does not exist")]
    Missing(PathBuf),
    #[error("environment override {0}")]
    Env(String),
}

/// Everything `switchboard.toml` can say. Every section has defaults: with no
/// file at all, Switchboard runs embedded (SQLite, no broker, loopback HTTP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// File format version; this build reads 1.
    pub version: u32,
    pub store: StoreSettings,
    /// The AMQP broker. Absent means the in-process transport.
    pub broker: Option<BrokerSettings>,
    /// How routed work rides out a target's outage, on either transport.
    pub delivery: DeliverySettings,
    /// Leases shared with other instances, and the drain at SIGTERM.
    pub daemon: DaemonSettings,
    pub http: HttpSettings,
    /// Who may call the HTTP API under `/api/v1`, and with what scopes.
    pub api: ApiSettings,
    /// The web pages (`/`, `/portal`): how people sign in.
    pub web: WebSettings,
    pub paths: PathSettings,
    pub log: LogSettings,
    /// Per-connector overrides of what the manifest says, keyed by system
    /// name, so one manifest serves every environment.
    pub connectors: BTreeMap<String, ConnectorOverride>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: 1,
            store: StoreSettings::default(),
            broker: None,
            delivery: DeliverySettings::default(),
            daemon: DaemonSettings::default(),
            http: HttpSettings::default(),
            api: ApiSettings::default(),
            web: WebSettings::default(),
            paths: PathSettings::default(),
            log: LogSettings::default(),
            connectors: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSettings {
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`. A secret reference
    /// (`env:`/`file:`) because a Postgres URL may carry a password.
    pub url: SecretRef,
    /// Upper bound on pooled connections.
    pub max_connections: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            url: SecretRef::Literal("sqlite://switchboard.db".into()),
            max_connections: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    /// `amqp://USER:PASSWORD@HOST:5672/VHOST`.
    pub url: SecretRef,
    /// Starts the name of the exchange (`<prefix>.work`) and of every queue
    /// (`<prefix>.work.<connector>`, `<prefix>.dlq`, …), so that two
    /// installations (staging and production) can share a broker and a
    /// vhost without taking each other's work.
    #[serde(default = "default_broker_prefix")]
    pub prefix: String,
}

fn default_broker_prefix() -> String {
    "switchboard".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// How long routed work waits for a target that does not answer
    /// (connection refused, a timeout before sending, 429, 503), counted
    /// from the work's first failed attempt, before it becomes a dead
    /// letter. Hours rather than minutes: a maintenance window or a restart
    /// is waited out, and the work resumes by itself.
    pub outage_budget_secs: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            outage_budget_secs: 6 * 3600,
        }
    }
}

impl DeliverySettings {
    pub fn outage_budget(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.outage_budget_secs)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Where `/healthz`, `/readyz` (and later webhooks) are served.
    pub listen: SocketAddr,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        }
    }
}

/// The web pages (docs/PORTAL.md). By default people sign in with an API
/// token; a reverse proxy that authenticates them may say who they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSettings {
    /// A request header, such as `X-Forwarded-Email`, that a reverse proxy
    /// sets to the signed-in employee's e-mail address; that employee then
    /// uses the portal without a token. Only for a proxy that removes the
    /// header from what clients send: anyone who can reach Switchboard
    /// past it could otherwise act as anyone. Unset: off.
    pub trusted_user_header: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathSettings {
    /// Folder of connector manifests; relative paths are taken from the config file's folder.
    pub connectors: PathBuf,
    /// Folder of mapping files; relative paths are taken from the config file's folder.
    pub mappings: PathBuf,
    /// The routing rules; without the file, nothing is routed.
    pub routing: PathBuf,
    /// The service catalogue (`docs/SERVICES.md`); without the file,
    /// nothing is offered at the front door.
    pub services: PathBuf,
    /// How often the daemon checks mapping files for edits, in seconds; an
    /// edit that compiles replaces the running version. 0 turns this off.
    pub reload_secs: u64,
}

impl Default for PathSettings {
    fn default() -> Self {
        Self {
            connectors: PathBuf::from("connectors"),
            mappings: PathBuf::from("mappings"),
            routing: PathBuf::from("routing.toml"),
            services: PathBuf::from("services.toml"),
            reload_secs: 2,
        }
    }
}

impl PathSettings {
    pub fn reload_every(&self) -> Option<std::time::Duration> {
        (self.reload_secs > 0).then(|| std::time::Duration::from_secs(self.reload_secs))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines for a terminal.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `switchboard=debug,sqlx=warn`.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// Settings plus where they came from, for resolving relative paths.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub settings: Settings,
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// Relative paths in the settings are taken from here.
    pub base_dir: PathBuf,
}

impl LoadedConfig {
    pub fn connectors_dir(&self) -> PathBuf {
        self.resolve(&self.settings.paths.connectors)
    }

    pub fn mappings_dir(&self) -> PathBuf {
        self.resolve(&self.settings.paths.mappings)
    }

    pub fn routing_file(&self) -> PathBuf {
        self.resolve(&self.settings.paths.routing)
    }

    pub fn services_file(&self) -> PathBuf {
        self.resolve(&self.settings.paths.services)
    }

    /// The identity provider's public keys (`[api.jwt] public_keys`), as
    /// configured and as found from here.
    pub fn jwt_key_files(&self) -> Vec<(PathBuf, PathBuf)> {
        let Some(jwt) = &self.settings.api.jwt else {
            return Vec::new();
        };
        jwt.public_keys
            .iter()
            .map(|p| (p.clone(), self.resolve(p)))
            .collect()
    }

    fn resolve(&self, path: &Path) -> PathBuf {
        if self.base_dir == Path::new(".") {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }
}

/// Turn "… for key `http.listen`" into "SWITCHBOARD__HTTP__LISTEN: …".
fn env_error(message: &str) -> String {
    let key = message
        .split_once("for key `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(key, _)| key);
    match key {
        Some(key) => {
            let var = format!("{ENV_PREFIX}__{}", key.replace('.', "__").to_uppercase());
            let reason = message.split(" for key `").next().unwrap_or(message);
            format!("{var}: {reason}")
        }
        None => format!("{ENV_PREFIX}__…: {message}"),
    }
}

/// Load the configuration: `path` if given (it must exist), else
/// `./switchboard.toml` if present, else defaults; then the process environment.
pub fn load(path: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
        .collect();
    load_with_env(path, env)
}

/// [`load`] with an explicit environment, so tests need not touch the process's.
pub fn load_with_env(
    path: Option<&Path>,
    env: HashMap<String, String>,
) -> Result<LoadedConfig, ConfigError> {
    let file = match path {
        Some(p) if !p.exists() => return Err(ConfigError::Missing(p.to_path_buf())),
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
    };

    let mut builder = config::Config::builder();
    let mut source = None;
    if let Some(file) = &file {
        let read = SourceFile::read(file)?;
        // Strict pass first: it is the one that can say line and column.
        let _: Settings = read.parse()?;
        builder = builder.add_source(config::File::from_str(&read.text, config::FileFormat::Toml));
        source = Some(read);
    }
    let overrides = env.clone();
    let environment = config::Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(Some(env.into_iter().collect()));
    // The file already passed the strict pass with the same types, so what
    // fails here came from the environment: name the variable.
    let settings: Settings = builder
        .add_source(environment)
        .build()
        .and_then(|c| c.try_deserialize())
        .map_err(|e| ConfigError::Env(env_error(&e.to_string())))?;
    validate::validate(&settings, source.as_ref(), &overrides)?;

    let base_dir = file
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(LoadedConfig {
        settings,
        file,
        base_dir,
    })
}

#[cfg(test)]
mod tests;
