//! An employee's own token from the organisation's identity provider: a
//! JWT verified against the provider's public keys (`[api.jwt]`), whose
//! e-mail claim names the person.
//!
//! The keys are read once, at start and by `check`; verifying a token
//! does no IO. A refusal says which check failed in general terms
//! (expired, wrong issuer, …) and never echoes the token or its claims,
//! which are the employee's credential.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::config::{JwtAlgorithm, JwtSettings, KeyFamily, LoadedConfig};
use crate::diag::{Diagnostic, Diagnostics, SourceFile};

/// Why a JWT was refused, as the 401 says it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a JWT this API can read")]
    Malformed,
    #[error("the token's signature does not verify with the identity provider's keys")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by another issuer")]
    WrongIssuer,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(String),
    #[error("the token has no e-mail address in its `{0}` claim")]
    NoEmail(String),
    #[error("the token says its e-mail address is not verified")]
    UnverifiedEmail,
}

/// A key file `[api.jwt] public_keys` names that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("`{}`: no such file", .0.display())]
    Missing(PathBuf),
    #[error("`{}` cannot be read: {source}", .file.display())]
    Unreadable {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` holds a private key: give the public key (`openssl pkey -in KEY -pubout`)", .0.display())]
    Private(PathBuf),
    #[error("`{}` is not a public key the configured algorithms verify with ({why}; they need {wanted})", .file.display())]
    NotPublicKey {
        file: PathBuf,
        why: String,
        wanted: String,
    },
}

struct Key {
    /// The key id a JWKS gives it; a token naming another is not tried
    /// with it. PEM files carry none: every token is tried with them.
    kid: Option<String>,
    key: DecodingKey,
    /// The configured algorithms of this key's family: the library refuses
    /// a token whose header names any other.
    validation: Validation,
}

/// The identity provider's keys, and what a token must claim.
pub struct Verifier {
    /// From `public_keys`, read at start.
    keys: Vec<Key>,
    /// From `jwks_url`, fetched when needed.
    jwks: Option<Jwks>,
    settings: JwtSettings,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("jwks_url", &self.jwks.as_ref().map(|j| &j.url))
            .field("email_claim", &self.settings.email_claim)
            .finish()
    }
}

/// A token naming a key id the JWKS did not hold fetches it again at once,
/// but not more often than this: made-up key ids cannot make Switchboard
/// hammer the identity provider.
const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(60);

/// The provider's published keys and when they were last fetched.
struct Jwks {
    url: String,
    client: reqwest::Client,
    held: std::sync::RwLock<Arc<Vec<Key>>>,
    /// One fetch at a time; when the last one was tried, whether it
    /// worked, and when a token's unknown key id last caused one.
    fetch: tokio::sync::Mutex<Fetched>,
}

#[derive(Default)]
struct Fetched {
    at: Option<Instant>,
    ok: bool,
    for_unknown_kid: Option<Instant>,
}

/// Why the JWKS could not be fetched (logged; the keys held stay in use).
#[derive(Debug, thiserror::Error)]
enum JwksError {
    #[error("cannot fetch the identity provider's keys from {url}: {source}")]
    Fetch { url: String, source: reqwest::Error },
    #[error("{url} is not a JWKS document: {source}")]
    Parse {
        url: String,
        source: serde_json::Error,
    },
}

/// Whether a bearer is shaped like a JWT (three base64url parts), so it is
/// worth verifying rather than refused as an unknown token.
pub fn looks_like_jwt(bearer: &str) -> bool {
    let parts: Vec<&str> = bearer.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn algorithm(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::RS384 => Algorithm::RS384,
        JwtAlgorithm::RS512 => Algorithm::RS512,
        JwtAlgorithm::PS256 => Algorithm::PS256,
        JwtAlgorithm::ES256 => Algorithm::ES256,
        JwtAlgorithm::ES384 => Algorithm::ES384,
        JwtAlgorithm::EdDSA => Algorithm::EdDSA,
    }
}

/// Read one key file as a public key of one of `families`.
pub fn read_key(path: &Path, families: &[KeyFamily]) -> Result<(DecodingKey, KeyFamily), KeyError> {
    let pem = match std::fs::read(path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::Missing(path.to_path_buf()));
        }
        Err(source) => {
            return Err(KeyError::Unreadable {
                file: path.to_path_buf(),
                source,
            });
        }
    };
    let text = String::from_utf8_lossy(&pem);
    // The library would take an RSA private key as a verifying key: a
    // private key in the config's folder is a leak waiting to happen.
    if text.contains("PRIVATE KEY-----") {
        return Err(KeyError::Private(path.to_path_buf()));
    }
    let wanted = || {
        families
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if !text.contains("-----BEGIN PUBLIC KEY-----")
        && !text.contains("-----BEGIN RSA PUBLIC KEY-----")
    {
        return Err(KeyError::NotPublicKey {
            file: path.to_path_buf(),
            why: "no `BEGIN PUBLIC KEY` block".into(),
            wanted: wanted(),
        });
    }
    for family in families {
        if let Ok(key) = parse(&pem, *family) {
            return Ok((key, *family));
        }
    }
    // Say what it is, if it is a key at all: an EC key where RSA is
    // expected is a different fix from a damaged file.
    let found = [KeyFamily::Rsa, KeyFamily::Ec, KeyFamily::Ed]
        .into_iter()
        .find(|f| parse(&pem, *f).is_ok());
    Err(KeyError::NotPublicKey {
        file: path.to_path_buf(),
        why: match found {
            Some(f) => format!("an {} key", f.name()),
            None => "it does not parse".into(),
        },
        wanted: wanted(),
    })
}

fn parse(pem: &[u8], family: KeyFamily) -> jsonwebtoken::errors::Result<DecodingKey> {
    match family {
        KeyFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        KeyFamily::Ec => DecodingKey::from_ec_pem(pem),
        KeyFamily::Ed => DecodingKey::from_ed_pem(pem),
    }
}

/// How tokens signed with a key of `family` are checked; `None` when no
/// configured algorithm uses such a key.
fn validation(jwt: &JwtSettings, family: KeyFamily) -> Option<Validation> {
    let algorithms: Vec<Algorithm> = jwt
        .algorithms
        .iter()
        .filter(|a| a.family() == family)
        .map(|a| algorithm(*a))
        .collect();
    let first = *algorithms.first()?;
    let mut v = Validation::new(first);
    v.algorithms = algorithms;
    v.set_issuer(&[&jwt.issuer]);
    v.set_audience(&[&jwt.audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud"]);
    v.validate_nbf = true;
    v.leeway = jwt.leeway_seconds;
    Some(v)
}

/// The keys of a JWKS document that the configured algorithms can use:
/// signing keys only, never a shared secret (`kty: oct`).
fn jwks_keys(jwt: &JwtSettings, set: &JwkSet) -> Vec<Key> {
    set.keys
        .iter()
        .filter(|k| k.common.public_key_use != Some(PublicKeyUse::Encryption))
        .filter_map(|k| {
            let family = match &k.algorithm {
                AlgorithmParameters::RSA(_) => KeyFamily::Rsa,
                AlgorithmParameters::EllipticCurve(_) => KeyFamily::Ec,
                AlgorithmParameters::OctetKeyPair(_) => KeyFamily::Ed,
                // A shared secret (`oct`), or a kind this library adds later.
                _ => return None,
            };
            Some(Key {
                kid: k.common.key_id.clone(),
                key: DecodingKey::from_jwk(k).ok()?,
                validation: validation(jwt, family)?,
            })
        })
        .collect()
}

impl Jwks {
    fn held(&self) -> Arc<Vec<Key>> {
        self.held.read().map(|k| Arc::clone(&k)).unwrap_or_default()
    }

    /// The keys to use now: fetched again when they are older than
    /// `jwks_refresh_secs` (a minute after a failed fetch), or when
    /// `unknown_kid` says a token names a key they lack.
    async fn keys(&self, jwt: &JwtSettings, unknown_kid: bool) -> Arc<Vec<Key>> {
        let mut fetched = self.fetch.lock().await;
        let now = Instant::now();
        let age_limit = if fetched.ok {
            Duration::from_secs(jwt.jwks_refresh_secs)
        } else {
            UNKNOWN_KID_REFETCH
        };
        let stale = fetched.at.is_none_or(|at| now - at >= age_limit);
        let asked = unknown_kid
            && fetched
                .for_unknown_kid
                .is_none_or(|at| now - at >= UNKNOWN_KID_REFETCH);
        if !stale && !asked {
            return self.held();
        }
        if asked {
            fetched.for_unknown_kid = Some(now);
        }
        fetched.at = Some(now);
        match self.fetch(jwt).await {
            Ok(keys) => {
                fetched.ok = true;
                tracing::info!(url = %self.url, keys = keys.len(), "identity provider keys fetched");
                if let Ok(mut held) = self.held.write() {
                    *held = Arc::new(keys);
                }
            }
            Err(e) => {
                fetched.ok = false;
                tracing::warn!(error = %e, "identity provider keys not fetched; the keys held stay in use");
            }
        }
        self.held()
    }

    async fn fetch(&self, jwt: &JwtSettings) -> Result<Vec<Key>, JwksError> {
        let fail = |source| JwksError::Fetch {
            url: self.url.clone(),
            source,
        };
        let body = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fail)?
            .bytes()
            .await
            .map_err(fail)?;
        let set: JwkSet = serde_json::from_slice(&body).map_err(|source| JwksError::Parse {
            url: self.url.clone(),
            source,
        })?;
        Ok(jwks_keys(jwt, &set))
    }
}

/// Try `token` on each key that may have signed it.
fn check<'k>(
    token: &str,
    kid: Option<&str>,
    keys: impl Iterator<Item = &'k Key>,
) -> Result<Map<String, Value>, Refusal> {
    let mut refusal = Refusal::BadSignature;
    for k in keys.filter(|k| k.kid.is_none() || k.kid.as_deref() == kid) {
        match jsonwebtoken::decode::<Map<String, Value>>(token, &k.key, &k.validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) => match e.kind() {
                // The signature verified (the library checks it first):
                // what the claims say is the answer.
                ErrorKind::ExpiredSignature => return Err(Refusal::Expired),
                ErrorKind::ImmatureSignature => return Err(Refusal::NotYetValid),
                ErrorKind::InvalidIssuer => return Err(Refusal::WrongIssuer),
                ErrorKind::InvalidAudience => return Err(Refusal::WrongAudience),
                ErrorKind::MissingRequiredClaim(c) => {
                    return Err(Refusal::MissingClaim(c.clone()));
                }
                ErrorKind::InvalidClaimFormat(_) => return Err(Refusal::Malformed),
                // Not this key (or an algorithm it does not verify, such
                // as `none`): another key may be the one.
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {}
                _ => refusal = Refusal::Malformed,
            },
        }
    }
    Err(refusal)
}

impl Verifier {
    /// The verifier `[api.jwt]` describes, `None` without that section;
    /// every key file that cannot be used is reported, located at its
    /// entry in the config file. A `jwks_url` is not fetched here (`check`
    /// contacts nothing); it is fetched when a token first needs it.
    pub fn load(config: &LoadedConfig) -> Result<Option<Self>, Diagnostics> {
        let Some(jwt) = &config.settings.api.jwt else {
            return Ok(None);
        };
        let source = config
            .file
            .as_deref()
            .and_then(|f| SourceFile::read(f).ok())
            .unwrap_or_else(|| SourceFile::new("(environment)", String::new()));
        let mut errors: Vec<Diagnostic> = Vec::new();
        let mut keys = Vec::new();
        for (i, (_, path)) in config.jwt_key_files().iter().enumerate() {
            match Self::key(jwt, path) {
                Ok(k) => keys.push(k),
                Err(e) => errors
                    .push(source.error_at_key(&format!("api.jwt.public_keys.{i}"), e.to_string())),
            }
        }
        if !errors.is_empty() {
            return Err(Diagnostics(errors));
        }
        let jwks = jwt.jwks_url.as_ref().map(|url| Jwks {
            url: url.clone(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            held: Default::default(),
            fetch: Default::default(),
        });
        Ok(Some(Self {
            keys,
            jwks,
            settings: jwt.clone(),
        }))
    }

    /// How many key files a token may be signed with (a JWKS's keys are
    /// not counted: they are fetched when needed).
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn key(jwt: &JwtSettings, path: &Path) -> Result<Key, KeyError> {
        let mut families: Vec<KeyFamily> = jwt.algorithms.iter().map(|a| a.family()).collect();
        families.dedup();
        let (key, family) = read_key(path, &families)?;
        Ok(Key {
            kid: None,
            key,
            // `read_key` found a family some configured algorithm uses.
            validation: validation(jwt, family)
                .unwrap_or_else(|| Validation::new(Algorithm::RS256)),
        })
    }

    /// The employee's e-mail address, if the token is the provider's, for
    /// Switchboard, current, and names someone.
    pub async fn verify(&self, token: &str) -> Result<String, Refusal> {
        let kid = jsonwebtoken::decode_header(token)
            .map_err(|_| Refusal::Malformed)?
            .kid;
        let mut claims = match &self.jwks {
            None => check(token, kid.as_deref(), self.keys.iter()),
            Some(jwks) => {
                let held = jwks.keys(&self.settings, false).await;
                check(token, kid.as_deref(), self.keys.iter().chain(held.iter()))
            }
        };
        // The provider may have rotated its keys since they were fetched.
        if let (Err(Refusal::BadSignature), Some(jwks), Some(kid)) = (&claims, &self.jwks, &kid) {
            let held = jwks.held();
            if !held.iter().any(|k| k.kid.as_deref() == Some(kid.as_str())) {
                let fresh = jwks.keys(&self.settings, true).await;
                claims = check(token, Some(kid), self.keys.iter().chain(fresh.iter()));
            }
        }
        let claims = claims?;
        if claims.get("email_verified") == Some(&Value::Bool(false)) {
            return Err(Refusal::UnverifiedEmail);
        }
        let email_claim = &self.settings.email_claim;
        claims
            .get(email_claim)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| e.contains('@') && !e.starts_with('@') && !e.ends_with('@'))
            .map(str::to_string)
            .ok_or_else(|| Refusal::NoEmail(email_claim.clone()))
    }
}
