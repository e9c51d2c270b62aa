//! The API's audit log: every action taken through the API on someone
//! else's behalf or on the running hub, one row each, written before the
//! action is answered.

use serde::Serialize;
use serde_json::Value;

use super::{Store, StoreError};

/// One action to record.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// The token's name.
    pub actor: &'a str,
    /// `sync`, `raise_request`, …
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub detail: Value,
    /// The client's address, as the connection or a proxy's
    /// `X-Forwarded-For` gives it.
    pub remote: Option<&'a str>,
}

/// One recorded action.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    #[sqlx(rename = "detail")]
    #[serde(skip)]
    pub detail_text: String,
    pub remote: Option<String>,
}

impl Store {
    pub async fn audit(&self, e: &AuditEntry<'_>) -> Result<(), StoreError> {
        let sql = "INSERT INTO api_audit (actor, action, target, detail, remote) \
                   VALUES ($1, $2, $3, $4, $5)";
        match self {
            Store::Postgres(pool) => {
                sqlx::query(sql)
                    .bind(e.actor)
                    .bind(e.action)
                    .bind(e.target)
                    .bind(sqlx::types::Json(&e.detail))
                    .bind(e.remote)
                    .execute(pool)
                    .await?;
            }
            Store::Sqlite(pool) => {
                sqlx::query(sql)
                    .bind(e.actor)
                    .bind(e.action)
                    .bind(e.target)
                    .bind(e.detail.to_string())
                    .bind(e.remote)
                    .execute(pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// The latest `limit` actions, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditRow>, StoreError> {
        let sql = |pg: bool| {
            let at = if pg {
                "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
            } else {
                "strftime('%Y-%m-%dT%H:%M:%SZ', at)"
            };
            let detail = if pg { "detail::text" } else { "detail" };
            format!(
                "SELECT {at} AS at, actor, action, target, {detail} AS detail, remote \
                 FROM api_audit ORDER BY id DESC LIMIT $1"
            )
        };
        Ok(match self {
            Store::Postgres(pool) => {
                sqlx::query_as(&sql(true))
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_as(&sql(false))
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
            }
        })
    }
}
