//! The notes a writer left on records of other systems (`sent_notes`), so
//! that the comment each becomes there is recognised when that system is
//! read again (`routing::echo`). Written before the call, so a read racing
//! the writer already knows the note; forgotten with the delivery when the
//! call surely did not reach the target.

use std::collections::HashMap;

use super::{Store, StoreError};

impl Store {
    /// Note what the delivery `event_id` is about to write on `system`'s
    /// record `external_id`.
    pub async fn record_sent(
        &self,
        system: &str,
        external_id: &str,
        event_id: &str,
        notes: &[String],
    ) -> Result<(), StoreError> {
        if notes.is_empty() {
            return Ok(());
        }
        super::on_pool!(self, |pool| {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO sent_notes (system, external_id, event_id, body) ",
            );
            qb.push_values(notes, |mut b, n| {
                b.push_bind(system)
                    .push_bind(external_id)
                    .push_bind(event_id)
                    .push_bind(n);
            });
            qb.build().execute(pool).await?;
        });
        Ok(())
    }

    /// Forget the notes of a delivery the target never applied.
    pub(super) async fn forget_sent(&self, event_id: &str) -> Result<(), StoreError> {
        super::on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sent_notes WHERE event_id = $1")
                .bind(event_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The notes left on each of `keys` (records of `system`), in one
    /// query per few thousand keys.
    pub async fn sent_notes(
        &self,
        system: &str,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<String>>, StoreError> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in keys.chunks(4000) {
            let rows: Vec<(String, String)> = super::on_pool!(self, |pool| {
                let mut qb = sqlx::QueryBuilder::new(
                    "SELECT external_id, body FROM sent_notes WHERE system = ",
                );
                qb.push_bind(system).push(" AND external_id IN (");
                let mut list = qb.separated(", ");
                for k in chunk {
                    list.push_bind(k);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            for (id, body) in rows {
                out.entry(id).or_default().push(body);
            }
        }
        Ok(out)
    }
}
