//! The service catalogue of the simulated instance: `sc_category`,
//! `sys_scope` (the global scope every catalogue item belongs to) and
//! `sc_cat_item`, shaped as the Table API returns them
//! (https://www.servicenow.com/docs/r/api-reference/rest-apis/c_TableAPI.html;
//! the `sc_cat_item` columns as the platform's Catalog Item table has them:
//! `name`, `short_description`, `description` in HTML, `category` a
//! reference to `sc_category`, `active` "true"/"false", `order`,
//! `sc_catalogs`, `sys_scope`).
//!
//! A couple of items are inactive, as retired ones stay in the table: a
//! client that reads the whole table must look at `active` itself.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{Rng, Tables, fmt_time, record, sys_fields};

/// `(title)` of each seeded category.
const CATEGORIES: &[&str] = &["Hardware", "Software", "Services"];

/// `(name, short_description, category index, active)`.
const ITEMS: &[(&str, &str, usize, bool)] = &[
    (
        "Standard Laptop",
        "Lenovo ThinkPad T14 for general office work",
        0,
        true,
    ),
    (
        "Apple iPad",
        "A tablet for presenting and reading on the go",
        0,
        true,
    ),
    (
        "Adobe Acrobat Pro",
        "Create and edit PDF documents",
        1,
        true,
    ),
    (
        "Access to a shared drive",
        "Read or write access to a department's network share",
        2,
        true,
    ),
    (
        "New email distribution list",
        "A mailing list for a team or project",
        2,
        true,
    ),
    (
        "BlackBerry",
        "Retired: phones are ordered as Mobile phone",
        0,
        false,
    ),
    (
        "Sales Laptop",
        "Retired: ask for a Standard Laptop",
        0,
        false,
    ),
];

/// The Service Catalog's own record in `sc_catalog` (its sys_id on a
/// fresh instance).
const SERVICE_CATALOG: &str = "e0d08b13c3330100c8b837659bba8fb4";

/// Adds the catalogue tables to `tables`. Draws from a generator of its own
/// so the tables seeded before it keep their values.
pub(super) fn seed_catalog(tables: &mut Tables, seed: u64, now: DateTime<Utc>) {
    let mut rng = Rng::new(seed ^ 0x0005_cca7_17e5);
    let long_ago = fmt_time(now - Duration::days(300));
    let scope = {
        let mut f = vec![
            ("sys_id", "global".to_string()),
            ("name", "Global".to_string()),
            ("scope", "global".to_string()),
        ];
        f.extend(sys_fields(&long_ago, &long_ago, "system", 0));
        record(&f)
    };
    let categories: Vec<Map<String, Value>> = CATEGORIES
        .iter()
        .enumerate()
        .map(|(i, title)| {
            let mut f = vec![
                ("sys_id", rng.sys_id()),
                ("title", title.to_string()),
                ("active", "true".to_string()),
                ("order", ((i + 1) * 100).to_string()),
                ("sc_catalog", SERVICE_CATALOG.to_string()),
            ];
            f.extend(sys_fields(&long_ago, &long_ago, "admin", 0));
            record(&f)
        })
        .collect();
    let items = ITEMS
        .iter()
        .enumerate()
        .map(|(i, (name, short, category, active))| {
            let category = categories[*category]
                .get("sys_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            // Each item last edited a different number of days ago, so an
            // incremental read sees them in a stable order.
            let updated = fmt_time(now - Duration::days(30 - i as i64));
            let mut f = vec![
                ("sys_id", rng.sys_id()),
                ("name", name.to_string()),
                ("short_description", short.to_string()),
                ("description", format!("<p>{short}.</p>")),
                ("category", category),
                ("active", active.to_string()),
                ("order", ((i + 1) * 100).to_string()),
                ("price", "0".to_string()),
                ("sc_catalogs", SERVICE_CATALOG.to_string()),
                ("sys_scope", "global".to_string()),
                ("sys_class_name", "sc_cat_item".to_string()),
            ];
            f.extend(sys_fields(&long_ago, &updated, "admin", 1));
            record(&f)
        })
        .collect();
    tables.insert("sys_scope".into(), vec![scope]);
    tables.insert("sc_category".into(), categories);
    tables.insert("sc_cat_item".into(), items);
}
