//! The `rest` kind's manifest keys, and their validation (no IO).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::SecretRef;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestConfig {
    /// Root of every stream's `path`, e.g. `https://acme.service-now.com`.
    pub base_url: String,
    #[serde(default)]
    pub http: HttpOptions,
    /// How requests authenticate; absent means anonymous.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// Static headers sent with every request (an API version, a tenant).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub streams: Vec<StreamConfig>,
    /// Write-back actions, by name: `[actions.create_incident]`.
    #[serde(default)]
    pub actions: BTreeMap<String, ActionConfig>,
}

/// The base URL masked (it may carry a password), headers by name.
impl std::fmt::Debug for RestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let streams: Vec<&str> = self.streams.iter().map(|s| s.name.as_str()).collect();
        f.debug_struct("RestConfig")
            .field("base_url", &crate::shown_url(&self.base_url, &[]))
            .field("auth", &self.auth)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("streams", &streams)
            .field("actions", &self.actions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// One write-back call. Its body is what the outbound mapping for this
/// system and action renders from the canonical record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: String,
    /// Path under `base_url`. `{id}` is the target record's id in this
    /// system (for updates and comments); `{body.<field>}` a value of the
    /// rendered body. Both are URL-escaped.
    pub path: String,
    /// Fixed query parameters.
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
    /// Fixed headers, e.g. Maximo's `x-method-override = "PATCH"`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Dotted path of the affected record's id in the response body.
    #[serde(default)]
    pub id: Option<String>,
    /// A response header holding the new record's URL (`Location`); its
    /// last path segment is the id.
    #[serde(default)]
    pub id_header: Option<String>,
    /// Send no body (a transition named only by its path).
    #[serde(default)]
    pub no_body: bool,
}

/// A query parameter's value; a list repeats the parameter
/// (`?fields=a&fields=b`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum QueryValue {
    One(String),
    Many(Vec<String>),
}

impl QueryValue {
    pub fn values(&self) -> &[String] {
        match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpOptions {
    /// Whole-request timeout.
    pub timeout_secs: u64,
    pub connect_timeout_secs: u64,
    /// Requests per second this connector may send (token bucket). 0 = unlimited.
    pub rate_limit_per_sec: u32,
    /// Tries per request for transient failures, the first included.
    pub max_attempts: u32,
    /// First backoff between tries; doubles (with jitter) up to 30 s.
    pub initial_backoff_ms: u64,
    /// The longest `Retry-After` honoured before giving up until the next run.
    pub max_retry_after_secs: u64,
}

impl HttpOptions {
    /// Values that can never work, refused by `check`: the key and why.
    /// A zero timeout fails every request; a backoff of hours or a million
    /// attempts keeps a run from ever ending.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        let within = |key: &'static str, value: u64, min: u64, max: u64, unit: &str| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err((
                    key,
                    format!("{value} is out of range: {min} to {max}{unit}"),
                ))
            }
        };
        within("timeout_secs", self.timeout_secs, 1, 3600, " seconds")?;
        within(
            "connect_timeout_secs",
            self.connect_timeout_secs,
            1,
            600,
            " seconds",
        )?;
        within("max_attempts", self.max_attempts.into(), 1, 100, "")?;
        within(
            "initial_backoff_ms",
            self.initial_backoff_ms,
            1,
            600_000,
            " milliseconds (10 minutes)",
        )?;
        within(
            "max_retry_after_secs",
            self.max_retry_after_secs,
            0,
            86_400,
            " seconds (a day)",
        )?;
        within(
            "rate_limit_per_sec",
            self.rate_limit_per_sec.into(),
            0,
            100_000,
            " (0 is unlimited)",
        )
    }
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

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout_secs: 30,
            connect_timeout_secs: 10,
            rate_limit_per_sec: 10,
            max_attempts: 5,
            initial_backoff_ms: 500,
            max_retry_after_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// HTTP Basic.
    Basic {
        username: SecretRef,
        password: SecretRef,
    },
    /// `Authorization: Bearer <token>`.
    Bearer { token: SecretRef },
    /// A key in a header, e.g. `header = "X-API-Key"`.
    ApiKey { header: String, value: SecretRef },
    /// OAuth 2.0 client credentials: a bearer token from `token_url` (a
    /// path starting with `/` is under `base_url`), cached until it expires. Overrides: `username` is the client id, `password`
    /// the client secret.
    Oauth2ClientCredentials {
        token_url: String,
        client_id: SecretRef,
        client_secret: SecretRef,
        #[serde(default)]
        scope: Option<String>,
        /// `body` (form fields, the default) or `basic` (HTTP Basic).
        #[serde(default)]
        client_auth: crate::oauth2::ClientAuth,
    },
    /// A login request whose answer authenticates later requests: sent
    /// once (and again once when a request is refused), its session value
    /// put in headers or query parameters by templates. Overrides:
    /// `username`, `password`.
    Login(Box<LoginConfig>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// `POST` (the default) or `PUT`.
    #[serde(default = "post")]
    pub method: String,
    /// The login's path under `base_url`, or a whole URL.
    pub path: String,
    pub username: SecretRef,
    pub password: SecretRef,
    /// The JSON body, a template with `${vars.username}` and
    /// `${vars.password}`; by default `{"username": …, "password": …}`.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// How the body is sent: `json` (the default) or `form`
    /// (`application/x-www-form-urlencoded`, for logins that take a form;
    /// the body is then a table of plain values).
    #[serde(default)]
    pub body_format: BodyFormat,
    /// Dotted path of the session value in the answer; `""` for all of it.
    #[serde(default)]
    pub result: String,
    /// Headers built from the session: `Authorization = "Bearer ${session}"`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters built from it: `sid = "${session.sid}"`.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
}

fn post() -> String {
    "POST".into()
}

/// How a login's body is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyFormat {
    #[default]
    Json,
    Form,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Stream name, as mapping files refer to it.
    pub name: String,
    /// Path under `base_url`, e.g. `/api/now/table/incident`.
    pub path: String,
    /// Dotted path of the records in the response body; "" when the body is
    /// the array. An object there is read as its values (records keyed by id).
    #[serde(default)]
    pub records: String,
    /// Dotted path of each record's external id.
    pub key: String,
    /// `GET` (the default), or `POST` for APIs that search with a body.
    #[serde(default = "get")]
    pub method: String,
    /// The request body for a `POST` search, as JSON text. `{cursor}`,
    /// `{limit}`, `{offset}` and `{page}` in it are replaced by the cursor's
    /// lower bound and the paging values (and those then leave the query).
    #[serde(default)]
    pub body: Option<String>,
    /// Fixed query parameters sent with every request; a list repeats the
    /// parameter.
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
    /// Fixed headers for this stream's requests.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Dotted paths removed from each record before it is hashed and
    /// stored: values that change while the record does not, such as Jira's
    /// relative "friendly" dates. `*` stands for every element of an array:
    /// `status.values.*.statusDate.friendly`.
    #[serde(default)]
    pub ignore_fields: Vec<String>,
    pub pagination: Pagination,
    /// Incremental reads; absent means a full read every run.
    #[serde(default)]
    pub cursor: Option<CursorConfig>,
    /// Requests made for each new or changed record (a ticket's comments,
    /// its history), whose results join the record under `into`.
    #[serde(default)]
    pub details: Vec<DetailsConfig>,
    /// How records deleted at the source are seen (`deletions.rs`).
    #[serde(default)]
    pub deletions: Option<super::deletions::DeletionsConfig>,
}

/// `[[streams.details]]`: one sub-request per new or changed record, made
/// after the list says the record changed and before it is mapped. Its
/// records (all pages of them) become an array at `into` in the record,
/// which a mapping's `[children]` reads like any array.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetailsConfig {
    /// The key the array is put under in the record, such as `comments`.
    pub into: String,
    /// Path under `base_url`; `{field}` is the record's value at that
    /// dotted path (`{issueId}`, `{sys_id}`), percent-escaped.
    pub path: String,
    /// Dotted path of the array in the response body; "" for the body.
    #[serde(default)]
    pub records: String,
    /// Dotted path of each detail's id: a page that repeats the previous
    /// page's last detail (offset paging re-reads it) is read once.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub query: BTreeMap<String, QueryValue>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How the details page; absent: one request (or a `Link: rel="next"`
    /// header, when the server sends one).
    #[serde(default)]
    pub pagination: Option<Pagination>,
    /// Most pages read for one record, a guard against a server that
    /// always says there is more.
    #[serde(default = "default_detail_pages")]
    pub max_pages: u32,
}

fn default_detail_pages() -> u32 {
    20
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// `?limit=100&offset=200`. The run ends at a short page, unless the
    /// API says more plainly where the end is: `last_page_path` names a body
    /// field that is true on the last page (Jira's `isLastPage`), and
    /// `more_status` a status that means more pages follow (TOPdesk answers
    /// 206 Partial Content until the last page, which is 200).
    Offset {
        limit_param: String,
        offset_param: String,
        page_size: u32,
        #[serde(default)]
        last_page_path: Option<String>,
        #[serde(default)]
        more_status: Option<u16>,
    },
    /// `?page=3&per_page=100`; the run ends at a short page.
    PageNumber {
        page_param: String,
        size_param: String,
        page_size: u32,
        #[serde(default = "one")]
        first_page: u64,
    },
    /// Follow the next page's URL: from `next_path` in the body, or from the
    /// `Link: <…>; rel="next"` header when `next_path` is absent.
    NextLink {
        #[serde(default)]
        next_path: Option<String>,
    },
    /// `Range: items=0-99` request headers, answered `206` with
    /// `Content-Range: items 0-99/250` (or `*` for an unknown total) until
    /// the last page. The run ends at the total, a short page or a 200.
    Range {
        #[serde(default = "items")]
        unit: String,
        page_size: u32,
    },
    /// An opaque token from the body, sent back as a parameter.
    CursorToken {
        token_path: String,
        token_param: String,
        #[serde(default)]
        size_param: Option<String>,
        #[serde(default)]
        page_size: Option<u32>,
    },
}

fn items() -> String {
    "items".into()
}

fn get() -> String {
    "GET".into()
}

fn one() -> u64 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorConfig {
    /// Dotted path of the field that orders changes, e.g. `sys_updated_on`.
    #[serde(default)]
    pub field: String,
    /// Several change fields (`["created_at", "updated_at"]`): a record's
    /// cursor is the greatest of those present. Instead of `field`.
    #[serde(default)]
    pub fields: Vec<String>,
    /// How a field's value is read: `auto` (the default), `text`, `epoch`,
    /// `epoch_ms` or `parts` (an object of date parts).
    #[serde(default)]
    pub read: Option<String>,
    /// How the bound is written into the request when not as stored:
    /// `rfc3339` (UTC, `Z`), `epoch`, `epoch_ms` or a chrono format.
    #[serde(default)]
    pub write_format: Option<String>,
    /// Request parameter that carries the lower bound; omitted when the
    /// stream's `body` carries `{cursor}`.
    #[serde(default)]
    pub param: Option<String>,
    /// The parameter's value; `{cursor}` is replaced by the lower bound.
    #[serde(default = "plain_template")]
    pub template: String,
    /// `rfc3339`, `integer`, `string`, or a chrono format like `%Y-%m-%d %H:%M:%S` (UTC).
    pub format: String,
    /// The first run's lower bound; defaults to the epoch in `format`.
    #[serde(default)]
    pub initial: Option<String>,
    /// Each run re-reads this many seconds before the committed cursor, to
    /// catch records committed late on the source side.
    #[serde(default = "default_overlap")]
    pub overlap_secs: u64,
    /// The source returns records in cursor order (e.g. `ORDERBY` in the query),
    /// so the cursor may be committed after every page.
    #[serde(default = "yes")]
    pub ordered: bool,
}

fn plain_template() -> String {
    "{cursor}".into()
}

fn default_overlap() -> u64 {
    60
}

fn yes() -> bool {
    true
}
