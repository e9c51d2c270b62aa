//! Pure tests of the encoded-query parser and evaluator.

use serde_json::{Map, Value, json};

use super::super::query::{self, Condition, Op, OrderBy};

fn rec(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect()
}

fn cond(field: &str, op: Op, value: &str) -> Condition {
    Condition {
        field: field.into(),
        op,
        value: value.into(),
    }
}

#[test]
fn parses_and_or_and_order_clauses() {
    let q = query::parse("active=true^priority<=2^ORpriority=5^ORDERBYDESCnumber^ORDERBYsys_id");
    assert_eq!(
        q.blocks,
        vec![vec![
            vec![cond("active", Op::Eq, "true")],
            vec![cond("priority", Op::Le, "2"), cond("priority", Op::Eq, "5")]
        ]]
    );
    assert_eq!(
        q.order,
        vec![
            OrderBy {
                field: "number".into(),
                descending: true
            },
            OrderBy {
                field: "sys_id".into(),
                descending: false
            }
        ]
    );
}

#[test]
fn parses_every_operator() {
    let cases = [
        ("a=1", Op::Eq, "1"),
        ("a!=1", Op::Ne, "1"),
        ("a>1", Op::Gt, "1"),
        ("a>=1", Op::Ge, "1"),
        ("a<1", Op::Lt, "1"),
        ("a<=1", Op::Le, "1"),
        ("aSTARTSWITHVPN", Op::StartsWith, "VPN"),
        ("aENDSWITHdown", Op::EndsWith, "down"),
        ("aLIKEmail", Op::Like, "mail"),
        ("aNOTLIKEmail", Op::NotLike, "mail"),
        ("aNOT LIKEmail", Op::NotLike, "mail"),
        ("aIN1,2,3", Op::In, "1,2,3"),
        ("aNOT IN1,2", Op::NotIn, "1,2"),
        ("aISEMPTY", Op::IsEmpty, ""),
        ("aISNOTEMPTY", Op::IsNotEmpty, ""),
        ("a=x=y", Op::Eq, "x=y"),
    ];
    for (text, op, value) in cases {
        assert_eq!(
            query::parse_condition(text),
            Some(cond("a", op, value)),
            "{text}"
        );
    }
    assert_eq!(
        query::parse_condition(
            "sys_updated_on>=javascript:gs.dateGenerate('2024-01-15','12:00:00')"
        ),
        Some(cond("sys_updated_on", Op::Ge, "2024-01-15 12:00:00"))
    );
    assert_eq!(
        query::parse("short_description=a^^b").blocks[0][0][0].value,
        "a^b"
    );
}

#[test]
fn garbage_never_panics_and_yields_nothing_usable() {
    for text in [
        "",
        "^",
        "^^^",
        "=",
        "ORDERBY",
        "ORDERBYDESC",
        "^OR^NQ",
        "!!",
        "a",
        "é=1",
        "aISEMPTYx",
        "NQ",
        "OR=1",
    ] {
        let q = query::parse(text);
        assert!(
            q.matches(&rec(&[("a", "1")]), &|_| true),
            "{text} should filter nothing"
        );
    }
}

#[test]
fn evaluates_conditions_with_numeric_and_string_comparison() {
    let r = rec(&[
        ("priority", "10"),
        ("short_description", "VPN drops every few minutes"),
        ("location", ""),
        ("sys_updated_on", "2024-03-01 10:00:00"),
    ]);
    let yes = |text: &str| query::parse(text).matches(&r, &|_| true);
    assert!(yes("priority>9"), "10 > 9 numerically, not as strings");
    assert!(!yes("priority<9"));
    assert!(yes("short_descriptionLIKEdrops"));
    assert!(
        yes("short_descriptionSTARTSWITHvpn"),
        "string matching is case-insensitive"
    );
    assert!(!yes("short_descriptionNOTLIKEdrops"));
    assert!(yes("locationISEMPTY^short_descriptionISNOTEMPTY"));
    assert!(yes("priorityIN5,10"));
    assert!(!yes("priorityNOT IN5,10"));
    assert!(yes(
        "sys_updated_on>=2024-03-01 09:59:59^sys_updated_on<2024-03-01 10:00:01"
    ));
    assert!(
        !yes("location>0"),
        "empty values never satisfy an ordering comparison"
    );
    assert!(yes("priority=1^ORpriority=10"));
    assert!(
        yes("priority=1^NQpriority=10"),
        "NQ starts an alternative query"
    );
    assert!(!yes("priority=1^NQpriority=2"));
}

#[test]
fn invalid_fields_are_ignored_by_default() {
    let r = rec(&[("active", "true")]);
    let known = |f: &str| f == "active";
    assert!(query::parse("no_such_field=1^active=true").matches(&r, &known));
    assert!(!query::parse("no_such_field=1^active=false").matches(&r, &known));
    assert!(query::parse("no_such_field=1").matches(&r, &known));
}

#[test]
fn sorts_stably_by_several_keys() {
    let rows = [
        rec(&[("n", "1"), ("p", "2"), ("t", "b")]),
        rec(&[("n", "2"), ("p", "1"), ("t", "a")]),
        rec(&[("n", "3"), ("p", "2"), ("t", "a")]),
        rec(&[("n", "4"), ("p", "10"), ("t", "a")]),
        rec(&[("n", "5"), ("p", "2"), ("t", "a")]),
    ];
    let order = |text: &str| {
        let mut refs: Vec<&Map<String, Value>> = rows.iter().collect();
        query::parse(text).sort(&mut refs, &|_| true);
        refs.iter()
            .map(|r| r["n"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join("")
    };
    assert_eq!(
        order("ORDERBYp"),
        "21354",
        "numeric order, ties in insertion order"
    );
    assert_eq!(order("ORDERBYDESCp^ORDERBYt"), "43512");
    assert_eq!(order("ORDERBYbogus"), "12345");
}
