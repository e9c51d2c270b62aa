use super::*;

// ---------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------

#[test]
fn content_version_changes_with_text_and_is_stable_otherwise() {
    let a = work_item_mapping("", "");
    let b = work_item_mapping("description = { path = \"d\" }", "");
    assert_eq!(mapping(&a).version, mapping(&a).version);
    assert_eq!(mapping(&a).version, content_version(&a));
    assert_ne!(mapping(&a).version, mapping(&b).version);
    // Any edit counts, even a comment: the version identifies the file's text.
    assert_ne!(
        content_version(&a),
        content_version(&format!("{a}# note\n"))
    );
    assert_eq!(content_version(&a).len(), 16);
    assert!(content_version(&a).chars().all(|c| c.is_ascii_hexdigit()));
}
