//! `[api]`: who may call the HTTP API (docs/API.md). Bearer tokens from
//! this file, and optionally an employee's own token from the
//! organisation's identity provider (`[api.jwt]`).

use std::path::PathBuf;

use serde::Deserialize;

use super::SecretRef;

/// The HTTP API's clients. No token: every call is answered 401.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiSettings {
    pub tokens: Vec<ApiToken>,
    /// Calls each token may make a minute (a burst of as many, refilled
    /// evenly); 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// Origins of portals on other sites whose browsers may call the API
    /// (CORS), such as `https://portal.example.com`. Empty: none.
    pub cors_origins: Vec<String>,
    /// Employees' own tokens from the identity provider. Absent: a JWT is
    /// refused like any token this file does not list.
    pub jwt: Option<JwtSettings>,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            rate_limit_per_minute: 6000,
            cors_origins: Vec::new(),
            jwt: None,
        }
    }
}

/// One API client: a bearer token and what it may do (docs/API.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// Who the client is, as the audit log names it.
    pub name: String,
    /// The token, as a secret (`env:…`, `file:…`); only its hash is kept.
    #[serde(default)]
    pub token: Option<SecretRef>,
    /// Or the token's SHA-256 in hex, so the config holds no secret.
    #[serde(default)]
    pub sha256: Option<String>,
    /// `read`, `agent`, `admin`, `portal`, and confidentiality classes.
    pub scopes: Vec<String>,
}

/// How an employee's JWT from the identity provider is verified. Such a
/// caller is that employee and nobody else: it sees and raises only their
/// own requests.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    /// The `iss` a token must carry, e.g. `https://login.example.com/`.
    pub issuer: String,
    /// The `aud` a token must carry: the identifier the identity provider
    /// gave Switchboard (or the portal), so a token minted for another
    /// application is refused.
    pub audience: String,
    /// PEM files of the provider's public keys; a token signed by any of
    /// them is accepted, so keys can be rotated by listing both for a while.
    /// Relative paths are taken from the config file's folder.
    #[serde(default)]
    pub public_keys: Vec<PathBuf>,
    /// The provider's JWKS document (`jwks_uri` of its OpenID
    /// configuration, e.g. `https://login.example.com/.well-known/jwks.json`):
    /// its keys are fetched when first needed, again every
    /// `jwks_refresh_secs`, and at once (at most once a minute) when a token
    /// names a key id (`kid`) it does not hold, so the provider's key
    /// rotation needs no restart. With `public_keys`, both are accepted.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How long fetched keys are used before they are fetched again.
    #[serde(default = "default_jwks_refresh")]
    pub jwks_refresh_secs: u64,
    /// The signature algorithms accepted. Public-key ones only: a shared
    /// secret (`HS256`) would let anyone holding it mint tokens.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<JwtAlgorithm>,
    /// The claim that holds the employee's e-mail address.
    #[serde(default = "default_email_claim")]
    pub email_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
}

fn default_algorithms() -> Vec<JwtAlgorithm> {
    vec![JwtAlgorithm::RS256]
}

fn default_email_claim() -> String {
    "email".into()
}

fn default_leeway() -> u64 {
    60
}

fn default_jwks_refresh() -> u64 {
    3600
}

/// A signature algorithm an employee's JWT may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    RS256,
    RS384,
    RS512,
    PS256,
    ES256,
    ES384,
    EdDSA,
}

/// The kind of public key an algorithm verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    Rsa,
    Ec,
    Ed,
}

impl KeyFamily {
    pub fn name(self) -> &'static str {
        match self {
            KeyFamily::Rsa => "RSA",
            KeyFamily::Ec => "EC",
            KeyFamily::Ed => "Ed25519",
        }
    }
}

impl JwtAlgorithm {
    pub fn family(self) -> KeyFamily {
        match self {
            Self::RS256 | Self::RS384 | Self::RS512 | Self::PS256 => KeyFamily::Rsa,
            Self::ES256 | Self::ES384 => KeyFamily::Ec,
            Self::EdDSA => KeyFamily::Ed,
        }
    }
}
