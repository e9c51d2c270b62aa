use super::*;

// ---------------------------------------------------------------------------
// Search bodies, repeated parameters, static headers, `Range` paging and
// write-back actions, against a server that records whole requests.
// ---------------------------------------------------------------------------

/// One whole request, as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) method: String,
    pub(super) path: String,
    /// The raw query, in order, repeats kept.
    pub(super) query: Vec<(String, String)>,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<Value>,
}

impl Call {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Calls = Arc<Mutex<Vec<Call>>>;

/// Serve `respond` (given the call and how many came before it).
async fn recorder<F>(respond: F) -> (String, Calls)
where
    F: Fn(&Call, usize) -> Response + Clone + Send + Sync + 'static,
{
    let calls: Calls = Arc::default();
    let log = calls.clone();
    let app = Router::new().fallback(
        move |method: axum::http::Method, uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
            let log = log.clone();
            let respond = respond.clone();
            async move {
                let call = Call {
                    method: method.to_string(),
                    path: uri.path().to_string(),
                    query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect(),
                    headers,
                    body: serde_json::from_slice(&body).ok(),
                };
                let n = {
                    let mut log = log.lock().expect("log lock");
                    log.push(call.clone());
                    log.len() - 1
                };
                respond(&call, n)
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), calls)
}

fn calls(log: &Calls) -> Vec<Call> {
    log.lock().expect("log lock").clone()
}

fn status(code: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(code).expect("status"),
        axum::Json(body),
    )
        .into_response()
}

const SEARCH: &str = r#"
[headers]
X-Api-Version = "2024-01"

[[streams]]
name = "people"
path = "/search"
method = "POST"
records = "rows"
key = "id"
body = '''{"filters": {"changedSince": "{cursor}"}, "page": {"size": {limit}, "offset": {offset}}}'''

[streams.query]
fields = ["id", "name"]

[streams.headers]
X-Report = "people"

[streams.pagination]
type = "offset"
limit_param = "limit"
offset_param = "offset"
page_size = 2

[streams.cursor]
field = "changed"
format = "string"
"#;

fn manifest_with(base: &str, rest: &str) -> String {
    format!(
        "version = 1\nsystem = \"mock\"\nkind = \"rest\"\ndepartment = \"hr\"\nbase_url = \"{base}\"\n\n[http]\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\nmax_attempts = 3\n{rest}"
    )
}

#[tokio::test]
async fn a_post_search_carries_cursor_and_paging_in_its_body() {
    let (base, log) = recorder(|call: &Call, n| {
        if n == 0 {
            // A read-only POST is retried like a GET.
            return status(500, json!({"error": "busy"}));
        }
        let offset = call
            .body
            .as_ref()
            .and_then(|b| b["page"]["offset"].as_u64());
        let rows: Vec<Value> = (offset.unwrap_or(0)..5)
            .take(2)
            .map(|i| json!({"id": i, "changed": format!("c{i}")}))
            .collect();
        ok(json!({ "rows": rows }))
    })
    .await;
    let conn = connect(&manifest_with(&base, SEARCH));
    let from = "2024-01-01T00:00:00\"Z";
    let first = conn.fetch_page("people", Some(from), None).await.unwrap();
    assert_eq!(keys(&first), some(&["0", "1"]));
    let second = conn
        .fetch_page("people", Some(from), first.next.as_ref())
        .await
        .unwrap();
    assert_eq!(keys(&second), some(&["2"]));
    let seen = calls(&log);
    assert_eq!(seen.len(), 3, "{seen:?}");
    let call = &seen[2];
    assert_eq!(call.method, "POST");
    // The list repeats the parameter; paging went into the body, not the query.
    assert_eq!(
        call.query,
        vec![
            ("fields".into(), "id".into()),
            ("fields".into(), "name".into())
        ]
    );
    assert_eq!(
        call.body,
        Some(json!({"filters": {"changedSince": from}, "page": {"size": 2, "offset": 1}}))
    );
    assert_eq!(call.header("x-api-version"), Some("2024-01"));
    assert_eq!(call.header("x-report"), Some("people"));
}

const RANGED: &str = r#"
[[streams]]
name = "assets"
path = "/assets"
key = "id"

[streams.pagination]
type = "range"
page_size = 2
"#;

/// Five assets behind `Range: items=a-b`, as dojo-style stores serve them.
fn ranged(call: &Call, _: usize) -> Response {
    let range = call.header("range").unwrap_or("");
    let (start, end) = range
        .strip_prefix("items=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
        .unwrap_or((0, 4));
    let end = end.min(4);
    let items: Vec<Value> = (start..=end).map(|i| json!({"id": i})).collect();
    (
        StatusCode::PARTIAL_CONTENT,
        [(header::CONTENT_RANGE, format!("items {start}-{end}/5"))],
        axum::Json(items),
    )
        .into_response()
}

#[tokio::test]
async fn range_paging_asks_by_header_and_stops_at_the_total() {
    let (base, log) = recorder(ranged).await;
    let conn = connect(&manifest_with(&base, RANGED));
    let mut token = None;
    let mut all = Vec::new();
    for _ in 0..5 {
        let page = conn
            .fetch_page("assets", None, token.as_ref())
            .await
            .unwrap();
        all.extend(keys(&page));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(all, some(&["0", "1", "2", "3", "4"]));
    let ranges: Vec<_> = calls(&log)
        .iter()
        .map(|c| c.header("range").unwrap_or("").to_string())
        .collect();
    assert_eq!(ranges, ["items=0-1", "items=2-3", "items=4-5"]);
}

const ACTIONS: &str = r#"
[[streams]]
name = "tickets"
path = "/tickets"
key = "id"

[streams.pagination]
type = "next_link"

[actions.create]
method = "POST"
path = "/tickets"
id = "result.id"

[actions.update]
method = "PATCH"
path = "/tickets/{id}"
headers = { X-Method = "merge" }

[actions.replace]
method = "PUT"
path = "/tickets/{id}"

[actions.file]
method = "POST"
path = "/queues/{body.queue}/tickets"
id_header = "Location"
query = { view = ["lean", "ids"] }
"#;

fn input(id: Option<&str>, body: Value) -> ActionInput {
    ActionInput {
        target_id: id.map(str::to_string),
        body,
    }
}

#[tokio::test]
async fn actions_send_the_rendered_body_and_read_back_the_id() {
    let (base, log) = recorder(
        |call: &Call, _| match (call.method.as_str(), call.path.as_str()) {
            ("POST", "/tickets") => status(201, json!({"result": {"id": "T-9"}})),
            ("PATCH", _) => StatusCode::NO_CONTENT.into_response(),
            _ => (
                StatusCode::CREATED,
                [(
                    header::LOCATION,
                    "http://elsewhere/queues/facilities/tickets/WO-7?lean=1",
                )],
            )
                .into_response(),
        },
    )
    .await;
    let conn = connect(&manifest_with(&base, ACTIONS));
    assert_eq!(conn.actions(), ["create", "file", "replace", "update"]);
    let made = conn
        .perform("create", &input(None, json!({"title": "No heating"})))
        .await
        .unwrap();
    assert_eq!((made.id.as_deref(), made.status), (Some("T-9"), 201));
    let updated = conn
        .perform("update", &input(Some("T 9/x"), json!({"status": "done"})))
        .await
        .unwrap();
    assert_eq!(
        (updated.id.as_deref(), updated.status),
        (Some("T 9/x"), 204)
    );
    let filed = conn
        .perform("file", &input(None, json!({"queue": "facilities"})))
        .await
        .unwrap();
    assert_eq!(filed.id.as_deref(), Some("WO-7"));

    let seen = calls(&log);
    assert_eq!(seen[0].body, Some(json!({"title": "No heating"})));
    assert_eq!(seen[1].method, "PATCH");
    assert_eq!(seen[1].path, "/tickets/T%209%2Fx");
    assert_eq!(seen[1].header("x-method"), Some("merge"));
    assert_eq!(seen[2].path, "/queues/facilities/tickets");
    assert_eq!(
        seen[2].query,
        vec![
            ("view".into(), "lean".into()),
            ("view".into(), "ids".into())
        ]
    );
}

#[tokio::test]
async fn a_refused_write_keeps_the_whole_exchange_and_is_not_retried() {
    let (base, log) =
        recorder(|_: &Call, _| status(422, json!({"error": {"message": "urgency must be 1-3"}})))
            .await;
    let conn = connect(&manifest_with(&base, ACTIONS));
    let err = conn
        .perform("create", &input(None, json!({"urgency": 9})))
        .await
        .unwrap_err();
    let ConnectorError::Rejected { system, exchange } = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "mock");
    assert_eq!(exchange.method, "POST");
    assert_eq!(exchange.status, 422);
    assert_eq!(exchange.request_body, Some(json!({"urgency": 9})));
    assert!(exchange.response_body.contains("urgency must be 1-3"));
    assert!(!err.is_transient());
    assert_eq!(calls(&log).len(), 1);
}

#[tokio::test]
async fn a_create_is_resent_only_when_the_server_surely_did_not_act() {
    // 500: the server may have created the record, so the create is not
    // sent again; the error is transient, for a later, checked retry.
    let (base, log) = recorder(|_: &Call, _| status(500, json!({}))).await;
    let conn = connect(&manifest_with(&base, ACTIONS));
    let err = conn
        .perform("create", &input(None, json!({})))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(calls(&log).len(), 1);
    // Nor a PATCH: it may append (a journal field, a comment).
    let err = conn
        .perform("update", &input(Some("1"), json!({})))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(calls(&log).len(), 2);
    // A PUT is idempotent: retried up to max_attempts.
    let err = conn
        .perform("replace", &input(Some("1"), json!({})))
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(calls(&log).len(), 5);

    // 503 says the server did not take the request: resent, then created.
    let (base, log) = recorder(|_: &Call, n| match n {
        0 => status(503, json!({})),
        _ => status(201, json!({"result": {"id": "T-1"}})),
    })
    .await;
    let conn = connect(&manifest_with(&base, ACTIONS));
    let made = conn
        .perform("create", &input(None, json!({})))
        .await
        .unwrap();
    assert_eq!(made.id.as_deref(), Some("T-1"));
    assert_eq!(calls(&log).len(), 2);
}

#[tokio::test]
async fn an_action_without_its_id_or_name_fails_before_sending() {
    let (base, log) = recorder(|_: &Call, _| StatusCode::NO_CONTENT.into_response()).await;
    let conn = connect(&manifest_with(&base, ACTIONS));
    let err = conn
        .perform("update", &input(None, json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mock: action `update`: the path `/tickets/{id}` needs {id}, which has no value"
    );
    let err = conn
        .perform("close", &input(None, json!({})))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "mock: no action named `close` (actions: create, file, replace, update)"
    );
    assert!(calls(&log).is_empty());
}

#[test]
fn bad_actions_and_bodies_are_refused_at_their_key() {
    let cases = [
        (
            ACTIONS.replace("method = \"PATCH\"", "method = \"GET\""),
            "actions.update.method",
            "an action writes with one of POST, PUT, PATCH, DELETE",
        ),
        (
            ACTIONS.replace("/tickets/{id}", "/tickets/{sys_id}"),
            "actions.update.path",
            "unknown placeholder `{sys_id}`",
        ),
        (
            SEARCH.replace("method = \"POST\"\n", ""),
            "streams.0.body",
            "a `body` needs `method = \"POST\"`",
        ),
        (
            SEARCH.replace("\"offset\": {offset}}}", "\"offset\": {offset}}"),
            "streams.0.body",
            "not JSON once its placeholders are filled",
        ),
        (
            SEARCH.replace("{cursor}", "x"),
            "streams.0.cursor",
            "or put `{cursor}` in the stream's `body`",
        ),
    ];
    for (text, key, message) in cases {
        let d = manifest_error(&manifest_with("http://x", &text));
        let shown = d.to_string();
        assert!(shown.contains(message), "{key}: {shown}");
        assert!(shown.contains("connectors/t.toml:"), "{key}: {shown}");
    }
}
