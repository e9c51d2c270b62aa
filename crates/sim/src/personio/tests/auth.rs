//! Tokens from both auth endpoints, and the bearer check on the resources.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{clock, get, spawn};

#[tokio::test]
async fn v1_auth_takes_credentials_as_query_json_or_form_and_keeps_the_token_stable() {
    let h = spawn(3).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/auth", h.base_url);
    let by_query: Value = http
        .post(&url)
        .query(&[
            ("client_id", "papi-sim-client"),
            ("client_secret", "papi-sim-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_query["success"], true);
    let token = by_query["data"]["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("papi-"));
    let by_json: Value = http
        .post(&url)
        .json(&json!({"client_id": "papi-sim-client", "client_secret": "papi-sim-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        by_json["data"]["token"],
        token.as_str(),
        "stable for 24 hours"
    );
    let by_form = http
        .post(&url)
        .form(&[
            ("client_id", "papi-sim-client"),
            ("client_secret", "papi-sim-secret"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_form.status(), StatusCode::OK);

    let wrong = http
        .post(&url)
        .json(&json!({"client_id": "papi-sim-client", "client_secret": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert!(body["error"]["message"].is_string());

    let (status, _) = get(&h, &token, "?limit=1").await;
    assert_eq!(status, StatusCode::OK, "a v1 token opens the v1 resources");
}

#[tokio::test]
async fn v2_token_endpoint_speaks_oauth2_client_credentials() {
    let h = spawn(3).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v2/auth/token", h.base_url);
    let token = |secret: &str, grant: &str| {
        http.post(&url).form(&[
            ("grant_type", grant.to_string()),
            ("client_id", "papi-sim-client".to_string()),
            ("client_secret", secret.to_string()),
        ])
    };
    let ok = token("papi-sim-secret", "client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["cache-control"], "no-store");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    let access = body["access_token"].as_str().unwrap().to_string();
    let (status, _) = get(&h, &access, "?limit=1").await;
    assert_eq!(status, StatusCode::OK, "a v2 token opens the v1 resources");

    for (resp, code) in [
        (
            token("wrong", "client_credentials").send().await.unwrap(),
            "unauthorized_client",
        ),
        (
            token("papi-sim-secret", "password").send().await.unwrap(),
            "unsupported_grant_type",
        ),
        (
            http.post(&url)
                .json(&json!({"grant_type": "client_credentials"}))
                .send()
                .await
                .unwrap(),
            "invalid_request",
        ),
    ] {
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"], code);
        assert!(body["error_description"].is_string());
    }
}

#[tokio::test]
async fn resources_refuse_missing_unknown_and_lapsed_tokens() {
    let h = spawn(3).await;
    let missing = reqwest::get(format!("{}/v1/company/employees", h.base_url))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(
        body,
        json!({"success": false, "error": {"code": 0, "message": "Authorization is not provided"}})
    );
    let (status, body) = get(&h, "papi-made-up", "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "Unauthenticated");

    let token = h.sim.issue_token();
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/company/employees", h.base_url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["authorization"],
        format!("Bearer {token}").as_str()
    );
    h.sim.expire_tokens();
    assert_eq!(get(&h, &token, "").await.0, StatusCode::UNAUTHORIZED);
    // A token also lapses by itself once its lifetime has passed.
    let fresh = h.sim.issue_token();
    h.sim.set_now(clock() + chrono::Duration::hours(25));
    assert_eq!(get(&h, &fresh, "").await.0, StatusCode::UNAUTHORIZED);
}
