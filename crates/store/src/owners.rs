//! Field ownership as the mappings declare it, kept in the store so that
//! SQL (the `person_profiles` view) and later writers honour it.
//!
//! Every process writes the whole set when it starts, so several processes
//! starting together on one store write it at the same moment: the writes
//! take turns (a table lock on PostgreSQL; SQLite has one writer at a
//! time), and the last one stands.

use sqlx::QueryBuilder;

use super::{Store, StoreError, on_pool};
use crate::mapping::Owner;

impl Store {
    /// Replace the declared owners with `owners`, in one transaction.
    pub async fn declare_owners(&self, owners: &[Owner]) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if matches!(self, Store::Postgres(_)) {
                // Without it, two replacements each delete the rows they
                // see and then both insert: one fails on the primary key.
                // The mode lets readers (the `person_profiles` view) be.
                sqlx::query("LOCK TABLE field_owners IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM field_owners")
                .execute(&mut *tx)
                .await?;
            if !owners.is_empty() {
                let mut qb = QueryBuilder::new("INSERT INTO field_owners (entity, field, system) ");
                qb.push_values(owners, |mut row, o| {
                    row.push_bind(o.entity.as_str())
                        .push_bind(&o.field)
                        .push_bind(&o.system);
                });
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// `(entity, field, system)` for every owned field.
    pub async fn field_owners(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as("SELECT entity, field, system FROM field_owners ORDER BY entity, field")
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}
