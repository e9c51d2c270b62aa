//! The `webhook` kind: systems that push. `POST /hooks/{system}` on the
//! daemon's HTTP server takes a delivery when its HMAC signature checks out
//! (401 otherwise), maps the records it carries, and writes them, with the
//! delivery's id, in one transaction before answering 202. Senders retry, so
//! a delivery id already taken is answered 200 and applied no second time.
//!
//! This module holds the settings and the checks; `daemon::http` serves it.
//! A webhook connector has nothing to pull: its scheduled runs are empty.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;
use toml::Spanned;
use toml::de::DeTable;

use super::{
    Connector, ConnectorConfig, ConnectorError, ManifestHeader, Page, PageToken, SourceRecord,
    StreamSpec, lookup, split_path,
};
use crate::diag::{Diagnostic, SourceFile};
use crate::{ConnectorOverride, Secret, SecretRef};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The shared secret the sender signs with.
    pub secret: SecretRef,
    /// The header carrying the signature, e.g. `X-Hub-Signature-256`.
    pub signature_header: String,
    /// Text before the hex digest in that header, e.g. `sha256=`.
    #[serde(default)]
    pub signature_prefix: String,
    /// The header naming the delivery, e.g. `X-GitHub-Delivery`; or
    /// `delivery_id_path` in the body. Without either, the body's hash.
    #[serde(default)]
    pub delivery_id_header: Option<String>,
    #[serde(default)]
    pub delivery_id_path: Option<String>,
    /// The one stream deliveries feed.
    pub stream: WebhookStream,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookStream {
    pub name: String,
    /// Dotted path of the record (an object) or records (an array) in the
    /// body; `""` for the body itself.
    #[serde(default)]
    pub records: String,
    /// Dotted path of each record's id.
    pub key: String,
}

/// Parse and validate a `webhook` manifest's own keys.
pub fn parse(
    source: &SourceFile,
    table: Spanned<DeTable<'_>>,
) -> Result<Box<dyn ConnectorConfig>, Diagnostic> {
    let cfg: WebhookConfig = source.deserialize_table(table, super::manifest::HEADER_KEYS)?;
    if cfg.signature_header.trim().is_empty() {
        return Err(source.error_at_key("signature_header", "name the header the sender signs in"));
    }
    if cfg.delivery_id_header.is_some() && cfg.delivery_id_path.is_some() {
        return Err(source.error_at_key(
            "delivery_id_path",
            "give `delivery_id_header` or `delivery_id_path`, not both",
        ));
    }
    Ok(Box::new(cfg))
}

impl ConnectorConfig for WebhookConfig {
    fn streams(&self) -> Vec<StreamSpec> {
        vec![StreamSpec {
            name: self.stream.name.clone(),
            cursor: None,
            max_pages: None,
        }]
    }

    fn apply_override(&mut self, over: &ConnectorOverride) -> Result<(), String> {
        if !over.vars.is_empty() {
            return Err("`vars` sets a jsonrpc manifest's [vars]; this connector has none".into());
        }
        if over.rate_limit_per_sec.is_some() {
            return Err("a `webhook` connector sends no requests to limit".into());
        }
        if let Some(token) = &over.token {
            self.secret = token.clone();
        }
        Ok(())
    }

    fn build(&self, header: &ManifestHeader) -> Result<Arc<dyn Connector>, ConnectorError> {
        let secret = self
            .secret
            .resolve()
            .map_err(|source| ConnectorError::Secret {
                system: header.system.clone(),
                source,
            })?;
        Ok(Arc::new(WebhookConnector {
            system: header.system.clone(),
            cfg: self.clone(),
            secret,
        }))
    }
}

#[derive(Debug)]
pub struct WebhookConnector {
    system: String,
    cfg: WebhookConfig,
    secret: Secret,
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("no `{0}` header")]
    NoSignature(String),
    #[error("the signature does not match the body")]
    BadSignature,
    #[error("the body is not JSON: {0}")]
    NotJson(String),
}

impl WebhookConnector {
    pub fn stream(&self) -> &str {
        &self.cfg.stream.name
    }

    /// Check the body's HMAC-SHA256 signature in constant time.
    pub fn verify(&self, signature: Option<&str>, body: &[u8]) -> Result<(), Refused> {
        let header = &self.cfg.signature_header;
        let sig = signature.ok_or_else(|| Refused::NoSignature(header.clone()))?;
        let hex_digest = sig
            .trim()
            .strip_prefix(&self.cfg.signature_prefix)
            .unwrap_or("");
        let expected = hex::decode(hex_digest).map_err(|_| Refused::BadSignature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .map_err(|_| Refused::BadSignature)?;
        mac.update(body);
        mac.verify_slice(&expected)
            .map_err(|_| Refused::BadSignature)
    }

    pub fn signature_header(&self) -> &str {
        &self.cfg.signature_header
    }

    pub fn delivery_id_header(&self) -> Option<&str> {
        self.cfg.delivery_id_header.as_deref()
    }

    /// The delivery's id: from its header or body path, else its hash.
    pub fn delivery_id(&self, header: Option<&str>, body: &Value, raw: &[u8]) -> String {
        let from_body = self
            .cfg
            .delivery_id_path
            .as_ref()
            .and_then(|p| lookup(body, &split_path(p)))
            .and_then(scalar);
        header
            .map(str::to_string)
            .filter(|h| !h.trim().is_empty())
            .or(from_body)
            .unwrap_or_else(|| {
                format!(
                    "sha256:{}",
                    hex::encode(<Sha256 as sha2::Digest>::digest(raw))
                )
            })
    }

    /// Where in a delivery its records are (`[stream] records`; empty:
    /// the body is the record).
    pub fn records_path(&self) -> &str {
        &self.cfg.stream.records
    }

    /// The records a delivery carries.
    pub fn records(&self, body: &Value) -> Vec<SourceRecord> {
        let path = split_path(&self.cfg.stream.records);
        let key = split_path(&self.cfg.stream.key);
        let found = if self.cfg.stream.records.is_empty() {
            Some(body)
        } else {
            lookup(body, &path)
        };
        let items: Vec<Value> = match found {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(one) => vec![one.clone()],
        };
        items
            .into_iter()
            .map(|payload| SourceRecord {
                key: lookup(&payload, &key).and_then(scalar),
                cursor: None,
                payload,
            })
            .collect()
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait::async_trait]
impl Connector for WebhookConnector {
    fn system(&self) -> &str {
        &self.system
    }

    fn streams(&self) -> Vec<StreamSpec> {
        self.cfg.streams()
    }

    /// Deliveries arrive by push; a scheduled run has nothing to read.
    async fn fetch_page(
        &self,
        _stream: &str,
        _from: Option<&str>,
        _token: Option<&PageToken>,
    ) -> Result<Page, ConnectorError> {
        Ok(Page {
            records: Vec::new(),
            next: None,
            shifted: false,
        })
    }

    fn probe_reads_pages(&self) -> bool {
        false
    }

    async fn probe(&self) -> Result<String, ConnectorError> {
        Ok(format!("takes deliveries at POST /hooks/{}", self.system))
    }

    fn as_webhook(&self) -> Option<&WebhookConnector> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
