//! Cursor formats, reading, rewinding and writing.

use super::*;

fn sn() -> CursorSpec {
    CursorSpec {
        fields: vec![vec!["sys_updated_on".into()]],
        read: CursorRead::Auto,
        write: None,
        format: CursorFormat::parse("%Y-%m-%d %H:%M:%S").unwrap(),
        overlap: Duration::from_secs(60),
        initial: "1970-01-01 00:00:00".into(),
        ordered: true,
    }
}

#[test]
fn offsets_in_the_format_are_honoured() {
    let spec = CursorSpec {
        format: CursorFormat::parse("%Y-%m-%dT%H:%M:%S%.f%z").unwrap(),
        ..sn()
    };
    // 10:00 in Amsterdam is before 09:30 UTC.
    assert_eq!(
        spec.compare(
            "2026-01-01T10:00:00.000+0100",
            "2026-01-01T09:30:00.000+0000"
        ),
        Ordering::Less
    );
    assert_eq!(
        spec.rewind("2026-01-01T10:00:30.000+0100"),
        "2026-01-01T08:59:30+0000"
    );
}

#[test]
fn rewinds_by_the_overlap_in_the_source_format() {
    assert_eq!(sn().rewind("2026-01-01 00:00:30"), "2025-12-31 23:59:30");
}

#[test]
fn compares_as_times_not_text() {
    let c = CursorSpec {
        format: CursorFormat::Rfc3339,
        ..sn()
    };
    // Same instant in two offsets, then a later one written "smaller".
    assert_eq!(
        c.compare("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"),
        Ordering::Equal
    );
    assert_eq!(
        c.compare("2026-01-01T00:30:00+01:00", "2026-01-01T00:00:00Z"),
        Ordering::Less
    );
}

#[test]
fn integers_compare_numerically() {
    let c = CursorSpec {
        format: CursorFormat::Integer,
        ..sn()
    };
    assert_eq!(c.compare("9", "10"), Ordering::Less);
}

#[test]
fn rejects_bad_formats() {
    assert!(CursorFormat::parse("YYYY-MM-DD").is_err());
    assert!(CursorFormat::parse("%Y-%Q").is_err());
}

fn keys<'a>(format: &'a str, fields: &'a [String]) -> CursorKeys<'a> {
    CursorKeys {
        field: "",
        fields,
        format,
        read: None,
        write_format: None,
        initial: None,
        overlap_secs: 60,
        ordered: true,
    }
}

#[test]
fn an_object_cursor_is_read_as_a_time_and_written_as_parts() {
    let fields = ["create_date".to_string(), "write_date".to_string()];
    let spec = keys("rfc3339", &fields).spec().unwrap();
    let at = |h: u32| {
        serde_json::json!({"__class__": "datetime", "year": 2026, "month": 12, "day": 5,
            "hour": h, "minute": 30, "second": 0, "microsecond": 0})
    };
    // The greater of the two change fields; a null one is skipped.
    let record = serde_json::json!({"create_date": at(9), "write_date": at(11)});
    assert_eq!(
        spec.value_of(&record).as_deref(),
        Some("2026-12-05T11:30:00Z")
    );
    let created = serde_json::json!({"create_date": at(9), "write_date": null});
    assert_eq!(
        spec.value_of(&created).as_deref(),
        Some("2026-12-05T09:30:00Z")
    );
    assert_eq!(
        spec.value_of(&serde_json::json!({"write_date": "soon"})),
        None
    );
    let from = spec.rewind("2026-12-05T11:30:00Z");
    assert_eq!(from, "2026-12-05T11:29:00Z", "written back with `Z`");
    let parts = spec.parts(&from).unwrap();
    assert_eq!(
        (parts["hour"].clone(), parts["minute"].clone()),
        (11.into(), 29.into())
    );
}

#[test]
fn read_epoch_write_iso_and_keep_z() {
    let fields = ["updated".to_string()];
    let spec = CursorKeys {
        read: Some("epoch"),
        write_format: Some("rfc3339"),
        ..keys("integer", &fields)
    }
    .spec()
    .unwrap();
    let v = spec
        .value_of(&serde_json::json!({"updated": 1_796_463_000}))
        .unwrap();
    assert_eq!(v, "1796463000");
    assert_eq!(spec.written(&v), "2026-12-05T09:30:00Z");
    // An `rfc3339` cursor read with `+00:00` keeps it; with `Z`, `Z`.
    let iso = keys("rfc3339", &fields).spec().unwrap();
    assert_eq!(
        iso.rewind("2026-12-05T09:31:00+00:00"),
        "2026-12-05T09:30:00+00:00"
    );
    assert_eq!(
        iso.rewind("2026-12-05T09:31:00.250Z"),
        "2026-12-05T09:30:00.250Z"
    );
}

#[test]
fn cursor_keys_are_checked_at_their_key() {
    let fields = ["a".to_string()];
    let bad = |k: CursorKeys| k.spec().unwrap_err().0;
    assert_eq!(
        bad(CursorKeys {
            field: "b",
            ..keys("rfc3339", &fields)
        }),
        "fields"
    );
    assert_eq!(bad(keys("rfc3339", &[])), "field");
    assert_eq!(
        bad(CursorKeys {
            read: Some("obj"),
            ..keys("rfc3339", &fields)
        }),
        "read"
    );
    assert_eq!(
        bad(CursorKeys {
            read: Some("parts"),
            ..keys("integer", &fields)
        }),
        "read"
    );
    assert_eq!(
        bad(CursorKeys {
            write_format: Some("iso"),
            ..keys("rfc3339", &fields)
        }),
        "write_format"
    );
}

#[test]
fn a_cel_read_takes_the_place_of_the_field() {
    let spec = CursorKeys {
        read: Some(r#"record.changed.date + "T" + record.changed.time + "Z""#),
        ..keys("rfc3339", &[])
    }
    .spec()
    .unwrap();
    assert!(spec.reads_records());
    let record = serde_json::json!({"changed": {"date": "2026-12-05", "time": "09:30:00"}});
    assert_eq!(
        spec.value_of(&record).as_deref(),
        Some("2026-12-05T09:30:00Z")
    );
    assert_eq!(
        spec.value_of(&serde_json::json!({"id": 1})),
        None,
        "no value: no cursor"
    );
    let fields = ["a".to_string()];
    let both = CursorKeys {
        read: Some("record.a"),
        ..keys("rfc3339", &fields)
    };
    assert_eq!(both.spec().unwrap_err().0, "read");
}
