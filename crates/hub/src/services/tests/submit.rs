//! Submissions against a form, and the work item a request becomes.

use serde_json::{Map, Value, json};

use super::{GOOD, good, load};
use crate::services::FieldProblem;

fn submit(fields: Value) -> Result<Map<String, Value>, Vec<FieldProblem>> {
    good().validate_submission(fields.as_object().unwrap())
}

#[test]
fn a_submission_is_normalised() {
    let ok = submit(json!({
        "summary": "  No heating  ", "location": "B2/3", "details": "line 1\r\nline 2",
        "floors": "3", "cost": "12.5", "unsafe": "false", "since": "2026-1-5",
        "contact": " Ada@Example.COM ", "urgency": "high",
    }))
    .unwrap();
    assert_eq!(
        Value::Object(ok),
        json!({
            "summary": "No heating", "location": "B2/3", "details": "line 1\nline 2",
            "floors": 3, "cost": 12.5, "unsafe": false, "since": "2026-01-05",
            "contact": "Ada@example.com", "urgency": "high",
        })
    );
    let ok = submit(json!({"summary": "x", "urgency": "low", "floors": 2.0, "cost": 7, "unsafe": true, "location": null, "details": "  "})).unwrap();
    assert_eq!(
        Value::Object(ok),
        json!({"summary": "x", "urgency": "low", "floors": 2, "cost": 7, "unsafe": true})
    );
}

#[test]
fn each_problem_of_a_submission_is_named_per_field() {
    let problems = submit(json!({
        "summary": "x".repeat(21), "floors": 1.5, "cost": "NaN", "unsafe": "yes",
        "since": "05/01/2026", "contact": "ada at example", "urgency": "medium",
        "locaton": "B2", "colour": "red", "location": "a\nb", "details": 5,
    }))
    .unwrap_err();
    let field = |p: &FieldProblem| p.field().to_string();
    assert_eq!(
        problems.iter().map(field).collect::<Vec<_>>(),
        [
            "summary", "location", "details", "floors", "cost", "unsafe", "since", "contact",
            "urgency", "colour", "locaton"
        ]
    );
    assert_eq!(
        problems[0],
        FieldProblem::TooLong {
            field: "summary".into(),
            length: 21,
            max_length: 20
        }
    );
    assert_eq!(
        problems[1],
        FieldProblem::WrongType {
            field: "location".into(),
            expected: "one line of text"
        }
    );
    assert_eq!(
        problems[2],
        FieldProblem::WrongType {
            field: "details".into(),
            expected: "text"
        }
    );
    assert_eq!(
        problems[3],
        FieldProblem::WrongType {
            field: "floors".into(),
            expected: "a whole number"
        }
    );
    assert_eq!(
        problems[4],
        FieldProblem::WrongType {
            field: "cost".into(),
            expected: "a number"
        }
    );
    assert_eq!(
        problems[5],
        FieldProblem::WrongType {
            field: "unsafe".into(),
            expected: "true or false"
        }
    );
    assert_eq!(
        problems[6],
        FieldProblem::WrongType {
            field: "since".into(),
            expected: "a date as YYYY-MM-DD"
        }
    );
    assert_eq!(
        problems[7],
        FieldProblem::WrongType {
            field: "contact".into(),
            expected: "an email address"
        }
    );
    assert_eq!(
        problems[8],
        FieldProblem::NotAChoice {
            field: "urgency".into(),
            value: "medium".into(),
            choices: vec!["low".into(), "high".into()]
        }
    );
    assert_eq!(
        problems[9],
        FieldProblem::Unknown {
            field: "colour".into(),
            did_you_mean: None
        }
    );
    assert_eq!(
        problems[10],
        FieldProblem::Unknown {
            field: "locaton".into(),
            did_you_mean: Some("location".into())
        }
    );
    assert_eq!(
        problems[10].to_string(),
        "`locaton`: the form has no such field (did you mean `location`?)"
    );
    assert_eq!(
        serde_json::to_value(&problems[8]).unwrap(),
        json!({"problem": "not_a_choice", "field": "urgency", "value": "medium", "choices": ["low", "high"]})
    );
}

#[test]
fn required_fields_must_hold_something() {
    let problems = submit(json!({"summary": "   ", "urgency": null})).unwrap_err();
    assert_eq!(
        problems,
        [
            FieldProblem::Missing {
                field: "summary".into()
            },
            FieldProblem::Missing {
                field: "urgency".into()
            }
        ]
    );
    assert_eq!(problems[0].to_string(), "`summary` is required");
    for bad in ["2026-02-30", "2026-13-01", "tomorrow"] {
        assert!(
            submit(json!({"summary": "x", "urgency": "low", "since": bad})).is_err(),
            "{bad}"
        );
    }
    for bad in ["a@b", "@b.c", "a@b@c.d", "a b@c.d", "a@.c"] {
        assert!(
            submit(json!({"summary": "x", "urgency": "low", "contact": bad})).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn a_request_becomes_a_canonical_work_item() {
    let o = good();
    let fields = submit(
        json!({"summary": "No heating", "location": "B2/3", "urgency": "high", "unsafe": true}),
    )
    .unwrap();
    let item = o.work_item(&fields, "ada@example.com");
    assert_eq!(
        item,
        json!({
            "entity": "work_item", "kind": "incident", "title": "B2/3: No heating",
            "description": "What is wrong?: No heating\nWhere?: B2/3\nIs it unsafe?: yes\nHow urgent?: high",
            "status": "new", "priority": null, "department": "facilities",
            "requester_ref": "ada@example.com",
            "attributes": {
                "offering": "facilities-repair", "fields": Value::Object(fields),
                "sla_hours": 48, "maximo_siteid": "BEDFORD",
            },
            "classified": {},
        })
    );
}

#[test]
fn a_confidential_request_marks_its_answers() {
    let text = GOOD
        .replacen("kind = \"incident\"", "confidential = \"hr\"", 1)
        .replacen("title = \"{fields.location}: {fields.summary}\"\n", "", 1);
    let o = load(&text).unwrap().offerings.remove(0);
    let fields = o
        .validate_submission(
            json!({"summary": "My salary", "urgency": "low"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let item = o.work_item(&fields, "ada@example.com");
    // The default title would carry the first answer: a confidential one
    // keeps to the offering's name.
    assert_eq!(item["title"], "Report a building fault");
    assert_eq!(item["kind"], "request");
    assert_eq!(item["attributes"]["confidential"], "hr");
    assert_eq!(
        item["classified"],
        json!({"description": "hr", "attributes.fields": "hr"})
    );
    let withheld = crate::routing::message::unclassified(&item);
    assert!(
        withheld.get("description").is_none() && withheld["attributes"].get("fields").is_none()
    );
    // Not confidential: the default title is the name and the first text answer.
    let text = GOOD.replacen("title = \"{fields.location}: {fields.summary}\"\n", "", 1);
    let o = load(&text).unwrap().offerings.remove(0);
    let item = o.work_item(&fields, "ada@example.com");
    assert_eq!(item["title"], "Report a building fault: My salary");
}

#[test]
fn the_public_view_leaves_out_where_the_work_goes() {
    let view = serde_json::to_value(good()).unwrap();
    assert!(view.get("to").is_none() && view.get("set").is_none() && view.get("title").is_none());
    assert_eq!(
        view["fields"][0],
        json!({"name": "summary", "label": "What is wrong?", "type": "text", "required": true, "max_length": 20})
    );
    assert_eq!(view["fields"][8]["choices"], json!(["low", "high"]));
}

/// The work item docs/SERVICES.md shows is what the shipped offering builds.
#[test]
fn the_documented_work_item_is_the_shipped_offerings() {
    let root = crate::repo_root();
    let services = crate::services::Services::load(&root.join("services.toml")).unwrap();
    let o = services.offering("facilities-repair").unwrap();
    let fields = o
        .validate_submission(
            json!({"location": "B2/3", "summary": "No heating", "urgency": "Today, please"})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let item = o.work_item(&fields, "ada@example.com");
    let doc = std::fs::read_to_string(root.join("docs/SERVICES.md")).unwrap();
    let start = doc.find("```json\n").unwrap() + "```json\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let documented: Value = serde_json::from_str(&doc[start..end]).unwrap();
    assert_eq!(item, documented);
}
