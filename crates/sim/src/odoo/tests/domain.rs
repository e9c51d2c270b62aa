//! The domain language and `order`, as pure calls on a seeded database:
//! every operator, prefix logic, relational leaves, date handling, and the
//! errors Odoo raises for bad domains.

use serde_json::{Value, json};

use super::sim;
use crate::odoo::OdooSim;
use crate::odoo::domain::like;
use crate::odoo::error::{py_repr, py_tuple};

fn search(s: &OdooSim, model: &str, domain: Value) -> Vec<i64> {
    s.search(model, domain).expect("domain compiles")
}

/// Ids of active employees for which `pred` holds on the read record.
fn expect(s: &OdooSim, pred: impl Fn(&Value) -> bool) -> Vec<i64> {
    let mut ids: Vec<(String, i64)> = s
        .records("hr.employee")
        .into_iter()
        .filter(|e| e["active"] == true && pred(e))
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["id"].as_i64().unwrap(),
            )
        })
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}

fn dept(e: &Value) -> i64 {
    e["department_id"][0].as_i64().unwrap_or(0)
}

#[test]
fn comparison_and_membership_operators() {
    let s = sim();
    assert_eq!(
        search(&s, "hr.employee", json!([["department_id", "=", 4]])),
        expect(&s, |e| dept(e) == 4)
    );
    assert_eq!(
        search(&s, "hr.employee", json!([["department_id", "!=", 4]])),
        expect(&s, |e| dept(e) != 4)
    );
    assert_eq!(
        search(&s, "hr.employee", json!([["department_id", "in", [2, 3]]])),
        expect(&s, |e| [2, 3].contains(&dept(e)))
    );
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["department_id", "not in", [2, 3]]])
        ),
        expect(&s, |e| ![2, 3].contains(&dept(e)))
    );
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["id", ">", 50], ["id", "<=", 55]])
        )
        .len(),
        expect(&s, |e| (51..=55).contains(&e["id"].as_i64().unwrap())).len()
    );
    // `= False` is "not set"; `!=` matches the unset too, as SQL's "OR IS NULL".
    assert_eq!(
        search(&s, "hr.employee", json!([["coach_id", "=", false]])),
        expect(&s, |e| e["coach_id"] == false)
    );
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["mobile_phone", "!=", "+1 555-7000"]])
        ),
        expect(&s, |e| e["mobile_phone"] != "+1 555-7000")
    );
    assert_eq!(
        search(&s, "hr.employee", json!([["category_ids", "in", [4]]])),
        expect(&s, |e| e["category_ids"]
            .as_array()
            .unwrap()
            .contains(&json!(4)))
    );
    // `=` with a list is read as `in`, and `<>` as `!=`.
    assert_eq!(
        search(&s, "hr.employee", json!([["id", "=", [1, 2]]])),
        search(&s, "hr.employee", json!([["id", "in", [1, 2]]]))
    );
    assert_eq!(
        search(&s, "hr.employee", json!([["id", "<>", 1]])).len(),
        expect(&s, |e| e["id"] != 1).len()
    );
    assert_eq!(
        search(&s, "hr.employee", json!([["coach_id", "=?", false]])).len(),
        expect(&s, |_| true).len()
    );
}

#[test]
fn like_operators_and_names_of_related_records() {
    let s = sim();
    let some = s.employee(3).unwrap();
    let name = some["name"].as_str().unwrap().to_string();
    let last = name.split(' ').nth(1).unwrap().to_string();
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["name", "ilike", last.to_lowercase()]])
        ),
        expect(&s, |e| e["name"].as_str().unwrap().contains(&last))
    );
    assert!(
        search(
            &s,
            "hr.employee",
            json!([["name", "like", last.to_lowercase()]])
        )
        .is_empty(),
        "like is case-sensitive"
    );
    let first = name.split(' ').next().unwrap().to_string();
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["name", "=like", format!("{first} %")]])
        ),
        expect(&s, |e| e["name"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{first} ")))
    );
    assert!(
        search(&s, "hr.employee", json!([["name", "not ilike", last]]))
            .iter()
            .all(|id| *id != 3)
    );
    // A many2one given text is matched by the related record's name: for a
    // department that is `complete_name`, its `_rec_name`.
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["department_id", "=", "Management / Administration"]])
        ),
        expect(&s, |e| dept(e) == 2)
    );
    assert!(
        search(
            &s,
            "hr.employee",
            json!([["department_id", "=", "Administration"]])
        )
        .is_empty()
    );
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["department_id", "ilike", "service"]])
        ),
        expect(&s, |e| dept(e) == 5)
    );
    // A dotted path tests the related record.
    assert_eq!(
        search(
            &s,
            "hr.employee",
            json!([["department_id.name", "=", "IT"]])
        ),
        expect(&s, |e| dept(e) == 4)
    );
    assert_eq!(
        search(
            &s,
            "purchase.order.line",
            json!([["order_id.name", "=", "P00001"]])
        )
        .len(),
        s.order_lines(1).len()
    );
    assert_eq!(
        search(
            &s,
            "purchase.order",
            json!([[
                "order_line",
                "any",
                [["product_id.default_code", "=", "LAP-14"]]
            ]])
        )
        .len(),
        s.records("purchase.order")
            .iter()
            .filter(|p| {
                s.order_lines(p["id"].as_i64().unwrap())
                    .iter()
                    .any(|l| l["product_id"][0] == 1)
            })
            .count()
    );
}

#[test]
fn prefix_operators_and_hierarchies() {
    let s = sim();
    let either = search(
        &s,
        "hr.employee",
        json!(["|", ["department_id", "=", 2], ["department_id", "=", 3]]),
    );
    assert_eq!(either, expect(&s, |e| [2, 3].contains(&dept(e))));
    let not = search(&s, "hr.employee", json!(["!", ["department_id", "=", 2]]));
    assert_eq!(not, expect(&s, |e| dept(e) != 2));
    let nested = search(
        &s,
        "hr.employee",
        json!([
            "&",
            "|",
            ["department_id", "=", 2],
            ["department_id", "=", 3],
            ["coach_id", "!=", false]
        ]),
    );
    assert_eq!(
        nested,
        expect(&s, |e| [2, 3].contains(&dept(e)) && e["coach_id"] != false)
    );
    // IT (4) holds the Service Desk (5); Administration (2) holds IT and others.
    assert_eq!(
        search(&s, "hr.department", json!([["id", "child_of", 4]])),
        vec![4, 5]
    );
    // In the departments' `_order` (name): Administration, IT, Management, Service Desk.
    assert_eq!(
        search(&s, "hr.department", json!([["id", "parent_of", 5]])),
        vec![2, 4, 1, 5]
    );
    assert_eq!(
        search(&s, "hr.employee", json!([["department_id", "child_of", 4]])),
        expect(&s, |e| [4, 5].contains(&dept(e)))
    );
}

#[test]
fn dates_compare_as_timestamps() {
    let s = sim();
    let e = s.employee(10).unwrap();
    let written = e["write_date"].as_str().unwrap().to_string();
    let on_or_after = search(&s, "hr.employee", json!([["write_date", ">=", written]]));
    assert!(on_or_after.contains(&10));
    assert!(!search(&s, "hr.employee", json!([["write_date", ">", written]])).contains(&10));
    // A date alone means the day's start, or its end for `>` and `<=`.
    let day = &written[..10];
    assert!(search(&s, "hr.employee", json!([["write_date", "<=", day]])).contains(&10));
    assert!(!search(&s, "hr.employee", json!([["write_date", ">", day]])).contains(&10));
    assert!(search(&s, "hr.employee", json!([["write_date", ">=", day]])).contains(&10));
    let iso = format!("{}T{}Z", day, &written[11..]);
    assert!(search(&s, "hr.employee", json!([["write_date", "=", iso]])).contains(&10));
    let bad = s
        .search("hr.employee", json!([["write_date", ">", "yesterday"]]))
        .unwrap_err();
    assert_eq!(bad.name, "psycopg2.errors.InvalidDatetimeFormat");
    assert_eq!(
        bad.message,
        "invalid input syntax for type timestamp: \"yesterday\"\n"
    );
}

#[test]
fn bad_domains_fail_as_odoo_fails() {
    let s = sim();
    let error = |domain: Value| s.search("hr.employee", domain).unwrap_err();
    let e = error(json!([["salary", ">", 1]]));
    assert_eq!(
        (e.name.as_str(), e.message.as_str()),
        (
            "builtins.ValueError",
            "Invalid field hr.employee.salary in leaf ('salary', '>', 1)"
        )
    );
    let e = error(json!(["|", ["id", "=", 1]]));
    assert_eq!(
        e.message,
        "Domain ['|', ['id', '=', 1]] is syntactically not correct."
    );
    let e = error(json!([["name", "equals", "x"]]));
    assert_eq!(e.message, "Invalid leaf ('name', 'equals', 'x')");
    let e = error(json!([["name", "="]]));
    assert_eq!(e.message, "not enough values to unpack (expected 3, got 2)");
    let e = error(json!([["name"]]));
    assert_eq!(
        (e.name.as_str(), e.message.as_str()),
        ("builtins.IndexError", "tuple index out of range")
    );
    let e = error(json!([["department_id.budget", "=", 1]]));
    assert_eq!(
        e.message,
        "Invalid field hr.department.budget in leaf ('budget', '=', 1)"
    );
    let e = error(json!([["id", "in", 5]]));
    assert_eq!(e.message, "Invalid domain term ('id', 'in', 5)");
    let e = error(json!("name = x"));
    assert_eq!(e.name, "builtins.AssertionError");
    // An empty `in` short-circuits before any field is looked at, as `is_false` does.
    assert_eq!(
        search(&s, "hr.employee", json!([["salary", "in", []]])),
        Vec::<i64>::new()
    );
    // Operators are case-insensitive.
    assert_eq!(
        search(&s, "hr.employee", json!([["name", "ILIKE", "a"]])),
        search(&s, "hr.employee", json!([["name", "ilike", "a"]]))
    );
}

#[test]
fn long_domains_are_served_and_runaway_nesting_is_refused() {
    let s = sim();
    let mut wide = vec![json!("|"); 4999];
    wide.extend((1..=5000).map(|id| json!(["id", "=", id])));
    assert_eq!(search(&s, "hr.department", json!(wide)).len(), 8);
    let mut deep = Vec::new();
    for i in 0..2000 {
        deep.push(json!(if i % 2 == 0 { "&" } else { "|" }));
        deep.push(json!(["id", "!=", i]));
    }
    deep.push(json!(["id", "=", 1]));
    let e = s.search("hr.department", json!(deep)).unwrap_err();
    assert_eq!(e.name, "builtins.RecursionError");
    let path = vec!["parent_id"; 300].join(".") + ".name";
    let e = s
        .search("hr.department", json!([[path, "=", "x"]]))
        .unwrap_err();
    assert_eq!(e.name, "builtins.RecursionError");
}

#[test]
fn order_terms_sort_and_bad_ones_are_refused() {
    let s = sim();
    let orders = |order: &str| {
        let mut st = s.lock();
        let args = [json!([]), json!(0), json!(false), json!(order)];
        crate::odoo::orm::call(
            &mut st,
            "purchase.order",
            "search",
            &args,
            &Default::default(),
        )
    };
    let by_name = orders("name desc").unwrap();
    assert_eq!(by_name[0], 30);
    let default = orders("").unwrap();
    let urgent: Vec<i64> = s
        .records("purchase.order")
        .iter()
        .filter(|p| p["priority"] == "1")
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    let mut first = urgent.clone();
    first.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        default.as_array().unwrap()[..first.len()].to_vec(),
        first.iter().map(|i| json!(i)).collect::<Vec<_>>(),
        "priority desc, id desc"
    );
    let by_vendor = orders("partner_id, id").unwrap();
    assert_eq!(by_vendor.as_array().unwrap().len(), 30);
    let e = orders("name; drop table").unwrap_err();
    assert_eq!(e.name, "odoo.exceptions.UserError");
    assert!(
        e.message
            .starts_with("Invalid \"order\" specified (name; drop table).")
    );
    let e = orders("budget desc").unwrap_err();
    assert_eq!(
        e.message,
        "Invalid field 'budget' on model 'purchase.order'"
    );
    let e = orders("display_name").unwrap_err();
    assert_eq!(
        e.message,
        "Cannot convert purchase.order.display_name to SQL because it is not stored"
    );
    assert!(orders("name,").is_err());
    assert!(orders("date_approve desc nulls last, id").is_ok());
}

#[test]
fn like_follows_postgres_patterns() {
    assert!(like("%top 1_in", "Laptop 14in", false));
    assert!(!like("%TOP%", "Laptop", false));
    assert!(like("%TOP%", "Laptop", true));
    assert!(like("50\\%", "50%", false));
    assert!(!like("50\\%", "500", false));
    assert!(like("", "", false));
    assert!(!like("_", "", false));
}

#[test]
fn python_reprs_match_odoos_messages() {
    assert_eq!(
        py_repr(&json!(["a", 1, 1.5, true, null, {"k": "it's"}])),
        "['a', 1, 1.5, True, None, {'k': \"it's\"}]"
    );
    assert_eq!(py_repr(&json!(2.0)), "2.0");
    assert_eq!(
        py_tuple(&[json!("name"), json!("="), json!(false)]),
        "('name', '=', False)"
    );
}
