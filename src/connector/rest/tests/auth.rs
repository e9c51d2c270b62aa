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
