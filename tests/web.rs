//! The web pages without a browser, on both stores: sign-in is required
//! and checked by the API's tokens, the portal shows only the signed-in
//! employee's requests, what people typed is escaped, forms from other
//! sites are refused, a form's problems are shown by their fields, a form
//! sent twice raises one request, and the systems' own offerings are listed
//! after the catalogue's with links out.

mod common;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;
use switchboard::api::EMPLOYEE_HEADER;
use switchboard::config::WebSettings;
use switchboard::model::{Canonical, Offering};
use switchboard::store::{PageWrite, StagedRecord, Store};

use common::web::{client, get, post, serve, serve_with_broker, sign_in};
use common::{Backend, TestStore};

/// Raise a request through the API as the portal acting for `employee`.
async fn raise(base: &str, employee: &str, summary: &str) {
    let body = json!({"offering": "facilities-repair", "fields": {
        "location": "B2, floor 3", "summary": summary, "urgency": "Today, please"}});
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth("portal-token")
        .header(EMPLOYEE_HEADER, employee)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

async fn sign_in_is_required_and_checked(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone(), WebSettings::default()).await;
    for (path, back) in [("/portal", "%2Fportal"), ("/", "%2F")] {
        let (status, headers, _) = get(&base, path, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[LOCATION], format!("/signin?next={back}"));
    }
    let (status, _, page) = get(&base, "/signin?next=%2Fportal", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<html lang="en">"#), "{page}");
    assert!(page.contains(r#"<label for="token">"#), "{page}");
    assert!(page.contains(r#"name="next" value="/portal""#), "{page}");
    assert_eq!(page.matches("<h1").count(), 1);

    let (status, headers, page) = post(
        &base,
        "/signin",
        None,
        &base,
        &[("token", "not-a-token"), ("employee", "ann@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get(SET_COOKIE).is_none());
    assert!(page.contains("not one Switchboard knows"), "{page}");
    assert!(
        page.contains(r#"value="ann@example.com""#),
        "the address is kept: {page}"
    );

    // A portal token without the employee's address cannot act for anyone.
    let (status, _, page) = post(&base, "/signin", None, &base, &[("token", "portal-token")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("work e-mail address too"), "{page}");

    // A read token opens the status page but not the portal.
    let cookie = sign_in(&base, "read-token", "").await;
    let (status, _, page) = get(&base, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page.matches("<svg").count(), 3, "three charts: {page}");
    assert!(page.contains("<title id=\"volume-title\">"), "{page}");
    assert!(page.contains("<table>"), "the numbers as tables too");
    let (status, _, _) = get(&base, "/portal", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Over TLS at a proxy the cookie is Secure; `next` only leads on this site.
    let resp = client()
        .post(format!("{base}/signin"))
        .header("origin", &base)
        .header("x-forwarded-proto", "https")
        .form(&[("token", "read-token"), ("next", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/", "not to another site");
    let set = resp.headers()[SET_COOKIE].to_str().unwrap();
    assert!(set.ends_with("; Secure"), "{set}");

    // Signing out ends the session on the server, not only in the browser.
    let (status, _, _) = post(&base, "/signout", Some(&cookie), &base, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _, _) = get(&base, "/", Some(&cookie)).await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer signs in"
    );
}

async fn the_portal_shows_only_the_employees_own_requests_escaped(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone(), WebSettings::default()).await;
    raise(
        &base,
        "ann@example.com",
        "Radiator cold <script>alert(1)</script>",
    )
    .await;
    raise(&base, "bob@example.com", "Bob's leaking tap").await;

    let cookie = sign_in(&base, "portal-token", "Ann@Example.com").await;
    let (status, _, page) = get(&base, "/portal", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Radiator cold &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "nothing typed runs: {page}");
    assert!(
        !page.contains("leaking tap"),
        "Bob's request is Bob's: {page}"
    );
    assert!(
        page.contains("Report a building fault"),
        "the catalogue: {page}"
    );
    assert!(page.contains(r#"href="/portal/ask/facilities-repair""#));

    // Bob's request by its number is not found for Ann.
    let bob = ts
        .store
        .requests_of(&switchboard::store::RequestFilter {
            email: "bob@example.com",
            id: None,
            before_id: None,
            limit: 1,
            classes: &[],
            own: true,
        })
        .await
        .unwrap()
        .remove(0);
    let (status, _, _) = get(
        &base,
        &format!("/portal/requests/{}", bob.id),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn forms_from_elsewhere_are_refused_and_problems_shown(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve(ts.store.clone(), WebSettings::default()).await;
    let evil = "http://evil.example";
    let (status, headers, _) = post(&base, "/signin", None, evil, &[("token", "read-token")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get(SET_COOKIE).is_none());

    let cookie = sign_in(&base, "portal-token", "ann@example.com").await;
    let form = [
        ("_key", "key-1"),
        ("location", "B2, floor 3"),
        ("summary", "Lights out"),
        ("urgency", "Today, please"),
    ];
    let path = "/portal/ask/facilities-repair";
    let (status, _, _) = post(&base, path, Some(&cookie), evil, &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Neither Origin nor Referer: refused too.
    let resp = client()
        .post(format!("{base}{path}"))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        requests(&ts.store, "ann@example.com").await,
        0,
        "nothing raised"
    );

    // The form, generated from the offering.
    let (status, _, page) = get(&base, path, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"<label for="f-location">"#), "{page}");
    assert!(
        page.contains(r#"<select id="f-urgency" name="urgency" required"#),
        "{page}"
    );
    assert!(page.contains(r#"<textarea id="f-details""#), "{page}");
    assert!(
        page.contains(r#"aria-describedby="f-location-help""#),
        "{page}"
    );
    assert!(page.contains(r#"type="hidden" name="_key""#), "{page}");

    // A required answer missing and a choice not offered: shown by each field.
    let bad = [
        ("_key", "key-1"),
        ("location", ""),
        ("summary", "Lights out <b>now</b>"),
        ("urgency", "Yesterday"),
    ];
    let (status, _, page) = post(&base, path, Some(&cookie), &base, &bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains(r#"aria-describedby="f-location-help f-location-error""#),
        "{page}"
    );
    assert!(
        page.contains(r#"<p class="error" id="f-location-error">Please fill this in.</p>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<p class="error" id="f-urgency-error">Choose one of the options.</p>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"value="Lights out &lt;b&gt;now&lt;/b&gt;""#),
        "kept, escaped: {page}"
    );
    assert!(
        page.contains(r#"value="key-1""#),
        "the same key, for the next try: {page}"
    );
    assert_eq!(requests(&ts.store, "ann@example.com").await, 0);

    // Sent twice (a double click): one request, both answers point at it.
    let (status, first, _) = post(&base, path, Some(&cookie), &base, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, second, _) = post(&base, path, Some(&cookie), &base, &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(first[LOCATION], second[LOCATION]);
    assert_eq!(requests(&ts.store, "ann@example.com").await, 1);
    let to = first[LOCATION].to_str().unwrap();
    assert!(to.starts_with("/portal/requests/"), "{to}");
    let (status, _, page) = get(&base, to, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your request was sent"), "{page}");
    assert!(page.contains("B2, floor 3: Lights out"), "{page}");
}

async fn a_trusted_proxy_header_signs_the_employee_in(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let web = WebSettings {
        trusted_user_header: Some("X-Forwarded-Email".into()),
    };
    let base = serve(ts.store.clone(), web).await;
    raise(&base, "ann@example.com", "Door will not lock").await;
    let resp = client()
        .get(format!("{base}/portal"))
        .header("x-forwarded-email", "ann@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let page = resp.text().await.unwrap();
    assert!(page.contains("Door will not lock"), "{page}");
    // The proxy's employee is no operator.
    let resp = client()
        .get(format!("{base}/"))
        .header("x-forwarded-email", "ann@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Without the setting the header means nothing.
    let plain = serve(ts.store.clone(), WebSettings::default()).await;
    let resp = client()
        .get(format!("{plain}/portal"))
        .header("x-forwarded-email", "ann@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

/// A systems' own offering as a sync writes it.
fn native(id: &str, name: &str, department: &str, url: Option<&str>, active: bool) -> StagedRecord {
    StagedRecord {
        external_id: id.into(),
        content_hash: format!("hash-{id}"),
        payload_json: json!({ "id": id }).to_string(),
        outcome: Ok(Canonical::Offering(Offering {
            name: name.into(),
            description: Some(format!("About {name}")),
            department: Some(department.into()),
            external_url: url.map(str::to_string),
            active: Some(active),
            ..Offering::default()
        })),
    }
}

async fn the_portal_lists_native_offerings_by_department_with_links_out(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let records = vec![
        native(
            "1",
            "Laptop <b>Pro</b>",
            "it",
            Some("https://sn.example/sp?id=sc_cat_item&sys_id=1"),
            true,
        ),
        native(
            "2",
            "BlackBerry",
            "it",
            Some("https://sn.example/sp?id=sc_cat_item&sys_id=2"),
            false,
        ),
        native("3", "Payslip copy", "hr", None, true),
    ];
    let page = PageWrite {
        system: "servicenow",
        stream: "catalog_item",
        mapping_version: "v1",
        records,
        cursor: None,
        delivery: None,
        outbox: Vec::new(),
        effects: Vec::new(),
    };
    ts.store.apply_page(page).await.unwrap();
    let base = serve(ts.store.clone(), WebSettings::default()).await;
    let cookie = sign_in(&base, "portal-token", "ann@example.com").await;
    let (status, _, page) = get(&base, "/portal", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in {page}"))
    };
    // After the catalogue's own offerings, under a heading of its own.
    assert!(at("Report a building fault") < at("Offered in other systems"));
    // By department (hr before it), each a section named by its heading.
    assert!(at("Department: hr") < at("Department: it"), "{page}");
    assert!(
        page.contains(r#"<section class="native" aria-labelledby="native-0">"#),
        "{page}"
    );
    // Escaped, linked out with text that says where, without a link when
    // there is no URL, and never a retired one.
    assert!(page.contains("Laptop &lt;b&gt;Pro&lt;/b&gt;"), "{page}");
    assert!(page.contains(
        r#"<a href="https://sn.example/sp?id=sc_cat_item&amp;sys_id=1">Ask in servicenow<span class="visually-hidden"> for Laptop &lt;b&gt;Pro&lt;/b&gt;</span></a>"#
    ), "{page}");
    assert!(page.contains("Payslip copy") && page.contains("About Payslip copy"));
    assert_eq!(page.matches("Ask in servicenow").count(), 1, "{page}");
    assert!(!page.contains("BlackBerry"), "{page}");
}

async fn requests(store: &Store, email: &str) -> usize {
    store
        .requests_of(&switchboard::store::RequestFilter {
            email,
            id: None,
            before_id: None,
            limit: 100,
            classes: &[],
            own: true,
        })
        .await
        .unwrap()
        .len()
}

/// With a broker, the status page counts the dead letters RabbitMQ keeps
/// beside the store's; a broker that does not answer is said, not hidden.
async fn the_status_page_counts_the_letters_rabbitmq_keeps(backend: Backend) {
    use common::broker::{amqp_url, delete_topology, test_topology};
    use switchboard::api::DeadLetterBroker;
    use switchboard::config::Secret;

    let ts = TestStore::new(backend).await;
    let topology = test_topology(&format!("webdlq{backend:?}").to_lowercase());
    let conn = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = conn.create_channel().await.unwrap();
    topology.declare_dlq(&channel).await.unwrap();
    channel
        .basic_publish(
            "".into(),
            topology.dlq().as_str().into(),
            lapin::options::BasicPublishOptions::default(),
            b"{}",
            lapin::BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let broker = |url: String| DeadLetterBroker {
        url: Secret::new(url),
        topology: topology.clone(),
    };
    let counted = |page: &str| {
        page.split("Dead letters</dt><dd><span class=\"big\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_string)
    };

    let base = serve_with_broker(
        ts.store.clone(),
        WebSettings::default(),
        Some(broker(amqp_url())),
    )
    .await;
    let cookie = sign_in(&base, "read-token", "").await;
    let (status, _, page) = get(&base, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counted(&page).as_deref(), Some("1"), "{page}");
    assert!(page.contains("Something needs attention"), "{page}");

    // Nothing listens on port 9: the page says what it could not count.
    let base = serve_with_broker(
        ts.store.clone(),
        WebSettings::default(),
        Some(broker("amqp://guest:guest@127.0.0.1:9/%2f".into())),
    )
    .await;
    let cookie = sign_in(&base, "read-token", "").await;
    let (status, _, page) = get(&base, "/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counted(&page).as_deref(), Some("0"), "{page}");
    assert!(page.contains("RabbitMQ did not answer"), "{page}");
    let _ = channel.close(200, "done".into()).await;
    delete_topology(&topology, &[]).await;
}

on_every_backend!(
    sign_in_is_required_and_checked,
    the_portal_shows_only_the_employees_own_requests_escaped,
    forms_from_elsewhere_are_refused_and_problems_shown,
    a_trusted_proxy_header_signs_the_employee_in,
    the_status_page_counts_the_letters_rabbitmq_keeps,
    the_portal_lists_native_offerings_by_department_with_links_out,
);

/// `[web]` is strict like the rest of the file: a typo is located with a
/// hint, and a value that is no header name is refused.
#[test]
fn the_web_section_is_checked() {
    use std::collections::HashMap;
    use switchboard::config::{ConfigError, load_with_env};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    let load = |text: &str| {
        std::fs::write(&path, text).unwrap();
        load_with_env(Some(&path), HashMap::new())
    };
    let cfg = load("version = 1\n[web]\ntrusted_user_header = \"X-Forwarded-Email\"\n").unwrap();
    assert_eq!(
        cfg.settings.web.trusted_user_header.as_deref(),
        Some("X-Forwarded-Email")
    );
    assert!(
        load("version = 1\n")
            .unwrap()
            .settings
            .web
            .trusted_user_header
            .is_none()
    );

    let err = load("version = 1\n[web]\ntrusted_user_headr = \"X-Email\"\n").unwrap_err();
    let ConfigError::File(d) = err else {
        panic!("expected a file diagnostic, got {err:?}")
    };
    assert_eq!((d.line, d.col), (3, 1));
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `trusted_user_header`?")
    );

    let err = load("version = 1\n[web]\ntrusted_user_header = \"X Email\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an HTTP header name"), "{err}");
}
