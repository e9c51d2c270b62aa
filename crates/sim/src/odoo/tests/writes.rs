//! Creates, writes, the chatter and the purchase workflow over HTTP, read
//! back through the API and through the test handle.

use chrono::Duration;
use serde_json::{Value, json};

use super::{err, ids, kw, now, ok, sim, start};

#[tokio::test]
async fn create_returns_ids_and_the_record_reads_back() {
    let h = start().await;
    let id = ok(kw(
        &h,
        "hr.employee",
        "create",
        json!([{"name": "Ada Byron", "work_email": "ada@example.com", "department_id": 4}]),
        json!({}),
    )
    .await);
    assert_eq!(id, json!(61));
    let e = h.sim.employee(61).unwrap();
    assert_eq!(
        e["department_id"],
        json!([4, "Management / Administration / IT"])
    );
    assert_eq!(e["employee_type"], "employee");
    assert_eq!(e["active"], true);
    assert_eq!(e["create_date"], "2024-06-03 09:30:00");
    assert_eq!(e["write_date"], "2024-06-03 09:30:00");
    let many = ok(kw(
        &h,
        "hr.employee",
        "create",
        json!([[{"name": "B"}, {"name": "C"}]]),
        json!({}),
    )
    .await);
    assert_eq!(many, json!([62, 63]));
    let found = ok(kw(
        &h,
        "hr.employee",
        "search_read",
        json!([[["work_email", "=", "ada@example.com"]]]),
        json!({"fields": ["name"]}),
    )
    .await);
    assert_eq!(found, json!([{"id": 61, "name": "Ada Byron"}]));
}

#[tokio::test]
async fn a_missing_required_field_is_a_validation_error_and_nothing_is_created() {
    let h = start().await;
    let before = h.sim.count("purchase.order");
    let answer = kw(
        &h,
        "purchase.order",
        "create",
        json!([{"origin": "SR-1"}]),
        json!({}),
    )
    .await;
    let data = err(&answer);
    assert_eq!(data["name"], "odoo.exceptions.ValidationError");
    let message = "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n- Delete: another model requires the record being deleted. If possible, archive it instead.\n\nModel: Purchase Order (purchase.order)\nField: Vendor (partner_id)\n";
    assert_eq!(data["message"], message);
    assert_eq!(data["arguments"], json!([message]));
    assert_eq!(h.sim.count("purchase.order"), before);
    // A list is created whole or not at all.
    let answer = kw(
        &h,
        "hr.employee",
        "create",
        json!([[{"name": "Ok"}, {"work_email": "no-name@example.com"}]]),
        json!({}),
    )
    .await;
    assert_eq!(
        err(&answer)["message"].as_str().unwrap().lines().nth(4),
        Some("Model: Resources (resource.resource)")
    );
    assert!(
        err(&answer)["message"]
            .as_str()
            .unwrap()
            .ends_with("Field: Name (name)\n")
    );
    assert_eq!(h.sim.count("hr.employee"), 60);
    let unknown = kw(
        &h,
        "hr.employee",
        "create",
        json!([{"name": "X", "salary": 1}]),
        json!({}),
    )
    .await;
    assert_eq!(
        err(&unknown)["message"],
        "Invalid field 'salary' on model 'hr.employee'"
    );
    let dangling = kw(
        &h,
        "hr.employee",
        "create",
        json!([{"name": "X", "department_id": 999}]),
        json!({}),
    )
    .await;
    assert!(
        err(&dangling)["message"]
            .as_str()
            .unwrap()
            .ends_with("Constraint: hr_employee_department_id_fkey\n")
    );
    let iso = kw(
        &h,
        "purchase.order",
        "create",
        json!([{"partner_id": 4, "date_order": "2024-06-01T10:00:00Z"}]),
        json!({}),
    )
    .await;
    assert_eq!(
        err(&iso)["message"],
        "time data '2024-06-01T10:00:00' does not match format '%Y-%m-%d %H:%M:%S'"
    );
    let badge = kw(
        &h,
        "hr.employee",
        "create",
        json!([{"name": "Twin", "barcode": "04001001"}]),
        json!({}),
    )
    .await;
    assert!(
        err(&badge)["message"]
            .as_str()
            .unwrap()
            .contains("The Badge ID must be unique")
    );
}

#[tokio::test]
async fn a_purchase_order_with_lines_gets_a_reference_and_totals() {
    let h = start().await;
    let vals = json!({"partner_id": 5, "origin": "SR-42", "order_line": [
        [0, 0, {"product_id": 1, "product_qty": 2}],
        [0, 0, {"product_id": 2, "product_qty": 1, "price_unit": 300.0, "name": "Monitor, matte"}],
    ]});
    let id = ok(kw(&h, "purchase.order", "create", json!([vals]), json!({})).await)
        .as_i64()
        .unwrap();
    let po = h.sim.purchase_order(id).unwrap();
    assert_eq!(po["name"], "P00031");
    assert_eq!(po["state"], "draft");
    assert_eq!(po["partner_id"][1], "Contoso Hardware");
    assert_eq!(po["currency_id"], json!([1, "EUR"]));
    assert_eq!(po["amount_untaxed"], json!(2198.0));
    assert_eq!(po["amount_total"], json!(2527.7));
    let lines = h.sim.order_lines(id);
    assert_eq!(lines[0]["name"], "[LAP-14] Laptop 14in");
    assert_eq!(lines[0]["price_unit"], json!(949.0));
    assert_eq!(lines[1]["name"], "Monitor, matte");
    assert_eq!(po["order_line"], json!(ids(&json!(lines))));
    let confirmed = ok(kw(
        &h,
        "purchase.order",
        "button_confirm",
        json!([[id]]),
        json!({}),
    )
    .await);
    assert_eq!(confirmed, json!(true));
    let po = h.sim.purchase_order(id).unwrap();
    assert_eq!(po["state"], "purchase");
    assert_eq!(po["date_approve"], "2024-06-03 09:30:00");
    let delete = kw(&h, "purchase.order", "unlink", json!([[id]]), json!({})).await;
    assert_eq!(
        err(&delete)["message"],
        "In order to delete a purchase order, you must cancel it first."
    );
    ok(kw(
        &h,
        "purchase.order",
        "button_cancel",
        json!([[id]]),
        json!({}),
    )
    .await);
    ok(kw(&h, "purchase.order", "unlink", json!([[id]]), json!({})).await);
    assert!(h.sim.purchase_order(id).is_none());
    assert!(h.sim.order_lines(id).is_empty());
}

#[tokio::test]
async fn write_changes_values_and_stamps_write_date() {
    let h = start().await;
    let before = h.sim.employee(7).unwrap();
    let later = now() + Duration::minutes(5);
    h.sim.set_now(later);
    let done = ok(kw(
        &h,
        "hr.employee",
        "write",
        json!([[7], {"job_title": "Lead", "parent_id": 1, "write_date": "2000-01-01 00:00:00"}]),
        json!({}),
    )
    .await);
    assert_eq!(done, json!(true));
    let after = h.sim.employee(7).unwrap();
    assert_eq!(after["job_title"], "Lead");
    assert_eq!(after["parent_id"][0], 1);
    assert_eq!(
        after["write_date"], "2024-06-03 09:35:00",
        "a client cannot set write_date"
    );
    assert_eq!(after["create_date"], before["create_date"]);
    let changed = ok(kw(
        &h,
        "hr.employee",
        "search",
        json!([[["write_date", ">", "2024-06-03 09:30:00"]]]),
        json!({}),
    )
    .await);
    assert_eq!(changed, json!([7]));
    let gone = kw(
        &h,
        "hr.employee",
        "write",
        json!([[999], {"job_title": "x"}]),
        json!({}),
    )
    .await;
    assert_eq!(err(&gone)["name"], "odoo.exceptions.MissingError");
    let state = kw(
        &h,
        "purchase.order",
        "write",
        json!([[1], {"state": "bogus"}]),
        json!({}),
    )
    .await;
    assert_eq!(
        err(&state)["message"],
        "Wrong value for purchase.order.state: 'bogus'"
    );
    let emptied = kw(
        &h,
        "hr.employee",
        "write",
        json!([[7], {"name": false}]),
        json!({}),
    )
    .await;
    assert_eq!(err(&emptied)["name"], "odoo.exceptions.ValidationError");
    assert_eq!(
        h.sim.employee(7).unwrap()["job_title"],
        "Lead",
        "a failed write changes nothing"
    );
    // Tags by command, and by a plain list of ids.
    ok(kw(
        &h,
        "hr.employee",
        "write",
        json!([[7], {"category_ids": [[6, 0, [1, 2]], [4, 3], [3, 1]]}]),
        json!({}),
    )
    .await);
    assert_eq!(h.sim.employee(7).unwrap()["category_ids"], json!([2, 3]));
    ok(kw(
        &h,
        "hr.employee",
        "write",
        json!([[7], {"category_ids": [4]}]),
        json!({}),
    )
    .await);
    assert_eq!(h.sim.employee(7).unwrap()["category_ids"], json!([4]));
}

#[tokio::test]
async fn renaming_a_department_restamps_those_below_it() {
    let h = start().await;
    h.sim.set_now(now() + Duration::hours(1));
    ok(kw(
        &h,
        "hr.department",
        "write",
        json!([[4], {"name": "Information Technology"}]),
        json!({}),
    )
    .await);
    let desk = h.sim.department(5).unwrap();
    assert_eq!(
        desk["complete_name"],
        "Management / Administration / Information Technology / Service Desk"
    );
    assert_eq!(desk["write_date"], "2024-06-03 10:30:00");
}

#[tokio::test]
async fn message_post_stores_a_message_readable_through_mail_message() {
    let h = start().await;
    let before = h.sim.employee(12).unwrap()["write_date"].clone();
    let posted = kw(&h, "hr.employee", "message_post", json!([[12]]), json!({
        "body": "Laptop <14in> shipped", "message_type": "comment", "subtype_xmlid": "mail.mt_comment"})).await;
    let message_id = ok(posted).as_i64().unwrap();
    let note = ok(kw(
        &h,
        "hr.employee",
        "message_post",
        json!([12]),
        json!({"body": "<b>internal</b>", "body_is_html": true}),
    )
    .await);
    let domain = json!([["model", "=", "hr.employee"], ["res_id", "=", 12]]);
    let messages = ok(kw(
        &h,
        "mail.message",
        "search_read",
        json!([domain]),
        json!({"fields": ["body", "message_type", "subtype_id", "author_id", "res_id", "model"]}),
    )
    .await);
    assert_eq!(
        ids(&messages),
        vec![note.as_i64().unwrap(), message_id],
        "newest first: mail.message's _order is id desc"
    );
    assert_eq!(messages[1]["body"], "<p>Laptop &lt;14in&gt; shipped</p>");
    assert_eq!(messages[1]["message_type"], "comment");
    assert_eq!(messages[1]["subtype_id"], json!([1, "Discussions"]));
    assert_eq!(messages[1]["author_id"], json!([3, "Mitchell Admin"]));
    assert_eq!(messages[0]["body"], "<b>internal</b>");
    assert_eq!(messages[0]["message_type"], "notification");
    assert_eq!(messages[0]["subtype_id"], json!([2, "Note"]));
    assert_eq!(h.sim.messages_of("hr.employee", 12).len(), 2);
    assert_eq!(
        h.sim.employee(12).unwrap()["write_date"],
        before,
        "posting does not write the record"
    );
    let positional = kw(
        &h,
        "hr.employee",
        "message_post",
        json!([[12], "hello"]),
        json!({}),
    )
    .await;
    assert_eq!(
        err(&positional)["message"],
        "MailThread.message_post() takes 1 positional argument but 2 were given"
    );
    let two = kw(
        &h,
        "hr.employee",
        "message_post",
        json!([[12, 13]]),
        json!({"body": "x"}),
    )
    .await;
    assert_eq!(
        err(&two)["message"],
        "Expected singleton: hr.employee(12, 13)"
    );
    let gone = kw(
        &h,
        "purchase.order",
        "message_post",
        json!([[999]]),
        json!({"body": "x"}),
    )
    .await;
    assert_eq!(
        err(&gone)["message"],
        "Record does not exist or has been deleted.\n(Record: purchase.order(999,), User: 2)"
    );
    let no_chatter = kw(
        &h,
        "purchase.order.line",
        "message_post",
        json!([[1]]),
        json!({"body": "x"}),
    )
    .await;
    assert_eq!(err(&no_chatter)["name"], "builtins.AttributeError");
}

#[test]
fn test_handle_changes_and_reads_records() {
    let s = sim();
    s.set_now(now() + Duration::minutes(1));
    assert!(s.update_employee(3, |e| {
        e.insert("department_id".into(), json!(6));
    }));
    let e = s.employee(3).unwrap();
    assert_eq!(
        e["department_id"],
        json!([6, "Management / Administration / Human Resources"])
    );
    assert_eq!(e["write_date"], "2024-06-03 09:31:00");
    assert!(!s.update_employee(999, |_| {}));
    assert!(s.archive("hr.employee", 3));
    assert!(!s.search("hr.employee", json!([])).unwrap().contains(&3));
    let id = s
        .create("purchase.order", json!({"partner_id": 4}))
        .unwrap();
    assert_eq!(s.purchase_order(id).unwrap()["name"], "P00031");
    s.write("purchase.order", &[id], json!({"notes": "<p>rush</p>"}))
        .unwrap();
    assert_eq!(s.purchase_order(id).unwrap()["notes"], "<p>rush</p>");
    assert!(s.delete("res.partner", 4));
    assert!(
        s.purchase_order(id).is_none(),
        "an order cannot outlive its vendor"
    );
    let archived: Vec<Value> = s
        .records("hr.employee")
        .into_iter()
        .filter(|e| e["active"] == false)
        .collect();
    assert!(
        archived
            .iter()
            .all(|e| e["departure_date"].is_string() || e["id"] == 3)
    );
}
