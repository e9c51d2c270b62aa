//! Issue 11, end to end: a future starter recorded in Personio starts the
//! shipped onboarding at once, in the hub; the departments get the work 14
//! days before the first day (`start_days_before` in `routing.toml`), and
//! the first day hires no one twice. On both stores.

mod common;

use chrono::{Duration, Utc};
use common::Backend;
use common::hub::{Hub, execute, texts};

async fn a_future_starters_onboarding_starts(backend: Backend) {
    let hub = Hub::start(backend).await;
    for system in ["personio", "servicenow", "maximo", "odoo"] {
        hub.sync(system).await;
    }
    assert_eq!(hub.outbox_total().await, 0, "a baseline routes nothing");
    let incidents = hub.estate.servicenow.sim.count("incident");

    let personio = &hub.estate.personio.sim;
    let start = Utc::now().date_naive() + Duration::days(30);
    let hire = personio.hire("Ada", "Lovelace", "ada.lovelace@example.com");
    assert!(personio.update(hire, |e| {
        e.hire_date = start;
        e.status = "onboarding".into();
    }));
    hub.sync("personio").await;

    let case = format!("onboarding:personio:employees:{hire}");
    let hub_items = texts(
        hub.store(),
        &format!(
            "SELECT source_stream || ' ' || status FROM work_items \
             WHERE source_system = 'switchboard' AND external_id LIKE '{case}%' \
             ORDER BY source_stream, external_id"
        ),
    )
    .await;
    assert_eq!(
        hub_items,
        ["cases new", "tasks new", "tasks new", "tasks new"],
        "the case and its three tasks are in the hub at once"
    );
    assert_eq!(hub.outbox_total().await, 3, "one task per department");
    let r = hub.deliver().await;
    assert_eq!(r.claimed, 0, "held until 14 days before the start: {r:?}");
    assert_eq!(hub.estate.servicenow.sim.count("incident"), incidents);

    // Fourteen days before the start, the work goes.
    execute(
        hub.store(),
        "UPDATE outbox SET available_at = created_at WHERE sent_at IS NULL",
    )
    .await;
    let r = hub.deliver().await;
    assert_eq!((r.applied, r.dead), (3, 0), "{r:?}");
    assert_eq!(hub.estate.servicenow.sim.count("incident"), incidents + 1);

    // The first day: active, and no second onboarding.
    assert!(personio.update(hire, |e| e.status = "active".into()));
    hub.sync("personio").await;
    assert_eq!(hub.outbox_total().await, 3, "hired once");
    hub.estate.shutdown().await;
}

on_every_backend!(a_future_starters_onboarding_starts);
