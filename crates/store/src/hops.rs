//! A journey read back: where the work routed from a record went (its
//! hops, or every task of a case), and the notes Switchboard left on it.
//! What writes them is `journey.rs`.

use super::journey::HUB;
use super::{Store, StoreError};

/// Where work routed from one record went.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Hop {
    pub from_id: String,
    pub to_system: String,
    pub to_id: String,
    pub relation: String,
}

impl Store {
    /// The links from records of `system` whose id starts with `prefix`,
    /// oldest first: a ticket's hops, or every task of a case.
    pub async fn hops(&self, system: &str, prefix: &str) -> Result<Vec<Hop>, StoreError> {
        let like = format!(
            "{}%",
            prefix
                .replace('!', "!!")
                .replace('%', "!%")
                .replace('_', "!_")
        );
        Ok(super::on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT from_id, to_system, to_id, relation FROM links \
                 WHERE from_system = $1 AND from_id LIKE $2 ESCAPE '!' ORDER BY id",
            )
            .bind(system)
            .bind(&like)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The notes Switchboard left on an item (routing, progress), oldest first.
    pub async fn hub_notes(
        &self,
        system: &str,
        stream: &str,
        external_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        Ok(super::on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT a.body FROM activities a JOIN work_items w ON w.id = a.work_item_id \
                 WHERE w.source_system = $1 AND w.source_stream = $2 AND w.external_id = $3 \
                 AND a.source_system = $4 ORDER BY a.occurred_at, a.id",
            )
            .bind(system)
            .bind(stream)
            .bind(external_id)
            .bind(HUB)
            .fetch_all(pool)
            .await?
        }))
    }
}
