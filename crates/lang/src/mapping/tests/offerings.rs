//! The `offering` entity: its fields, `active` left unsaid meaning active,
//! no confidential fields, and the two shipped catalogue mappings on records
//! shaped as their APIs return them.

use serde_json::{Value, json};

use super::*;
use crate::model::Offering;

fn offering(c: Canonical) -> Offering {
    match c {
        Canonical::Offering(o) => o,
        other => panic!("expected an offering, got {other:?}"),
    }
}

fn shipped(name: &str) -> Mapping {
    let path = crate::repo_root().join(format!("mappings/{name}.toml"));
    Mapping::load(&path).unwrap_or_else(|e| panic!("shipped mapping should load:\n{e}"))
}

/// A catalogue item as the Table API returns it with
/// `sysparm_display_value=false` and reference links kept.
fn catalog_item(active: &str) -> Value {
    json!({
        "sys_id": "e8d6b0a2c0a8016b01b4b7e3e1c0f3a1",
        "name": "Standard Laptop",
        "short_description": "Lenovo ThinkPad T14 for general office work",
        "description": "<p>Lenovo ThinkPad T14 &amp; dock</p>",
        "category": {
            "link": "https://acme.service-now.com/api/now/table/sc_category/d258b953c611227a0146101fb1be7c31",
            "value": "d258b953c611227a0146101fb1be7c31"
        },
        "active": active,
        "order": "100",
        "sys_scope": {"link": "https://acme.service-now.com/api/now/table/sys_scope/global", "value": "global"},
        "sys_class_name": "sc_cat_item",
        "sys_updated_on": "2024-05-01 10:00:00"
    })
}

#[test]
fn a_servicenow_catalogue_item_links_to_its_service_portal_page() {
    let m = shipped("servicenow-catalog_item");
    let o = offering(m.apply(&catalog_item("true")).expect("maps"));
    assert_eq!(o.name, "Standard Laptop");
    assert_eq!(
        o.description.as_deref(),
        Some("Lenovo ThinkPad T14 for general office work")
    );
    assert_eq!(
        o.category.as_deref(),
        Some("d258b953c611227a0146101fb1be7c31")
    );
    assert_eq!(
        o.external_url.as_deref(),
        Some(
            "https://acme.service-now.com/sp?id=sc_cat_item&sys_id=e8d6b0a2c0a8016b01b4b7e3e1c0f3a1"
        )
    );
    assert_eq!(o.active, Some(true));
    assert_eq!(
        o.department, None,
        "the connector's department comes at sync"
    );
    assert_eq!(o.attributes["details"], "Lenovo ThinkPad T14 & dock");
}

#[test]
fn a_retired_catalogue_item_is_inactive_and_one_without_links_has_no_url() {
    let m = shipped("servicenow-catalog_item");
    let mut record = catalog_item("false");
    record["sys_scope"] = json!("global");
    record["category"] = json!("");
    let o = offering(m.apply(&record).expect("maps"));
    assert_eq!(o.active, Some(false));
    assert!(!o.is_active());
    assert_eq!(o.external_url, None);
    assert_eq!(o.category, None);
}

#[test]
fn a_jira_request_type_links_to_its_customer_portal_form() {
    let m = shipped("jira-request_type");
    let record = json!({
        "_expands": ["field"],
        "id": "25",
        "_links": {"self": "https://acme.atlassian.net/rest/servicedeskapi/servicedesk/28/requesttype/25"},
        "name": "Request new hardware",
        "description": "Laptops, monitors and phones.",
        "helpText": "Say what it is for.",
        "issueTypeId": "10003",
        "serviceDeskId": "28",
        "groupIds": ["12", "13"]
    });
    let o = offering(m.apply(&record).expect("maps"));
    assert_eq!(o.name, "Request new hardware");
    assert_eq!(
        o.external_url.as_deref(),
        Some("https://acme.atlassian.net/servicedesk/customer/portal/28/create/25")
    );
    assert_eq!(o.category.as_deref(), Some("12"));
    assert_eq!(o.active, None);
    assert!(o.is_active(), "a request type the API lists is active");
    assert_eq!(o.attributes["help_text"], "Say what it is for.");
}

#[test]
fn an_offering_needs_a_name_and_takes_no_confidential_fields() {
    let text = "version = 1\nsystem = \"s\"\nstream = \"c\"\nentity = \"offering\"\n\n[fields]\ndescription = { path = \"d\", confidential = \"hr\" }\n";
    let diags = diagnostics(text);
    diag_with(&diags, "offerings are listed to every employee");
    diag_with(&diags, "name");
}

#[test]
fn an_offering_fills_every_field_and_refuses_unknown_ones() {
    let text = "version = 1\nsystem = \"s\"\nstream = \"c\"\nentity = \"offering\"\n\n[fields]\nname = { path = \"n\" }\ndepartment = { const = \"hr\" }\ncategory = { path = \"c\" }\nexternal_url = { template = \"https://hr.example/ask/{id}\" }\nactive = { path = \"on\" }\n";
    let record = json!({"n": "Parental leave", "c": "leave", "id": "7", "on": false});
    let o = offering(mapping(text).apply(&record).expect("maps"));
    assert_eq!(o.department.as_deref(), Some("hr"));
    assert_eq!(o.category.as_deref(), Some("leave"));
    assert_eq!(o.external_url.as_deref(), Some("https://hr.example/ask/7"));
    assert_eq!(o.active, Some(false));
    let wrong = text.replace("category =", "priority =");
    diag_with(&diagnostics(&wrong), "priority");
}
