//! The wire: the JSON-RPC envelope (2.0, 1.0-style, malformed), the common
//! service and its credentials, and the error body for access, model and
//! argument errors.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{call, err, kw, ok, post, start};
use crate::odoo::SimConfig;

#[tokio::test]
async fn version_needs_no_credentials_and_echoes_the_id() {
    let h = start().await;
    let answer = call(&h, "common", "version", json!([])).await;
    assert_eq!(answer["jsonrpc"], "2.0");
    assert_eq!(answer["id"], 7);
    let v = ok(answer);
    assert_eq!(v["server_version"], "17.0");
    assert_eq!(v["server_version_info"], json!([17, 0, 0, "final", 0, ""]));
    assert_eq!(v["protocol_version"], 1);
}

#[tokio::test]
async fn login_answers_the_uid_or_false() {
    let h = start().await;
    let good = call(
        &h,
        "common",
        "login",
        json!(["switchboard", "admin", "sim-password"]),
    )
    .await;
    assert_eq!(ok(good), json!(2));
    let key = SimConfig::default().api_key;
    let with_key = call(&h, "common", "login", json!(["switchboard", "admin", key])).await;
    assert_eq!(ok(with_key), json!(2));
    let bad = call(
        &h,
        "common",
        "login",
        json!(["switchboard", "admin", "nope"]),
    )
    .await;
    assert_eq!(ok(bad), json!(false));
    let stranger = call(
        &h,
        "common",
        "login",
        json!(["switchboard", "eve", "sim-password"]),
    )
    .await;
    assert_eq!(ok(stranger), json!(false));
    let auth = call(
        &h,
        "common",
        "authenticate",
        json!(["switchboard", "admin", "sim-password", {}]),
    )
    .await;
    assert_eq!(ok(auth), json!(2));
    let auth_bad = call(
        &h,
        "common",
        "authenticate",
        json!(["switchboard", "admin", "x", {}]),
    )
    .await;
    assert_eq!(ok(auth_bad), json!(false));
    // A database that does not exist fails the connection, not the login.
    let no_db = call(
        &h,
        "common",
        "login",
        json!(["nope", "admin", "sim-password"]),
    )
    .await;
    assert_eq!(err(&no_db)["name"], "psycopg2.OperationalError");
    assert!(
        err(&no_db)["message"]
            .as_str()
            .unwrap()
            .contains("database \"nope\" does not exist")
    );
    let short = call(&h, "common", "login", json!(["switchboard", "admin"])).await;
    assert_eq!(
        err(&short)["message"],
        "exp_login() missing 1 required positional argument: 'password'"
    );
    // The log never keeps a password.
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|r| !r.args.contains(&json!("sim-password")))
    );
}

#[tokio::test]
async fn bad_credentials_get_access_denied_in_odoos_error_body() {
    let h = start().await;
    let args = json!(["switchboard", 2, "wrong", "hr.employee", "search", [[]], {}]);
    let (status, answer) = post(
        &h,
        &json!({"jsonrpc": "2.0", "method": "call", "id": "a1",
        "params": {"service": "object", "method": "execute_kw", "args": args}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["id"], "a1");
    assert_eq!(answer["error"]["code"], 200);
    assert_eq!(answer["error"]["message"], "Odoo Server Error");
    let data = err(&answer);
    assert_eq!(data["name"], "odoo.exceptions.AccessDenied");
    assert_eq!(data["message"], "Access Denied");
    assert_eq!(data["arguments"], json!(["Access Denied"]));
    assert_eq!(data["context"], json!({}));
    assert!(
        data["debug"]
            .as_str()
            .unwrap()
            .ends_with("odoo.exceptions.AccessDenied: Access Denied\n")
    );
    for args in [
        json!([
            "switchboard",
            3,
            "sim-password",
            "hr.employee",
            "search",
            [[]]
        ]),
        json!([
            "switchboard",
            false,
            "sim-password",
            "hr.employee",
            "search",
            [[]]
        ]),
        json!(["switchboard", 2, "", "hr.employee", "search", [[]]]),
    ] {
        let answer = call(&h, "object", "execute_kw", args).await;
        assert_eq!(err(&answer)["name"], "odoo.exceptions.AccessDenied");
    }
    let key = SimConfig::default().api_key;
    let with_key = call(
        &h,
        "object",
        "execute_kw",
        json!([
            "switchboard",
            "2",
            key,
            "hr.department",
            "search_count",
            [[]]
        ]),
    )
    .await;
    assert_eq!(ok(with_key), json!(8));
    let not_int = call(
        &h,
        "object",
        "execute_kw",
        json!(["switchboard", "x", "p", "hr.employee", "search", [[]]]),
    )
    .await;
    assert_eq!(
        err(&not_int)["message"],
        "invalid literal for int() with base 10: 'x'"
    );
}

#[tokio::test]
async fn a_json_rpc_1_request_is_served_unless_its_params_are_positional() {
    let h = start().await;
    let (status, named) = post(
        &h,
        &json!({"method": "call", "id": 3,
        "params": {"service": "common", "method": "version", "args": []}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(named["jsonrpc"], "2.0");
    assert_eq!(named["result"]["server_serie"], "17.0");
    let (status, positional) = post(
        &h,
        &json!({"method": "call", "id": 4,
        "params": ["common", "version", []]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(err(&positional)["name"], "builtins.ValueError");
    assert_eq!(
        err(&positional)["message"],
        "dictionary update sequence element #0 has length 6; 2 is required"
    );
    let (_, no_id) = post(&h, &json!({"jsonrpc": "2.0", "params": {"service": "common", "method": "version", "args": []}})).await;
    assert_eq!(no_id["id"], Value::Null);
}

#[tokio::test]
async fn malformed_requests_get_odoos_answers() {
    let h = start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/jsonrpc", h.base_url);
    let send = |body: &'static str, ct: &'static str| {
        client
            .post(&url)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let not_json = send("{nope", "application/json").await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.text().await.unwrap(), "Invalid JSON data");
    let array = send("[1, 2]", "application/json").await.unwrap();
    assert_eq!(array.status(), StatusCode::BAD_REQUEST);
    assert_eq!(array.text().await.unwrap(), "Invalid JSON-RPC data");
    let plain = send("{}", "text/plain").await.unwrap();
    assert_eq!(plain.status(), StatusCode::BAD_REQUEST);
    let page = plain.text().await.unwrap();
    assert!(page.contains("<h1>Bad Request</h1>"), "{page}");
    assert!(page.contains("is type=&#39;json&#39;"), "{page}");
    let elsewhere = client
        .post(format!("{}/xmlrpc/2/object", h.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);

    let (_, no_args) = post(
        &h,
        &json!({"jsonrpc": "2.0", "params": {"service": "common", "method": "version"}}),
    )
    .await;
    assert_eq!(err(&no_args)["name"], "builtins.TypeError");
    assert_eq!(
        err(&no_args)["message"],
        "RPC.jsonrpc() missing 1 required positional argument: 'args'"
    );
    let (_, nothing) = post(&h, &json!({"jsonrpc": "2.0", "id": 1})).await;
    assert_eq!(
        err(&nothing)["message"],
        "RPC.jsonrpc() missing 3 required positional arguments: 'service', 'method', and 'args'"
    );
    let service = call(&h, "report", "render", json!([])).await;
    assert_eq!(err(&service)["name"], "builtins.KeyError");
    assert_eq!(err(&service)["message"], "'report'");
    let method = call(&h, "common", "shutdown", json!([])).await;
    assert_eq!(err(&method)["name"], "builtins.Exception");
    assert_eq!(err(&method)["message"], "Method not found: shutdown");
    let object_method = call(
        &h,
        "object",
        "run",
        json!(["switchboard", 2, "sim-password"]),
    )
    .await;
    assert_eq!(err(&object_method)["message"], "Method not available run");
    let short = call(
        &h,
        "object",
        "execute_kw",
        json!(["switchboard", 2, "sim-password", "hr.employee", "search"]),
    )
    .await;
    assert_eq!(
        err(&short)["message"],
        "execute_kw() missing 1 required positional argument: 'args'"
    );
}

#[tokio::test]
async fn model_and_method_errors_name_what_is_wrong() {
    let h = start().await;
    let model = kw(&h, "hr.payslip", "search", json!([[]]), json!({})).await;
    assert_eq!(err(&model)["name"], "odoo.exceptions.UserError");
    assert_eq!(err(&model)["message"], "Object hr.payslip doesn't exist");
    let method = kw(&h, "hr.employee", "button_confirm", json!([[1]]), json!({})).await;
    assert_eq!(err(&method)["name"], "builtins.AttributeError");
    assert_eq!(
        err(&method)["message"],
        "The method 'button_confirm' does not exist on the model 'hr.employee'"
    );
    let private = kw(&h, "hr.employee", "_search", json!([[]]), json!({})).await;
    assert_eq!(err(&private)["name"], "odoo.exceptions.AccessError");
    let field = kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[]]),
        json!({"fields": ["name", "salary"]}),
    )
    .await;
    assert_eq!(err(&field)["name"], "builtins.ValueError");
    assert_eq!(
        err(&field)["message"],
        "Invalid field 'salary' on model 'hr.employee'"
    );
    let twice = kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[], ["name"]]),
        json!({"fields": ["name"]}),
    )
    .await;
    assert_eq!(
        err(&twice)["message"],
        "BaseModel.search_read() got multiple values for argument 'fields'"
    );
    let unknown = kw(&h, "hr.employee", "search", json!([[]]), json!({"page": 2})).await;
    assert_eq!(
        err(&unknown)["message"],
        "BaseModel.search() got an unexpected keyword argument 'page'"
    );
    let missing = kw(&h, "hr.employee", "search", json!([]), json!({})).await;
    assert_eq!(
        err(&missing)["message"],
        "BaseModel.search() missing 1 required positional argument: 'domain'"
    );
}
