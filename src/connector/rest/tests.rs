//! Tests for the `rest` connector kind, built from manifests as production
//! does: paging styles against the ServiceNow simulator and small axum
//! servers, retries and their limits, response shapes, `Link` parsing, and
//! manifest validation.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::*;
use crate::connector::Manifest;
use crate::sim::servicenow::{Fault, ServiceNowSim, SimConfig, SimHandle};

const SERVICENOW: &str = include_str!("../../../connectors/servicenow.toml");

/// Lower bound early enough to include every seeded incident.
const FROM: &str = "2000-01-01 00:00:00";

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} should occur once");
    text.replacen(from, to, 1)
}

fn parse(text: &str) -> Result<Manifest, Diagnostic> {
    Manifest::from_source(&SourceFile::new("connectors/t.toml", text))
}

fn manifest(text: &str) -> Manifest {
    parse(text).unwrap_or_else(|d| panic!("manifest should parse: {d}"))
}

fn manifest_error(text: &str) -> Diagnostic {
    match parse(text) {
        Ok(m) => panic!("manifest should be rejected: {m:?}"),
        Err(d) => d,
    }
}

fn connect(text: &str) -> Arc<dyn Connector> {
    let m = manifest(text);
    m.config
        .build(&m.header)
        .unwrap_or_else(|e| panic!("connector should build: {e}"))
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i + 1, col + 1);
        }
    }
    panic!("{needle:?} not in text")
}

// ---------------------------------------------------------------------------
// ServiceNow simulator
// ---------------------------------------------------------------------------

/// The shipped manifest with a smaller page and extra `[http]` settings.
fn servicenow_text(page_size: u32, http_extra: &str) -> String {
    let text = replace_once(
        SERVICENOW,
        "page_size = 100",
        &format!("page_size = {page_size}"),
    );
    replace_once(&text, "[http]\n", &format!("[http]\n{http_extra}\n"))
}

async fn sim(incidents: usize) -> SimHandle {
    ServiceNowSim::spawn(SimConfig {
        incidents,
        ..Default::default()
    })
    .await
    .expect("start simulator")
}

/// Build the connector as the daemon does: manifest, then environment override.
fn servicenow(h: &SimHandle, text: &str, password: &str) -> Arc<dyn Connector> {
    let mut m = Manifest::from_source(&SourceFile::new("connectors/servicenow.toml", text))
        .unwrap_or_else(|d| panic!("manifest should parse: {d}"));
    m.config
        .apply_override(&ConnectorOverride {
            base_url: Some(h.base_url.clone()),
            username: Some(SecretRef::Literal("admin".into())),
            password: Some(SecretRef::Literal(password.into())),
            ..Default::default()
        })
        .expect("override applies");
    m.config
        .build(&m.header)
        .unwrap_or_else(|e| panic!("connector should build: {e}"))
}

fn statuses(h: &SimHandle) -> Vec<u16> {
    h.sim.requests().iter().map(|r| r.status).collect()
}

#[test]
fn shipped_servicenow_manifest_declares_incident_stream_with_cursor() {
    let m = manifest(SERVICENOW);
    assert_eq!(m.header.system, "servicenow");
    assert_eq!(m.header.kind, "rest");
    let streams = m.config.streams();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].name, "incident");
    let c = streams[0].cursor.as_ref().expect("incident has a cursor");
    assert_eq!(c.field, vec!["sys_updated_on".to_string()]);
    assert_eq!(c.format, CursorFormat::DateTime("%Y-%m-%d %H:%M:%S".into()));
    assert_eq!(c.initial, "1970-01-01 00:00:00");
    assert_eq!(c.overlap, Duration::from_secs(60));
    assert!(c.ordered);
}

#[tokio::test]
async fn servicenow_offset_paging_reads_three_pages_and_stops_at_short_page() {
    let h = sim(25).await;
    let conn = servicenow(&h, &servicenow_text(10, ""), "sim-password");
    assert_eq!(conn.system(), "servicenow");

    let p1 = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .expect("page 1");
    assert_eq!(p1.records.len(), 10);
    let last_key = |p: &Page| p.records.last().and_then(|r| r.key.clone());
    assert_eq!(
        p1.next,
        Some(PageToken::Offset {
            at: 10,
            last_key: last_key(&p1)
        })
    );
    let p2 = conn
        .fetch_page("incident", Some(FROM), p1.next.as_ref())
        .await
        .expect("page 2");
    // Ten read from offset 9, the first of them the re-read of page 1's last.
    assert_eq!(p2.records.len(), 9);
    assert_eq!(
        p2.next,
        Some(PageToken::Offset {
            at: 19,
            last_key: last_key(&p2)
        })
    );
    assert!(!p2.shifted, "nothing changed between pages");
    let p3 = conn
        .fetch_page("incident", Some(FROM), p2.next.as_ref())
        .await
        .expect("page 3");
    assert_eq!(p3.records.len(), 6);
    assert_eq!(p3.next, None);

    let log = h.sim.requests();
    assert_eq!(log.len(), 3);
    let template = format!("sys_updated_on>={FROM}^ORDERBYsys_updated_on^ORDERBYsys_id");
    // Each later page re-reads the previous page's last record to prove nothing shifted.
    for (req, offset) in log.iter().zip(["0", "9", "18"]) {
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/api/now/table/incident");
        assert_eq!(req.status, 200);
        let expected: BTreeMap<String, String> = [
            ("sysparm_display_value", "false"),
            ("sysparm_exclude_reference_link", "true"),
            ("sysparm_limit", "10"),
            ("sysparm_offset", offset),
            ("sysparm_query", template.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(req.query, expected);
    }

    let records: Vec<&SourceRecord> = [&p1, &p2, &p3]
        .iter()
        .flat_map(|p| p.records.iter())
        .collect();
    for r in &records {
        assert_eq!(r.key.as_deref(), r.payload["sys_id"].as_str());
        assert_eq!(r.cursor.as_deref(), r.payload["sys_updated_on"].as_str());
        assert!(r.key.is_some() && r.cursor.is_some());
    }
    // Ordered by cursor across pages, every incident exactly once.
    let cursors: Vec<&str> = records.iter().filter_map(|r| r.cursor.as_deref()).collect();
    assert!(cursors.windows(2).all(|w| w[0] <= w[1]), "{cursors:?}");
    let mut keys: Vec<String> = records.iter().filter_map(|r| r.key.clone()).collect();
    keys.sort();
    let mut stored: Vec<String> = h
        .sim
        .records("incident")
        .iter()
        .filter_map(|r| r["sys_id"].as_str().map(str::to_string))
        .collect();
    stored.sort();
    assert_eq!(keys, stored);
}

#[tokio::test]
async fn servicenow_without_lower_bound_sends_no_cursor_query() {
    let h = sim(3).await;
    let conn = servicenow(&h, &servicenow_text(10, ""), "sim-password");
    let page = conn.fetch_page("incident", None, None).await.expect("page");
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.next, None);
    let log = h.sim.requests();
    assert!(
        !log[0].query.contains_key("sysparm_query"),
        "{:?}",
        log[0].query
    );
}

#[tokio::test]
async fn servicenow_wrong_password_is_auth_error_naming_system() {
    let h = sim(3).await;
    let conn = servicenow(&h, &servicenow_text(10, "initial_backoff_ms = 1"), "wrong");
    let err = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Auth { system, status: 401, .. } if system == "servicenow"),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with("servicenow: authentication failed: check the credentials (HTTP 401)"),
        "{shown}"
    );
    assert!(shown.contains("User Not Authenticated"), "{shown}");
    // Retrying cannot fix credentials.
    assert_eq!(statuses(&h), vec![401]);
}

#[tokio::test]
async fn servicenow_server_errors_are_retried_until_success() {
    let h = sim(5).await;
    let conn = servicenow(
        &h,
        &servicenow_text(10, "initial_backoff_ms = 1"),
        "sim-password",
    );
    h.sim.inject(Fault::ServerError, 2);
    let page = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .expect("third try succeeds");
    assert_eq!(page.records.len(), 5);
    assert_eq!(statuses(&h), vec![500, 500, 200]);
}

#[tokio::test]
async fn servicenow_html_503_is_retried() {
    let h = sim(2).await;
    let conn = servicenow(
        &h,
        &servicenow_text(10, "initial_backoff_ms = 1"),
        "sim-password",
    );
    h.sim.inject(Fault::Unavailable, 1);
    let page = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .expect("second try succeeds");
    assert_eq!(page.records.len(), 2);
    assert_eq!(statuses(&h), vec![503, 200]);
}

#[tokio::test]
async fn servicenow_gives_up_after_max_attempts() {
    let h = sim(2).await;
    let text = replace_once(
        &servicenow_text(10, "initial_backoff_ms = 1"),
        "max_attempts = 5",
        "max_attempts = 3",
    );
    let conn = servicenow(&h, &text, "sim-password");
    h.sim.inject(Fault::ServerError, 3);
    let err = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Status { status: 500, method, .. } if method == "GET"),
        "{err:?}"
    );
    assert!(err.to_string().contains("Internal server error"), "{err}");
    assert_eq!(statuses(&h), vec![500, 500, 500]);
}

#[tokio::test]
async fn servicenow_client_error_is_not_retried() {
    let h = sim(2).await;
    let text = replace_once(
        &servicenow_text(10, "initial_backoff_ms = 1"),
        "path = \"/api/now/table/incident\"",
        "path = \"/api/now/table/nope\"",
    );
    let conn = servicenow(&h, &text, "sim-password");
    let err = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .unwrap_err();
    match &err {
        ConnectorError::Status {
            system,
            status,
            url,
            body,
            ..
        } => {
            assert_eq!(system, "servicenow");
            assert_eq!(*status, 400);
            assert_eq!(url, &format!("{}/api/now/table/nope", h.base_url));
            assert!(body.contains("Invalid table nope"), "{body}");
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(h.sim.requests().len(), 1);
}

#[tokio::test]
async fn servicenow_429_waits_for_retry_after_then_succeeds() {
    let h = sim(3).await;
    let conn = servicenow(
        &h,
        &servicenow_text(10, "initial_backoff_ms = 1"),
        "sim-password",
    );
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let started = Instant::now();
    let page = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .expect("retry succeeds");
    let elapsed = started.elapsed();
    assert_eq!(page.records.len(), 3);
    assert!(
        elapsed >= Duration::from_secs(1),
        "Retry-After: 1 must be honoured, retried after {elapsed:?}"
    );
    assert_eq!(statuses(&h), vec![429, 200]);
}

#[tokio::test]
async fn servicenow_429_longer_than_allowed_fails_rate_limited() {
    let h = sim(3).await;
    let conn = servicenow(
        &h,
        &servicenow_text(10, "initial_backoff_ms = 1\nmax_retry_after_secs = 0"),
        "sim-password",
    );
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let err = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ConnectorError::RateLimited { system, wait_secs: 1, max_secs: 0 } if system == "servicenow"
        ),
        "{err:?}"
    );
    assert_eq!(statuses(&h), vec![429]);
}

#[tokio::test]
async fn servicenow_next_link_follows_link_header() {
    let h = sim(25).await;
    let text = replace_once(
        SERVICENOW,
        "type = \"offset\"\nlimit_param = \"sysparm_limit\"\noffset_param = \"sysparm_offset\"\npage_size = 100",
        "type = \"next_link\"",
    );
    let text = replace_once(
        &text,
        "sysparm_exclude_reference_link = \"true\"\n",
        "sysparm_exclude_reference_link = \"true\"\nsysparm_limit = \"10\"\n",
    );
    let conn = servicenow(&h, &text, "sim-password");
    let mut token = None;
    let mut sizes = Vec::new();
    let mut tokens = Vec::new();
    loop {
        let page = conn
            .fetch_page("incident", Some(FROM), token.as_ref())
            .await
            .expect("page");
        sizes.push(page.records.len());
        tokens.push(page.next.clone());
        match page.next {
            Some(next) => token = Some(next),
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not stop");
    }
    assert_eq!(sizes, vec![10, 10, 5]);
    let offset_of = |t: &Option<PageToken>| match t {
        Some(PageToken::Url(u)) => u.split("sysparm_offset=").nth(1).map(str::to_string),
        _ => None,
    };
    assert_eq!(offset_of(&tokens[0]).as_deref(), Some("10"));
    assert_eq!(offset_of(&tokens[1]).as_deref(), Some("20"));
    assert_eq!(tokens[2], None);
    // The followed links kept the cursor query.
    for req in h.sim.requests() {
        assert!(
            req.query
                .get("sysparm_query")
                .is_some_and(|q| q.starts_with(&format!("sys_updated_on>={FROM}"))),
            "{:?}",
            req.query
        );
    }
}

// ---------------------------------------------------------------------------
// Small scripted servers
// ---------------------------------------------------------------------------

/// One request a mock server received.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    query: BTreeMap<String, String>,
    headers: HeaderMap,
}

impl Hit {
    fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    fn host(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        format!("http://{host}")
    }
}

type Hits = Arc<Mutex<Vec<Hit>>>;

/// Serve `respond` on 127.0.0.1:0; returns the base URL and the request log.
async fn mock<F>(respond: F) -> (String, Hits)
where
    F: Fn(&Hit) -> Response + Clone + Send + Sync + 'static,
{
    let hits: Hits = Arc::default();
    let log = hits.clone();
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let log = log.clone();
        let respond = respond.clone();
        async move {
            let hit = Hit {
                path: uri.path().to_string(),
                query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect(),
                headers,
            };
            log.lock().expect("log lock").push(hit.clone());
            respond(&hit)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), hits)
}

fn hits(log: &Hits) -> Vec<Hit> {
    log.lock().expect("log lock").clone()
}

fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

fn query_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A manifest for a mock server; `stream` is the body of one `[[streams]]`.
fn mock_manifest(base: &str, stream: &str) -> String {
    format!(
        "version = 1\nsystem = \"mock\"\nkind = \"rest\"\ndepartment = \"hr\"\nbase_url = \"{base}\"\n\n[http]\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\nmax_attempts = 2\n\n[[streams]]\n{stream}"
    )
}

fn keys(page: &Page) -> Vec<Option<String>> {
    page.records.iter().map(|r| r.key.clone()).collect()
}

fn some(keys: &[&str]) -> Vec<Option<String>> {
    keys.iter().map(|k| Some(k.to_string())).collect()
}

const PAGE_NUMBER_STREAM: &str = r#"name = "people"
path = "/people"
records = "data.items"
key = "id"

[streams.query]
fields = "all"

[streams.pagination]
type = "page_number"
page_param = "page"
size_param = "per_page"
page_size = 2

[streams.cursor]
field = "meta.updated"
param = "since"
format = "rfc3339"
"#;

/// Five people, `per_page` at a time, pages numbered from `first`.
fn people_server(first: u64) -> impl Fn(&Hit) -> Response + Clone + Send + Sync + 'static {
    move |hit: &Hit| {
        let page: u64 = hit.q("page").and_then(|p| p.parse().ok()).unwrap_or(first);
        let size: u64 = hit
            .q("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(100);
        let start = (page - first) * size;
        let items: Vec<Value> = (start..(start + size).min(5))
            .map(|i| json!({"id": i + 1, "meta": {"updated": format!("2024-06-0{}T10:00:00Z", i + 1)}}))
            .collect();
        ok(json!({"data": {"items": items}}))
    }
}

#[tokio::test]
async fn page_number_paging_counts_pages_and_stops_at_short_page() {
    let (base, log) = mock(people_server(1)).await;
    let conn = connect(&mock_manifest(&base, PAGE_NUMBER_STREAM));
    let from = "2024-01-01T00:00:00Z";

    let p1 = conn
        .fetch_page("people", Some(from), None)
        .await
        .expect("p1");
    assert_eq!(keys(&p1), some(&["1", "2"]));
    assert_eq!(p1.next, Some(PageToken::Page(2)));
    assert_eq!(
        p1.records[1].cursor.as_deref(),
        Some("2024-06-02T10:00:00Z")
    );
    let p2 = conn
        .fetch_page("people", Some(from), p1.next.as_ref())
        .await
        .expect("p2");
    assert_eq!(keys(&p2), some(&["3", "4"]));
    assert_eq!(p2.next, Some(PageToken::Page(3)));
    let p3 = conn
        .fetch_page("people", Some(from), p2.next.as_ref())
        .await
        .expect("p3");
    assert_eq!(keys(&p3), some(&["5"]));
    assert_eq!(p3.next, None);

    let seen = hits(&log);
    assert_eq!(seen.len(), 3);
    for (hit, page) in seen.iter().zip(["1", "2", "3"]) {
        assert_eq!(hit.path, "/people");
        assert_eq!(
            hit.query,
            query_of(&[
                ("fields", "all"),
                ("since", from),
                ("page", page),
                ("per_page", "2")
            ])
        );
    }
}

#[tokio::test]
async fn page_number_paging_honours_first_page_zero() {
    let (base, log) = mock(people_server(0)).await;
    let stream = replace_once(
        PAGE_NUMBER_STREAM,
        "page_size = 2\n",
        "page_size = 2\nfirst_page = 0\n",
    );
    let conn = connect(&mock_manifest(&base, &stream));
    let p1 = conn.fetch_page("people", None, None).await.expect("p1");
    assert_eq!(keys(&p1), some(&["1", "2"]));
    assert_eq!(p1.next, Some(PageToken::Page(1)));
    let p2 = conn
        .fetch_page("people", None, p1.next.as_ref())
        .await
        .expect("p2");
    assert_eq!(keys(&p2), some(&["3", "4"]));
    let pages: Vec<String> = hits(&log)
        .iter()
        .filter_map(|h| h.q("page").map(str::to_string))
        .collect();
    assert_eq!(pages, vec!["0", "1"]);
    assert!(hits(&log).iter().all(|h| h.q("since").is_none()));
}

#[tokio::test]
async fn next_link_from_body_is_followed_until_null() {
    let (base, log) = mock(|hit: &Hit| match hit.q("after") {
        None => ok(json!({
            "results": [{"uid": "a"}, {"uid": "b"}],
            "paging": {"next": "/v1/things?after=b&limit=2"}
        })),
        Some("b") => ok(json!({
            "results": [{"uid": "c"}],
            "paging": {"next": null}
        })),
        Some(_) => (StatusCode::NOT_FOUND, "no such page").into_response(),
    })
    .await;
    let stream = r#"name = "things"
path = "/v1/things"
records = "results"
key = "uid"

[streams.query]
limit = "2"

[streams.pagination]
type = "next_link"
next_path = "paging.next"

[streams.cursor]
field = "modified"
param = "modified_since"
format = "integer"
"#;
    let conn = connect(&mock_manifest(&base, stream));
    let p1 = conn
        .fetch_page("things", Some("1700"), None)
        .await
        .expect("p1");
    assert_eq!(keys(&p1), some(&["a", "b"]));
    // Relative links come back absolute, resolved against the request.
    assert_eq!(
        p1.next,
        Some(PageToken::Url(format!("{base}/v1/things?after=b&limit=2")))
    );
    let p2 = conn
        .fetch_page("things", Some("1700"), p1.next.as_ref())
        .await
        .expect("p2");
    assert_eq!(keys(&p2), some(&["c"]));
    assert_eq!(p2.next, None);

    let seen = hits(&log);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].path, "/v1/things");
    assert_eq!(
        seen[0].query,
        query_of(&[("limit", "2"), ("modified_since", "1700")])
    );
    // The link carries every parameter: nothing is added to it.
    assert_eq!(seen[1].path, "/v1/things");
    assert_eq!(seen[1].query, query_of(&[("after", "b"), ("limit", "2")]));
}

#[tokio::test]
async fn next_link_empty_string_ends_paging() {
    let (base, _log) = mock(|_: &Hit| ok(json!({"results": [{"uid": "a"}], "next": ""}))).await;
    let stream = "name = \"things\"\npath = \"/things\"\nrecords = \"results\"\nkey = \"uid\"\n\n[streams.pagination]\ntype = \"next_link\"\nnext_path = \"next\"\n";
    let conn = connect(&mock_manifest(&base, stream));
    let page = conn.fetch_page("things", None, None).await.expect("page");
    assert_eq!(keys(&page), some(&["a"]));
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn next_link_from_link_header_is_followed_until_absent() {
    let (base, log) = mock(|hit: &Hit| {
        let host = hit.host();
        match hit.q("page") {
            None => (
                [(
                    header::LINK,
                    format!(
                        "<{host}/v2/items?page=1>; rel=\"first\", <{host}/v2/items?page=2>; rel=\"next\", <{host}/v2/items?page=2>; rel=\"last\""
                    ),
                )],
                axum::Json(json!([{"id": "x1"}, {"id": "x2"}])),
            )
                .into_response(),
            Some("2") => (
                [(
                    header::LINK,
                    format!("<{host}/v2/items?page=1>; rel=\"first\", <{host}/v2/items?page=1>; rel=\"prev\""),
                )],
                axum::Json(json!([{"id": "x3"}])),
            )
                .into_response(),
            Some(_) => (StatusCode::NOT_FOUND, "no such page").into_response(),
        }
    })
    .await;
    // `records` absent: the body is the array.
    let stream = "name = \"items\"\npath = \"/v2/items\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"next_link\"\n";
    let conn = connect(&mock_manifest(&base, stream));
    let p1 = conn.fetch_page("items", None, None).await.expect("p1");
    assert_eq!(keys(&p1), some(&["x1", "x2"]));
    assert_eq!(
        p1.next,
        Some(PageToken::Url(format!("{base}/v2/items?page=2")))
    );
    let p2 = conn
        .fetch_page("items", None, p1.next.as_ref())
        .await
        .expect("p2");
    assert_eq!(keys(&p2), some(&["x3"]));
    assert_eq!(p2.next, None);
    let seen = hits(&log);
    assert_eq!(seen.len(), 2);
    assert!(seen[0].query.is_empty(), "{:?}", seen[0].query);
    assert_eq!(seen[1].path, "/v2/items");
    assert_eq!(seen[1].query, query_of(&[("page", "2")]));
}

/// RFC 8288 §3.2: a relative link target resolves against the request URI,
/// not against the connector's `base_url`.
#[tokio::test]

async fn relative_next_link_resolves_against_request_url() {
    let (base, log) = mock(|hit: &Hit| match (hit.path.as_str(), hit.q("page")) {
        ("/api/items", None) => (
            [(header::LINK, "<?page=2>; rel=\"next\"")],
            axum::Json(json!([{"id": "1"}])),
        )
            .into_response(),
        ("/api/items", Some("2")) => ok(json!([{"id": "2"}])),
        _ => (StatusCode::NOT_FOUND, "no such page").into_response(),
    })
    .await;
    let stream = "name = \"items\"\npath = \"/api/items\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"next_link\"\n";
    let conn = connect(&mock_manifest(&base, stream));
    let p1 = conn.fetch_page("items", None, None).await.expect("p1");
    let p2 = conn.fetch_page("items", None, p1.next.as_ref()).await;
    let seen = hits(&log);
    assert_eq!(seen[1].path, "/api/items");
    assert_eq!(seen[1].q("page"), Some("2"));
    assert_eq!(keys(&p2.expect("p2")), some(&["2"]));
}

const EVENTS_STREAM: &str = r#"name = "events"
path = "/events"
records = "items"
key = "event.id"

[streams.pagination]
type = "cursor_token"
token_path = "meta.next_token"
token_param = "page_token"
size_param = "limit"
page_size = 2
"#;

#[tokio::test]
async fn cursor_token_is_sent_back_until_empty() {
    let (base, log) = mock(|hit: &Hit| {
        let (items, next) = match hit.q("page_token") {
            None => (
                json!([{"event": {"id": "e1"}}, {"event": {"id": "e2"}}]),
                json!("t2"),
            ),
            Some("t2") => (
                json!([{"event": {"id": "e3"}}, {"event": {"id": "e4"}}]),
                json!("t3"),
            ),
            Some("t3") => (json!([{"event": {"id": "e5"}}]), json!("")),
            Some(_) => return (StatusCode::BAD_REQUEST, "bad token").into_response(),
        };
        ok(json!({"items": items, "meta": {"next_token": next}}))
    })
    .await;
    let conn = connect(&mock_manifest(&base, EVENTS_STREAM));
    let p1 = conn.fetch_page("events", None, None).await.expect("p1");
    assert_eq!(keys(&p1), some(&["e1", "e2"]));
    assert_eq!(p1.next, Some(PageToken::Token("t2".into())));
    let p2 = conn
        .fetch_page("events", None, p1.next.as_ref())
        .await
        .expect("p2");
    assert_eq!(keys(&p2), some(&["e3", "e4"]));
    assert_eq!(p2.next, Some(PageToken::Token("t3".into())));
    let p3 = conn
        .fetch_page("events", None, p2.next.as_ref())
        .await
        .expect("p3");
    assert_eq!(keys(&p3), some(&["e5"]));
    assert_eq!(p3.next, None);

    let seen = hits(&log);
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].query, query_of(&[("limit", "2")]));
    assert_eq!(
        seen[1].query,
        query_of(&[("page_token", "t2"), ("limit", "2")])
    );
    assert_eq!(
        seen[2].query,
        query_of(&[("page_token", "t3"), ("limit", "2")])
    );
}

#[tokio::test]
async fn cursor_token_stops_on_empty_page_or_missing_token() {
    let (base, _log) = mock(|hit: &Hit| match hit.q("page_token") {
        // A token with no records: some APIs always send one.
        None => ok(json!({"items": [], "meta": {"next_token": "again"}})),
        Some(_) => ok(json!({"items": [{"event": {"id": "e9"}}], "meta": {}})),
    })
    .await;
    let conn = connect(&mock_manifest(&base, EVENTS_STREAM));
    let empty = conn.fetch_page("events", None, None).await.expect("empty");
    assert!(empty.records.is_empty());
    assert_eq!(empty.next, None);
    let last = conn
        .fetch_page("events", None, Some(&PageToken::Token("x".into())))
        .await
        .expect("last");
    assert_eq!(keys(&last), some(&["e9"]));
    assert_eq!(last.next, None);
}

#[tokio::test]
async fn cursor_token_without_size_param_sends_only_token() {
    let (base, log) = mock(|_: &Hit| ok(json!({"items": [], "meta": {}}))).await;
    let stream = replace_once(EVENTS_STREAM, "size_param = \"limit\"\npage_size = 2\n", "");
    let conn = connect(&mock_manifest(&base, &stream));
    conn.fetch_page("events", None, Some(&PageToken::Token("abc".into())))
        .await
        .expect("page");
    assert_eq!(hits(&log)[0].query, query_of(&[("page_token", "abc")]));
}

// ---------------------------------------------------------------------------
// Auth kinds
// ---------------------------------------------------------------------------

const ONE_PAGE_STREAM: &str =
    "name = \"s\"\npath = \"/s\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"next_link\"\n";

#[tokio::test]
async fn bearer_and_api_key_auth_send_their_headers() {
    let (base, log) = mock(|_: &Hit| ok(json!([]))).await;
    let bearer = replace_once(
        &mock_manifest(&base, ONE_PAGE_STREAM),
        "[[streams]]",
        "[auth]\ntype = \"bearer\"\ntoken = \"tok-123\"\n\n[[streams]]",
    );
    connect(&bearer)
        .fetch_page("s", None, None)
        .await
        .expect("bearer page");
    let api_key = replace_once(
        &mock_manifest(&base, ONE_PAGE_STREAM),
        "[[streams]]",
        "[auth]\ntype = \"api_key\"\nheader = \"X-API-Key\"\nvalue = \"key-456\"\n\n[[streams]]",
    );
    connect(&api_key)
        .fetch_page("s", None, None)
        .await
        .expect("api key page");
    let seen = hits(&log);
    let h = |i: usize, name: &str| {
        seen[i]
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(h(0, "authorization").as_deref(), Some("Bearer tok-123"));
    assert_eq!(h(1, "x-api-key").as_deref(), Some("key-456"));
    assert_eq!(h(1, "authorization"), None);
    assert_eq!(h(0, "accept").as_deref(), Some("application/json"));
}

#[test]
fn unresolvable_secret_fails_build_naming_system() {
    let text = replace_once(
        SERVICENOW,
        "env:SERVICENOW_PASSWORD",
        "env:SWITCHBOARD_TEST_SURELY_UNSET_3F9A",
    );
    let text = replace_once(&text, "env:SERVICENOW_USERNAME", "admin");
    let m = manifest(&text);
    let err = m.config.build(&m.header).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Secret { system, .. } if system == "servicenow"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("SWITCHBOARD_TEST_SURELY_UNSET_3F9A"),
        "{err}"
    );
}

#[test]
fn override_with_bad_base_url_is_rejected() {
    let mut m = manifest(SERVICENOW);
    let err = m
        .config
        .apply_override(&ConnectorOverride {
            base_url: Some("not a url".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.contains("base_url `not a url` is not a URL"), "{err}");
}

// ---------------------------------------------------------------------------
// Response shapes
// ---------------------------------------------------------------------------

const RESULT_STREAM: &str = "name = \"s\"\npath = \"/s\"\nrecords = \"result\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"offset\"\nlimit_param = \"limit\"\noffset_param = \"offset\"\npage_size = 10\n\n[streams.cursor]\nfield = \"updated\"\nparam = \"since\"\nformat = \"string\"\n";

#[tokio::test]
async fn records_path_not_an_array_is_shape_error() {
    let (base, _log) = mock(|_: &Hit| ok(json!({"result": {"id": "1"}}))).await;
    let conn = connect(&mock_manifest(&base, RESULT_STREAM));
    let err = conn.fetch_page("s", None, None).await.unwrap_err();
    match &err {
        ConnectorError::Shape {
            system,
            url,
            message,
        } => {
            assert_eq!(system, "mock");
            assert_eq!(url, &format!("{base}/s"));
            assert_eq!(message, "`result` is not an array but an object");
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("mock: unexpected response from {base}/s: `result` is not an array but an object")
    );
}

#[tokio::test]
async fn records_path_missing_is_shape_error() {
    let (base, _log) = mock(|_: &Hit| ok(json!({"data": []}))).await;
    let conn = connect(&mock_manifest(&base, RESULT_STREAM));
    let err = conn.fetch_page("s", None, None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Shape { message, .. } if message == "no `result` in the response body"),
        "{err:?}"
    );
}

#[tokio::test]
async fn non_json_body_is_shape_error_not_retried() {
    let (base, log) = mock(|_: &Hit| "<html>maintenance</html>".into_response()).await;
    let conn = connect(&mock_manifest(&base, RESULT_STREAM));
    let err = conn.fetch_page("s", None, None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Shape { message, .. } if message.starts_with("body is not JSON") && message.contains("<html>maintenance</html>")),
        "{err:?}"
    );
    assert_eq!(hits(&log).len(), 1);
}

#[tokio::test]
async fn missing_or_empty_key_gives_record_without_key() {
    let (base, _log) = mock(|_: &Hit| {
        ok(json!({"result": [
            {"id": "a", "updated": "u1"},
            {"name": "no id"},
            {"id": "", "updated": "u3"},
            {"id": 7, "updated": 42},
            {"id": null}
        ]}))
    })
    .await;
    let conn = connect(&mock_manifest(&base, RESULT_STREAM));
    let page = conn.fetch_page("s", None, None).await.expect("page");
    assert_eq!(
        keys(&page),
        vec![Some("a".into()), None, None, Some("7".into()), None]
    );
    let cursors: Vec<Option<String>> = page.records.iter().map(|r| r.cursor.clone()).collect();
    assert_eq!(
        cursors,
        vec![
            Some("u1".into()),
            None,
            Some("u3".into()),
            Some("42".into()),
            None
        ]
    );
    // The payload is kept whole, key or not.
    assert_eq!(page.records[1].payload, json!({"name": "no id"}));
    // Five records on a page of ten: the last page.
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn unknown_stream_is_an_error() {
    let conn = connect(&mock_manifest("http://127.0.0.1:9", RESULT_STREAM));
    let err = conn.fetch_page("nope", None, None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::UnknownStream { system, stream } if system == "mock" && stream == "nope"),
        "{err:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_retried_then_transport_error() {
    // Bind and drop to find a port nothing listens on.
    let addr = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        l.local_addr().expect("addr")
    };
    let base = format!("http://{addr}");
    let conn = connect(&mock_manifest(&base, RESULT_STREAM));
    let err = conn.fetch_page("s", None, None).await.unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Transport { system, url, .. } if system == "mock" && url == &format!("{base}/s")),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------
// Link header parsing
// ---------------------------------------------------------------------------

fn links(values: &[&str]) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    for v in values {
        h.append(
            reqwest::header::LINK,
            v.parse().expect("valid header value"),
        );
    }
    h
}

#[test]
fn link_next_picks_next_among_several_links() {
    let h = links(&[
        "<https://api.example.com/items?page=1>; rel=\"first\", <https://api.example.com/items?page=2>; rel=\"prev\", <https://api.example.com/items?page=4>; rel=\"next\", <https://api.example.com/items?page=9>; rel=\"last\"",
    ]);
    assert_eq!(
        link_next(&h).as_deref(),
        Some("https://api.example.com/items?page=4")
    );
}

#[test]
fn link_next_accepts_unquoted_rel_and_other_params() {
    let h = links(&["<https://a.example/x?p=2>; rel=next"]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=2"));
    let h = links(&["</x?p=3>; title=\"more\"; rel=\"next\""]);
    assert_eq!(link_next(&h).as_deref(), Some("/x?p=3"));
    // ServiceNow writes no space after the `;`.
    let h = links(&[
        "<https://sn.example/t?o=0>;rel=\"first\",<https://sn.example/t?o=10>;rel=\"next\"",
    ]);
    assert_eq!(link_next(&h).as_deref(), Some("https://sn.example/t?o=10"));
}

#[test]
fn link_next_reads_every_link_header() {
    let h = links(&[
        "<https://a.example/x?p=1>; rel=\"prev\"",
        "<https://a.example/x?p=3>; rel=\"next\"",
    ]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=3"));
}

#[test]
fn link_next_is_none_without_next() {
    assert_eq!(link_next(&links(&[])), None);
    let h = links(&[
        "<https://a.example/x?p=1>; rel=\"first\", <https://a.example/x?p=1>; rel=\"last\"",
    ]);
    assert_eq!(link_next(&h), None);
    // `next` as another parameter's value is not a relation.
    let h = links(&["<https://a.example/x?p=2>; title=\"next\""]);
    assert_eq!(link_next(&h), None);
    let h = links(&["<https://a.example/x?p=2>; rel=\"nextish\""]);
    assert_eq!(link_next(&h), None);
}

#[test]

fn link_next_keeps_commas_inside_the_target() {
    let h = links(&[
        "<https://a.example/x?fields=id,name&p=1>; rel=\"prev\", <https://a.example/x?fields=id,name&p=3>; rel=\"next\"",
    ]);
    assert_eq!(
        link_next(&h).as_deref(),
        Some("https://a.example/x?fields=id,name&p=3")
    );
}

#[test]
fn link_next_matches_next_among_several_relation_types() {
    let h = links(&["<https://a.example/x?p=2>; rel=\"next last\""]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=2"));
    let h = links(&["<https://a.example/x?p=2>; REL=\"Next\""]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=2"));
}

// ---------------------------------------------------------------------------
// Manifest validation
// ---------------------------------------------------------------------------

#[test]
fn unknown_stream_key_is_located_with_did_you_mean() {
    let text = replace_once(SERVICENOW, "records = \"result\"", "recrods = \"result\"");
    let d = manifest_error(&text);
    assert!(d.message.contains("unknown field `recrods`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `records`?"));
    assert_eq!((d.line, d.col), pos(&text, "recrods"));
    assert_eq!(d.file, std::path::Path::new("connectors/t.toml"));
}

#[test]
fn unknown_top_level_key_suggests_kind_key() {
    let text = replace_once(SERVICENOW, "base_url =", "base_ulr =");
    let d = manifest_error(&text);
    assert!(d.message.contains("unknown field `base_ulr`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `base_url`?"));
    assert_eq!(d.line, pos(&text, "base_ulr").0);
}

#[test]
fn bad_cursor_format_is_located() {
    let text = replace_once(
        SERVICENOW,
        "format = \"%Y-%m-%d %H:%M:%S\"",
        "format = \"YYYY-MM-DD HH:mm:ss\"",
    );
    let d = manifest_error(&text);
    assert!(
        d.message
            .starts_with("`streams.0.cursor.format`: `YYYY-MM-DD HH:mm:ss` is not a cursor format"),
        "{d}"
    );
    assert_eq!((d.line, d.col), pos(&text, "format = \"YYYY"));
}

#[test]
fn cursor_template_without_placeholder_is_rejected() {
    let text = replace_once(
        SERVICENOW,
        "template = \"sys_updated_on>={cursor}^ORDERBYsys_updated_on^ORDERBYsys_id\"",
        "template = \"sys_updated_on>=javascript:gs.daysAgo(1)\"",
    );
    let d = manifest_error(&text);
    assert_eq!(
        d.message,
        "`streams.0.cursor.template`: the template must contain `{cursor}`"
    );
    assert_eq!((d.line, d.col), pos(&text, "template ="));
}

#[test]
fn cursor_initial_not_matching_format_is_rejected() {
    let text = replace_once(
        SERVICENOW,
        "overlap_secs = 60",
        "overlap_secs = 60\ninitial = \"2024-06-01T00:00:00Z\"",
    );
    let d = manifest_error(&text);
    assert!(d.message.starts_with("`streams.0.cursor.initial`"), "{d}");
    assert!(
        d.message.contains("does not match the cursor format"),
        "{d}"
    );
    assert_eq!(d.line, pos(&text, "initial =").0);
}

#[test]
fn duplicate_stream_names_are_rejected_at_the_second() {
    let second = "\n[[streams]]\nname = \"incident\"\npath = \"/api/now/table/incident_task\"\nrecords = \"result\"\nkey = \"sys_id\"\n\n[streams.pagination]\ntype = \"next_link\"\n";
    let text = format!("{SERVICENOW}{second}");
    let d = manifest_error(&text);
    assert_eq!(d.message, "`streams.1.name`: duplicate stream `incident`");
    let first_line = pos(&text, "name = \"incident\"").0;
    let second_line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("name = \"incident\""))
        .map(|(i, _)| i + 1)
        .nth(1)
        .expect("second stream");
    assert_ne!(first_line, second_line);
    assert_eq!((d.line, d.col), (second_line, 1));
}

#[test]
fn bad_base_url_is_rejected() {
    let text = replace_once(
        SERVICENOW,
        "base_url = \"https://your-instance.service-now.com\"",
        "base_url = \"your-instance.service-now.com\"",
    );
    let d = manifest_error(&text);
    assert!(d.message.starts_with("`base_url`: not a URL"), "{d}");
    assert_eq!((d.line, d.col), pos(&text, "base_url ="));
}

#[test]
fn cursor_param_also_in_query_is_rejected() {
    let text = replace_once(
        SERVICENOW,
        "sysparm_exclude_reference_link = \"true\"\n",
        "sysparm_exclude_reference_link = \"true\"\nsysparm_query = \"active=true\"\n",
    );
    let d = manifest_error(&text);
    assert!(
        d.message
            .starts_with("`streams.0.cursor.param`: `sysparm_query` is also set in `query`"),
        "{d}"
    );
    assert_eq!((d.line, d.col), pos(&text, "param = \"sysparm_query\""));
}

#[test]
fn unknown_pagination_type_is_rejected_with_hint() {
    let text = replace_once(SERVICENOW, "type = \"offset\"", "type = \"offest\"");
    let d = manifest_error(&text);
    assert!(d.message.contains("unknown variant `offest`"), "{d}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `offset`?"));
    // At the value, where the typo is.
    assert_eq!((d.line, d.col), pos(&text, "\"offest\""));
}

#[test]
fn zero_page_size_is_rejected() {
    let text = replace_once(SERVICENOW, "page_size = 100", "page_size = 0");
    let d = manifest_error(&text);
    assert_eq!(
        d.message,
        "`streams.0.pagination`: `page_size` must be at least 1"
    );
    assert_eq!(d.line, pos(&text, "[streams.pagination]").0);
}

#[test]
fn manifest_without_streams_is_rejected() {
    let text = "version = 1\nsystem = \"x\"\nkind = \"rest\"\ndepartment = \"it\"\nbase_url = \"https://x.example\"\nstreams = []\n";
    let d = manifest_error(text);
    assert!(d.message.contains("at least one `[[streams]]`"), "{d}");
    assert_eq!(d.line, 6);
}

#[tokio::test]
async fn next_link_to_another_origin_is_refused() {
    let (base, log) = mock(|_: &Hit| {
        (
            [(
                header::LINK,
                "<https://elsewhere.example/steal?page=2>; rel=\"next\"",
            )],
            axum::Json(json!([{"id": "1"}])),
        )
            .into_response()
    })
    .await;
    let stream = "name = \"items\"\npath = \"/api/items\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"next_link\"\n";
    let conn = connect(&mock_manifest(&base, stream));
    let err = conn.fetch_page("items", None, None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Shape { .. }), "{err:?}");
    assert!(err.to_string().contains("leaves"), "{err}");
    assert_eq!(hits(&log).len(), 1, "the foreign link is never requested");
}

#[tokio::test]
async fn offset_paging_trusts_total_count_over_a_capped_page() {
    // The server caps pages at 2 although we ask for 5, and says 5 match.
    let (base, log) = mock(|hit: &Hit| {
        let offset: usize = hit.q("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
        let ids: Vec<Value> = (offset..(offset + 2).min(5))
            .map(|i| json!({"id": i.to_string()}))
            .collect();
        ([("x-total-count", "5")], axum::Json(json!(ids))).into_response()
    })
    .await;
    let stream = "name = \"items\"\npath = \"/items\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"offset\"\nlimit_param = \"limit\"\noffset_param = \"offset\"\npage_size = 5\n";
    let conn = connect(&mock_manifest(&base, stream));
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = conn
            .fetch_page("items", None, token.as_ref())
            .await
            .expect("page");
        seen.extend(keys(&page));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, some(&["0", "1", "2", "3", "4"]));
    // Pages of two that overlap by one bring one new record each.
    assert_eq!(hits(&log).len(), 4);
}

#[tokio::test]
async fn offset_page_after_a_change_to_an_earlier_page_is_flagged_shifted() {
    let h = sim(25).await;
    let conn = servicenow(&h, &servicenow_text(10, ""), "sim-password");
    let p1 = conn
        .fetch_page("incident", Some(FROM), None)
        .await
        .expect("page 1");
    // Two records of page 1 change: they move to the end, the rest moves up two places.
    for r in &p1.records[..2] {
        let id = r.key.clone().expect("key");
        let mut fields = serde_json::Map::new();
        fields.insert("state".into(), json!("2"));
        assert!(h.sim.update("incident", &id, fields));
    }
    let p2 = conn
        .fetch_page("incident", Some(FROM), p1.next.as_ref())
        .await
        .expect("page 2");
    assert!(p2.shifted, "the re-read record is no longer where it was");
    // Not re-reading it means its slot holds a record we have not seen: keep it.
    assert_eq!(p2.records.len(), 10);
}
