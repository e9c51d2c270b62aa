//! Paging against scripted servers: page numbers, next links (body and
//! `Link` header), cursor tokens and offsets, each until the server says
//! it is done.

use super::*;

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

pub(super) const EVENTS_STREAM: &str = r#"name = "events"
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

/// Read every page of `items`, returning the keys seen.
async fn read_all(conn: &dyn Connector) -> Vec<Option<String>> {
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
            return seen;
        }
    }
}

#[tokio::test]
async fn offset_paging_stops_where_the_body_says_the_last_page_is() {
    // Jira Service Management: `isLastPage` is true on the last page, which
    // here is full, so a short-page rule would ask once more.
    let (base, log) = mock(|hit: &Hit| {
        let start: usize = hit.q("start").and_then(|o| o.parse().ok()).unwrap_or(0);
        let values: Vec<Value> = (start..(start + 3).min(6))
            .map(|i| json!({"id": i.to_string()}))
            .collect();
        axum::Json(
            json!({"start": start, "limit": 3, "isLastPage": start + 3 >= 6, "values": values}),
        )
        .into_response()
    })
    .await;
    let stream = "name = \"items\"\npath = \"/items\"\nrecords = \"values\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"offset\"\nlimit_param = \"limit\"\noffset_param = \"start\"\npage_size = 3\nlast_page_path = \"isLastPage\"\n";
    let conn = connect(&mock_manifest(&base, stream));
    assert_eq!(
        read_all(conn.as_ref()).await,
        some(&["0", "1", "2", "3", "4", "5"])
    );
    let starts: Vec<String> = hits(&log)
        .iter()
        .map(|h| h.q("start").unwrap_or("").to_string())
        .collect();
    // Pages overlap by one record; no request after the last page.
    assert_eq!(starts, ["0", "2", "4"]);
}

#[tokio::test]
async fn offset_paging_follows_partial_content_until_a_plain_ok() {
    // TOPdesk: 206 while more pages follow, 200 on the last, 204 when
    // nothing matches at all.
    let (base, log) = mock(|hit: &Hit| {
        let start: usize = hit.q("pageStart").and_then(|o| o.parse().ok()).unwrap_or(0);
        if hit.q("query") == Some("none") {
            return axum::http::StatusCode::NO_CONTENT.into_response();
        }
        let ids: Vec<Value> = (start..(start + 2).min(5))
            .map(|i| json!({"id": i.to_string()}))
            .collect();
        let status = if start + 2 < 5 { 206 } else { 200 };
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            axum::Json(json!(ids)),
        )
            .into_response()
    })
    .await;
    let stream = "name = \"items\"\npath = \"/items\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"offset\"\nlimit_param = \"pageSize\"\noffset_param = \"pageStart\"\npage_size = 2\nmore_status = 206\n";
    let conn = connect(&mock_manifest(&base, stream));
    assert_eq!(
        read_all(conn.as_ref()).await,
        some(&["0", "1", "2", "3", "4"])
    );
    assert_eq!(hits(&log).len(), 4);

    let empty = stream.replace("key = \"id\"", "key = \"id\"\nquery = { query = \"none\" }");
    let conn = connect(&mock_manifest(&base, &empty));
    assert!(
        read_all(conn.as_ref()).await.is_empty(),
        "204 is an empty page, not an error"
    );
}
