//! The operators' tools: `map` in either direction, `dlq` list and replay,
//! and `route` (with `--replay`).

use super::*;

#[test]
fn map_prints_canonical_records_and_explains() {
    let root = repo();
    let input = root.join("tests/golden/servicenow-incident.input.jsonl");
    let mapping = root.join("mappings/servicenow-incident.toml");
    let args = [
        "map",
        "--mapping",
        mapping.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ];
    let (code, out, err) = output(&root, &args);
    assert_eq!(code, 0, "{err}");
    let expected =
        std::fs::read_to_string(root.join("tests/golden/servicenow-incident.expected.jsonl"))
            .unwrap();
    assert_eq!(out, expected);

    let (code, out, _) = output(&root, &[&args[..], &["--explain"]].concat());
    assert_eq!(code, 0);
    assert!(
        out.contains("#   fields.status                state = \"2\" -> \"in_progress\""),
        "{out}"
    );
}

#[test]
fn map_exits_non_zero_and_names_the_failing_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    write(
        &input,
        "{\"sys_id\": \"1\", \"state\": \"2\", \"short_description\": \"ok\"}\nnot json\n{\"sys_id\": \"3\", \"state\": \"42\"}\n",
    );
    let mapping = repo().join("mappings/servicenow-incident.toml");
    let (code, out, err) = output(
        dir.path(),
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 1, "the good record is still printed");
    assert!(
        err.contains("record 2: ") && err.contains("in.jsonl:2: not JSON"),
        "{err}"
    );
    assert!(
        err.contains("record 3: ") && err.contains("value \"42\" is not in map `state`"),
        "{err}"
    );
    assert!(err.contains("2 record(s) failed to map"), "{err}");
}

#[test]
fn map_runs_an_outbound_mapping_over_canonical_records() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("canonical.jsonl");
    write(
        &input,
        "{\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"Heating\",\"status\":\"resolved\",\"priority\":1}\n\
         {\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"Odd\",\"status\":\"on_hold\"}\n",
    );
    let mapping = repo().join("mappings/servicenow-update-incident.toml");
    let (code, out, err) = output(
        dir.path(),
        &[
            "map",
            "--mapping",
            mapping.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "the second record cannot be expressed");
    let body: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(body["state"], "6");
    assert_eq!(body["close_code"], "Solved (Permanently)");
    assert!(
        err.contains("record 2:")
            && err.contains("rule `fields.state` (from `status` = \"on_hold\")"),
        "{err}"
    );
}

/// Embedded dead letters: `dlq list` shows each with its reason, `dlq
/// replay` puts one back in line, and a wrong id says how many there are.
#[tokio::test]
async fn dlq_lists_and_replays_dead_letters() {
    let ws = workspace();
    let url = format!("sqlite://{}", ws.path().join("switchboard.db").display());
    let store = Store::connect(&url, 1).await.unwrap();
    store.migrate().await.unwrap();
    let message = switchboard::store::OutboxMessage {
        event_id: "3f2a9c".into(),
        routing_key: "facilities.maximo.create_workorder".into(),
        payload: serde_json::json!({"specversion": "1.0", "id": "3f2a9c",
            "source": "/switchboard/servicenow/incident", "subject": "abc123", "data": {}}),
        not_before: None,
    };
    store.enqueue(&[message]).await.unwrap();
    let claimed = store
        .claim_outbox(10, Duration::from_secs(60))
        .await
        .unwrap();
    store
        .bury_outbox(
            claimed[0].id,
            "maximo: POST … was refused with 400: BMXAA2661E",
        )
        .await
        .unwrap();
    store.close().await;

    let (code, out, err) = output(ws.path(), &["dlq", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("3f2a9c  facilities.maximo.create_workorder")
            && out.contains("from /switchboard/servicenow/incident abc123")
            && out.contains("BMXAA2661E")
            && out.contains("1 dead letter(s)"),
        "{out}"
    );
    let (code, out, _) = output(ws.path(), &["dlq", "list", "--json"]);
    assert_eq!(code, 0);
    let line: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(line["id"], "3f2a9c");
    assert_eq!(line["event"]["subject"], "abc123");

    let (code, _, err) = output(ws.path(), &["dlq", "replay", "nope"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no dead letter `nope` (1 dead letters"),
        "{err}"
    );
    let (code, out, err) = output(ws.path(), &["dlq", "replay", "3f2a9c"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("replayed 1 dead letter(s)"), "{out}");
    let (_, out, _) = output(ws.path(), &["dlq", "list"]);
    assert!(out.contains("no dead letters"), "{out}");

    let store = Store::connect(&url, 1).await.unwrap();
    assert_eq!(store.outbox_pending().await.unwrap(), 1, "back in line");
}

#[test]
fn route_gives_a_work_item_its_connectors_department_as_a_sync_does() {
    let dir = tempfile::tempdir().unwrap();
    let routing = dir.path().join("routing.toml");
    write(
        &routing,
        "version = 1\n[[rules]]\nname = \"it-only\"\nwhen = \"record.department == 'it'\"\nto = { department = \"facilities\", connector = \"maximo\", action = \"create_workorder\" }\n[default]\n",
    );
    // What `switchboard map` prints for a mapping that sets no department.
    let input = dir.path().join("item.jsonl");
    write(
        &input,
        "{\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"x\",\"status\":\"new\",\"department\":null,\"attributes\":{}}\n",
    );
    let (input, routing) = (input.to_str().unwrap(), routing.to_str().unwrap());
    let (code, out, err) = output(
        &repo(),
        &[
            "route",
            "--input",
            input,
            "--routing",
            routing,
            "--system",
            "servicenow",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("(incident, it)") && out.contains("1. it-only: matched"),
        "{out}"
    );
    let (code, _, err) = output(
        &repo(),
        &[
            "route",
            "--input",
            input,
            "--routing",
            routing,
            "--system",
            "servicenw",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("did you mean `servicenow`?"), "{err}");
}

/// `route --replay` takes a system, a stream and an id, and not with
/// `--input`; a record the store does not hold is named.
#[test]
fn route_replay_names_what_it_needs() {
    let ws = workspace();
    let (code, _, err) = output(ws.path(), &["route", "--replay", "servicenow", "incident"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("SYSTEM") && err.contains("EXTERNAL_ID"),
        "{err}"
    );
    let (code, _, err) = output(ws.path(), &["route"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--input") && err.contains("--replay"), "{err}");
    let (code, _, err) = output(
        ws.path(),
        &[
            "route",
            "--replay",
            "servicenow",
            "incident",
            "x",
            "--input",
            "-",
        ],
    );
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = output(
        ws.path(),
        &[
            "route",
            "--replay",
            "servicenow",
            "incident",
            "x",
            "--event",
            "hired",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--event hired: events are created"), "{err}");
}
