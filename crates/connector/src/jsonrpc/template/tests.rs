//! Templates parsed and rendered: placeholders keep their JSON type,
//! text is interpolated, and each context refuses what it cannot fill.

use super::*;
use serde_json::json;

fn vars() -> BTreeMap<String, Resolved> {
    BTreeMap::from([
        (
            "db".to_string(),
            Resolved {
                value: "acme".into(),
                secret: false,
            },
        ),
        (
            "key".to_string(),
            Resolved {
                value: "s3cret".into(),
                secret: true,
            },
        ),
    ])
}

#[test]
fn whole_placeholders_keep_their_type_and_text_interpolates() {
    let names = vec!["db".to_string(), "key".to_string()];
    let t = Template::compile(
        &json!({"args": ["${vars.db}", "${session}", "${vars.key}", "hr.employee",
            [[["write_date", ">=", "${cursor}"]]],
            {"offset": "${offset}", "limit": "${limit}", "note": "page ${page} of ${vars.db}"}]}),
        Context::Stream,
        &names,
    )
    .unwrap();
    let vars = vars();
    let session = json!(7);
    let mut scope = Scope {
        vars: Some(&vars),
        session: Some(&session),
        cursor: Some("2024-01-01 00:00:00"),
        offset: 200,
        limit: 100,
        page: 3,
        ..Scope::default()
    };
    assert_eq!(
        t.render(&scope).unwrap(),
        json!({"args": ["acme", 7, "s3cret", "hr.employee",
            [[["write_date", ">=", "2024-01-01 00:00:00"]]],
            {"offset": 200, "limit": 100, "note": "page 3 of acme"}]})
    );
    scope.redact = true;
    assert_eq!(scope.vars.unwrap()["key"].value, "s3cret");
    assert_eq!(t.render(&scope).unwrap()["args"][2], json!("***"));
    assert!(!format!("{vars:?}").contains("s3cret"));
}

#[test]
fn ids_that_are_integers_go_as_numbers() {
    let t = Template::compile(&json!([["${id}"], "${body}"]), Context::Action, &[]).unwrap();
    let body = json!({"name": "x"});
    let render = |id| {
        t.render(&Scope {
            id: Some(id),
            body: Some(&body),
            ..Scope::default()
        })
        .unwrap()
    };
    assert_eq!(render("42"), json!([[42], {"name": "x"}]));
    assert_eq!(render("0042"), json!([["0042"], {"name": "x"}]));
    let err = t.render(&Scope::default()).unwrap_err();
    assert_eq!(err, "`${id}` has no value");
}

#[test]
fn placeholders_are_checked_where_they_are_used() {
    let err = Template::compile(&json!("${cursor}"), Context::Action, &[]).unwrap_err();
    assert!(err.contains("an action call has"), "{err}");
    let err = Template::compile(&json!("${session}"), Context::Session, &[]).unwrap_err();
    assert!(err.contains("a login call has only `vars`"), "{err}");
    let err = Template::compile(&json!("${vars.pw}"), Context::Stream, &["db".into()]).unwrap_err();
    assert!(err.contains("no `pw` in `[vars]` (it has: db)"), "{err}");
    let err = Template::compile(&json!("${curser}"), Context::Stream, &[]).unwrap_err();
    assert!(err.contains("is not a placeholder"), "{err}");
    assert!(Template::compile(&json!("${cursor"), Context::Stream, &[]).is_err());
}
