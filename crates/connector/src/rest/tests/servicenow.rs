use super::*;

// ---------------------------------------------------------------------------
// ServiceNow simulator
// ---------------------------------------------------------------------------

/// The shipped manifest with a smaller page and extra `[http]` settings.
pub(super) fn servicenow_text(page_size: u32, http_extra: &str) -> String {
    let text = replace_once(
        *SERVICENOW,
        "page_size = 100",
        &format!("page_size = {page_size}"),
    );
    replace_once(&text, "[http]\n", &format!("[http]\n{http_extra}\n"))
}

pub(super) async fn sim(incidents: usize) -> SimHandle {
    ServiceNowSim::spawn(SimConfig {
        incidents,
        ..Default::default()
    })
    .await
    .expect("start simulator")
}

/// Build the connector as the daemon does: manifest, then environment override.
pub(super) fn servicenow(h: &SimHandle, text: &str, password: &str) -> Arc<dyn Connector> {
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

pub(super) fn statuses(h: &SimHandle) -> Vec<u16> {
    h.sim.requests().iter().map(|r| r.status).collect()
}

#[test]
fn shipped_servicenow_manifest_declares_incident_stream_with_cursor() {
    let m = manifest(*SERVICENOW);
    assert_eq!(m.header.system, "servicenow");
    assert_eq!(m.header.kind, "rest");
    let streams = m.config.streams();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].name, "incident");
    let c = streams[0].cursor.as_ref().expect("incident has a cursor");
    assert_eq!(c.fields, vec![vec!["sys_updated_on".to_string()]]);
    assert_eq!(
        c.format,
        crate::CursorFormat::DateTime(
            crate::cursor::TimePattern::new("%Y-%m-%d %H:%M:%S").unwrap(),
        )
    );
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
        ConnectorError::Rejected { system, exchange } => {
            assert_eq!(system, "servicenow");
            assert_eq!(exchange.status, 400);
            assert_eq!(exchange.method, "GET");
            assert_eq!(exchange.url, format!("{}/api/now/table/nope", h.base_url));
            // The whole exchange is kept, query included, for whoever
            // handles the refusal.
            assert!(
                exchange.query.iter().any(|(k, _)| k == "sysparm_limit"),
                "{:?}",
                exchange.query
            );
            assert!(
                exchange.response_body.contains("Invalid table nope"),
                "{}",
                exchange.response_body
            );
            assert!(!err.is_transient());
        }
        other => panic!("expected a refusal, got {other:?}"),
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
        *SERVICENOW,
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
