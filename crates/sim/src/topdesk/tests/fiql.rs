//! The FIQL query language as pure functions: parsing and evaluation.

use serde_json::json;

use super::super::fiql::{Op, Query, matches, parse};

fn c(selector: &str, op: Op, args: &[&str]) -> Query {
    Query::Constraint {
        selector: selector.into(),
        op,
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

#[test]
fn parses_every_operator() {
    for (text, op) in [
        ("a==1", Op::Eq),
        ("a!=1", Op::Ne),
        ("a=gt=1", Op::Gt),
        ("a=ge=1", Op::Ge),
        ("a=lt=1", Op::Lt),
        ("a=le=1", Op::Le),
        ("a=sw=1", Op::StartsWith),
    ] {
        assert_eq!(parse(text), Ok(c("a", op, &["1"])), "{text}");
    }
    assert_eq!(
        parse("operatorGroup.name=in=(Support,'Service Desk')"),
        Ok(c(
            "operatorGroup.name",
            Op::In,
            &["Support", "Service Desk"]
        ))
    );
    assert_eq!(parse("a=out=(x)"), Ok(c("a", Op::Out, &["x"])));
}

#[test]
fn and_binds_tighter_than_or_and_brackets_group() {
    assert_eq!(
        parse("a==1;b==2,c==3"),
        Ok(Query::Or(vec![
            Query::And(vec![c("a", Op::Eq, &["1"]), c("b", Op::Eq, &["2"])]),
            c("c", Op::Eq, &["3"]),
        ]))
    );
    assert_eq!(
        parse("a==1;(b==2,c==3)"),
        Ok(Query::And(vec![
            c("a", Op::Eq, &["1"]),
            Query::Or(vec![c("b", Op::Eq, &["2"]), c("c", Op::Eq, &["3"])]),
        ]))
    );
}

#[test]
fn values_quote_and_escape() {
    assert_eq!(
        parse(r#"caller.dynamicName=="O'Brien, \"Pat\"""#),
        Ok(c("caller.dynamicName", Op::Eq, &[r#"O'Brien, "Pat""#]))
    );
    assert_eq!(
        parse("modificationDate=ge=2024-01-01T00:00:00.000+0000"),
        Ok(c(
            "modificationDate",
            Op::Ge,
            &["2024-01-01T00:00:00.000+0000"]
        ))
    );
}

#[test]
fn refuses_malformed_queries() {
    for bad in [
        "",
        "a",
        "a==",
        "a=xx=1",
        "a==1;",
        "(a==1",
        "a=in=(1,2",
        "a==(1,2)",
        "a=='open",
        "a==1 b==2",
        "modificationDate=ge=2024-01-01T00:00:00 0000",
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(err.0.starts_with("Error parsing query"), "{bad}: {}", err.0);
    }
}

#[test]
fn evaluates_dates_as_instants() {
    let rec = json!({"modificationDate": "2024-02-23T14:35:00.000+0000", "closedDate": null});
    let yes = [
        "modificationDate=ge=2024-02-23T14:35:00Z",
        "modificationDate=ge=2024-02-23T15:35:00+0100",
        "modificationDate=ge=2024-02-23T15:35:00+01:00",
        "modificationDate=gt=2024-02-23T14:34:59Z",
        "modificationDate=le=2024-02-23T14:35:00.000+0000",
        "modificationDate==2024-02-23T14:35:00Z",
        "closedDate==null",
    ];
    for q in yes {
        assert_eq!(
            matches(&parse(q).unwrap_or_else(|e| panic!("{e:?}")), &rec),
            Ok(true),
            "{q}"
        );
    }
    let no = [
        "modificationDate=gt=2024-02-23T14:35:00Z",
        "modificationDate=lt=2024-02-23T14:35:00Z",
        "closedDate!=null",
        "closedDate=gt=2024-01-01T00:00:00Z",
    ];
    for q in no {
        assert_eq!(
            matches(&parse(q).unwrap_or_else(|e| panic!("{e:?}")), &rec),
            Ok(false),
            "{q}"
        );
    }
}

#[test]
fn evaluates_text_booleans_lists_and_objects() {
    let rec = json!({
        "closed": false,
        "briefDescription": "Printer jams",
        "processingStatus": {"id": "4b6d4f4e-0000-4000-8000-000000000001", "name": "In progress"},
        "timeSpent": 12,
    });
    let check = |q: &str| matches(&parse(q).unwrap_or_else(|e| panic!("{e:?}")), &rec);
    assert_eq!(check("closed==false"), Ok(true));
    assert_eq!(check("closed==true"), Ok(false));
    assert_eq!(check("briefDescription=sw=printer"), Ok(true));
    assert_eq!(
        check("processingStatus.name=in=(Logged,'In progress')"),
        Ok(true)
    );
    assert_eq!(
        check("processingStatus.name=out=(Logged,'In progress')"),
        Ok(false)
    );
    assert_eq!(
        check("processingStatus==4b6d4f4e-0000-4000-8000-000000000001"),
        Ok(true)
    );
    assert_eq!(check("timeSpent=gt=10;closed==false"), Ok(true));
    assert_eq!(
        check("timeSpent=gt=20,briefDescription=='Printer jams'"),
        Ok(true)
    );
    // Ordering text, or filtering on a field incidents do not have, is refused.
    assert!(check("briefDescription=gt=a").is_err());
    assert!(check("colour==red").is_err());
}
