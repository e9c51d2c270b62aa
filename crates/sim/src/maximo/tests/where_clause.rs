//! The `oslc.where` language and `oslc.orderBy` as pure functions.

use serde_json::{Map, Value, json};

use super::super::where_clause::{EvalError, Literal, Op, Term, matches, parse};

fn record(fields: Value) -> Map<String, Value> {
    fields.as_object().cloned().unwrap_or_default()
}

fn holds(clause: &str, rec: &Map<String, Value>) -> bool {
    let terms = parse(clause).unwrap_or_else(|e| panic!("{clause}: {e:?}"));
    matches(&terms, rec, false, chrono_tz::America::New_York)
        .unwrap_or_else(|e| panic!("{clause}: {e:?}"))
}

#[test]
fn parses_comparisons_joined_by_and() {
    let terms =
        parse("changedate>=\"2024-01-01T00:00:00-00:00\" and status=\"APPR\" and wopriority<=2")
            .expect("parses");
    assert_eq!(
        terms,
        vec![
            Term::Compare {
                attr: "changedate".into(),
                op: Op::Ge,
                value: Literal::Text("2024-01-01T00:00:00-00:00".into())
            },
            Term::Compare {
                attr: "status".into(),
                op: Op::Eq,
                value: Literal::Text("APPR".into())
            },
            Term::Compare {
                attr: "wopriority".into(),
                op: Op::Le,
                value: Literal::Number(2.0)
            },
        ]
    );
    let terms = parse("SITEID in [\"BEDFORD\", \"TEXAS\"] AND istask=false").expect("parses");
    assert_eq!(
        terms,
        vec![
            Term::In {
                attr: "siteid".into(),
                values: vec![
                    Literal::Text("BEDFORD".into()),
                    Literal::Text("TEXAS".into())
                ]
            },
            Term::Compare {
                attr: "istask".into(),
                op: Op::Eq,
                value: Literal::Bool(false)
            },
        ]
    );
}

#[test]
fn refuses_what_the_server_does_not_parse() {
    for (clause, column) in [
        ("status=\"APPR\" or siteid=\"X\"", "column 15"),
        ("status=", "column 8"),
        ("=\"APPR\"", "column 1"),
        ("status in [\"A\" \"B\"]", "column 16"),
        ("status=\"APPR\" and", "column 18"),
        ("siteid='BEDFORD'", "column 8"),
    ] {
        let err = parse(clause).expect_err(clause);
        assert!(err.0.contains(column), "{clause}: {}", err.0);
    }
    assert!(parse("status=\"APPR").is_err(), "an unclosed string");
}

#[test]
fn compares_by_type() {
    let rec = record(json!({
        "wonum": "1001", "siteid": "BEDFORD", "status": "INPRG", "wopriority": 2,
        "description": "HVAC not cooling", "location": null, "istask": false,
        "changedate": "2024-03-01T09:30:00-05:00",
    }));
    assert!(holds("siteid=\"BEDFORD\"", &rec));
    assert!(!holds("siteid=\"bedford\"", &rec));
    assert!(holds("wopriority>1 and wopriority<3", &rec));
    assert!(holds("status in [\"APPR\",\"INPRG\"]", &rec));
    assert!(holds(
        "description=\"HVAC%\" and description=\"%cool%\"",
        &rec
    ));
    assert!(!holds("description=\"%heating%\"", &rec));
    assert!(holds("description!=\"%heating%\"", &rec));
    assert!(holds("location!=\"*\" and description=\"*\"", &rec));
    assert!(holds("istask=false and istask=0", &rec));
    // Dates compare as instants, whatever offset either side is written in.
    assert!(holds("changedate>=\"2024-03-01T14:30:00+00:00\"", &rec));
    assert!(!holds("changedate>\"2024-03-01T14:30:00Z\"", &rec));
    assert!(
        holds("changedate>=\"2024-03-01\"", &rec),
        "a bare date is midnight, server time"
    );
    // opmodeor: any term.
    let terms = parse("status=\"CLOSE\" and siteid=\"BEDFORD\"").expect("parses");
    assert!(matches(&terms, &rec, true, chrono_tz::UTC).expect("applies"));
    assert!(!matches(&terms, &rec, false, chrono_tz::UTC).expect("applies"));
}

#[test]
fn refuses_unknown_attributes_and_mistyped_values() {
    let rec = record(
        json!({"wopriority": 2, "changedate": "2024-03-01T09:30:00-05:00", "status": "APPR"}),
    );
    let eval = |clause: &str| {
        let terms = parse(clause).expect("parses");
        matches(&terms, &rec, false, chrono_tz::UTC)
    };
    assert_eq!(
        eval("colour=\"red\""),
        Err(EvalError::UnknownAttribute("colour".into()))
    );
    assert!(matches!(
        eval("wopriority=\"2\""),
        Err(EvalError::BadValue { .. })
    ));
    assert!(matches!(eval("status=2"), Err(EvalError::BadValue { .. })));
    assert!(matches!(
        eval("changedate>\"yesterday\""),
        Err(EvalError::BadValue { .. })
    ));
}

#[test]
fn order_by_needs_a_sign_on_every_key() {
    use super::super::http::parse_order_for_tests as parse_order;
    assert_eq!(
        parse_order("+changedate,-wonum").expect("parses"),
        vec![
            ("changedate".to_string(), true),
            ("wonum".to_string(), false)
        ]
    );
    assert!(parse_order("changedate").is_err(), "no sign");
    assert!(
        parse_order(" changedate").is_err(),
        "a + sent unencoded arrives as a space"
    );
    assert!(parse_order("+colour").is_err(), "not an attribute");
}
