//! What mapping lookups and children become in the store, on SQLite and
//! PostgreSQL alike: activities replaced per item, references resolved per
//! page under each policy, and placeholders adopted by the real record.

mod common;

use serde_json::{Value, json};
use switchboard::diag::SourceFile;
use switchboard::mapping::Mapping;
use switchboard::store::{PageWrite, StagedRecord, Store};

use common::{Backend, TestStore};

fn mapping(text: &str) -> Mapping {
    Mapping::from_source(&SourceFile::new("mappings/test.toml", text))
        .unwrap_or_else(|e| panic!("mapping compiles:\n{e}"))
}

fn staged(m: &Mapping, id: &str, record: Value) -> StagedRecord {
    StagedRecord {
        external_id: id.into(),
        content_hash: format!("{id}:{record}"),
        payload_json: record.to_string(),
        outcome: m.apply(&record).map_err(|e| e.to_string()),
    }
}

async fn write(store: &Store, m: &Mapping, records: Vec<StagedRecord>) {
    store
        .apply_page(PageWrite {
            system: &m.system,
            stream: &m.stream,
            mapping_version: &m.version,
            records,
            cursor: None,
            delivery: None,
            outbox: Vec::new(),
            effects: Vec::new(),
        })
        .await
        .expect("page writes");
}

/// Rows of one text column; the SQL must read the same on both backends.
async fn texts(store: &Store, sql: &str) -> Vec<String> {
    let rows: Result<Vec<Option<String>>, sqlx::Error> = match store {
        Store::Postgres(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_scalar(sql).fetch_all(pool).await,
    };
    rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|v| v.unwrap_or_else(|| "NULL".into()))
        .collect()
}

const TICKETS: &str = r#"
version = 1
system = "itsm"
stream = "ticket"
entity = "work_item"

[fields]
kind = { const = "incident" }
title = { path = "title" }
status = { const = "open" }
requester = { path = "caller", lookup = { by = "email", on_missing = "error" } }

[children.comments]
each = "comments"
into = "activities"

[children.comments.fields]
key = { path = "id" }
kind = { const = "comment" }
body = { path = "text" }
occurred_at = { path = "at", timestamp = "rfc3339" }
"#;

const HR: &str = r#"
version = 1
system = "hr"
stream = "employee"
entity = "person"

[fields]
display_name = { path = "name" }
email = { path = "mail" }
employee_number = { path = "number" }
department = { path = "department" }
org_unit = { path = "dept", lookup = { by = "code", on_missing = "placeholder" } }
manager = { path = "manager", lookup = { by = "employee_number", on_missing = "null" } }
"#;

const DEPARTMENTS: &str = r#"
version = 1
system = "erp"
stream = "department"
entity = "org_unit"

[fields]
name = { path = "name" }
code = { path = "code" }
parent = { path = "parent", lookup = { by = "code", on_missing = "null" } }
"#;

fn comment(id: &str, text: &str) -> Value {
    json!({"id": id, "text": text, "at": "2026-03-01T09:00:00Z"})
}

async fn comments_are_replaced_per_item(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let m = mapping(&TICKETS.replace(
        "lookup = { by = \"email\", on_missing = \"error\" }",
        "transforms = []",
    ));
    let ticket = |comments: Vec<Value>| json!({"title": "VPN", "comments": comments});
    write(
        s,
        &m,
        vec![
            staged(
                &m,
                "T1",
                ticket(vec![
                    comment("a", "one"),
                    comment("b", "two"),
                    comment("c", "three"),
                ]),
            ),
            staged(&m, "T2", ticket(vec![comment("a", "other item")])),
        ],
    )
    .await;
    let bodies = "SELECT a.body FROM activities a JOIN work_items w ON w.id = a.work_item_id \
                  WHERE w.external_id = 'T1' ORDER BY a.external_id";
    assert_eq!(texts(s, bodies).await, ["one", "two", "three"]);

    // The source dropped `b` and edited `c`: the store follows, and T2's
    // comment with the same key is untouched.
    write(
        s,
        &m,
        vec![staged(
            &m,
            "T1",
            ticket(vec![comment("a", "one"), comment("c", "three, edited")]),
        )],
    )
    .await;
    assert_eq!(texts(s, bodies).await, ["one", "three, edited"]);
    assert_eq!(
        texts(s, "SELECT body FROM activities ORDER BY body").await,
        ["one", "other item", "three, edited"]
    );

    // An empty list clears the item's comments.
    write(s, &m, vec![staged(&m, "T1", ticket(vec![]))]).await;
    assert!(texts(s, bodies).await.is_empty());
    assert_eq!(
        texts(s, "SELECT external_id FROM activities").await,
        ["ticket/T2/comments:a"]
    );
}

async fn lookups_follow_their_policy(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let hr = mapping(HR);
    write(
        s,
        &hr,
        vec![staged(
            &hr,
            "E1",
            json!({"name": "Ada", "mail": "Ada@Example.com", "number": "1001"}),
        )],
    )
    .await;

    let tickets = mapping(TICKETS);
    let ticket = |caller: &str| json!({"title": format!("from {caller}"), "caller": caller});
    write(
        s,
        &tickets,
        vec![
            staged(&tickets, "T1", ticket("ada@example.COM")),
            staged(&tickets, "T2", ticket("nobody@example.com")),
        ],
    )
    .await;
    // Resolved case-insensitively to Ada's canonical id.
    assert_eq!(
        texts(s, "SELECT p.display_name FROM work_items w JOIN people p ON p.id = w.requester_id WHERE w.external_id = 'T1'").await,
        ["Ada"]
    );
    // `error`: quarantined with the rule and the value, the rest stored.
    let reasons = texts(s, "SELECT reason FROM quarantine").await;
    assert_eq!(reasons.len(), 1);
    assert!(
        reasons[0].contains("fields.requester") && reasons[0].contains("\"nobody@example.com\""),
        "{reasons:?}"
    );
    assert_eq!(texts(s, "SELECT external_id FROM work_items").await, ["T1"]);

    // `null`: the manager is unknown, the person is stored without one.
    write(
        s,
        &hr,
        vec![staged(
            &hr,
            "E2",
            json!({"name": "Bo", "mail": "bo@example.com", "number": "1002", "manager": "9999"}),
        )],
    )
    .await;
    assert_eq!(
        texts(
            s,
            "SELECT CAST(manager_id AS TEXT) FROM people WHERE external_id = 'E2'"
        )
        .await,
        ["NULL"]
    );
    // Once the manager exists, the next change resolves it: one query per page, not per record.
    write(
        s,
        &hr,
        vec![staged(
            &hr,
            "E2",
            json!({"name": "Bo", "mail": "bo@example.com", "number": "1002", "manager": "1001"}),
        )],
    )
    .await;
    assert_eq!(
        texts(s, "SELECT m.display_name FROM people p JOIN people m ON m.id = p.manager_id WHERE p.external_id = 'E2'").await,
        ["Ada"]
    );
}

async fn placeholders_are_adopted_by_the_real_record(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let hr = mapping(HR);
    // Two people in one page name a department nobody has sent yet: one
    // placeholder serves both.
    write(
        s,
        &hr,
        vec![
            staged(
                &hr,
                "E1",
                json!({"name": "Ada", "number": "1001", "dept": "FIN"}),
            ),
            staged(
                &hr,
                "E2",
                json!({"name": "Bo", "number": "1002", "dept": "FIN"}),
            ),
            // Blank is no reference: no placeholder with an empty code.
            staged(
                &hr,
                "E3",
                json!({"name": "Cy", "number": "1003", "dept": "  "}),
            ),
        ],
    )
    .await;
    let placeholders = "SELECT code FROM org_units WHERE placeholder";
    assert_eq!(texts(s, placeholders).await, ["FIN"]);
    assert_eq!(
        texts(
            s,
            "SELECT CAST(org_unit_id AS TEXT) FROM people WHERE external_id = 'E3'"
        )
        .await,
        ["NULL"]
    );
    let dept_of = "SELECT o.name FROM people p JOIN org_units o ON o.id = p.org_unit_id ORDER BY p.external_id";
    assert_eq!(texts(s, dept_of).await, ["FIN", "FIN"]);

    // The ERP sends the real department: it takes over the references and
    // the placeholder is gone.
    let erp = mapping(DEPARTMENTS);
    write(
        s,
        &erp,
        vec![staged(
            &erp,
            "D7",
            json!({"name": "Finance", "code": "FIN"}),
        )],
    )
    .await;
    assert!(texts(s, placeholders).await.is_empty());
    assert_eq!(texts(s, dept_of).await, ["Finance", "Finance"]);
    assert_eq!(texts(s, "SELECT name FROM org_units").await, ["Finance"]);

    // A department whose parent arrives later keeps a null parent until its next change.
    write(
        s,
        &erp,
        vec![staged(
            &erp,
            "D8",
            json!({"name": "Payroll", "code": "PAY", "parent": "FIN"}),
        )],
    )
    .await;
    assert_eq!(
        texts(s, "SELECT p.name FROM org_units o JOIN org_units p ON p.id = o.parent_id WHERE o.code = 'PAY'").await,
        ["Finance"]
    );
}

async fn references_within_one_page_resolve(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    // `error` policy: a manager hired in the same export as her report is
    // found, not quarantined; and no placeholder stands in for her.
    let hr = mapping(&HR.replace("on_missing = \"null\"", "on_missing = \"error\""));
    write(
        s,
        &hr,
        vec![
            staged(
                &hr,
                "E2",
                json!({"name": "Bo", "number": "1002", "manager": "1001"}),
            ),
            staged(&hr, "E1", json!({"name": "Ada", "number": "1001"})),
        ],
    )
    .await;
    assert!(texts(s, "SELECT reason FROM quarantine").await.is_empty());
    assert_eq!(
        texts(s, "SELECT m.display_name FROM people p JOIN people m ON m.id = p.manager_id WHERE p.external_id = 'E2'").await,
        ["Ada"]
    );
    assert!(
        texts(s, "SELECT external_id FROM people WHERE placeholder")
            .await
            .is_empty()
    );

    let erp = mapping(DEPARTMENTS);
    write(
        s,
        &erp,
        vec![
            staged(
                &erp,
                "D8",
                json!({"name": "Payroll", "code": "PAY", "parent": "FIN"}),
            ),
            staged(&erp, "D7", json!({"name": "Finance", "code": "FIN"})),
        ],
    )
    .await;
    assert_eq!(
        texts(s, "SELECT p.name FROM org_units o JOIN org_units p ON p.id = o.parent_id WHERE o.code = 'PAY'").await,
        ["Finance"]
    );
}

const ITSM_USERS: &str = r#"
version = 1
system = "itsm"
stream = "user"
entity = "person"

[fields]
display_name = { path = "name" }
email = { path = "email" }
department = { path = "dept" }
"#;

async fn the_owner_decides_an_owned_field(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let s = &ts.store;
    let hr = mapping(&HR.replace(
        "entity = \"person\"",
        "entity = \"person\"\nowns = [\"department\"]",
    ));
    let itsm = mapping(ITSM_USERS);
    let hr_hire = json!({"name": "Ada Lovelace", "mail": "ada@example.com", "number": "1001"});
    let itsm_user = json!({"name": "Ada L.", "email": "ADA@example.com", "dept": "IT"});
    let profile = "SELECT COALESCE(display_name, 'NULL') || ' | ' || COALESCE(department, 'NULL') || ' | ' || COALESCE(employee_number, 'NULL') \
                   FROM person_profiles WHERE identity = 'email:ada@example.com'";

    // No owner declared: the latest sync wins every field.
    s.declare_owners(&[]).await.unwrap();
    write(s, &hr, vec![staged(&hr, "E1", hr_hire.clone())]).await;
    write(s, &itsm, vec![staged(&itsm, "U1", itsm_user.clone())]).await;
    assert_eq!(texts(s, profile).await, ["Ada L. | IT | 1001"]);

    // HR owns department: its value stands whoever synced last, even when
    // empty; unowned fields still follow the latest sync.
    let owners = switchboard::mapping::owners(&[std::sync::Arc::new(hr.clone())]).unwrap();
    s.declare_owners(&owners).await.unwrap();
    assert_eq!(texts(s, profile).await, ["Ada L. | NULL | 1001"]);
    let mut hired = hr_hire.clone();
    hired["department"] = json!("Finance");
    write(s, &hr, vec![staged(&hr, "E1", hired)]).await;
    write(s, &itsm, vec![staged(&itsm, "U1", json!({"name": "Ada Lovelace-King", "email": "ada@example.com", "dept": "Service Desk"}))]).await;
    assert_eq!(
        texts(s, profile).await,
        ["Ada Lovelace-King | Finance | 1001"]
    );
    // Still one person, fed by two systems.
    assert_eq!(
        texts(s, "SELECT identity FROM person_profiles").await,
        ["email:ada@example.com"]
    );
}

on_every_backend!(
    references_within_one_page_resolve,
    the_owner_decides_an_owned_field,
    comments_are_replaced_per_item,
    lookups_follow_their_policy,
    placeholders_are_adopted_by_the_real_record
);
