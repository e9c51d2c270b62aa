use super::*;

// ---------------------------------------------------------------------------
// Response shapes
// ---------------------------------------------------------------------------

pub(super) const RESULT_STREAM: &str = "name = \"s\"\npath = \"/s\"\nrecords = \"result\"\nkey = \"id\"\n\n[streams.pagination]\ntype = \"offset\"\nlimit_param = \"limit\"\noffset_param = \"offset\"\npage_size = 10\n\n[streams.cursor]\nfield = \"updated\"\nparam = \"since\"\nformat = \"string\"\n";

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
            // With the query, so the request can be told from others.
            assert_eq!(url, &format!("{base}/s?limit=10&offset=0"));
            assert_eq!(
                message,
                "`result` is neither an array nor an object of records but an object"
            );
        }
        other => panic!("expected a shape error, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "mock: unexpected response from {base}/s?limit=10&offset=0: `result` is neither an array nor an object of records but an object"
        )
    );
}

#[tokio::test]
async fn records_keyed_by_id_are_read_as_the_object_values() {
    let (base, _log) = mock(|_: &Hit| {
        ok(json!({"result": {
            "7": {"id": "7", "updated": "b"},
            "3": {"id": "3", "updated": "a"},
        }}))
    })
    .await;
    let conn = connect(&mock_manifest(&base, RESULT_STREAM));
    let page = conn.fetch_page("s", None, None).await.unwrap();
    let mut keys: Vec<_> = page.records.iter().filter_map(|r| r.key.clone()).collect();
    keys.sort();
    assert_eq!(keys, ["3", "7"]);
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
async fn connection_refused_is_retried_then_unreachable() {
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
        matches!(&err, ConnectorError::Unreachable { system, url, .. } if system == "mock" && url == &format!("{base}/s?limit=10&offset=0")),
        "{err:?}"
    );
    assert!(err.is_transient() && !err.may_have_applied());
}
