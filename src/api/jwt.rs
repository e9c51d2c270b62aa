//! An employee's own token from the organisation's identity provider: a
//! JWT verified against the provider's public keys (`[api.jwt]`), whose
//! e-mail claim names the person.
//!
//! The keys are read once, at start and by `check`; verifying a token
//! does no IO. A refusal says which check failed in general terms
//! (expired, wrong issuer, …) and never echoes the token or its claims,
//! which are the employee's credential.

use std::path::{Path, PathBuf};

use jsonwebtoken::errors::ErrorKind;
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
    key: DecodingKey,
    /// The configured algorithms of this key's family: the library refuses
    /// a token whose header names any other.
    validation: Validation,
}

/// The identity provider's keys, and what a token must claim.
pub struct Verifier {
    keys: Vec<Key>,
    email_claim: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("email_claim", &self.email_claim)
            .finish()
    }
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

impl Verifier {
    /// The verifier `[api.jwt]` describes, `None` without that section;
    /// every key file that cannot be used is reported, located at its
    /// entry in the config file.
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
        Ok(Some(Self {
            keys,
            email_claim: jwt.email_claim.clone(),
        }))
    }

    /// How many keys a token may be signed with.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn key(jwt: &JwtSettings, path: &Path) -> Result<Key, KeyError> {
        let mut families: Vec<KeyFamily> = jwt.algorithms.iter().map(|a| a.family()).collect();
        families.dedup();
        let (key, family) = read_key(path, &families)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = jwt
            .algorithms
            .iter()
            .filter(|a| a.family() == family)
            .map(|a| algorithm(*a))
            .collect();
        validation.set_issuer(&[&jwt.issuer]);
        validation.set_audience(&[&jwt.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = jwt.leeway_seconds;
        Ok(Key { key, validation })
    }

    /// The employee's e-mail address, if the token is the provider's, for
    /// Switchboard, current, and names someone.
    pub fn verify(&self, token: &str) -> Result<String, Refusal> {
        let mut refusal = Refusal::BadSignature;
        let mut claims = None;
        for k in &self.keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &k.key, &k.validation) {
                Ok(data) => {
                    claims = Some(data.claims);
                    break;
                }
                Err(e) => match e.kind() {
                    // The signature verified (the library checks it
                    // first): what the claims say is the answer.
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
        let claims = claims.ok_or(refusal)?;
        if claims.get("email_verified") == Some(&Value::Bool(false)) {
            return Err(Refusal::UnverifiedEmail);
        }
        claims
            .get(&self.email_claim)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| e.contains('@') && !e.starts_with('@') && !e.ends_with('@'))
            .map(str::to_string)
            .ok_or_else(|| Refusal::NoEmail(self.email_claim.clone()))
    }
}
