//! The deliveries that keep a writer from applying one message twice: a
//! row per message event, `applying` while the call to the target is under
//! way and `applied` once done, committed with the link and progress note
//! the delivery leaves (`journey.rs`). A row left `applying` is a call cut
//! off mid-way: in doubt until a person checks the target.

use chrono::Utc;

use super::journey::{NewLink, Progress};
use super::{Store, StoreError};

/// Whether a writer may apply a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Never seen: go ahead (the row now says `applying`).
    Fresh,
    /// Applied before: acknowledge without calling the target.
    Applied,
    /// A call was cut off mid-way: it may have been applied.
    InDoubt,
}

/// A delivery applied: recorded in one transaction with its link and note.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub event_id: String,
    pub target_id: Option<String>,
    pub link: Option<NewLink>,
    pub note: Option<Progress>,
    /// What a create wrote on the new record (`system`, id, notes), kept
    /// so the record's own copy is known when it is read back.
    pub sent: Option<(String, String, Vec<String>)>,
}

macro_rules! backend {
    ($module:ident, $db:ty) => {
        pub(super) mod $module {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            pub async fn begin(
                tx: &mut Conn,
                event_id: &str,
                connector: &str,
                action: &str,
            ) -> Result<Begin, sqlx::Error> {
                let inserted = sqlx::query(
                    "INSERT INTO deliveries (event_id, connector, action, state) \
                     VALUES ($1, $2, $3, 'applying') ON CONFLICT (event_id) DO NOTHING",
                )
                .bind(event_id)
                .bind(connector)
                .bind(action)
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 1 {
                    return Ok(Begin::Fresh);
                }
                let state: Option<(String,)> =
                    sqlx::query_as("SELECT state FROM deliveries WHERE event_id = $1")
                        .bind(event_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                Ok(match state {
                    Some((s,)) if s == "applied" => Begin::Applied,
                    _ => Begin::InDoubt,
                })
            }

            pub async fn finish(tx: &mut Conn, applied: &Applied) -> Result<(), sqlx::Error> {
                sqlx::query(
                    "UPDATE deliveries SET state = 'applied', target_id = $1, applied_at = $2 \
                     WHERE event_id = $3",
                )
                .bind(&applied.target_id)
                .bind(Utc::now())
                .bind(&applied.event_id)
                .execute(&mut *tx)
                .await?;
                if let Some(l) = &applied.link {
                    sqlx::query(
                        "INSERT INTO links (from_system, from_stream, from_id, to_system, to_id, \
                         relation, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (from_system, from_id, to_system, to_id, relation) DO NOTHING",
                    )
                    .bind(&l.from_system)
                    .bind(&l.from_stream)
                    .bind(&l.from_id)
                    .bind(&l.to_system)
                    .bind(&l.to_id)
                    .bind(&l.relation)
                    .bind(&l.event_id)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(note) = &applied.note {
                    crate::journey::$module::progress(tx, note).await?;
                }
                if let Some((system, id, notes)) = &applied.sent {
                    for n in notes {
                        sqlx::query(
                            "INSERT INTO sent_notes (system, external_id, event_id, body) \
                             VALUES ($1, $2, $3, $4)",
                        )
                        .bind(system)
                        .bind(id)
                        .bind(&applied.event_id)
                        .bind(n)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                Ok(())
            }
        }
    };
}

backend!(pg, sqlx::Postgres);
backend!(sqlite, sqlx::Sqlite);

impl Store {
    /// Start applying `event_id`, unless it was applied or is in doubt.
    pub async fn begin_delivery(
        &self,
        event_id: &str,
        connector: &str,
        action: &str,
    ) -> Result<Begin, StoreError> {
        Ok(match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let b = pg::begin(&mut tx, event_id, connector, action).await?;
                tx.commit().await?;
                b
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let b = sqlite::begin(&mut tx, event_id, connector, action).await?;
                tx.commit().await?;
                b
            }
        })
    }

    /// The target refused or surely never saw the call: the delivery may
    /// be tried again from the start.
    pub async fn abandon_delivery(&self, event_id: &str) -> Result<(), StoreError> {
        super::on_pool!(self, |pool| {
            sqlx::query("DELETE FROM deliveries WHERE event_id = $1 AND state = 'applying'")
                .bind(event_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.forget_sent(event_id).await
    }

    /// Deliveries in doubt that a person has checked: `dlq replay` lets
    /// them be applied again. Returns how many were forgotten.
    pub async fn forget_in_doubt(&self, event_ids: &[String]) -> Result<u64, StoreError> {
        let mut n = 0;
        for id in event_ids {
            n += super::on_pool!(self, |pool| {
                sqlx::query("DELETE FROM deliveries WHERE event_id = $1 AND state = 'applying'")
                    .bind(id)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(n)
    }

    /// Record a delivery as applied, with its link and note, atomically.
    pub async fn finish_delivery(&self, applied: &Applied) -> Result<(), StoreError> {
        match self {
            Store::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                pg::finish(&mut tx, applied).await?;
                tx.commit().await?;
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sqlite::finish(&mut tx, applied).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}
