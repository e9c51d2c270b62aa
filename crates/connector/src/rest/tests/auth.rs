use super::*;

// ---------------------------------------------------------------------------
// Auth kinds
// ---------------------------------------------------------------------------

pub(super) const ONE_PAGE_STREAM: &str =
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
        *SERVICENOW,
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
    let mut m = manifest(*SERVICENOW);
    let err = m
        .config
        .apply_override(&ConnectorOverride {
            base_url: Some("not a url".into()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.contains("base_url `not a url` is not a URL"), "{err}");
}

/// Form fields and Authorization header of one token request.
type TokenRequests = Arc<Mutex<Vec<(BTreeMap<String, String>, Option<String>)>>>;

/// A token endpoint and an API that accepts only its current token.
struct OAuthServer {
    base: String,
    /// Tokens issued so far; the API accepts only the latest.
    issued: Arc<Mutex<Vec<String>>>,
    /// Form fields and Authorization header of each token request.
    token_requests: TokenRequests,
}

async fn oauth_server() -> OAuthServer {
    use axum::routing::{get, post};
    let issued: Arc<Mutex<Vec<String>>> = Arc::default();
    let token_requests: TokenRequests = Arc::default();
    let (iss, reqs) = (issued.clone(), token_requests.clone());
    let token = post(
        move |headers: HeaderMap, axum::Form(form): axum::Form<BTreeMap<String, String>>| {
            let (iss, reqs) = (iss.clone(), reqs.clone());
            async move {
                let basic = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                reqs.lock().unwrap().push((form.clone(), basic.clone()));
                let secret_ok = form.get("client_secret").map(String::as_str) == Some("s3cret")
                    || basic.is_some();
                if form.get("grant_type").map(String::as_str) != Some("client_credentials")
                    || !secret_ok
                {
                    return (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(json!({"error": "invalid_client"})),
                    )
                        .into_response();
                }
                let mut iss = iss.lock().unwrap();
                let t = format!("tok-{}", iss.len() + 1);
                iss.push(t.clone());
                axum::Json(json!({"access_token": t, "token_type": "Bearer", "expires_in": 3600}))
                    .into_response()
            }
        },
    );
    let iss = issued.clone();
    let api = get(move |headers: HeaderMap| {
        let iss = iss.clone();
        async move {
            let current = iss.lock().unwrap().last().cloned().unwrap_or_default();
            let sent = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if sent != format!("Bearer {current}") {
                return (axum::http::StatusCode::UNAUTHORIZED, "expired").into_response();
            }
            axum::Json(json!([{"id": "1"}])).into_response()
        }
    });
    let app = Router::new().route("/token", token).route("/s", api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    OAuthServer {
        base,
        issued,
        token_requests,
    }
}

fn oauth_manifest(base: &str, extra: &str) -> String {
    replace_once(
        &mock_manifest(base, ONE_PAGE_STREAM),
        "[[streams]]",
        &format!(
            "[auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"{base}/token\"\nclient_id = \"sb\"\nclient_secret = \"s3cret\"\n{extra}\n[[streams]]"
        ),
    )
}

#[tokio::test]
async fn oauth2_token_is_fetched_once_and_renewed_when_refused() {
    let server = oauth_server().await;
    let conn = connect(&oauth_manifest(
        &server.base,
        "scope = \"employees:read\"\n",
    ));
    for _ in 0..3 {
        conn.fetch_page("s", None, None).await.expect("page");
    }
    assert_eq!(
        server.issued.lock().unwrap().len(),
        1,
        "the token is cached"
    );
    let (form, basic) = server.token_requests.lock().unwrap()[0].clone();
    assert_eq!(form.get("client_id").map(String::as_str), Some("sb"));
    assert_eq!(
        form.get("scope").map(String::as_str),
        Some("employees:read")
    );
    assert_eq!(basic, None);

    // The server revokes it (here: issues another behind our back); the
    // next request is refused once, a new token is fetched, and it goes on.
    server.issued.lock().unwrap().push("tok-rotated".into());
    conn.fetch_page("s", None, None)
        .await
        .expect("page after renewal");
    assert_eq!(server.token_requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn oauth2_refused_credentials_name_the_connector_and_the_endpoint() {
    let server = oauth_server().await;
    let text = oauth_manifest(&server.base, "").replace("s3cret", "wrong");
    let err = connect(&text)
        .fetch_page("s", None, None)
        .await
        .expect_err("bad secret");
    let msg = err.to_string();
    assert!(
        matches!(&err, ConnectorError::Auth { system, .. } if system == "mock")
            && msg.contains("/token refused the client credentials")
            && msg.contains("invalid_client")
            && !msg.contains("wrong"),
        "{msg}"
    );
}

#[tokio::test]
async fn oauth2_client_can_authenticate_with_basic() {
    let server = oauth_server().await;
    let text = oauth_manifest(&server.base, "client_auth = \"basic\"\n");
    connect(&text)
        .fetch_page("s", None, None)
        .await
        .expect("page");
    let (form, basic) = server.token_requests.lock().unwrap()[0].clone();
    assert!(basic.is_some_and(|b| b.starts_with("Basic ")));
    assert!(
        !form.contains_key("client_secret"),
        "the secret is not also in the body"
    );
}

#[tokio::test]
async fn headers_cookies_and_an_epoch_cursor_written_as_iso() {
    // Sets a cookie on the first answer; records stamp two epoch fields.
    let (base, log) = mock(|hit: &Hit| {
        let body = json!([
            {"id": 1, "created": 1_796_463_000, "updated": null},
            {"id": 2, "created": 1_796_463_000, "updated": 1_796_466_600},
            {"id": 3}
        ]);
        match hit.headers.get("cookie") {
            None => ([("set-cookie", "route=r1; Path=/")], axum::Json(body)).into_response(),
            Some(_) => ok(body),
        }
    })
    .await;
    let stream = format!(
        "{ONE_PAGE_STREAM}\n[streams.cursor]\nfields = [\"created\", \"updated\"]\nread = \"epoch\"\nformat = \"integer\"\nwrite_format = \"rfc3339\"\nparam = \"since\"\nordered = false\n"
    );
    let text = replace_once(
        &mock_manifest(&base, &stream),
        "[http]",
        "[headers]\nX-Api-Version = \"2\"\n\n[http]",
    );
    let conn = connect(&text);
    let mut pages = Vec::new();
    for _ in 0..2 {
        pages.push(
            conn.fetch_page("s", Some("1796463000"), None)
                .await
                .unwrap(),
        );
    }
    let cursors: Vec<Option<String>> = pages[0].records.iter().map(|r| r.cursor.clone()).collect();
    assert_eq!(
        cursors,
        [Some("1796463000".into()), Some("1796466600".into()), None],
        "the greater of the two fields; none when both are missing"
    );
    let seen = hits(&log);
    assert_eq!(seen[0].q("since"), Some("2026-12-05T09:30:00Z"));
    for hit in &seen {
        assert_eq!(
            hit.headers
                .get("x-api-version")
                .and_then(|v| v.to_str().ok()),
            Some("2")
        );
    }
    assert_eq!(seen[0].headers.get("cookie"), None);
    assert_eq!(
        seen[1].headers.get("cookie").and_then(|v| v.to_str().ok()),
        Some("route=r1"),
        "the cookie the server set is sent back"
    );
}

#[tokio::test]
async fn a_login_request_authenticates_and_is_renewed_once_when_refused() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Issues `tk-<n>` at each login; accepts only the latest generation.
    let issued = Arc::new(AtomicUsize::new(0));
    let valid = Arc::new(AtomicUsize::new(1));
    let (i, v) = (issued.clone(), valid.clone());
    let (base, log) = mock(move |hit: &Hit| {
        if hit.path == "/api/login" {
            let n = i.fetch_add(1, Ordering::SeqCst) + 1;
            return ok(json!({"data": {"token": format!("tk-{n}")}}));
        }
        let want = format!("Bearer tk-{}", v.load(Ordering::SeqCst));
        match hit
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
        {
            Some(got) if got == want => ok(json!([{"id": 1}])),
            _ => (StatusCode::UNAUTHORIZED, "expired").into_response(),
        }
    })
    .await;
    let text = replace_once(
        &mock_manifest(&base, ONE_PAGE_STREAM),
        "[[streams]]",
        "[auth]\ntype = \"login\"\npath = \"/api/login\"\nusername = \"bot\"\npassword = \"pw-s3cret\"\nresult = \"data.token\"\nheaders = { Authorization = \"Bearer ${session}\" }\n\n[[streams]]",
    );
    let conn = connect(&text);
    conn.fetch_page("s", None, None).await.expect("first page");
    conn.fetch_page("s", None, None)
        .await
        .expect("session reused");
    valid.store(2, Ordering::SeqCst);
    conn.fetch_page("s", None, None)
        .await
        .expect("renewed once");
    let paths: Vec<String> = hits(&log).iter().map(|h| h.path.clone()).collect();
    assert_eq!(paths, ["/api/login", "/s", "/s", "/s", "/api/login", "/s"]);
    // Refused right after a fresh login: an authentication failure.
    valid.store(99, Ordering::SeqCst);
    let err = conn.fetch_page("s", None, None).await.unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    assert_eq!(hits(&log).len(), 9, "one more login, not a loop");
    assert!(!format!("{err} {err:?} {conn:?}").contains("pw-s3cret"));
    assert!(!format!("{conn:?}").contains("tk-"));
}

#[tokio::test]
async fn a_login_may_post_a_form() {
    let (base, log) = mock(move |hit: &Hit| {
        if hit.path == "/oauth/token" {
            return ok(json!({"access_token": "at-1", "token_type": "bearer"}));
        }
        match hit
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
        {
            Some("Bearer at-1") => ok(json!([{"id": 1}])),
            _ => (StatusCode::UNAUTHORIZED, "no").into_response(),
        }
    })
    .await;
    let text = replace_once(
        &mock_manifest(&base, ONE_PAGE_STREAM),
        "[[streams]]",
        "[auth]\ntype = \"login\"\npath = \"/oauth/token\"\nusername = \"bot\"\npassword = \"p&w=s3cret\"\nbody_format = \"form\"\nbody = { grant_type = \"password\", username = \"${vars.username}\", password = \"${vars.password}\", scope = 1 }\nresult = \"access_token\"\nheaders = { Authorization = \"Bearer ${session}\" }\n\n[[streams]]",
    );
    let conn = connect(&text);
    conn.fetch_page("s", None, None).await.expect("a page");
    let login = &hits(&log)[0];
    assert_eq!(
        login
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-www-form-urlencoded")
    );
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(login.body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form,
        query_of(&[
            ("grant_type", "password"),
            ("username", "bot"),
            ("password", "p&w=s3cret"),
            ("scope", "1")
        ])
    );
    // A nested value cannot be a form field: refused at its key.
    let nested = replace_once(&text, "scope = 1", "scope = { a = 1 }");
    let d = manifest_error(&nested);
    assert!(d.to_string().contains("auth.body"), "{d}");
    assert!(d.to_string().contains("plain values"), "{d}");
}

#[test]
fn a_login_without_a_place_for_the_session_is_refused_at_its_key() {
    let text = replace_once(
        &mock_manifest("http://x", ONE_PAGE_STREAM),
        "[[streams]]",
        "[auth]\ntype = \"login\"\npath = \"/api/login\"\nusername = \"bot\"\npassword = \"pw\"\n\n[[streams]]",
    );
    let shown = manifest_error(&text).to_string();
    assert!(
        shown.contains("auth.headers") || shown.contains("the session must go somewhere"),
        "{shown}"
    );
    assert!(shown.contains("connectors/t.toml:"), "{shown}");
    let typo = text.replace(
        "path = \"/api/login\"",
        "path = \"/api/login\"\nresutl = \"token\"",
    );
    let shown = manifest_error(&typo).to_string();
    assert!(shown.contains("unknown field `resutl`"), "{shown}");
}
