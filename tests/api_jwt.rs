//! An employee signed in with their own token from the identity provider
//! (`[api.jwt]`), on both stores: the token is verified against the
//! provider's public keys (the test pairs in tests/fixtures/jwt/), and the
//! caller is that employee and nobody else. `[api.jwt]` as `check` sees it
//! is in api_jwt_config.rs.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::api::jwt::Verifier;
use switchboard::api::{EMPLOYEE_HEADER, Tokens};
use switchboard::config::load_with_env;
use switchboard::store::Store;

use common::api::{get, serve, serve_with, settings};
use common::hub::execute;
use common::{Backend, TestStore, repo, write};

const ISSUER: &str = "https://login.example.com/";
const AUDIENCE: &str = "switchboard";

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/jwt").join(name)
}

/// `switchboard.toml` trusting the RSA and EC test keys, copied next to it
/// as an admin would keep them (the paths are relative to the file).
fn config_dir(rate_limit: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for key in ["rsa-public.pem", "ec-public.pem"] {
        let pem = std::fs::read_to_string(fixture(key)).unwrap();
        write(&dir.path().join("keys").join(key), &pem);
    }
    write(
        &dir.path().join("switchboard.toml"),
        &format!(
            "version = 1\n[api]\nrate_limit_per_minute = {rate_limit}\n\n[api.jwt]\n\
             issuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n\
             public_keys = [\"keys/rsa-public.pem\", \"keys/ec-public.pem\"]\n\
             algorithms = [\"RS256\", \"ES256\"]\n"
        ),
    );
    dir
}

/// The API with the usual test clients, and employees' tokens verified.
async fn serve_idp(store: Store, rate_limit: u32) -> String {
    let dir = config_dir(rate_limit);
    let cfg = load_with_env(Some(&dir.path().join("switchboard.toml")), HashMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    let verifier = Verifier::load(&cfg).unwrap_or_else(|d| panic!("{d}"));
    assert!(verifier.is_some());
    let mut api = settings();
    api.rate_limit_per_minute = rate_limit;
    let tokens = Tokens::from_settings(&api).unwrap().with_jwt(verifier);
    serve_with(store, tokens).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// What the provider says about `email`, valid for ten minutes.
fn claims(email: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "u-1", "email": email,
           "iat": now(), "exp": now() + 600})
}

fn sign_with(alg: Algorithm, private_key: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(private_key)).unwrap();
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_rsa_pem(&pem),
    }
    .unwrap();
    jsonwebtoken::encode(&Header::new(alg), claims, &key).unwrap()
}

/// A token of the trusted provider (the RSA key).
fn sign(claims: &Value) -> String {
    sign_with(Algorithm::RS256, "rsa-private.pem", claims)
}

async fn call(
    method: reqwest::Method,
    base: &str,
    path: &str,
    bearer: &str,
    employee: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(bearer);
    if let Some(e) = employee {
        req = req.header(EMPLOYEE_HEADER, e);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get_jwt(base: &str, path: &str, jwt: &str) -> (StatusCode, Value) {
    call(reqwest::Method::GET, base, path, jwt, None, None).await
}

async fn seed(store: &Store) {
    for sql in [
        "INSERT INTO people (source_system, source_stream, external_id, display_name, email, department, active, attributes, classified, mapping_version) VALUES \
         ('personio', 'employees', '42', 'Ann Lee', 'ann@example.com', 'it', TRUE, '{}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, requester_ref, attributes, classified, mapping_version) VALUES \
         ('servicenow', 'incident', 'INC1', 'incident', 'No heating on floor 3', 'in_progress', 'it', 'ann@example.com', '{}', '{}', 'v1')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, attributes, classified, mapping_version) VALUES \
         ('switchboard', 'cases', 'onboarding:personio:employees:42', 'case', 'Onboarding Ann Lee', 'in_progress', '{}', '{}', 'routing')",
        "INSERT INTO work_items (source_system, source_stream, external_id, kind, title, status, department, requester_ref, attributes, classified, mapping_version) VALUES \
         ('jira', 'request', 'SD-1', 'request', 'New monitor', 'new', 'it', 'bob@example.com', '{}', '{}', 'v1')",
    ] {
        execute(store, sql).await;
    }
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|r| r["item"]["title"].as_str().unwrap_or("-").to_string())
        .collect()
}

/// The id of the first request with `title` in a page.
fn id_of(page: &Value, title: &str) -> i64 {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["item"]["title"] == title)
        .and_then(|r| r["item"]["id"].as_i64())
        .unwrap_or_else(|| panic!("no `{title}` in {page}"))
}

async fn an_employee_with_their_own_token_sees_only_their_requests(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve_idp(ts.store.clone(), 0).await;
    let ann = sign(&claims("ann@example.com"));

    // No `Switchboard-Employee` header: the token names her.
    let (status, page) = get_jwt(&base, "/api/v1/me/requests", &ann).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        titles(&page),
        ["Onboarding Ann Lee", "No heating on floor 3"],
        "{page}"
    );
    // A token signed with the provider's other key (EC) is as good.
    let ann_ec = sign_with(
        Algorithm::ES256,
        "ec-private.pem",
        &claims("ann@example.com"),
    );
    let (status, same) = get_jwt(&base, "/api/v1/me/requests", &ann_ec).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(titles(&same), titles(&page));

    // Her own request, in detail; Bob's is as absent as one that never was.
    let mine = id_of(&page, "No heating on floor 3");
    let (status, detail) = get_jwt(&base, &format!("/api/v1/requests/{mine}"), &ann).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["request"]["item"]["title"], "No heating on floor 3");
    let (_, bobs_page) = common::api::get_as(&base, "/api/v1/me/requests", "bob@example.com").await;
    let bobs = id_of(&bobs_page, "New monitor");
    let (status, theirs) = get_jwt(&base, &format!("/api/v1/requests/{bobs}"), &ann).await;
    let (_, never) = get_jwt(&base, "/api/v1/requests/999999", &ann).await;
    assert_eq!(status, 404, "{theirs}");
    assert!(
        !theirs.to_string().contains("New monitor"),
        "nothing of Bob's request shows: {theirs}"
    );
    assert_eq!(theirs["title"], never["title"]);

    // A header cannot make her someone else; naming herself is harmless.
    let get = reqwest::Method::GET;
    let (status, p) = call(
        get.clone(),
        &base,
        "/api/v1/me/requests",
        &ann,
        Some("bob@example.com"),
        None,
    )
    .await;
    assert_eq!(status, 403, "{p}");
    let (status, _) = call(
        get.clone(),
        &base,
        &format!("/api/v1/requests/{bobs}"),
        &ann,
        Some("bob@example.com"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        get,
        &base,
        "/api/v1/me/requests",
        &ann,
        Some("Ann@Example.com"),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // The catalogue, yes; the agents' and admins' views, no: 403 with the
    // scope she lacks.
    let (status, services) = get_jwt(&base, "/api/v1/services", &ann).await;
    assert_eq!(status, 200, "{services}");
    assert!(!services["offerings"].as_array().unwrap().is_empty());
    for (path, scope) in [
        ("/api/v1/work-items", "`read`"),
        (&format!("/api/v1/work-items/{mine}"), "`read`"),
        ("/api/v1/people", "`read`"),
        ("/api/v1/people/1/requests", "`read`"),
        ("/api/v1/kpis", "`read`"),
        ("/api/v1/connectors", "`read`"),
        ("/api/v1/audit", "`admin`"),
    ] {
        let (status, p) = get_jwt(&base, path, &ann).await;
        assert_eq!(status, 403, "{path}: {p}");
        assert!(p["detail"].as_str().unwrap().contains(scope), "{path}: {p}");
    }
    let (status, p) = call(
        reqwest::Method::POST,
        &base,
        "/api/v1/connectors/servicenow/sync",
        &ann,
        None,
        None,
    )
    .await;
    assert_eq!(status, 403, "{p}");

    // The portal token's way is unchanged.
    let (status, via_portal) =
        common::api::get_as(&base, "/api/v1/me/requests", "ann@example.com").await;
    assert_eq!(status, 200);
    assert_eq!(titles(&via_portal), titles(&page));
}

async fn tokens_not_issued_to_us_by_the_provider_are_refused(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve_idp(ts.store.clone(), 0).await;
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims("ann@example.com");
        edit(&mut c);
        c
    };
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let valid = sign(&claims("ann@example.com"));
    let (_, valid_sig) = valid.rsplit_once('.').unwrap();
    let public_rsa = std::fs::read(fixture("rsa-public.pem")).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "expired",
            sign(&with(&|c| c["exp"] = json!(now() - 3600))),
            "expired",
        ),
        (
            "not yet valid",
            sign(&with(&|c| c["nbf"] = json!(now() + 3600))),
            "not valid yet",
        ),
        (
            "no expiry",
            sign(&with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            })),
            "`exp`",
        ),
        (
            "another issuer",
            sign(&with(&|c| c["iss"] = json!("https://evil.example.com/"))),
            "another issuer",
        ),
        (
            "another audience",
            sign(&with(&|c| c["aud"] = json!("payroll"))),
            "another audience",
        ),
        (
            "another provider's key",
            sign_with(
                Algorithm::RS256,
                "other-rsa-private.pem",
                &claims("ann@example.com"),
            ),
            "signature",
        ),
        (
            "no e-mail",
            sign(&with(&|c| {
                c.as_object_mut().unwrap().remove("email");
            })),
            "no e-mail address",
        ),
        (
            "an e-mail the provider did not verify",
            sign(&with(&|c| c["email_verified"] = json!(false))),
            "not verified",
        ),
        (
            // The public key used as an HMAC secret: anyone has it.
            "HS256 with the public key",
            jsonwebtoken::encode(
                &Header::new(Algorithm::HS256),
                &claims("ann@example.com"),
                &EncodingKey::from_secret(&public_rsa).unwrap(),
            )
            .unwrap(),
            "signature",
        ),
        (
            "alg none with a real signature",
            format!(
                "{}.{}.{valid_sig}",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims("ann@example.com"))
            ),
            "not a JWT",
        ),
        (
            "alg none unsigned",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims("ann@example.com"))
            ),
            "Authorization: Bearer",
        ),
    ];
    for (what, token, detail) in cases {
        let (status, content_type, p) = get(&base, "/api/v1/me/requests", Some(&token)).await;
        assert_eq!(status, 401, "{what}: {p}");
        assert_eq!(content_type, "application/problem+json", "{what}");
        let said = p["detail"].as_str().unwrap_or_default();
        assert!(said.contains(detail), "{what}: {p}");
        // Not a line of the credential comes back.
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!said.contains(part), "{what}: the token echoed in {p}");
        }
    }
    // The valid token, for contrast, and a served API that trusts no
    // provider: a JWT is then an unknown token like any other.
    let (status, _) = get_jwt(&base, "/api/v1/me/requests", &valid).await;
    assert_eq!(status, 200);
    let plain = serve(ts.store.clone()).await;
    let (status, _, p) = get(&plain, "/api/v1/me/requests", Some(&valid)).await;
    assert_eq!(status, 401, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("[api] tokens"),
        "{p}"
    );
}

fn repair() -> Value {
    json!({"offering": "facilities-repair", "fields": {
        "location": "B2, floor 3, room 312", "summary": "Radiator cold",
        "urgency": "Today, please"}})
}

async fn an_employee_raises_requests_for_themselves_only(backend: Backend) {
    let ts = TestStore::new(backend).await;
    seed(&ts.store).await;
    let base = serve_idp(ts.store.clone(), 0).await;
    let ann = sign(&claims("ann@example.com"));
    let post = reqwest::Method::POST;

    let (status, raised) = call(
        post.clone(),
        &base,
        "/api/v1/requests",
        &ann,
        None,
        Some(&repair()),
    )
    .await;
    assert_eq!(status, 201, "{raised}");
    assert_eq!(raised["item"]["requester_ref"], "ann@example.com");
    let (_, page) = get_jwt(&base, "/api/v1/me/requests", &ann).await;
    assert!(
        titles(&page).len() == 3 && page["items"][0]["item"]["id"] == raised["item"]["id"],
        "the new request heads her list: {page}"
    );

    // Naming someone else, in the body or the header, is refused, and
    // nothing is stored.
    let mut for_bob = repair();
    for_bob["requester"] = json!("bob@example.com");
    let (status, p) = call(
        post.clone(),
        &base,
        "/api/v1/requests",
        &ann,
        None,
        Some(&for_bob),
    )
    .await;
    assert_eq!(status, 403, "{p}");
    let (status, _) = call(
        post.clone(),
        &base,
        "/api/v1/requests",
        &ann,
        Some("bob@example.com"),
        Some(&repair()),
    )
    .await;
    assert_eq!(status, 403);
    let (_, bobs) = common::api::get_as(&base, "/api/v1/me/requests", "bob@example.com").await;
    assert_eq!(titles(&bobs), ["New monitor"], "{bobs}");
    let mut for_herself = repair();
    for_herself["requester"] = json!("ANN@example.com");
    let (status, p) = call(
        post,
        &base,
        "/api/v1/requests",
        &ann,
        None,
        Some(&for_herself),
    )
    .await;
    assert_eq!(status, 201, "{p}");

    // Asking for herself is no admin action: the audit log stays empty.
    assert!(ts.store.audit_log(10).await.unwrap().is_empty());
}

async fn an_employees_limit_holds_across_their_tokens(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let base = serve_idp(ts.store.clone(), 2).await;
    let first = sign(&claims("ann@example.com"));
    let second = sign(&with_sub(claims("Ann@Example.com"), "session-2"));
    assert_ne!(first, second);
    assert_eq!(get_jwt(&base, "/api/v1/services", &first).await.0, 200);
    assert_eq!(get_jwt(&base, "/api/v1/services", &second).await.0, 200);
    // A fresh token from the provider does not reset her limit.
    let (status, p) = get_jwt(&base, "/api/v1/services", &second).await;
    assert_eq!(status, 429, "{p}");
    let bob = sign(&claims("bob@example.com"));
    assert_eq!(get_jwt(&base, "/api/v1/services", &bob).await.0, 200);
}

fn with_sub(mut claims: Value, sub: &str) -> Value {
    claims["sub"] = json!(sub);
    claims
}

on_every_backend!(
    an_employee_with_their_own_token_sees_only_their_requests,
    tokens_not_issued_to_us_by_the_provider_are_refused,
    an_employee_raises_requests_for_themselves_only,
    an_employees_limit_holds_across_their_tokens,
);
