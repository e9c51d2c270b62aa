//! Property test: mapping never panics, whatever JSON a source sends.

mod common;

use proptest::prelude::*;
use serde_json::{Map, Value};
use switchboard::diag::SourceFile;
use switchboard::mapping::{AnyMapping, Mapping, OutboundMapping};

/// Every rule form and transform, over fields the generator fills with
/// values of any type.
const KITCHEN_SINK: &str = r#"
version = 1
system = "sys"
stream = "s"
entity = "work_item"
skip_if = "has(record.category) && record.category == 'skip'"

[fields]
kind = { const = "incident" }
assignee_group = { const = "major", when = "has(record.urgency) && record.urgency == '1'" }
service = { expr = "has(record.number) ? string(record.number) : 'none'" }
title = { template = "{number}: {short}", transforms = ["trim", { truncate = 20 }], default = "untitled" }
description = { path = "body", transforms = ["html_to_text", { regex_replace = { pattern = "\\s+", with = " " } }] }
status = { path = "state", transforms = ["lower"], map = "state" }
priority = { coalesce = ["priority", "urgency"], map = "priority" }
requester = { coalesce = ["caller.email", "caller", "opened_by"], lookup = { by = "email", on_missing = "placeholder" } }
opened_at = { path = "opened_at", timestamp = "%Y-%m-%d %H:%M:%S" }
updated_at = { path = "updated", timestamp = "rfc3339" }
due_at = { path = "due", timestamp = "%Y-%m-%d" }
resolved_at = { path = "resolved", timestamp = "%Y-%m-%d %H:%M:%S %z" }

[attributes]
tags = { path = "tags", transforms = [{ split = "," }, "upper", { join = "|" }] }
comments = { path = "comments[*].body", transforms = ["trim"] }
cost = { path = "cost", transforms = ["parse_number"] }
flag = { path = "flag", transforms = ["parse_bool"] }
code = { path = "number", transforms = [{ regex_extract = "INC(\\d+)" }] }
first_comment = { path = "comments[0].body" }

[children.notes]
each = "comments"
into = "activities"

[children.notes.fields]
key = { path = "id" }
kind = { const = "comment" }
body = { path = "body", transforms = ["html_to_text"] }
author = { coalesce = ["by", "author.name"] }
occurred_at = { path = "at", timestamp = "rfc3339", default = "2026-01-01T00:00:00Z" }

[children.lines]
each = "tags[*]"
into = "attributes.lines"

[children.lines.fields]
text = { path = "x", transforms = ["trim"] }
n = { expr = "has(record.n) ? record.n : 0" }

[maps.state]
new = "new"
"1" = "open"
default = "open"

[maps.priority]
"1" = 1
"2" = 2
"3" = 3
"#;

const FIELDS: &[&str] = &[
    "number",
    "short",
    "body",
    "state",
    "priority",
    "urgency",
    "caller",
    "opened_by",
    "opened_at",
    "updated",
    "due",
    "resolved",
    "tags",
    "comments",
    "cost",
    "flag",
    "sys_id",
    "short_description",
    "description",
    "caller_id",
    "sys_updated_on",
    "resolved_at",
    "closed_at",
    "category",
    "id",
    "at",
    "by",
    "author",
    "x",
    "n",
];

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        ".{0,24}".prop_map(Value::String),
        "[0-9]{1,3}".prop_map(Value::String),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]( [0-2][0-9]:[0-5][0-9]:[0-5][0-9])?"
            .prop_map(Value::String),
        "<p>[a-z &;<>]{0,20}</p>".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}|body", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A record whose known fields hold arbitrary values, or any JSON at all.
fn any_record() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec((prop::sample::select(FIELDS), any_json()), 0..12).prop_map(
            |fields| {
                Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }
        ),
        any_json(),
    ]
}

static MAPPINGS: std::sync::LazyLock<Vec<Mapping>> = std::sync::LazyLock::new(mappings);

fn mappings() -> Vec<Mapping> {
    let shipped =
        Mapping::load(&common::repo().join("mappings/servicenow-incident.toml")).expect("shipped");
    let sink = Mapping::from_source(&SourceFile::new("kitchen-sink.toml", KITCHEN_SINK))
        .expect("kitchen sink compiles");
    vec![shipped, sink]
}

static OUTBOUND: std::sync::LazyLock<OutboundMapping> = std::sync::LazyLock::new(|| {
    match AnyMapping::load(&common::repo().join("mappings/servicenow-update-incident.toml")) {
        Ok(AnyMapping::Outbound(m)) => m,
        other => panic!("shipped outbound mapping: {other:?}"),
    }
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn mapping_never_panics(record in any_record()) {
        for m in MAPPINGS.iter() {
            let _ = m.skips(&record);
            let applied = m.apply(&record);
            let explained = m.explain(&record);
            // When a rule fails, explain says so for that rule too.
            if let Err(e) = &applied {
                prop_assert!(explained.iter().any(|x| x.rule == e.rule && x.output.is_err())
                    || e.message.contains("required field"), "{e}");
            }
            // Whatever a record maps to renders (or fails) without panicking.
            if let Ok(canonical) = applied {
                let _ = OUTBOUND.render(&canonical);
            }
        }
        let _ = OUTBOUND.render_value(&record);
    }
}
