//! The front door's read of the offerings synced from systems' own
//! catalogues (the `offerings` table, written by the page write). Only
//! active ones are listed; the list is capped so one huge catalogue cannot
//! make every portal visit and `GET /api/v1/services` unbounded.

use serde::Serialize;
use sqlx::QueryBuilder;

use super::{Store, StoreError, on_pool};

/// The most native offerings one read returns. A front door listing more
/// than this is no longer a list anyone reads; the caller says it was cut.
pub const MAX_NATIVE_OFFERINGS: usize = 1000;

/// One active offering of a system's own catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NativeOffering {
    pub source_system: String,
    pub source_stream: String,
    pub external_id: String,
    pub name: String,
    pub description: Option<String>,
    pub department: Option<String>,
    pub category: Option<String>,
    pub external_url: Option<String>,
}

/// A capped list of native offerings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NativeOfferings {
    /// Ordered by department (none last), name, then system and id.
    pub items: Vec<NativeOffering>,
    /// More active offerings exist than were returned.
    pub truncated: bool,
}

impl Store {
    /// The active native offerings, at most `limit` (itself at most
    /// [`MAX_NATIVE_OFFERINGS`]), in the order the front door lists them.
    pub async fn native_offerings(&self, limit: usize) -> Result<NativeOfferings, StoreError> {
        let limit = limit.min(MAX_NATIVE_OFFERINGS);
        // One row more than asked says whether there were more.
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let mut items: Vec<NativeOffering> = on_pool!(self, |pool| {
            native_offerings_query(fetch, "")
                .build_query_as()
                .fetch_all(pool)
                .await?
        });
        let truncated = items.len() > limit;
        items.truncate(limit);
        Ok(NativeOfferings { items, truncated })
    }
}

/// The listing's statement, `fetch` rows, behind `explain` (empty, or an
/// `EXPLAIN` prefix for `plans.rs`): the order `offerings_listed`
/// (migration 0017) keeps, so the read walks that index and stops.
pub(super) fn native_offerings_query<'q, DB: sqlx::Database>(
    fetch: i64,
    explain: &str,
) -> QueryBuilder<'q, DB>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(format!(
        "{explain}SELECT source_system, source_stream, external_id, name, description, department, \
         category, external_url FROM offerings WHERE active \
         ORDER BY department NULLS LAST, name, source_system, external_id LIMIT "
    ));
    qb.push_bind(fetch);
    qb
}
