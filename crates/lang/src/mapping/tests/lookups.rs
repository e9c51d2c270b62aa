use super::*;
use crate::model::{Lookup, LookupEntity, LookupKey, LookupSlot, OnMissing};

// ---------------------------------------------------------------------------
// Lookups: emitted with the record, resolved by the store per page
// ---------------------------------------------------------------------------

#[test]
fn a_lookup_rule_emits_the_reference_to_resolve() {
    let m = mapping(&work_item_mapping(
        r#"requester = { path = "caller.email", transforms = ["trim"], lookup = { by = "email", on_missing = "placeholder" } }"#,
        "",
    ));
    let w = work_item(
        m.apply(&json!({"caller": {"email": " Ada@Example.com "}}))
            .expect("maps"),
    );
    // The source's own value is kept; the id is filled in by the store.
    assert_eq!(w.requester_ref.as_deref(), Some("Ada@Example.com"));
    assert_eq!(
        w.lookups,
        vec![Lookup {
            rule: "fields.requester".into(),
            slot: LookupSlot::Requester,
            entity: LookupEntity::Person,
            by: LookupKey::Email,
            value: "Ada@Example.com".into(),
            on_missing: OnMissing::Placeholder,
        }]
    );
    // No value, nothing to look up.
    assert!(
        work_item(m.apply(&json!({})).expect("maps"))
            .lookups
            .is_empty()
    );
}

#[test]
fn on_missing_defaults_to_error() {
    let m = mapping(
        r#"version = 1
system = "hr"
stream = "e"
entity = "person"

[fields]
manager = { path = "mgr", lookup = { by = "employee_number" } }
org_unit = { path = "dept", lookup = { by = "code", on_missing = "null" } }
"#,
    );
    let p = person(m.apply(&json!({"mgr": "E1", "dept": "FIN"})).expect("maps"));
    let got: Vec<(LookupSlot, LookupKey, OnMissing)> = p
        .lookups
        .iter()
        .map(|l| (l.slot, l.by, l.on_missing))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                LookupSlot::Manager,
                LookupKey::EmployeeNumber,
                OnMissing::Error
            ),
            (LookupSlot::OrgUnit, LookupKey::Code, OnMissing::Null),
        ]
    );
}

#[test]
fn lookups_are_checked_when_the_mapping_compiles() {
    let text = work_item_mapping(
        r#"requester = { path = "caller", lookup = { by = "code" } }
service = { path = "svc", lookup = { by = "email" } }"#,
        "",
    );
    let diags = diagnostics(&text);
    let by = diag_with(&diags, "cannot look up person by `code`");
    assert!(
        by.message.contains("email, employee_number, external_id"),
        "{by:?}"
    );
    diag_with(&diags, "only reference fields take a lookup");
    // A policy that does not exist is a parse error, located at the value.
    let text = work_item_mapping(
        r#"requester = { path = "d", lookup = { by = "email", on_missing = "create" } }"#,
        "",
    );
    let diags = diagnostics(&text);
    let policy = diag_with(&diags, "unknown variant `create`");
    assert_eq!(policy.line, pos(&text, "requester =").0);
}
