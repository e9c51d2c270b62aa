//! An employee's JWT verified against the identity provider's published
//! keys (`[api.jwt] jwks_url`), on both stores: the JWKS is fetched when a
//! token first needs it and kept; a token naming a key id it lacks fetches
//! it again (the provider rotated its keys), but made-up key ids cannot
//! make Switchboard fetch more than once a minute.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard::api::Tokens;
use switchboard::api::jwt::Verifier;
use switchboard::config::load_with_env;

use common::api::{serve_with, settings};
use common::{Backend, TestStore, repo, write};

const ISSUER: &str = "https://login.example.com/";
const AUDIENCE: &str = "switchboard";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/jwt").join(name)).unwrap()
}

/// A stand-in for the provider's `jwks_uri`: serves `body`, counts fetches.
struct Provider {
    url: String,
    body: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

async fn provider(initial: &str) -> Provider {
    let body = Arc::new(Mutex::new(initial.to_string()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (b, f) = (body.clone(), fetches.clone());
    let app = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let (b, f) = (b.clone(), f.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let text = b.lock().unwrap().clone();
                ([("content-type", "application/json")], text)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Provider { url, body, fetches }
}

fn token(private_key: &str, kid: &str, email: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims =
        json!({"iss": ISSUER, "aud": AUDIENCE, "email": email, "iat": now, "exp": now + 600});
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let key = EncodingKey::from_rsa_pem(fixture(private_key).as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

async fn status_of(base: &str, bearer: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/services"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .status()
}

async fn keys_follow_the_providers_rotation(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let idp = provider(&fixture("jwks-a.json")).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchboard.toml");
    write(
        &file,
        &format!(
            "version = 1\n[api.jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\njwks_url = \"{}\"\n",
            idp.url
        ),
    );
    let cfg = load_with_env(Some(&file), HashMap::new()).unwrap_or_else(|e| panic!("{e}"));
    let verifier = Verifier::load(&cfg).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        idp.fetches.load(Ordering::SeqCst),
        0,
        "check and start fetch nothing"
    );
    let tokens = Tokens::from_settings(&settings())
        .unwrap()
        .with_jwt(verifier);
    let base = serve_with(ts.store.clone(), tokens).await;
    let fetches = || idp.fetches.load(Ordering::SeqCst);

    let a = token("rsa-private.pem", "key-a", "ann@example.com");
    assert_eq!(status_of(&base, &a).await, StatusCode::OK);
    assert_eq!(status_of(&base, &a).await, StatusCode::OK);
    assert_eq!(fetches(), 1, "fetched once, then kept");

    // The provider rotates to key B: its first token fetches the keys again.
    *idp.body.lock().unwrap() = fixture("jwks-b.json");
    let b = token("other-rsa-private.pem", "key-b", "ann@example.com");
    assert_eq!(status_of(&base, &b).await, StatusCode::OK);
    assert_eq!(fetches(), 2);

    // Key A is gone from the provider, and made-up key ids are refused
    // without asking it again within the minute.
    assert_eq!(status_of(&base, &a).await, StatusCode::UNAUTHORIZED);
    let forged = token("rsa-private.pem", "made-up", "ann@example.com");
    assert_eq!(status_of(&base, &forged).await, StatusCode::UNAUTHORIZED);
    assert_eq!(fetches(), 2, "no fetch per unknown key id");
    // A key id the JWKS has, signed by another key, is a bad signature.
    let wrong = token("rsa-private.pem", "key-b", "ann@example.com");
    assert_eq!(status_of(&base, &wrong).await, StatusCode::UNAUTHORIZED);
}

async fn a_provider_that_does_not_answer_refuses_tokens_not_the_daemon(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchboard.toml");
    // Nothing listens on port 9 of loopback (discard): connection refused.
    write(
        &file,
        &format!(
            "version = 1\n[api.jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n\
             jwks_url = \"http://127.0.0.1:9/jwks.json\"\n"
        ),
    );
    let cfg = load_with_env(Some(&file), HashMap::new()).unwrap();
    let verifier = Verifier::load(&cfg).unwrap();
    let tokens = Tokens::from_settings(&settings())
        .unwrap()
        .with_jwt(verifier);
    let base = serve_with(ts.store.clone(), tokens).await;
    let a = token("rsa-private.pem", "key-a", "ann@example.com");
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/v1/services"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert!(!body.to_string().contains(&a), "the token is never echoed");
    // Configured tokens still work.
    assert_eq!(status_of(&base, "agent-token").await, StatusCode::OK);
}

on_every_backend!(
    keys_follow_the_providers_rotation,
    a_provider_that_does_not_answer_refuses_tokens_not_the_daemon,
);

#[test]
fn a_jwks_url_or_refresh_that_cannot_work_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("switchboard.toml");
    for (line, key) in [
        ("jwks_url = \"ftp://idp.example.com/keys\"", "jwks_url"),
        (
            "jwks_url = \"https://idp.example.com/keys\"\njwks_refresh_secs = 5",
            "jwks_refresh_secs",
        ),
        ("", "public_keys"),
    ] {
        write(
            &file,
            &format!(
                "version = 1\n[api.jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n{line}\n"
            ),
        );
        let e = load_with_env(Some(&file), HashMap::new())
            .expect_err(line)
            .to_string();
        assert!(e.contains(&format!("api.jwt.{key}")), "{line}: {e}");
    }
}
