//! The initial database, deterministic for a given seed and clock: the
//! records every Odoo database has (the company, EUR and USD, OdooBot and
//! the API user with their partners, the chatter subtypes), some vendors,
//! products and employee tags, then the configured number of departments
//! (nested: IT under Administration, the Service Desk under IT, …),
//! employees (each department's first member manages it; everyone else
//! reports to their department's manager; a few archived, a few
//! contractors) and purchase orders in every state, with one to four lines
//! each.
//!
//! Timestamps are whole seconds, offsets back from the clock and at least a
//! minute before it, so data looks recent; `write_date` values are spread
//! over months, and every tenth employee shares the previous one's, as
//! records saved in one transaction do, so cursor paging meets ties.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

pub use crate::servicenow::seed::Rng;

use super::store::{Row, Store, seconds};
use super::{COMPANY, SimConfig, UID, USER_PARTNER};

/// Department names, each with the index of its parent (always earlier).
pub const DEPARTMENTS: &[(&str, Option<usize>)] = &[
    ("Management", None),
    ("Administration", Some(0)),
    ("Sales", None),
    ("IT", Some(1)),
    ("Service Desk", Some(3)),
    ("Human Resources", Some(1)),
    ("Facilities", Some(1)),
    ("Purchasing", Some(1)),
    ("Research & Development", None),
    ("Marketing", Some(2)),
    ("Customer Support", Some(2)),
    ("Infrastructure", Some(3)),
    ("Legal", Some(0)),
    ("Finance", Some(1)),
];

/// Name, internal reference, sales price, cost, type.
pub const PRODUCTS: &[(&str, &str, f64, f64, &str)] = &[
    ("Laptop 14in", "LAP-14", 1199.0, 949.0, "consu"),
    ("Monitor 27in", "MON-27", 329.0, 245.0, "consu"),
    ("Docking Station", "DOCK-01", 189.0, 139.0, "consu"),
    ("Wireless Keyboard", "KB-WL", 59.0, 32.5, "consu"),
    ("Wireless Mouse", "MS-WL", 29.0, 14.9, "consu"),
    ("Office Chair", "CHR-ERG", 420.0, 310.0, "consu"),
    ("Standing Desk", "DSK-STD", 690.0, 505.0, "consu"),
    ("Headset", "HS-USB", 89.0, 54.0, "consu"),
    ("Printer Paper A4 (box)", "PAP-A4", 24.0, 17.8, "consu"),
    ("Consulting Hour", "SRV-CONS", 150.0, 95.0, "service"),
];

/// Name, city.
pub const VENDORS: &[(&str, &str)] = &[
    ("Northwind Supplies", "Seattle"),
    ("Contoso Hardware", "Redmond"),
    ("Fabrikam Office", "Portland"),
    ("Litware Computing", "Austin"),
    ("Adatum Furniture", "Denver"),
    ("Tailspin Logistics", "Chicago"),
    ("Proseware Print", "Boston"),
    ("Woodgrove Services", "Atlanta"),
];

const FIRST: &[&str] = &[
    "Anna", "Ben", "Carla", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira",
    "Lars", "Maya", "Nico", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wim", "Xenia", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Adams", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Olsen", "Petrov", "Quist", "Rossi",
    "Schmidt", "Tanaka", "Ueda", "Vogel", "Weber", "Young",
];
const TITLES: &[&str] = &[
    "Specialist",
    "Analyst",
    "Coordinator",
    "Consultant",
    "Engineer",
    "Officer",
    "Associate",
];
const TAGS: &[&str] = &["Remote", "Part-time", "Management", "Onboarding"];
/// Purchase order states, cycled so every state occurs.
const PO_STATES: &[&str] = &[
    "draft",
    "sent",
    "purchase",
    "purchase",
    "done",
    "to approve",
    "purchase",
    "cancel",
    "draft",
    "purchase",
];

const EUR: i64 = 1;
const USD: i64 = 2;
/// The first vendor's partner id (after the company, OdooBot and the API user).
const FIRST_VENDOR: i64 = 4;

fn row(pairs: Vec<(&str, Value)>) -> Row {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// `create_date`/`write_date` and their users.
fn stamped(mut r: Row, created: DateTime<Utc>, written: DateTime<Utc>) -> Row {
    r.insert("create_date".into(), json!(seconds(created)));
    r.insert("write_date".into(), json!(seconds(written.max(created))));
    r.insert("create_uid".into(), json!(UID));
    r.insert("write_uid".into(), json!(UID));
    r
}

pub fn seed(config: &SimConfig, now: DateTime<Utc>) -> Store {
    let mut rng = Rng::new(config.seed);
    let mut store = Store::default();
    let setup = now - Duration::days(800);
    base(&mut store, config, setup);
    departments(&mut store, config.departments, now, &mut rng);
    employees(
        &mut store,
        config.departments,
        config.employees,
        now,
        &mut rng,
    );
    purchase_orders(&mut store, config.purchase_orders, now, &mut rng);
    store
}

fn base(store: &mut Store, config: &SimConfig, at: DateTime<Utc>) {
    let mut put = |model: &str, r: Row| store.insert(model, stamped(r, at, at));
    for (code, name, symbol, position) in [
        ("EUR", "Euro", "€", "after"),
        ("USD", "US Dollar", "$", "before"),
    ] {
        put(
            "res.currency",
            row(vec![
                ("name", json!(code)),
                ("full_name", json!(name)),
                ("symbol", json!(symbol)),
                ("rounding", json!(0.01)),
                ("position", json!(position)),
                ("active", json!(true)),
            ]),
        );
    }
    let partner = |name: &str, email: &str, company: bool, active: bool| {
        row(vec![
            ("name", json!(name)),
            ("email", json!(email)),
            ("is_company", json!(company)),
            ("type", json!("contact")),
            ("active", json!(active)),
            ("supplier_rank", json!(0)),
            ("customer_rank", json!(0)),
        ])
    };
    put(
        "res.partner",
        partner("My Company", "info@yourcompany.example.com", true, true),
    );
    put(
        "res.partner",
        partner("OdooBot", "odoobot@example.com", false, false),
    );
    put(
        "res.partner",
        partner(
            "Mitchell Admin",
            "admin@yourcompany.example.com",
            false,
            true,
        ),
    );
    for (i, (name, city)) in VENDORS.iter().enumerate() {
        let slug = name.split(' ').next().unwrap_or_default().to_lowercase();
        let mut r = partner(name, &format!("purchasing@{slug}.example.com"), true, true);
        r.insert("city".into(), json!(city));
        r.insert(
            "vat".into(),
            json!(format!("US{:09}", 120_450_000 + i * 7_919)),
        );
        r.insert("supplier_rank".into(), json!(1 + i % 3));
        r.insert("phone".into(), json!(format!("+1 555-01{:02}", 10 + i)));
        put("res.partner", r);
    }
    put(
        "res.company",
        row(vec![
            ("name", json!("My Company")),
            ("partner_id", json!(1)),
            ("currency_id", json!(EUR)),
            ("email", json!("info@yourcompany.example.com")),
            ("sequence", json!(0)),
            ("active", json!(true)),
        ]),
    );
    let user = |name: &str, login: &str, partner: i64, active: bool| {
        row(vec![
            ("name", json!(name)),
            ("login", json!(login)),
            ("partner_id", json!(partner)),
            ("company_id", json!(COMPANY)),
            ("active", json!(active)),
        ])
    };
    put("res.users", user("OdooBot", "__system__", 2, false));
    put(
        "res.users",
        user("Mitchell Admin", &config.login, USER_PARTNER, true),
    );
    for (xmlid, name) in [
        ("mail.mt_comment", "Discussions"),
        ("mail.mt_note", "Note"),
        ("mail.mt_activities", "Activities"),
    ] {
        let internal = xmlid != "mail.mt_comment";
        put(
            "mail.message.subtype",
            row(vec![
                ("name", json!(name)),
                ("internal", json!(internal)),
                ("sequence", json!(0)),
            ]),
        );
    }
    for tag in TAGS {
        put(
            "hr.employee.category",
            row(vec![("name", json!(tag)), ("color", json!(0))]),
        );
    }
    for (name, code, price, cost, kind) in PRODUCTS {
        put(
            "product.product",
            row(vec![
                ("name", json!(name)),
                ("default_code", json!(code)),
                ("list_price", json!(price)),
                ("standard_price", json!(cost)),
                ("type", json!(kind)),
                ("uom_name", json!("Units")),
                ("active", json!(true)),
            ]),
        );
    }
}

/// A moment between `from` and a minute before `now`.
fn between(rng: &mut Rng, from: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let latest = now - Duration::minutes(1);
    let span = (latest - from).num_minutes().max(1) as u64;
    (from + Duration::minutes(rng.below(span) as i64)).min(latest)
}

fn departments(store: &mut Store, count: usize, now: DateTime<Utc>, rng: &mut Rng) {
    for i in 0..count {
        let (name, parent) = match DEPARTMENTS.get(i) {
            Some((name, parent)) => (name.to_string(), *parent),
            None => (
                format!("Project Team {}", i + 1 - DEPARTMENTS.len()),
                Some(8),
            ),
        };
        let created = now - Duration::days(700 - i as i64);
        let written = between(rng, created, now);
        let parent = parent
            .filter(|p| *p < i)
            .map(|p| json!(p + 1))
            .unwrap_or(Value::Null);
        let r = row(vec![
            ("name", json!(name)),
            ("parent_id", parent),
            ("company_id", json!(COMPANY)),
            ("active", json!(true)),
            ("color", json!(i % 12)),
        ]);
        store.insert("hr.department", stamped(r, created, written));
    }
}

fn employees(
    store: &mut Store,
    departments: usize,
    count: usize,
    now: DateTime<Utc>,
    rng: &mut Rng,
) {
    let mut emails: Vec<String> = Vec::new();
    let mut last_written = now - Duration::days(1);
    for k in 0..count {
        let id = k as i64 + 1;
        let first = *rng.pick(FIRST);
        let last = *rng.pick(LAST);
        let base = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
        let mut email = format!("{base}@example.com");
        let mut n = 2;
        while emails.contains(&email) {
            email = format!("{base}{n}@example.com");
            n += 1;
        }
        emails.push(email.clone());
        let manages = (k < departments).then_some(k);
        let dept = match (manages, departments) {
            (Some(d), _) => Some(d),
            (None, 0) => None,
            (None, n) => Some(rng.below(n as u64) as usize),
        };
        let dept_name = dept
            .and_then(|d| store.row("hr.department", d as i64 + 1))
            .and_then(|r| r.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("Company")
            .to_string();
        let title = match manages {
            Some(_) => format!("Head of {dept_name}"),
            None => format!("{dept_name} {}", rng.pick(TITLES)),
        };
        // A manager reports to the parent department's manager, everyone else to their own.
        let boss = match (manages, dept) {
            (Some(d), _) => store
                .row("hr.department", d as i64 + 1)
                .and_then(|r| r.get("parent_id"))
                .and_then(Value::as_i64)
                .or((d != 0).then_some(1)),
            (None, Some(d)) => Some(d as i64 + 1),
            (None, None) => None,
        };
        let archived = manages.is_none() && k % 11 == 7;
        let kind = match k {
            k if k % 17 == 5 => "contractor",
            k if k % 19 == 3 => "trainee",
            _ => "employee",
        };
        let created = now - Duration::days(30 + rng.below(1500) as i64);
        let mut written = between(rng, created, now);
        if k % 10 == 9 && last_written >= created {
            written = last_written;
        }
        last_written = written;
        let tags: Vec<i64> = match k % 6 {
            0 => vec![1],
            3 => vec![2, 4],
            _ if manages.is_some() => vec![3],
            _ => vec![],
        };
        let mut r = row(vec![
            ("name", json!(format!("{first} {last}"))),
            ("active", json!(!archived)),
            ("company_id", json!(COMPANY)),
            (
                "department_id",
                dept.map(|d| json!(d + 1)).unwrap_or(Value::Null),
            ),
            ("job_title", json!(title)),
            ("work_email", json!(email)),
            ("work_phone", json!(format!("+1 555-{:04}", 2000 + k))),
            (
                "mobile_phone",
                if k % 3 == 0 {
                    json!(format!("+1 555-{:04}", 7000 + k))
                } else {
                    Value::Null
                },
            ),
            ("parent_id", boss.map(|b| json!(b)).unwrap_or(Value::Null)),
            (
                "coach_id",
                if k % 4 == 2 && id > 1 {
                    json!(id - 1)
                } else {
                    Value::Null
                },
            ),
            ("employee_type", json!(kind)),
            ("barcode", json!(format!("04{:06}", 1000 + id))),
            ("identification_id", json!(format!("E{:05}", 10_000 + id))),
            ("category_ids", json!(tags)),
        ]);
        if archived {
            r.insert(
                "departure_date".into(),
                json!(written.format("%Y-%m-%d").to_string()),
            );
        }
        store.insert("hr.employee", stamped(r, created, written));
    }
    // Each department is managed by its first member, who exists by now.
    for d in 0..departments.min(count) {
        if let Some(r) = store.row_mut("hr.department", d as i64 + 1) {
            r.insert("manager_id".into(), json!(d + 1));
        }
    }
}

fn purchase_orders(store: &mut Store, count: usize, now: DateTime<Utc>, rng: &mut Rng) {
    for k in 0..count {
        let id = k as i64 + 1;
        let state = PO_STATES[k % PO_STATES.len()];
        let created = now
            - Duration::days(1 + rng.below(400) as i64)
            - Duration::minutes(rng.below(1440) as i64);
        let written = between(rng, created, now);
        let planned = created + Duration::days(7);
        let vendor = FIRST_VENDOR + rng.below(VENDORS.len() as u64) as i64;
        let approved = matches!(state, "purchase" | "done")
            .then(|| json!(seconds(between(rng, created, written))));
        let invoice_status = match state {
            "done" => "invoiced",
            "purchase" => "to invoice",
            _ => "no",
        };
        let r = row(vec![
            ("name", json!(format!("P{id:05}"))),
            ("priority", json!(if k % 7 == 3 { "1" } else { "0" })),
            (
                "origin",
                if k % 3 == 0 {
                    json!(format!("SR-{:05}", 3000 + k))
                } else {
                    Value::Null
                },
            ),
            (
                "partner_ref",
                if k % 4 == 1 {
                    json!(format!("V-{}-{id:04}", created.format("%Y")))
                } else {
                    Value::Null
                },
            ),
            ("date_order", json!(seconds(created))),
            ("date_approve", approved.unwrap_or(Value::Null)),
            ("date_planned", json!(seconds(planned))),
            ("partner_id", json!(vendor)),
            ("currency_id", json!(if k % 6 == 5 { USD } else { EUR })),
            ("state", json!(state)),
            (
                "notes",
                if k % 5 == 2 {
                    json!("<p>Deliver to the reception desk.</p>")
                } else {
                    Value::Null
                },
            ),
            ("user_id", json!(UID)),
            ("company_id", json!(COMPANY)),
            ("invoice_status", json!(invoice_status)),
        ]);
        store.insert("purchase.order", stamped(r, created, written));
        for j in 0..(1 + rng.below(4)) {
            let p = rng.below(PRODUCTS.len() as u64) as usize;
            let (name, code, _, cost, _) = PRODUCTS[p];
            let qty = (1 + rng.below(10)) as f64;
            let line = row(vec![
                ("order_id", json!(id)),
                ("sequence", json!(10 * (j + 1))),
                ("product_id", json!(p + 1)),
                ("name", json!(format!("[{code}] {name}"))),
                ("product_qty", json!(qty)),
                ("price_unit", json!(cost)),
                ("date_planned", json!(seconds(planned))),
                (
                    "qty_received",
                    json!(if state == "done" { qty } else { 0.0 }),
                ),
            ]);
            store.insert("purchase.order.line", stamped(line, created, created));
        }
    }
}
