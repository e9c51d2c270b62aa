//! Small scripted servers for the `rest` kind's tests: a mock that logs
//! every request it answers, and the manifests and page servers the paging
//! tests share.

use super::*;

/// One request a mock server received.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub(super) path: String,
    pub(super) query: BTreeMap<String, String>,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

impl Hit {
    pub(super) fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub(super) fn host(&self) -> String {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        format!("http://{host}")
    }
}

pub(super) type Hits = Arc<Mutex<Vec<Hit>>>;

/// Serve `respond` on 127.0.0.1:0; returns the base URL and the request log.
pub(super) async fn mock<F>(respond: F) -> (String, Hits)
where
    F: Fn(&Hit) -> Response + Clone + Send + Sync + 'static,
{
    let hits: Hits = Arc::default();
    let log = hits.clone();
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: String| {
        let log = log.clone();
        let respond = respond.clone();
        async move {
            let hit = Hit {
                path: uri.path().to_string(),
                query: url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect(),
                headers,
                body,
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

pub(super) fn hits(log: &Hits) -> Vec<Hit> {
    log.lock().expect("log lock").clone()
}

pub(super) fn ok(body: Value) -> Response {
    axum::Json(body).into_response()
}

pub(super) fn query_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A manifest for a mock server; `stream` is the body of one `[[streams]]`.
pub(super) fn mock_manifest(base: &str, stream: &str) -> String {
    format!(
        "version = 1\nsystem = \"mock\"\nkind = \"rest\"\ndepartment = \"hr\"\nbase_url = \"{base}\"\n\n[http]\ninitial_backoff_ms = 1\nrate_limit_per_sec = 0\nmax_attempts = 2\n\n[[streams]]\n{stream}"
    )
}

pub(super) fn keys(page: &Page) -> Vec<Option<String>> {
    page.records.iter().map(|r| r.key.clone()).collect()
}

pub(super) fn some(keys: &[&str]) -> Vec<Option<String>> {
    keys.iter().map(|k| Some(k.to_string())).collect()
}

pub(super) const PAGE_NUMBER_STREAM: &str = r#"name = "people"
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
pub(super) fn people_server(
    first: u64,
) -> impl Fn(&Hit) -> Response + Clone + Send + Sync + 'static {
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
