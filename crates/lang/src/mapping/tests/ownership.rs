use super::*;

// ---------------------------------------------------------------------------
// Field ownership: declared per mapping, checked across mappings
// ---------------------------------------------------------------------------

fn person_mapping(system: &str, owns: &str) -> Arc<Mapping> {
    Arc::new(mapping(&format!(
        "version = 1\nsystem = \"{system}\"\nstream = \"s\"\nentity = \"person\"\nowns = {owns}\n\n[fields]\nemail = {{ path = \"mail\" }}\n"
    )))
}

#[test]
fn owns_names_fields_of_the_entity() {
    let text = r#"version = 1
system = "hr"
stream = "s"
entity = "person"
owns = ["departmnet", "email", "email"]

[fields]
email = { path = "mail" }
"#;
    let diags = diagnostics(text);
    let typo = diag_with(&diags, "no field `departmnet` to own");
    assert_eq!(typo.hint.as_deref(), Some("did you mean `department`?"));
    assert_eq!(typo.line, pos(text, "owns").0);
    diag_with(&diags, "`email` is listed twice");
}

#[test]
fn two_systems_cannot_own_a_person_field() {
    let hr = person_mapping("hr", "[\"department\", \"email\"]");
    let also_hr = person_mapping("hr", "[\"department\"]");
    let itsm = person_mapping("itsm", "[\"department\"]");
    let owners = owners(&[Arc::clone(&hr), also_hr]).expect("one system, two streams");
    assert_eq!(owners.len(), 2);
    let conflicts = owners_err(&[hr, itsm]);
    assert_eq!(conflicts.len(), 1);
    let message = conflicts[0].to_string();
    assert!(
        message.contains("`person.department` is already owned by system `hr`")
            && message.contains("`itsm` cannot own it too"),
        "{message}"
    );
}

#[test]
fn each_system_may_own_its_own_work_items_status() {
    let item = |system: &str| {
        Arc::new(mapping(&format!(
            "version = 1\nsystem = \"{system}\"\nstream = \"s\"\nentity = \"work_item\"\nowns = [\"status\"]\n\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ path = \"t\" }}\nstatus = {{ const = \"open\" }}\n"
        )))
    };
    let owners = owners(&[item("servicenow"), item("maximo")]).expect("no conflict");
    let systems: Vec<&str> = owners.iter().map(|o| o.system.as_str()).collect();
    assert_eq!(systems, ["servicenow", "maximo"]);
}

fn owners_err(m: &[Arc<Mapping>]) -> Vec<OwnershipConflict> {
    match owners(m) {
        Ok(o) => panic!("expected a conflict, got {o:?}"),
        Err(c) => c,
    }
}
