//! The pages in a real browser, headless Chromium through chromedriver,
//! against the simulated estate on both stores: an employee opens the
//! portal, is sent to sign in, signs in, raises a Facilities request from
//! the catalogue's form, and sees it listed with its status and the Maximo
//! work order it became; then the status page loads with its charts.
//!
//! `SWITCHBOARD_SCREENSHOTS=DIR` saves `portal.png` and `status.png` there
//! (docs/img/ holds the ones the README shows). Without chromedriver the
//! test fails and says to run scripts/test, which installs it.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::sync::Arc;

use serde_json::json;
use switchboard::api::{ApiState, EMPLOYEE_HEADER, Tokens};
use switchboard::catalog::ConnectorJobs;
use switchboard::config::{ApiSettings, WebSettings};
use tokio_util::sync::CancellationToken;

use common::Backend;
use common::api::token;
use common::hub::Hub;
use webdriver::Driver;

/// Every system the estate simulates that syncs by polling.
const SYSTEMS: &[&str] = &[
    "servicenow",
    "jira",
    "topdesk",
    "maximo",
    "odoo",
    "personio",
    "bamboohr",
];

/// Sync what the estate holds, then serve the daemon's HTTP surface (probes,
/// pages, API) as `run` does.
async fn serve(hub: &mut Hub) -> (String, Vec<Arc<ConnectorJobs>>) {
    let never = CancellationToken::new();
    for c in hub
        .connectors
        .iter()
        .filter(|c| SYSTEMS.contains(&c.system.as_str()))
    {
        for (stream, result) in
            switchboard::daemon::sync_connector(hub.store(), c, &never, &|_, _| {}).await
        {
            result.unwrap_or_else(|e| panic!("{}/{stream} syncs: {e}", c.system));
        }
    }
    let router = hub
        .connectors
        .iter()
        .flat_map(|c| &c.jobs)
        .find_map(|j| j.router.clone());
    let connectors: Vec<Arc<ConnectorJobs>> = std::mem::take(&mut hub.connectors)
        .into_iter()
        .map(Arc::new)
        .collect();
    let settings = ApiSettings {
        tokens: vec![
            token("service-desk", "desk-token", &["read", "portal"]),
            token("portal", "portal-token", &["portal"]),
        ],
        ..ApiSettings::default()
    };
    let services =
        switchboard::services::Services::load(&common::repo().join("services.toml")).unwrap();
    let api = ApiState {
        store: hub.store().clone(),
        tokens: Arc::new(Tokens::from_settings(&settings).unwrap()),
        services: Some(Arc::new(services)),
        router,
        // The status page shows the connectors the daemon would run.
        connectors: connectors.clone(),
        broker: None,
    };
    let app = switchboard::daemon::http::router(hub.store().clone(), Default::default())
        .merge(switchboard::web::router(
            api.clone(),
            &WebSettings::default(),
        ))
        .merge(switchboard::api::router(api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, connectors)
}

/// An earlier request of the same employee, raised through the API, so
/// the portal shows more than one department.
async fn raise_laptop_fault(base: &str) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth("portal-token")
        .header(EMPLOYEE_HEADER, "ann@example.com")
        .json(&json!({"offering": "it-equipment-fault", "fields": {
            "summary": "Laptop will not wake from sleep", "device": "Laptop",
            "asset_tag": "LT-20417", "can_work": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
}

async fn an_employee_raises_a_request_and_an_operator_sees_the_charts(backend: Backend) {
    let mut hub = Hub::start(backend).await;
    let (base, connectors) = serve(&mut hub).await;
    raise_laptop_fault(&base).await;
    let driver = Driver::start().await;
    let browser = driver.session().await;

    // Not signed in: the portal sends the employee to sign in.
    browser.goto(&format!("{base}/portal")).await;
    let url = browser.current_url().await;
    assert!(url.contains("/signin?next=%2Fportal"), "{url}");
    assert_eq!(browser.text("h1").await, "Sign in to Switchboard");
    browser.type_into("#token", "desk-token").await;
    browser.type_into("#employee", "ann@example.com").await;
    browser
        .click("form[action='/signin'] button[type='submit']")
        .await;
    assert!(browser.wait_for_url("/portal").await.ends_with("/portal"));
    assert_eq!(browser.text("h1").await, "Your requests");
    assert!(
        browser
            .source()
            .await
            .contains("Laptop will not wake from sleep")
    );

    // Ask for something from the catalogue.
    browser
        .click("a[href='/portal/ask/facilities-repair']")
        .await;
    browser.wait_for_url("/portal/ask/").await;
    assert_eq!(browser.text("h1").await, "Report a building fault");
    browser
        .type_into("#f-location", "HQ, floor 2, meeting room Elm")
        .await;
    browser.type_into("#f-summary", "Radiator stone cold").await;
    browser
        .click("#f-urgency option[value='Today, please']")
        .await;
    browser
        .type_into("#f-details", "The room is booked all afternoon.")
        .await;
    browser.click("main form button[type='submit']").await;
    let url = browser.wait_for_url("/portal/requests/").await;
    assert!(
        url.contains("/portal/requests/") && url.ends_with("?raised=1"),
        "{url}: {}",
        browser.source().await
    );
    assert!(
        browser
            .text("p.notice")
            .await
            .contains("Your request was sent")
    );
    assert_eq!(
        browser.text("h1").await,
        "HQ, floor 2, meeting room Elm: Radiator stone cold"
    );

    // Delivered: Maximo has the work order, and the portal lists the
    // request with its status and where it went.
    let before = hub.estate.maximo.sim.count();
    let delivered = hub.deliver().await;
    assert_eq!(delivered.dead, 0, "{delivered:?}");
    assert_eq!(hub.estate.maximo.sim.count(), before + 1, "one work order");
    // Maximo's next poll brings the work order's status back.
    let maximo = connectors.iter().find(|c| c.system == "maximo").unwrap();
    let never = CancellationToken::new();
    for (stream, result) in
        switchboard::daemon::sync_connector(hub.store(), maximo, &never, &|_, _| {}).await
    {
        result.unwrap_or_else(|e| panic!("maximo/{stream} syncs: {e}"));
    }
    browser.goto(&format!("{base}/portal")).await;
    let cards = browser.find_all("ul.requests li.card").await;
    assert_eq!(cards.len(), 2, "{}", browser.source().await);
    let first = browser.text("ul.requests li.card").await;
    assert!(
        first.contains("Radiator stone cold"),
        "newest first: {first}"
    );
    assert!(first.contains("Status") && first.contains("new"), "{first}");
    assert!(
        first.to_lowercase().contains("maximo"),
        "the journey: {first}"
    );
    if let Some(dir) = std::env::var_os("SWITCHBOARD_SCREENSHOTS") {
        browser
            .screenshot(&std::path::Path::new(&dir).join("portal.png"))
            .await;
    }

    // The status page, with its charts drawn.
    browser.goto(&format!("{base}/")).await;
    assert_eq!(browser.text("h1").await, "Switchboard status");
    let charts = browser.find_all("svg[role='img']").await;
    assert_eq!(charts.len(), 3);
    // Bars and their values drawn as the SVG's own children: an element
    // the HTML parser left open would swallow those after it.
    let bars = browser.find_all("svg[role='img'] > rect").await.len();
    let values = browser.find_all("svg[role='img'] > text.value").await.len();
    assert!(bars > 6 && values > 6, "bars {bars}, values {values}");
    let legend = browser
        .find_all("svg[role='img'] > text.legend")
        .await
        .len();
    assert_eq!(legend, 4, "two series in two charts");
    let streams = browser.text("table.streams").await;
    assert!(
        streams.contains("maximo") && streams.contains("healthy"),
        "{streams}"
    );
    if let Some(dir) = std::env::var_os("SWITCHBOARD_SCREENSHOTS") {
        // Tall enough for the charts below the connectors.
        browser.resize(1280, 1720).await;
        browser
            .screenshot(&std::path::Path::new(&dir).join("status.png"))
            .await;
    }
    browser.close().await;
}

on_every_backend!(an_employee_raises_a_request_and_an_operator_sees_the_charts);
