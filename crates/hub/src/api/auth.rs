//! Who is calling: a bearer token from `[api] tokens`, and its scopes; or
//! an employee with their own token from the identity provider (`jwt.rs`).
//!
//! Only each token's SHA-256 is kept in memory; a presented token is
//! hashed and compared in constant time. Scopes nest: `admin` may do what
//! `agent` may, and `agent` what `read` may. A confidentiality class (`hr`,
//! `finance`, …) as a scope shows the fields and cases of that class;
//! without it they are withheld.
//!
//! An employee's JWT carries no scope: the caller *is* that employee, and
//! may list, read and raise their own requests and see the catalogue.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use super::{ApiState, EMPLOYEE_HEADER, Problem};
use crate::config::{ApiSettings, ApiToken, SecretError};

/// The scopes with a meaning of their own; any other is a class.
pub const SCOPES: &[&str] = &["read", "agent", "admin", "portal"];

struct Entry {
    name: String,
    hash: [u8; 32],
    scopes: BTreeSet<String>,
}

type Limiter = governor::DefaultKeyedRateLimiter<String>;

/// Who may call the API: the configured tokens by hash, how often each may
/// call, and which browser origins may call at all (CORS).
#[derive(Default)]
pub struct Tokens {
    entries: Vec<Entry>,
    /// Per token name; `None`: no limit.
    limiter: Option<Limiter>,
    pub(super) cors_origins: Vec<String>,
    /// Employees' own tokens, when `[api.jwt]` is configured.
    jwt: Option<super::jwt::Verifier>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        f.debug_struct("Tokens")
            .field("names", &names)
            .field("jwt", &self.jwt)
            .finish()
    }
}

/// A CORS origin that cannot work: an origin is a scheme and a host (and
/// a port), nothing more.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let url = url::Url::parse(origin).map_err(|e| format!("`{origin}` is not an origin: {e}"))?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || !bare
        || origin.ends_with('/')
    {
        return Err(format!(
            "`{origin}` is not an origin: give the scheme and host (and port) only, such as `https://portal.example.com`"
        ));
    }
    Ok(())
}

/// A token's settings that cannot work: the key and why (for `check`).
pub fn check_token(t: &ApiToken) -> Result<(), (&'static str, String)> {
    if t.name.trim().is_empty() {
        return Err(("name", "a token needs a name, for the audit log".into()));
    }
    // Employees signed in with their own JWT are named `jwt:<email>`, in
    // the audit log and the rate limit: a token must not pass for one.
    if t.name.starts_with("jwt:") {
        return Err((
            "name",
            format!(
                "`{}`: names starting `jwt:` are for employees' own tokens",
                t.name
            ),
        ));
    }
    match (&t.token, &t.sha256) {
        (Some(_), Some(_)) => {
            return Err((
                "sha256",
                "give `token` (a secret) or `sha256` (its hash), not both".into(),
            ));
        }
        (None, None) => {
            return Err((
                "name",
                format!(
                    "token `{}` has neither `token` (a secret, e.g. `env:API_TOKEN`) nor `sha256`",
                    t.name
                ),
            ));
        }
        (None, Some(h)) if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            return Err((
                "sha256",
                "the token's SHA-256 is 64 hex digits (`printf %s TOKEN | sha256sum`)".into(),
            ));
        }
        _ => {}
    }
    if t.scopes.is_empty() {
        return Err((
            "scopes",
            format!("no scopes: give some of {}", SCOPES.join(", ")),
        ));
    }
    for s in &t.scopes {
        let class = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !SCOPES.contains(&s.as_str()) && !class {
            return Err((
                "scopes",
                format!(
                    "`{s}` is not a scope: {} or a confidentiality class such as `hr`",
                    SCOPES.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

impl Tokens {
    /// Resolve each token's secret and keep its hash.
    pub fn from_settings(api: &ApiSettings) -> Result<Self, SecretError> {
        let mut entries = Vec::new();
        for t in &api.tokens {
            let hash = match (&t.token, &t.sha256) {
                (Some(secret), _) => sha256(secret.resolve()?.expose()),
                (None, Some(hex_hash)) => {
                    let mut hash = [0u8; 32];
                    // `check` refused anything but 64 hex digits.
                    hex::decode_to_slice(hex_hash, &mut hash).unwrap_or_default();
                    hash
                }
                (None, None) => continue,
            };
            entries.push(Entry {
                name: t.name.clone(),
                hash,
                scopes: t.scopes.iter().cloned().collect(),
            });
        }
        let limiter = std::num::NonZeroU32::new(api.rate_limit_per_minute)
            .map(|n| governor::RateLimiter::keyed(governor::Quota::per_minute(n)));
        Ok(Self {
            entries,
            limiter,
            cors_origins: api.cors_origins.clone(),
            jwt: None,
        })
    }

    /// Also accept employees' own tokens, verified by `verifier`.
    pub fn with_jwt(mut self, verifier: Option<super::jwt::Verifier>) -> Self {
        self.jwt = verifier;
        self
    }

    /// Whether the token may call now; else how long until it may.
    fn admit(&self, name: &str) -> Result<(), std::time::Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&name.to_string()).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ))
        })
    }

    /// The caller a presented token stands for, with the rate limit
    /// applied: the bearer check, for callers that are not a bearer header
    /// (the web pages' sign-in).
    pub fn authenticate(&self, presented: &str) -> Result<Caller, Problem> {
        let entry = self.find(presented).ok_or_else(Problem::unauthorized)?;
        self.admit(&entry.name).map_err(Problem::too_many)?;
        Ok(Caller {
            name: entry.name.clone(),
            scopes: Arc::new(entry.scopes.clone()),
            signed_in: None,
        })
    }

    /// The employee a JWT names; a bearer that is neither a configured
    /// token nor a JWT the provider signed is refused.
    async fn employee(&self, presented: &str) -> Result<Caller, Problem> {
        let Some(verifier) = &self.jwt else {
            return Err(Problem::unauthorized());
        };
        if !super::jwt::looks_like_jwt(presented) {
            return Err(Problem::unauthorized());
        }
        match verifier.verify(presented).await {
            Ok(email) => Ok(Caller {
                name: format!("jwt:{}", email.to_lowercase()),
                scopes: Arc::default(),
                signed_in: Some(email),
            }),
            Err(refusal) => {
                tracing::info!(reason = %refusal, "employee token refused");
                Err(Problem::unauthorized_because(&refusal.to_string()))
            }
        }
    }

    fn find(&self, presented: &str) -> Option<&Entry> {
        let hash = sha256(presented);
        // Every entry is compared, each in constant time.
        let mut found = None;
        for e in &self.entries {
            let diff = e.hash.iter().zip(hash).fold(0u8, |d, (a, b)| d | (a ^ b));
            if diff == 0 {
                found = Some(e);
            }
        }
        found
    }
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The client of a request, authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    /// As the audit log names it: the token's name, or `jwt:<email>`.
    pub name: String,
    scopes: Arc<BTreeSet<String>>,
    /// The employee the credential itself names (a JWT's e-mail claim):
    /// such a caller acts for that person only, whatever a header says.
    signed_in: Option<String>,
}

impl Caller {
    /// The employee this call is for: the one a JWT names, or the one a
    /// `portal` token's `Switchboard-Employee` header names (the portal
    /// signed them in). 403 for a header naming someone else than the
    /// JWT's employee, and for a token that acts for nobody.
    pub fn employee(&self, headers: &HeaderMap) -> Result<String, Problem> {
        let named = headers
            .get(EMPLOYEE_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|e| !e.is_empty());
        if let Some(me) = &self.signed_in {
            return match named {
                Some(other) if !other.eq_ignore_ascii_case(me) => Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "an employee's own token acts only for that employee",
                )),
                _ => Ok(me.clone()),
            };
        }
        self.require("portal")?;
        named
            .filter(|e| e.contains('@'))
            .map(str::to_string)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "a portal token acts for the employee whose e-mail address the `{EMPLOYEE_HEADER}` header gives"
                ))
            })
    }

    /// Whether this call is for an employee: signed in with their own
    /// token, or a `portal` token whose header names one (a token that is
    /// also `agent` without the header acts as an agent).
    pub fn acts_for_employee(&self, headers: &HeaderMap) -> bool {
        let names_employee = headers
            .get(EMPLOYEE_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|e| e.contains('@'));
        self.is_employee() || (self.has("portal") && names_employee)
    }

    /// Whether the caller is an employee signed in with their own token.
    pub fn is_employee(&self) -> bool {
        self.signed_in.is_some()
    }

    /// Whether the token carries `scope`, or one that includes it.
    pub fn has(&self, scope: &str) -> bool {
        let implied: &[&str] = match scope {
            "read" => &["read", "agent", "admin"],
            "agent" => &["agent", "admin"],
            other => return self.scopes.contains(other),
        };
        implied.iter().any(|s| self.scopes.contains(*s))
    }

    /// 403 unless the token carries `scope`.
    pub fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Problem::forbidden(scope))
        }
    }

    /// An employee a reverse proxy signed in (`[web] trusted_user_header`):
    /// like one with their own JWT, the portal for them and nothing more.
    pub fn portal_user(email: &str) -> Self {
        Caller {
            name: format!("proxy:{}", email.to_lowercase()),
            scopes: Arc::new(BTreeSet::from(["portal".to_string()])),
            signed_in: Some(email.to_string()),
        }
    }

    /// The confidentiality classes this caller may see.
    pub fn classes(&self) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| !SCOPES.contains(&s.as_str()))
            .cloned()
            .collect()
    }
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Problem> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(Problem::unauthorized)?;
        let caller = match state.tokens.find(presented) {
            Some(entry) => Caller {
                name: entry.name.clone(),
                scopes: Arc::new(entry.scopes.clone()),
                signed_in: None,
            },
            None => state.tokens.employee(presented).await?,
        };
        // An employee's limit is theirs across every token the provider
        // gives them, so `jwt:<email>` is the key.
        if let Err(wait) = state.tokens.admit(&caller.name) {
            return Err(Problem::too_many(wait));
        }
        Ok(caller)
    }
}
