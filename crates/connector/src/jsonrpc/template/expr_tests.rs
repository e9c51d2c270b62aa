//! Expressions inside placeholders: quoted text, `base64(...)` and `+`,
//! as login results become session headers.

use super::*;
use serde_json::json;

#[test]
fn a_session_header_is_built_from_the_login_result_and_masked() {
    let names = vec!["login".to_string()];
    let t = Template::compile(
        &json!("${'Session ' + base64(vars.login + ':' + session.0 + ':' + session.1)}"),
        Context::Headers,
        &names,
    )
    .unwrap();
    let vars = BTreeMap::from([(
        "login".to_string(),
        Resolved {
            value: "admin".into(),
            secret: false,
        },
    )]);
    let session = json!([1, "5e55"]);
    let mut scope = Scope {
        vars: Some(&vars),
        session: Some(&session),
        ..Scope::default()
    };
    // base64("admin:1:5e55")
    assert_eq!(t.render(&scope).unwrap(), json!("Session YWRtaW46MTo1ZTU1"));
    scope.redact = true;
    assert_eq!(
        t.render(&scope).unwrap(),
        json!("***"),
        "the token is hidden"
    );
    let err =
        Template::compile(&json!("${md5(vars.login)}"), Context::Headers, &names).unwrap_err();
    assert!(err.contains("the only one is `base64(...)`"), "{err}");
    let err = Template::compile(&json!("${'a' + cursor}"), Context::Headers, &names).unwrap_err();
    assert!(err.contains("has no value here"), "{err}");
    let err = Template::compile(&json!("${'a' vars.login}"), Context::Headers, &names).unwrap_err();
    assert!(err.contains("join values with `+`"), "{err}");
}

#[test]
fn cursor_parts_write_the_bound_as_an_object() {
    let t = Template::compile(
        &json!({"__class__": "datetime", "year": "${cursor.year}", "hour": "${cursor.hour}"}),
        Context::Stream,
        &[],
    )
    .unwrap();
    let parts = json!({"year": 2026, "hour": 9});
    let scope = Scope {
        cursor_parts: Some(&parts),
        ..Scope::default()
    };
    assert_eq!(
        t.render(&scope).unwrap(),
        json!({"__class__": "datetime", "year": 2026, "hour": 9})
    );
}
