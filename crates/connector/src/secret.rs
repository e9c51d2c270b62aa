//! Secrets named in configs and manifests: a literal, `env:NAME` or `file:PATH`.
//!
//! A secret never reaches a log line or a `Debug` dump: both print `[redacted]`.
//! References are kept unresolved until build time, so `switchboard check`
//! can validate a file on a machine that does not hold the credentials.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    MissingEnv(String),
    #[error("cannot read secret file `{path}`: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where a secret comes from, as written in a file.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Literal(String),
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    pub fn parse(raw: &str) -> Self {
        if let Some(name) = raw.strip_prefix("env:") {
            SecretRef::Env(name.to_string())
        } else if let Some(path) = raw.strip_prefix("file:") {
            SecretRef::File(PathBuf::from(path))
        } else {
            SecretRef::Literal(raw.to_string())
        }
    }

    /// Read the secret's value (IO for `env:` and `file:`).
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        let value = match self {
            SecretRef::Literal(v) => v.clone(),
            SecretRef::Env(name) => {
                std::env::var(name).map_err(|_| SecretError::MissingEnv(name.clone()))?
            }
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?
                // Files written by `echo` or Kubernetes end in a newline that is not part of the secret.
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        };
        Ok(Secret(value))
    }
}

impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Literal(_) => f.write_str("[redacted]"),
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Ok(SecretRef::parse(&raw))
    }
}

/// A resolved secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The only way to read the value; grep for it to audit where secrets go.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_values() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        let r = SecretRef::parse("hunter2");
        assert_eq!(format!("{r:?}"), "[redacted]");
    }

    #[test]
    fn resolves_env_and_file() {
        // SAFETY: test-only variable name, not read by other tests.
        unsafe { std::env::set_var("SWITCHBOARD_TEST_SECRET_X", "from-env") };
        let r = SecretRef::parse("env:SWITCHBOARD_TEST_SECRET_X");
        assert_eq!(r.resolve().unwrap().expose(), "from-env");
        assert!(matches!(
            SecretRef::parse("env:SWITCHBOARD_TEST_SECRET_UNSET").resolve(),
            Err(SecretError::MissingEnv(_))
        ));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "from-file\n").unwrap();
        let r = SecretRef::parse(&format!("file:{}", path.display()));
        assert_eq!(r.resolve().unwrap().expose(), "from-file");
    }
}
