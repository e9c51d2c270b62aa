//! Confidentiality in `Router::plan`: a confidential case goes only to
//! cleared departments, and classified fields are withheld from the rest.

use super::*;

const FACILITIES: &str = "facilities.maximo.create_workorder";
const TO_HR: &str = "hr.personio.create_case";

/// Everything to one `<department>.<connector>.<action>`, with HR cleared
/// for `hr`.
fn only_to(key: &str) -> Router {
    let [department, connector, action] = key.split('.').collect::<Vec<_>>()[..] else {
        panic!("{key}");
    };
    let to = format!(
        "{{ department = \"{department}\", connector = \"{connector}\", action = \"{action}\" }}"
    );
    router(&format!(
        "[[rules]]\nname = \"all\"\nto = {to}\n[default]\n[clearance]\nhr = [\"hr\"]\n"
    ))
}

#[test]
fn a_confidential_case_goes_only_to_cleared_departments() {
    let mut secret = ticket("new");
    secret.attributes.insert("confidential".into(), json!("hr"));
    let secret = Canonical::WorkItem(secret);
    let hr = plan(&only_to(TO_HR), SNOW, &secret, None);
    assert_eq!(only(&hr).routing_key, "hr.personio.create_case");
    let facilities = only_to(FACILITIES);
    let p = plan(&facilities, SNOW, &secret, None);
    assert!(p.outbox.is_empty(), "{:#?}", p.outbox);
}

#[test]
fn a_classified_field_is_withheld_from_an_uncleared_department() {
    let mut w = ticket("new");
    w.description = Some("Salary dispute makes me cold".into());
    w.classified = obj(json!({"description": "hr"}));
    let w = Canonical::WorkItem(w);
    let p = plan(&only_to(FACILITIES), SNOW, &w, None);
    let body = &only(&p).payload;
    let (record, withheld) = (&body["data"]["record"], &body["data"]["withheld"]);
    assert!(record.get("description").is_none(), "{body}");
    assert_eq!(withheld, &json!(["description"]));
    assert!(!body.to_string().contains("Salary dispute"), "{body}");

    let p = plan(&only_to(TO_HR), SNOW, &w, None);
    let data = &only(&p).payload["data"];
    let description = "Salary dispute makes me cold";
    assert_eq!(data["record"]["description"], description);
    assert_eq!(data["withheld"], json!([]));
}

#[test]
fn a_task_title_never_carries_a_classified_field() {
    let mut hire = ada(Some(true));
    hire.classified = obj(json!({"email": "hr"}));
    let hire = Canonical::Person(hire);
    let p = plan_at(&router(ONBOARDING), HR, change("42", &hire, None), now());
    assert_eq!(p.outbox.len(), 2, "{:#?}", p.outbox);
    for m in &p.outbox {
        let text = m.payload.to_string();
        assert!(!text.contains("ada@example.com"), "{text}");
    }
}
