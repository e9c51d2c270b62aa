//! The `jsonrpc` kind against a small scripted JSON-RPC server: envelopes
//! of both protocol versions, login and its renewal, paging, error
//! classification with secrets masked, and manifest validation.

use std::sync::Mutex;

use axum::Router;
use axum::routing::post;
use serde_json::{Value, json};

use super::*;
use crate::{ActionInput, Manifest};

type Log = Arc<Mutex<Vec<Value>>>;

/// Serve `respond(request, n)` at `/rpc`; returns the base URL and the log.
async fn server<F>(respond: F) -> (String, Log)
where
    F: Fn(&Value, usize) -> Value + Clone + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let seen = log.clone();
    let app = Router::new().route(
        "/rpc",
        post(move |axum::Json(req): axum::Json<Value>| {
            let seen = seen.clone();
            let respond = respond.clone();
            async move {
                let n = {
                    let mut l = seen.lock().expect("log");
                    l.push(req.clone());
                    l.len() - 1
                };
                axum::Json(respond(&req, n))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), log)
}

fn manifest_text(base: &str, protocol: &str) -> String {
    format!(
        r#"version = 1
system = "erp"
kind = "jsonrpc"
department = "finance"
base_url = "{base}"
endpoint = "/rpc"
protocol = "{protocol}"

[http]
initial_backoff_ms = 1
rate_limit_per_sec = 0

[vars]
db = "acme"
login = "sync"
password = "env:JSONRPC_TEST_KEY"

[session]
method = "call"
params = {{ service = "common", method = "login", args = ["${{vars.db}}", "${{vars.login}}", "${{vars.password}}"] }}

[errors]
auth = ["odoo.exceptions.AccessDenied"]

[[streams]]
name = "employees"
method = "call"
key = "id"
page_size = 2
params = {{ service = "object", method = "execute_kw", args = ["${{vars.db}}", "${{session}}", "${{vars.password}}", "hr.employee", "search_read", [[["write_date", ">=", "${{cursor}}"]]], {{ fields = ["name", "write_date"], offset = "${{offset}}", limit = "${{limit}}", order = "write_date asc, id asc" }}] }}

[streams.cursor]
field = "write_date"
format = "%Y-%m-%d %H:%M:%S"

[actions.create_order]
method = "call"
id = ""
params = {{ service = "object", method = "execute_kw", args = ["${{vars.db}}", "${{session}}", "${{vars.password}}", "purchase.order", "create", ["${{body}}"]] }}
"#
    )
}

fn connect(text: &str) -> Arc<dyn Connector> {
    // SAFETY: tests in this module set the same value; nothing else reads it.
    unsafe { std::env::set_var("JSONRPC_TEST_KEY", "k3y-s3cret") };
    let m = Manifest::from_source(&SourceFile::new("connectors/erp.toml", text))
        .unwrap_or_else(|d| panic!("manifest parses: {d}"));
    m.config.build(&m.header).expect("builds")
}

fn args(req: &Value) -> &Value {
    &req["params"]["args"]
}

/// Five employees; login answers uid 7; the first search after login
/// refuses the session once when `expire_once`.
fn odoo_like(expire_once: bool) -> impl Fn(&Value, usize) -> Value + Clone + Send + Sync {
    move |req: &Value, n: usize| {
        let id = req["id"].clone();
        let reply = |result: Value| json!({"jsonrpc": "2.0", "id": id, "result": result});
        if req["params"]["method"] == "login" {
            return reply(json!(7));
        }
        if expire_once && n == 1 {
            return json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": 200,
                "message": "Odoo Server Error",
                "data": {"name": "odoo.exceptions.AccessDenied", "message": "Access Denied"}}});
        }
        let kw = &args(req)[6];
        let (offset, limit) = (
            kw["offset"].as_u64().unwrap_or(0),
            kw["limit"].as_u64().unwrap_or(80),
        );
        let rows: Vec<Value> = (offset..5)
            .take(limit as usize)
            .map(|i| json!({"id": i + 1, "name": format!("E{i}"), "write_date": format!("2024-01-0{} 00:00:00", i + 1)}))
            .collect();
        reply(json!(rows))
    }
}

#[tokio::test]
async fn logs_in_once_then_pages_with_the_cursor_in_the_domain() {
    let (base, log) = server(odoo_like(false)).await;
    let conn = connect(&manifest_text(&base, "2.0"));
    let mut token = None;
    let mut keys = Vec::new();
    loop {
        let page = conn
            .fetch_page("employees", Some("2023-12-31 00:00:00"), token.as_ref())
            .await
            .unwrap();
        assert!(!page.shifted);
        keys.extend(page.records.iter().filter_map(|r| r.key.clone()));
        token = page.next;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(keys, ["1", "2", "3", "4", "5"]);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen[0]["params"]["method"], "login");
    assert_eq!(args(&seen[0]), &json!(["acme", "sync", "k3y-s3cret"]));
    assert_eq!(seen[0]["jsonrpc"], "2.0");
    assert_eq!(
        seen.iter()
            .filter(|r| r["params"]["method"] == "login")
            .count(),
        1,
        "the session is reused"
    );
    let search = &seen[1];
    assert_eq!(args(search)[1], json!(7), "the uid goes as a number");
    assert_eq!(
        args(search)[5],
        json!([[["write_date", ">=", "2023-12-31 00:00:00"]]])
    );
    // Pages overlap by one record to notice a shifting result set.
    let offsets: Vec<u64> = seen[1..]
        .iter()
        .map(|r| args(r)[6]["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn a_refused_session_is_renewed_once() {
    let (base, log) = server(odoo_like(true)).await;
    let conn = connect(&manifest_text(&base, "2.0"));
    let page = conn
        .fetch_page("employees", Some("2023-12-31 00:00:00"), None)
        .await
        .unwrap();
    assert_eq!(page.records.len(), 2);
    let methods: Vec<Value> = log
        .lock()
        .unwrap()
        .iter()
        .map(|r| r["params"]["method"].clone())
        .collect();
    assert_eq!(
        methods,
        [
            json!("login"),
            json!("execute_kw"),
            json!("login"),
            json!("execute_kw")
        ]
    );
}

#[tokio::test]
async fn bad_credentials_fail_as_auth_naming_the_connector() {
    let (base, _) =
        server(|req: &Value, _| json!({"jsonrpc": "2.0", "id": req["id"], "result": false})).await;
    let conn = connect(&manifest_text(&base, "2.0"));
    let err = conn.probe().await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("erp: authentication failed"), "{shown}");
    assert!(
        shown.contains("the login call `call` returned false"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_data_error_keeps_the_exchange_with_secrets_masked() {
    let (base, log) = server(|req: &Value, _| {
        if req["params"]["method"] == "login" {
            return json!({"id": req["id"], "result": 7, "error": null});
        }
        json!({"id": req["id"], "result": null, "error": {"code": 200, "message": "Odoo Server Error",
            "data": {"name": "odoo.exceptions.ValidationError", "message": "partner_id is required"}}})
    })
    .await;
    let conn = connect(&manifest_text(&base, "1.0"));
    let err = conn
        .perform(
            "create_order",
            &ActionInput {
                target_id: None,
                body: json!({"origin": "onboarding"}),
            },
        )
        .await
        .unwrap_err();
    let ConnectorError::Rejected { system, exchange } = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "erp");
    assert_eq!(exchange.method, "POST call");
    let sent = exchange.request_body.as_ref().expect("the request is kept");
    assert_eq!(args(sent)[2], json!("***"), "the key is masked");
    assert_eq!(args(sent)[5], json!([{"origin": "onboarding"}]));
    assert!(exchange.response_body.contains("partner_id is required"));
    assert!(!err.to_string().contains("k3y-s3cret"));
    assert!(!format!("{err:?}").contains("k3y-s3cret"));
    // JSON-RPC 1.0: no `jsonrpc` member; the wire had the real key.
    let seen = log.lock().unwrap().clone();
    assert!(seen[1].get("jsonrpc").is_none());
    assert_eq!(args(&seen[1])[2], json!("k3y-s3cret"));
}

#[tokio::test]
async fn a_create_reads_the_new_id_from_the_result() {
    let (base, _) = server(|req: &Value, _| {
        let result = if req["params"]["method"] == "login" {
            json!(7)
        } else {
            json!(42)
        };
        json!({"jsonrpc": "2.0", "id": req["id"], "result": result})
    })
    .await;
    let conn = connect(&manifest_text(&base, "2.0"));
    let out = conn
        .perform(
            "create_order",
            &ActionInput {
                target_id: None,
                body: json!({"partner_id": 3}),
            },
        )
        .await
        .unwrap();
    assert_eq!(out.id.as_deref(), Some("42"));
}

#[test]
fn manifest_mistakes_are_named_at_their_key() {
    let text = manifest_text("http://x", "2.0");
    let cases = [
        (
            text.replace("protocol = \"2.0\"", "protocol = \"3\""),
            "`1.0` or `2.0`",
        ),
        (
            text.replace("${vars.login}", "${vars.user}"),
            "no `user` in `[vars]`",
        ),
        (
            text.replacen("${cursor}", "x", 1),
            "must filter on `${cursor}`",
        ),
        (
            text.replace("offset = \"${offset}\", ", ""),
            "the params must page",
        ),
        (
            text.replace("[\"${body}\"]", "[\"${cursor}\"]"),
            "an action call has",
        ),
        (
            text.replace("page_size = 2", "page_size = 2\npagesize = 3"),
            "unknown field `pagesize`",
        ),
        (
            text.replace(
                "field = \"write_date\"",
                "field = \"write_date\"\nwrite_format = \"iso\"",
            ),
            "is not a write format",
        ),
        (
            text.replace(
                "field = \"write_date\"",
                "field = \"write_date\"\nfields = [\"create_date\"]",
            ),
            "not both",
        ),
        (
            text.replace(
                "field = \"write_date\"",
                "field = \"write_date\"\nred = \"parts\"",
            ),
            "unknown field `red`",
        ),
        (
            text.replace(
                "[errors]",
                "[session.headers]\nAuthorization = \"${md5(vars.login)}\"\n\n[errors]",
            ),
            "the only one is `base64(...)`",
        ),
        (
            text.replace(
                "[errors]",
                "[headers]\nX-Session = \"${session}\"\n\n[errors]",
            ),
            "a login call has only `vars`",
        ),
        (
            text.replacen("\"${cursor}\"", "\"${cursor.yaer}\"", 1),
            "not a part of the cursor",
        ),
    ];
    for (bad, message) in cases {
        let d = Manifest::from_source(&SourceFile::new("connectors/erp.toml", &bad))
            .expect_err(message);
        let shown = d.to_string();
        assert!(shown.contains(message), "{message}: {shown}");
        assert!(shown.contains("connectors/erp.toml:"), "{shown}");
    }
}

/// Each call's JSON-RPC method and `Cookie` header.
type CookieLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A server that sets a session cookie at login and answers 401 to a call
/// without it (or without the static header); logs each call's headers.
async fn cookie_server() -> (String, CookieLog) {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let log: CookieLog = Arc::default();
    let seen = log.clone();
    let app = Router::new().route(
        "/rpc",
        post(
            move |uri: axum::http::Uri, headers: HeaderMap, axum::Json(req): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    let cookie = headers
                        .get("cookie")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let method = req["params"]["method"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    // The query, if any, is logged after the method.
                    let logged = match uri.query() {
                        Some(q) => format!("{method}?{q}"),
                        None => method.clone(),
                    };
                    seen.lock().unwrap().push((logged, cookie.clone()));
                    let versioned = headers.get("x-api-version").is_some_and(|v| v == "2");
                    if !versioned {
                        return (StatusCode::BAD_REQUEST, "no version").into_response();
                    }
                    if method == "login" {
                        let n = seen.lock().unwrap().len();
                        return (
                            [("set-cookie", format!("sid=s{n}; Path=/; HttpOnly"))],
                            axum::Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": 7})),
                        )
                            .into_response();
                    }
                    if !cookie.is_some_and(|c| c.contains("sid=s")) {
                        return (StatusCode::UNAUTHORIZED, "no session").into_response();
                    }
                    axum::Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": []}))
                        .into_response()
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), log)
}

#[tokio::test]
async fn a_login_cookie_is_kept_and_static_headers_go_with_every_call() {
    let (base, log) = cookie_server().await;
    let text = manifest_text(&base, "2.0")
        .replace("[http]\n", "[headers]\nX-Api-Version = \"2\"\n\n[http]\n")
        .replace(
            "[errors]\n",
            "[session.cookies]\nuid = \"${session}\"\n\n[session.query]\nsid = \"${'s' + session}\"\n\n[errors]\n",
        );
    let conn = connect(&text);
    for _ in 0..2 {
        conn.fetch_page("employees", Some("2023-12-31 00:00:00"), None)
            .await
            .unwrap();
    }
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "one login, two searches: {seen:?}");
    assert_eq!(seen[0], ("login".to_string(), None));
    // The manifest's session cookie first, then the one the server set.
    assert_eq!(seen[1].1.as_deref(), Some("uid=7; sid=s1"));
    assert_eq!(
        seen[1].0, "execute_kw?sid=s7",
        "the session's query parameter"
    );
    assert_eq!(seen[2].1.as_deref(), Some("uid=7; sid=s1"));
}

#[tokio::test]
async fn an_http_401_renews_the_session_once_then_fails_as_auth() {
    // A server that refuses every search: one renewal, then an auth error.
    let (base, log) = server(|req: &Value, _| {
        if req["params"]["method"] == "login" {
            return json!({"jsonrpc": "2.0", "id": req["id"], "result": 7});
        }
        json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": 200, "message": "x",
            "data": {"name": "odoo.exceptions.AccessDenied", "message": "Access Denied"}}})
    })
    .await;
    let conn = connect(&manifest_text(&base, "2.0"));
    let err = conn
        .fetch_page("employees", Some("2023-12-31 00:00:00"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    let logins = log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["params"]["method"] == "login")
        .count();
    assert_eq!(logins, 2, "renewed once, not in a loop");
}
