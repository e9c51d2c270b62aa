//! Odoo (Finance) through the shipped `jsonrpc` manifest and mappings,
//! against the simulator, into both stores: departments, employees and
//! purchase orders read in full then incrementally and across pages, login
//! failure, retried 429 and 5xx, and write-back of purchase orders.

mod common;

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};
use switchboard::connector::{Connector, ConnectorError, Manifest};
use switchboard::sim::odoo::{Fault, OdooSim, SimConfig, SimHandle};
use switchboard::store::Store;
use switchboard::sync::{SyncJob, SyncReport};
use switchboard::writeback::{WriteError, write_back};
use tokio_util::sync::CancellationToken;

use common::{Backend, TestStore, shipped_manifest, shipped_mapping, stream_job};

/// The simulator's database, small pages, quick retries, no client-side limit.
const EDITS: [(&str, &str); 4] = [
    ("db = \"your-company\"", "db = \"switchboard\""),
    ("page_size = 200", "page_size = 10"),
    ("initial_backoff_ms = 1000", "initial_backoff_ms = 20"),
    ("rate_limit_per_sec = 5", "rate_limit_per_sec = 0"),
];

async fn sim() -> SimHandle {
    OdooSim::spawn(SimConfig::default())
        .await
        .expect("simulator starts")
}

/// Signed in with the API key, as the manifest's comments advise.
fn manifest(h: &SimHandle, key: &str) -> Manifest {
    shipped_manifest("odoo.toml", &h.base_url, "admin", key, &EDITS)
}

fn key(h: &SimHandle) -> String {
    h.sim.config().api_key
}

fn job(m: &Manifest, stream: &str, mapping: &str) -> SyncJob {
    stream_job(m, stream, shipped_mapping(mapping))
}

/// The three streams on one connector, as the daemon builds them.
fn jobs(m: &Manifest) -> [SyncJob; 3] {
    let shared = build(m);
    [
        ("departments", "odoo-departments.toml"),
        ("employees", "odoo-employees.toml"),
        ("purchase_orders", "odoo-purchase-orders.toml"),
    ]
    .map(|(stream, mapping)| SyncJob {
        connector: shared.clone(),
        ..job(m, stream, mapping)
    })
}

async fn sync(job: &SyncJob, ts: &TestStore) -> SyncReport {
    job.run(&ts.store, &CancellationToken::new(), &|_, _| {})
        .await
        .unwrap_or_else(|e| panic!("sync of {} fails: {e}", job.stream.name))
}

async fn rows(store: &Store, sql: &str) -> Vec<(String, String)> {
    match store {
        Store::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        Store::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .expect("query")
}

fn id_of(v: &Value) -> String {
    v["id"].as_i64().expect("record id").to_string()
}

async fn full_then_incremental(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let m = manifest(&h, &key(&h));
    let [departments, employees, orders] = jobs(&m);

    let d = sync(&departments, &ts).await;
    let e = sync(&employees, &ts).await;
    let o = sync(&orders, &ts).await;
    for r in [&d, &e, &o] {
        assert_eq!(r.quarantined, 0, "{r:?}");
    }
    assert_eq!(d.stored, h.sim.count("hr.department"));
    assert_eq!(
        e.stored,
        h.sim.count("hr.employee"),
        "archived employees too"
    );
    assert_eq!(o.stored, h.sim.count("purchase.order"));
    assert!(e.pages >= 3, "{e:?}");

    // One login for the connector, then pages of 10 overlapping by one.
    let searches = h.sim.calls("hr.employee", "search_read");
    let offsets: Vec<i64> = searches.iter().filter_map(|c| c.offset()).collect();
    assert_eq!(&offsets[..3], [0, 9, 18], "{offsets:?}");
    assert!(searches.iter().all(|c| c.limit() == Some(10)));
    assert_eq!(
        searches[0].domain(),
        Some(&json!([["write_date", ">=", "1970-01-01 00:00:00"]]))
    );
    let logins = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.method.as_deref() == Some("login"))
        .count();
    assert_eq!(logins, 1, "the session is shared by every stream");

    // People: name, lower-case e-mail, active flag, manager and unit resolved.
    let stored: std::collections::BTreeMap<String, String> = rows(
        &ts.store,
        "SELECT p.external_id, p.display_name || '|' || COALESCE(p.email, '') || '|' || \
         CASE WHEN p.active THEN 'active' ELSE 'inactive' END || '|' || COALESCE(m.external_id, '') || '|' || \
         CASE WHEN p.org_unit_id IS NULL THEN '' ELSE u.external_id END \
         FROM people p LEFT JOIN people m ON m.id = p.manager_id \
         LEFT JOIN org_units u ON u.id = p.org_unit_id \
         WHERE p.source_system = 'odoo' AND NOT p.placeholder",
    )
    .await
    .into_iter()
    .collect();
    let many2one = |v: &Value| v.get(0).and_then(Value::as_i64).map(|i| i.to_string());
    for emp in h.sim.records("hr.employee") {
        let want = format!(
            "{}|{}|{}|{}|{}",
            emp["name"].as_str().unwrap(),
            emp["work_email"].as_str().unwrap_or("").to_lowercase(),
            if emp["active"] == json!(true) {
                "active"
            } else {
                "inactive"
            },
            many2one(&emp["parent_id"]).unwrap_or_default(),
            many2one(&emp["department_id"]).unwrap_or_default(),
        );
        assert_eq!(
            stored.get(&id_of(&emp)),
            Some(&want),
            "employee {}",
            id_of(&emp)
        );
    }
    // Orders: state mapped, title from number and vendor.
    for po in h.sim.records("purchase.order") {
        let w = ts
            .store
            .work_item_summary("odoo", "purchase_orders", &id_of(&po))
            .await
            .unwrap()
            .expect("order stored");
        let want = match po["state"].as_str().unwrap() {
            "draft" => "new",
            "sent" | "to approve" => "waiting",
            "purchase" => "in_progress",
            "done" => "closed",
            "cancel" => "cancelled",
            other => panic!("seed state {other}"),
        };
        assert_eq!(w.status, want);
        assert_eq!(w.department.as_deref(), Some("finance"));
        assert!(
            w.title.starts_with(po["name"].as_str().unwrap()),
            "{}",
            w.title
        );
    }

    // A change in Odoo: the next run reads from the cursor and stores it alone.
    h.sim.set_now(Utc::now() + TimeDelta::days(400));
    let changed = h.sim.records("hr.employee")[0]["id"].as_i64().unwrap();
    assert!(h.sim.update_employee(changed, |row| {
        row.insert("job_title".into(), json!("Head of Procurement"));
    }));
    let before = h.sim.calls("hr.employee", "search_read").len();
    let again = sync(&employees, &ts).await;
    assert_eq!((again.stored, again.quarantined), (1, 0), "{again:?}");
    let after = h.sim.calls("hr.employee", "search_read");
    assert_eq!(after.len() - before, 1, "one short page from the cursor");
    let bound = after.last().and_then(|c| c.domain()).cloned().unwrap();
    assert_ne!(bound[0][2], json!("1970-01-01 00:00:00"), "{bound}");
}

async fn a_created_order_syncs_back(backend: Backend) {
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let m = manifest(&h, &key(&h));
    let conn = build(&m);
    let (vendor, product) = vendor_and_product(&h);
    let made = write_back(
        conn.as_ref(),
        &common::shipped_outbound("odoo-create-purchase-order.toml"),
        &laptop(Some(vendor), Some(product)),
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    let id: i64 = made.id.as_deref().unwrap().parse().unwrap();
    let orders = job(&m, "purchase_orders", "odoo-purchase-orders.toml");
    sync(&orders, &ts).await;
    let w = ts
        .store
        .work_item_summary("odoo", "purchase_orders", &id.to_string())
        .await
        .unwrap()
        .expect("the new order is stored");
    assert_eq!(w.status, "new");
    assert_eq!(w.native_status.as_deref(), Some("draft"));
}

/// `[[streams.details]]` on the `jsonrpc` kind: each new or changed
/// purchase order's chatter (`mail.message` rows whose `res_id` is the
/// order's id), one call per order, none for an unchanged one, kept in the
/// raw payload under `messages`.
async fn an_orders_messages_are_read_per_changed_order(backend: Backend) {
    const DETAILS: &str = "order = \"write_date asc, id asc\" }] }\n\n[[streams.details]]\ninto = \"messages\"\nmethod = \"call\"\nparams = { service = \"object\", method = \"execute_kw\", args = [\"${vars.db}\", \"${session}\", \"${vars.password}\", \"mail.message\", \"search_read\", [[[\"model\", \"=\", \"purchase.order\"], [\"res_id\", \"=\", \"${record.id}\"]]], { fields = [\"body\", \"author_id\", \"date\", \"message_type\", \"subtype_id\"], order = \"id asc\" }] }\n\n[streams.cursor]\nfield = \"write_date\"";
    let ts = TestStore::new(backend).await;
    let h = sim().await;
    let edits: Vec<(&str, &str)> = EDITS
        .iter()
        .copied()
        .chain([(
            "order = \"write_date asc, id asc\" }] }\n\n[streams.cursor]\nfield = \"write_date\"",
            DETAILS,
        )])
        .collect();
    let m = shipped_manifest("odoo.toml", &h.base_url, "admin", &key(&h), &edits);
    let conn = build(&m);
    let order = h.sim.records("purchase.order")[0]["id"].as_i64().unwrap();
    let input = switchboard::connector::ActionInput {
        target_id: Some(order.to_string()),
        body: json!({"body": "Delivery moved to Friday.", "message_type": "comment", "subtype_xmlid": "mail.mt_comment"}),
    };
    conn.perform("comment_purchase_order", &input)
        .await
        .expect("message posted");
    let job = SyncJob {
        connector: conn.clone(),
        ..job(&m, "purchase_orders", "odoo-purchase-orders.toml")
    };
    let orders = h.sim.count("purchase.order");
    let first = sync(&job, &ts).await;
    assert_eq!(first.stored, orders, "{first:?}");
    let asked = |h: &SimHandle| h.sim.calls("mail.message", "search_read").len();
    assert_eq!(asked(&h), orders, "one call per new order");
    let domain = h.sim.calls("mail.message", "search_read")[0]
        .domain()
        .cloned();
    assert!(
        domain.is_some_and(|d| d.to_string().contains("res_id")),
        "the record's id is in the domain"
    );
    let payload = rows(
        &ts.store,
        &format!(
            "SELECT external_id, CAST(payload AS TEXT) FROM source_records \
             WHERE source_stream = 'purchase_orders' AND external_id = '{order}'"
        ),
    )
    .await;
    let payload: Value = serde_json::from_str(&payload[0].1).unwrap();
    let bodies: Vec<&str> = payload["messages"]
        .as_array()
        .expect("the messages joined the order")
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("Delivery moved to Friday.")),
        "{bodies:?}"
    );
    let again = sync(&job, &ts).await;
    assert_eq!(again.stored, 0, "{again:?}");
    assert_eq!(asked(&h), orders, "unchanged orders cost no call");
}

on_every_backend!(
    full_then_incremental,
    a_created_order_syncs_back,
    an_orders_messages_are_read_per_changed_order
);

#[test]
fn a_details_call_must_name_the_record() {
    let text = std::fs::read_to_string(common::repo().join("connectors/odoo.toml")).unwrap();
    let bad = text.replacen(
        "[streams.cursor]\nfield = \"write_date\"",
        "[[streams.details]]\ninto = \"messages\"\nmethod = \"call\"\nparams = { args = [\"${vars.db}\"] }\n\n[streams.cursor]\nfield = \"write_date\"",
        1,
    );
    let err = Manifest::from_source(&switchboard::diag::SourceFile::new(
        "connectors/odoo.toml",
        bad,
    ))
    .expect_err("refused");
    assert!(
        err.to_string().contains("name no field of the record"),
        "{err}"
    );
    assert!(
        err.to_string().contains("streams.0.details.0.params"),
        "{err}"
    );
}

fn build(m: &Manifest) -> Arc<dyn Connector> {
    common::connector_of(m)
}

#[tokio::test]
async fn wrong_credentials_fail_naming_the_connector() {
    let h = sim().await;
    let conn = build(&manifest(&h, "not-the-key"));
    let err = conn
        .fetch_page("employees", Some("1970-01-01 00:00:00"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Auth { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(shown.starts_with("odoo: authentication failed"), "{shown}");
    assert!(!shown.contains("not-the-key"), "{shown}");
}

#[tokio::test]
async fn busy_and_failing_servers_are_retried() {
    let h = sim().await;
    let conn = build(&manifest(&h, &key(&h)));
    h.sim.inject(
        Fault::TooManyRequests {
            retry_after_secs: 1,
        },
        1,
    );
    let page = conn
        .fetch_page("employees", Some("1970-01-01 00:00:00"), None)
        .await
        .expect("the login waits out the 429");
    assert_eq!(page.records.len(), 10);
    h.sim.inject(Fault::ServerError, 2);
    let page = conn
        .fetch_page("departments", Some("1970-01-01 00:00:00"), None)
        .await
        .expect("a read survives two 500s");
    assert!(!page.records.is_empty());
    let statuses: Vec<u16> = h.sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == 500).count(), 2);

    // A serialisation failure comes back with HTTP 200; it is transient.
    h.sim.inject(Fault::SerializationFailure, 1);
    let err = conn
        .fetch_page("departments", Some("1970-01-01 00:00:00"), None)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}

fn vendor_and_product(h: &SimHandle) -> (i64, i64) {
    let vendor = h
        .sim
        .records("res.partner")
        .into_iter()
        .find(|p| p["supplier_rank"].as_i64().unwrap_or(0) > 0)
        .expect("a vendor");
    let product = h.sim.records("product.product")[0]["id"].as_i64().unwrap();
    (vendor["id"].as_i64().unwrap(), product)
}

/// The laptop of a new hire, as an onboarding stream hands it to Finance.
fn laptop(vendor: Option<i64>, product: Option<i64>) -> Value {
    let mut attributes = json!({"origin_ref": "onboarding:personio:42", "number": "ONB-42"});
    if let Some(v) = vendor {
        attributes["odoo_vendor_id"] = json!(v);
    }
    if let Some(p) = product {
        attributes["odoo_product_id"] = json!(p);
    }
    json!({"entity": "work_item", "kind": "task", "title": "Laptop for Ada Lovelace",
        "description": "14in laptop, standard image", "status": "new", "department": "finance",
        "due_at": "2026-12-01T09:00:00+00:00", "attributes": attributes, "classified": {}})
}

#[tokio::test]
async fn purchase_orders_are_created_updated_and_commented() {
    let h = sim().await;
    let conn = build(&manifest(&h, &key(&h)));
    let (vendor, product) = vendor_and_product(&h);
    let made = write_back(
        conn.as_ref(),
        &common::shipped_outbound("odoo-create-purchase-order.toml"),
        &laptop(Some(vendor), Some(product)),
        None,
    )
    .await
    .expect("create succeeds")
    .expect("something to send");
    let id: i64 = made.id.as_deref().expect("the new id").parse().unwrap();
    let po = h.sim.purchase_order(id).expect("order exists");
    assert_eq!(po["partner_id"][0], json!(vendor));
    assert_eq!(po["origin"], json!("onboarding:personio:42"));
    assert_eq!(po["state"], json!("draft"));
    assert_eq!(po["date_planned"], json!("2026-12-01 09:00:00"));
    let lines = h.sim.order_lines(id);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["product_id"][0], json!(product));

    let mut changed = laptop(Some(vendor), Some(product));
    changed["description"] = json!("16in laptop after all");
    let updated = write_back(
        conn.as_ref(),
        &common::shipped_outbound("odoo-update-purchase-order.toml"),
        &changed,
        Some(&id.to_string()),
    )
    .await
    .expect("update succeeds")
    .expect("something to send");
    assert_eq!(updated.id.as_deref(), Some(id.to_string().as_str()));
    let notes = h.sim.purchase_order(id).unwrap()["notes"].to_string();
    assert!(notes.contains("16in laptop after all"), "{notes}");

    let mut progress = laptop(None, None);
    progress["status"] = json!("in_progress");
    write_back(
        conn.as_ref(),
        &common::shipped_outbound("odoo-comment-purchase-order.toml"),
        &progress,
        Some(&id.to_string()),
    )
    .await
    .expect("comment succeeds");
    let messages = h.sim.messages_of("purchase.order", id);
    assert!(
        messages.iter().any(|m| m["body"]
            .as_str()
            .unwrap_or("")
            .contains("finance task ONB-42 (Laptop for Ada Lovelace): in progress")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn an_order_odoo_refuses_is_a_dead_letter_without_the_key() {
    let h = sim().await;
    let api_key = key(&h);
    let conn = build(&manifest(&h, &api_key));
    let before = h.sim.count("purchase.order");
    let err = write_back(
        conn.as_ref(),
        &common::shipped_outbound("odoo-create-purchase-order.toml"),
        &laptop(None, None),
        None,
    )
    .await
    .unwrap_err();
    assert!(!err.is_transient());
    let WriteError::Connector(ConnectorError::Rejected { system, exchange }) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(system, "odoo");
    assert!(
        exchange
            .response_body
            .contains("odoo.exceptions.ValidationError")
    );
    assert!(exchange.response_body.contains("partner_id"));
    let sent = exchange.request_body.as_ref().expect("the request is kept");
    assert_eq!(sent["params"]["args"][2], json!("***"));
    assert_eq!(sent["params"]["args"][4], json!("create"));
    assert!(!format!("{err:?}").contains(&api_key));
    assert_eq!(h.sim.count("purchase.order"), before, "nothing created");
}
