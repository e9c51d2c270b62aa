//! No value blocks a page. A page the database refuses as a whole for what
//! one record holds (PostgreSQL keeps no index entry over about 2.7 kB, so
//! a 10 kB e-mail address or id from a source is refused, where SQLite
//! takes it) would fail the same way on every run, and hold back the clean
//! records and the cursor with it. Instead the refused records are found,
//! each written alone in a transaction rolled back, and quarantined with
//! the database's reason; the work routed from them is planned away, and
//! the rest of the page commits. `quarantine retry` takes them up after the
//! source or the mapping is fixed.

use std::collections::HashMap;

use super::{Plan, Router, plan_page};
use crate::store::{PageOutcome, PageWrite, Store, StoreError, Stored};
use crate::telemetry::events;

/// Write `page`; if the database refuses it for what some records hold,
/// quarantine those and write the rest. `router` is what planned the
/// page's routed work, to plan it again without them (`None`: the page
/// routes nothing).
pub async fn write_isolating(
    store: &Store,
    page: &mut PageWrite<'_>,
    router: Option<(&Router, &HashMap<String, Stored>)>,
) -> Result<PageOutcome, StoreError> {
    let refusal = match store.apply_page_mut(page).await {
        Err(e) if e.is_refusal() => e,
        other => return other,
    };
    let refused = store.refused_records(page).await?;
    if refused.is_empty() {
        // The page is refused for something no single record holds.
        return Err(refusal);
    }
    for (i, reason) in refused {
        let record = &mut page.records[i];
        events::RecordRefused {
            connector: page.system,
            stream: page.stream,
            external_id: &record.external_id,
            reason: &reason,
        }
        .emit();
        record.outcome = Err(format!("the store refused this record: {reason}"));
    }
    let plan = match router {
        Some((router, existing)) => {
            plan_page(
                router,
                store,
                page.system,
                page.stream,
                &page.records,
                existing,
            )
            .await?
        }
        None => Plan::default(),
    };
    page.outbox = plan.outbox;
    page.effects = plan.effects;
    store.apply_page_mut(page).await
}
