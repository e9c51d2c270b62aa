use super::*;

// ---------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------

#[test]
fn rfc3339_timestamp_with_offset_is_converted_to_utc() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"rfc3339\" }\nupdated_at = { path = \"u\", timestamp = \"RFC3339\" }",
        "",
    ));
    let w = work_item(
        m.apply(
            &json!({"t": "x", "o": "2024-06-01T14:30:00+02:00", "u": "2024-06-01T23:15:00-05:00"}),
        )
        .expect("maps"),
    );
    assert_eq!(w.opened_at, Some(utc(2024, 6, 1, 12, 30, 0)));
    assert_eq!(w.updated_at, Some(utc(2024, 6, 2, 4, 15, 0)));
}

#[test]
fn pattern_timestamp_is_read_as_utc() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%d.%m.%Y %H:%M\" }",
        "",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "o": "03.02.2024 07:05"}))
            .expect("maps"),
    );
    assert_eq!(w.opened_at, Some(utc(2024, 2, 3, 7, 5, 0)));
}

#[test]
fn timestamp_not_matching_pattern_fails_record_mentioning_format() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%Y-%m-%d %H:%M:%S\" }",
        "",
    ));
    let err = m
        .apply(&json!({"t": "x", "o": "2024/06/01 12:00"}))
        .unwrap_err();
    assert_eq!(err.rule, "fields.opened_at");
    assert_eq!(err.source_path, " (from `o` = \"2024/06/01 12:00\")");
    assert!(
        err.message
            .contains("does not match timestamp format `%Y-%m-%d %H:%M:%S`"),
        "{err}"
    );
}

#[test]
fn invalid_rfc3339_timestamp_fails_record() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"rfc3339\" }",
        "",
    ));
    let err = m
        .apply(&json!({"t": "x", "o": "2024-06-01 12:00:00"}))
        .unwrap_err();
    assert_eq!(err.rule, "fields.opened_at");
    assert!(err.message.contains("not an RFC 3339 timestamp"), "{err}");
    let err = m.apply(&json!({"t": "x", "o": 1717243200})).unwrap_err();
    assert!(err.message.contains("expected a timestamp string"), "{err}");
}

#[test]
fn pattern_timestamp_with_offset_is_converted_to_utc() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%Y-%m-%d %H:%M:%S %z\" }",
        "",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "o": "2024-06-01 14:30:00 +0200"}))
            .expect("maps"),
    );
    assert_eq!(w.opened_at, Some(utc(2024, 6, 1, 12, 30, 0)));
}

#[test]
fn attribute_timestamp_is_normalised_to_rfc3339_utc() {
    let m = mapping(&work_item_mapping(
        "",
        "[attributes]\nsla_due = { path = \"sla_due\", timestamp = \"%Y-%m-%d %H:%M:%S\" }\n",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "sla_due": "2024-06-01 12:00:00"}))
            .expect("maps"),
    );
    assert_eq!(
        w.attributes.get("sla_due"),
        Some(&json!("2024-06-01T12:00:00+00:00"))
    );
    assert!(
        m.apply(&json!({"t": "x", "sla_due": "next tuesday"}))
            .is_err(),
        "an unparseable timestamp attribute should fail the record"
    );
}

#[test]
fn timezone_reads_local_wall_clock_times() {
    let m = mapping(&work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%Y-%m-%d %H:%M\", timezone = \"Europe/Amsterdam\" }\ndue_at = { path = \"d\", timestamp = \"%Y-%m-%d\", timezone = \"America/New_York\" }",
        "",
    ));
    let w = work_item(
        m.apply(&json!({"t": "x", "o": "2024-07-01 14:30", "d": "2024-01-15"}))
            .expect("maps"),
    );
    assert_eq!(
        w.opened_at,
        Some(utc(2024, 7, 1, 12, 30, 0)),
        "CEST is UTC+2"
    );
    assert_eq!(w.due_at, Some(utc(2024, 1, 15, 5, 0, 0)), "EST is UTC-5");
    // 02:30 on the spring-forward night never happened in Amsterdam.
    let err = m
        .apply(&json!({"t": "x", "o": "2024-03-31 02:30"}))
        .unwrap_err();
    assert!(
        err.message.contains("does not exist in Europe/Amsterdam"),
        "{err}"
    );
}

#[test]
fn unknown_timezone_is_located() {
    let text = work_item_mapping(
        "opened_at = { path = \"o\", timestamp = \"%Y-%m-%d %H:%M\", timezone = \"Europe/Amsterdamm\" }",
        "",
    );
    let diags = diagnostics(&text);
    let d = diag_with(&diags, "is not a time zone");
    assert!(d.message.starts_with("`fields.opened_at.timezone`"), "{d}");
}
