//! The HTTP API under `/api/v1`, served over a real socket with a real
//! store on SQLite and PostgreSQL: tokens and scopes (401, 403), problem
//! details, pages and cursors, filters, confidential items and classified
//! fields hidden from tokens without their class, and the OpenAPI document
//! describing every route.

mod common;

use reqwest::StatusCode;
use serde_json::Value;
use switchboard::api::ROUTES;
use switchboard::store::Store;

use common::api::{get, serve};
use common::hub::execute;
use common::{Backend, TestStore};

/// Three work items in three departments (one confidential to HR, one
/// with an HR-classified description), an activity, a link, two people.
async fn seed(store: &Store) {
    for sql in [
        "INSERT INTO work_items (source_system, source_stream, external_id, external_url, kind, title, description, status, department, requester_ref, opened_at, updated_at, attributes, classified, mapping_version) VALUES \
         ('servicenow', 'incident', 'INC1', 'https://sn.example/INC1', 'incident', 'No heating on floor 3', 'Radiators cold', 'in_progress', 'it', 'ann@example.com', '2026-12-01T09:00:00Z', '2026-12-01T10:00:00Z', '{\"number\": \"INC0001\"}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, description, status, department, requester_ref, opened_at, updated_at, attributes, classified, mapping_version) VALUES \
         ('personio', 'cases', 'HR9', 'case', 'Grievance', 'Private matter', 'new', 'hr', 'bob@example.com', '2026-12-02T09:00:00Z', '2026-12-02T09:00:00Z', '{\"confidential\": \"hr\"}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, description, status, department, requester_ref, opened_at, updated_at, attributes, classified, mapping_version) VALUES \
         ('maximo', 'workorder', 'WO7', 'work_order', 'Replace radiator valve', 'Salary-relevant overtime', 'new', 'facilities', 'ann@example.com', '2026-12-03T09:00:00Z', '2026-12-03T11:30:00Z', '{}', '{\"description\": \"hr\"}', 'v1')",
        "INSERT INTO activities (work_item_id, kind, author_ref, body, to_status, occurred_at, source_system, external_id) \
         SELECT id, 'status_change', 'JSMITH', NULL, 'in_progress', '2026-12-01T10:00:00Z', 'servicenow', 'a1' FROM work_items WHERE external_id = 'INC1'",
        "INSERT INTO links (from_system, from_stream, from_id, to_system, to_id, relation, event_id) VALUES ('servicenow', 'incident', 'INC1', 'maximo', 'WO7', 'routed', 'e1')",
        "INSERT INTO people (source_system, source_stream, external_id, display_name, email, department, active, attributes, classified, mapping_version) VALUES \
         ('personio', 'employees', '42', 'Ann Lee', 'ann@example.com', 'it', TRUE, '{\"salary\": 5000, \"title\": \"Engineer\"}', '{\"attributes.salary\": \"hr\"}', 'v1')",
        "INSERT INTO people (source_system, source_stream, external_id, display_name, email, department, active, attributes, classified, mapping_version) VALUES \
         ('personio', 'employees', '43', 'Bob Roe', 'bob@example.com', 'hr', FALSE, '{}', '{}', 'v1')",
    ] {
        execute(store, sql).await;
    }
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("-").to_string())
        .collect()
}

async fn tokens_and_scopes(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve(ts.store.clone()).await;

    let (status, content_type, body) = get(&base, "/api/v1/work-items", None).await;
    assert_eq!(status, 401);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(
        (body["status"].as_u64(), body["title"].as_str()),
        (Some(401), Some("Unauthorized"))
    );
    let (status, ..) = get(&base, "/api/v1/work-items", Some("not-a-token")).await;
    assert_eq!(status, 401);
    // The portal scope reads no agent view.
    let (status, _, body) = get(&base, "/api/v1/work-items", Some("portal-token")).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("`read`"),
        "{body}"
    );
    // `agent` includes `read`; a token kept as a hash works.
    for t in ["agent-token", "dash-token"] {
        let (status, _, body) = get(&base, "/api/v1/work-items", Some(t)).await;
        assert_eq!(status, 200, "{t}: {body}");
    }
    let (status, _, body) = get(&base, "/api/v1/nothing-here", Some("agent-token")).await;
    assert_eq!(
        (status, body["status"].as_u64()),
        (StatusCode::NOT_FOUND, Some(404))
    );
}

async fn confidential_items_and_classified_fields_are_hidden(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve(ts.store.clone()).await;

    // Without the `hr` class: the grievance is not there, the work
    // order's description is withheld and named.
    let (_, _, page) = get(&base, "/api/v1/work-items", Some("agent-token")).await;
    assert_eq!(
        titles(&page),
        ["Replace radiator valve", "No heating on floor 3"],
        "newest first: {page}"
    );
    let order = &page["items"][0];
    assert!(order["description"].is_null(), "{order}");
    assert_eq!(order["withheld"], serde_json::json!(["description"]));
    let grievance_id = {
        let (_, _, all) = get(&base, "/api/v1/work-items", Some("hr-token")).await;
        assert_eq!(titles(&all).len(), 3, "{all}");
        assert_eq!(all["items"][0]["description"], "Salary-relevant overtime");
        all["items"][1]["id"].as_i64().unwrap()
    };
    let (status, ..) = get(
        &base,
        &format!("/api/v1/work-items/{grievance_id}"),
        Some("agent-token"),
    )
    .await;
    assert_eq!(status, 404, "not there for a token without the class");
    let (status, _, detail) = get(
        &base,
        &format!("/api/v1/work-items/{grievance_id}"),
        Some("hr-token"),
    )
    .await;
    assert_eq!(
        (status, detail["item"]["title"].as_str()),
        (StatusCode::OK, Some("Grievance"))
    );

    // People: the salary is HR's.
    let (_, _, people) = get(&base, "/api/v1/people?active=true", Some("agent-token")).await;
    let ann = &people["items"][0];
    assert_eq!(ann["display_name"], "Ann Lee", "{people}");
    assert!(ann["attributes"].get("salary").is_none(), "{ann}");
    assert_eq!(ann["attributes"]["title"], "Engineer");
    assert_eq!(ann["withheld"], serde_json::json!(["attributes.salary"]));
    let id = ann["id"].as_i64().unwrap();
    let (_, _, ann) = get(&base, &format!("/api/v1/people/{id}"), Some("hr-token")).await;
    assert_eq!(ann["attributes"]["salary"], 5000, "{ann}");
    let (status, ..) = get(&base, "/api/v1/people/999999", Some("hr-token")).await;
    assert_eq!(status, 404);
}

async fn pages_filters_and_detail(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve(ts.store.clone()).await;
    let t = Some("hr-token");

    let mut seen = Vec::new();
    let mut path = "/api/v1/work-items?limit=2".to_string();
    loop {
        let (status, _, page) = get(&base, &path, t).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(titles(&page));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/work-items?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            "Replace radiator valve",
            "Grievance",
            "No heating on floor 3"
        ],
        "each once, newest first"
    );

    let (_, _, page) = get(&base, "/api/v1/work-items?department=facilities", t).await;
    assert_eq!(titles(&page), ["Replace radiator valve"]);
    let (_, _, page) = get(
        &base,
        "/api/v1/work-items?requester=ann@example.com&status=in_progress",
        t,
    )
    .await;
    assert_eq!(titles(&page), ["No heating on floor 3"]);
    let (_, _, page) = get(
        &base,
        "/api/v1/work-items?updated_since=2026-12-02T12:00:00Z",
        t,
    )
    .await;
    assert_eq!(titles(&page), ["Replace radiator valve"]);
    let (_, _, page) = get(&base, "/api/v1/work-items?system=maximo&kind=incident", t).await;
    assert!(titles(&page).is_empty());

    for bad in [
        "limit=0",
        "limit=500",
        "cursor=abc",
        "updated_since=yesterday",
    ] {
        let (status, content_type, body) =
            get(&base, &format!("/api/v1/work-items?{bad}"), t).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::BAD_REQUEST, "application/problem+json"),
            "{bad}: {body}"
        );
    }

    let (_, _, page) = get(&base, "/api/v1/work-items?system=servicenow", t).await;
    let id = page["items"][0]["id"].as_i64().unwrap();
    let (_, _, detail) = get(&base, &format!("/api/v1/work-items/{id}"), t).await;
    assert_eq!(detail["item"]["url"], "https://sn.example/INC1");
    assert_eq!(detail["item"]["opened_at"], "2026-12-01T09:00:00Z");
    assert_eq!(
        detail["activities"][0]["to_status"], "in_progress",
        "{detail}"
    );
    let link = &detail["links"][0];
    assert_eq!(
        (
            link["direction"].as_str(),
            link["system"].as_str(),
            link["title"].as_str()
        ),
        (Some("to"), Some("maximo"), Some("Replace radiator valve")),
        "{detail}"
    );
    let (status, ..) = get(&base, "/api/v1/work-items/abc", t).await;
    assert_eq!(status, 404);
}

on_every_backend!(
    tokens_and_scopes,
    confidential_items_and_classified_fields_are_hidden,
    pages_filters_and_detail,
);

/// The OpenAPI document is 3.1, served without a token, and describes
/// every route the API serves.
#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let ts = TestStore::new(Backend::Sqlite).await;
    let base = serve(ts.store.clone()).await;
    let (status, _, doc) = get(&base, "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for (method, path) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in the document"
        );
        // And the route is served: anything but 404 without a token is 401.
        if !path.contains('{') {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = reqwest::Client::new()
                .request(method, format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 401, "{path}");
        }
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "no route documented that ROUTES does not list"
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Valid OpenAPI 3.1 by the reference validator (scripts/test installs
    // it): a schema `$ref` to nothing, a path parameter left undeclared, a
    // misplaced key would fail here.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(file.path())
        .output()
        .expect("python3 runs (scripts/test installs openapi-spec-validator)");
    assert!(
        out.status.success(),
        "the OpenAPI document does not validate:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Operation ids are unique, as OpenAPI requires.
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|p| p.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap_or_default())
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate operation ids: {ids:?}");
}

/// The service catalogue, for a portal and for an agent, without where
/// each offering's work goes.
#[tokio::test]
async fn the_catalogue_lists_the_offerings_without_their_targets() {
    let ts = TestStore::new(Backend::Sqlite).await;
    let base = serve(ts.store.clone()).await;
    for t in ["portal-token", "agent-token"] {
        let (status, _, list) = get(&base, "/api/v1/services", Some(t)).await;
        assert_eq!(status, 200, "{t}: {list}");
        let offerings = list["offerings"].as_array().unwrap();
        assert!(offerings.len() >= 4, "{list}");
        for o in offerings {
            assert!(o["id"].is_string() && o["fields"].is_array(), "{o}");
            assert!(o.get("to").is_none() && o.get("set").is_none(), "{o}");
        }
    }
    let (status, ..) = get(&base, "/api/v1/services", None).await;
    assert_eq!(status, 401);
}

/// KPIs through the API: the store's numbers (tests/kpis.rs checks them
/// by hand), and a window or grouping that cannot work is a 400.
async fn kpis_by_department(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve(ts.store.clone()).await;
    let window = "from=2026-11-30T00:00:00Z&to=2026-12-07T00:00:00Z";
    let (status, _, report) = get(
        &base,
        &format!("/api/v1/kpis?{window}"),
        Some("agent-token"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    let opened: Vec<(String, u64)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["key"].as_str().unwrap().to_string(),
                r["opened"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(opened.contains(&("it".to_string(), 1)), "{report}");
    assert!(opened.contains(&("facilities".to_string(), 1)), "{report}");
    for bad in [
        format!("{window}&group_by=month"),
        "from=2026-12-07T00:00:00Z&to=2026-11-30T00:00:00Z".to_string(),
        "to=2026-12-07T00:00:00Z".to_string(),
    ] {
        let (status, _, body) =
            get(&base, &format!("/api/v1/kpis?{bad}"), Some("agent-token")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, ..) = get(
        &base,
        &format!("/api/v1/kpis?{window}"),
        Some("portal-token"),
    )
    .await;
    assert_eq!(status, 403);
}

mod kpi_route {
    use super::*;
    on_every_backend!(kpis_by_department);
}
