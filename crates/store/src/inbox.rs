//! Webhook deliveries taken: recorded in the transaction of the records
//! they carried. Same SQL on both backends.

use super::page::Delivery;

macro_rules! backend {
    ($module:ident, $db:ty, $json:literal) => {
        pub(super) mod $module {
            use super::*;

            type Conn = <$db as sqlx::Database>::Connection;

            /// Record `d`; `false` when it was taken before.
            pub async fn take(
                tx: &mut Conn,
                system: &str,
                d: Delivery<'_>,
            ) -> Result<bool, sqlx::Error> {
                let done = sqlx::query(concat!(
                    "INSERT INTO inbox (source_system, delivery_id, body) VALUES ($1, $2, ",
                    $json,
                    ") ON CONFLICT (source_system, delivery_id) DO NOTHING"
                ))
                .bind(system)
                .bind(d.id)
                .bind(d.body)
                .execute(&mut *tx)
                .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

backend!(pg, sqlx::Postgres, "$3::jsonb");
backend!(sqlite, sqlx::Sqlite, "$3");
