//! The seeded service catalogue through the generic Table API: every item,
//! inactive ones too, paged and filtered on `sys_updated_on` like any table,
//! with `category` and `sys_scope` rendered as references.

use super::{body, get, now, start};
use crate::servicenow::seed::fmt_time;

const ITEMS: &str = "/api/now/table/sc_cat_item";

#[tokio::test]
async fn lists_catalogue_items_active_and_retired() {
    let h = start(0).await;
    let all = body(get(&h, ITEMS, &[("sysparm_exclude_reference_link", "true")]).await).await;
    let items = all["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 7);
    let inactive = items.iter().filter(|i| i["active"] == "false").count();
    assert_eq!(inactive, 2);
    let laptop = &items[0];
    assert_eq!(laptop["name"], "Standard Laptop");
    assert_eq!(laptop["sys_class_name"], "sc_cat_item");
    assert_eq!(laptop["sys_scope"], "global");
    assert!(laptop["sys_id"].as_str().is_some_and(|s| s.len() == 32));
    assert!(laptop["category"].as_str().is_some_and(|s| s.len() == 32));
}

#[tokio::test]
async fn references_link_to_their_tables_and_pages_follow_the_cursor() {
    let h = start(0).await;
    let since = fmt_time(now() - chrono::Duration::days(26));
    let query = format!("sys_updated_on>={since}^ORDERBYsys_updated_on^ORDERBYsys_id");
    let page = body(
        get(
            &h,
            ITEMS,
            &[
                ("sysparm_query", query.as_str()),
                ("sysparm_limit", "2"),
                ("sysparm_offset", "0"),
            ],
        )
        .await,
    )
    .await;
    let items = page["result"].as_array().cloned().unwrap_or_default();
    // Edited 30 - i days ago: items 4, 5 (and 6 on the next page) are newer.
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["name"], "New email distribution list");
    assert_eq!(
        items[0]["sys_scope"]["link"],
        format!("{}/api/now/table/sys_scope/global", h.base_url)
    );
    let category = items[0]["category"]["value"].as_str().unwrap_or_default();
    assert_eq!(
        items[0]["category"]["link"],
        format!("{}/api/now/table/sc_category/{category}", h.base_url)
    );
}
