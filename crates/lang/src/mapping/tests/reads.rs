use super::*;

// ---------------------------------------------------------------------------
// The fields a mapping reads (`Mapping::record_fields`)
// ---------------------------------------------------------------------------

/// `record` with only the `keep` keys.
fn pruned(record: &Value, keep: &[String]) -> Value {
    let Value::Object(map) = record else {
        return record.clone();
    };
    Value::Object(
        map.iter()
            .filter(|(k, _)| keep.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

#[test]
fn the_shipped_incident_mapping_reads_its_paths_and_journal() {
    let m = super::shipped::shipped();
    let fields = m.record_fields().expect("paths only");
    let mut want = vec![
        "assignment_group",
        "business_service",
        "caller_id",
        "category",
        "close_code",
        "closed_at",
        "description",
        "due_date",
        "impact",
        "journal",
        "location",
        "number",
        "opened_at",
        "priority",
        "resolved_at",
        "short_description",
        "state",
        "sys_updated_on",
        "urgency",
    ];
    want.sort();
    assert_eq!(fields, want);
}

#[test]
fn every_golden_record_maps_the_same_from_the_fields_read() {
    let root = crate::repo_root();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("mappings")).expect("mappings/") {
        let file = entry.expect("entry").path();
        let Ok(AnyMapping::Inbound(m)) = AnyMapping::load(&file) else {
            continue;
        };
        let Some(keep) = m.record_fields() else {
            continue;
        };
        let name = file
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let input = root.join(format!("tests/golden/{name}.input.jsonl"));
        let text = std::fs::read_to_string(&input).expect("golden input");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let record: Value = serde_json::from_str(line).expect("golden line is JSON");
            let full = m
                .apply(&record)
                .map(|c| serde_json::to_string(&c).expect("json"));
            let part = m
                .apply(&pruned(&record, &keep))
                .map(|c| serde_json::to_string(&c).expect("json"));
            assert_eq!(part, full, "{name}: {line}");
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} golden records checked");
}

#[test]
fn templates_cel_fields_and_children_arrays_are_read() {
    let m = mapping(&format!(
        "{HEAD}skip_if = \"record.category == 'test'\"\n\n[fields]\nkind = {{ const = \"incident\" }}\ntitle = {{ template = \"{{first}} {{meta.last}}\" }}\nstatus = {{ path = \"status\" }}\nassignee_group = {{ const = \"x\", when = \"record.impact == '1'\" }}\ndescription = {{ coalesce = [\"a\", \"b.c\"] }}\n\n[children.notes]\neach = \"notes\"\ninto = \"activities\"\n\n[children.notes.fields]\nkind = {{ const = \"comment\" }}\nbody = {{ path = \"text\" }}\noccurred_at = {{ path = \"at\", timestamp = \"rfc3339\" }}\n"
    ));
    assert_eq!(
        m.record_fields().expect("all named"),
        [
            "a", "b", "category", "first", "impact", "meta", "notes", "status"
        ]
    );
}

#[test]
fn cel_over_the_whole_record_reads_everything() {
    let m = mapping(&work_item_mapping(
        "priority = { expr = \"size(record) > 3 ? 1 : 2\" }",
        "",
    ));
    assert_eq!(m.record_fields(), None);
}
