use std::path::Path;

use super::*;
use crate::Manifest;

fn manifest(dir: &Path, stream_extra: &str) -> Manifest {
    let text = format!(
        "version = 1\nsystem = \"hr-export\"\nkind = \"file\"\ndepartment = \"hr\"\ndirectory = \"{}\"\n\n[[streams]]\nname = \"employees\"\npattern = \"employees-*.csv\"\nformat = \"csv\"\nkey = \"Employee ID\"\npage_size = 2\n{stream_extra}",
        dir.display()
    );
    Manifest::from_source(&SourceFile::new("connectors/hr-export.toml", text))
        .unwrap_or_else(|d| panic!("manifest parses:\n{d}"))
}

fn connector(m: &Manifest) -> Arc<dyn Connector> {
    m.config.build(&m.header).expect("builds")
}

fn csv(rows: usize, from: usize) -> String {
    let mut s = String::from("\u{feff}Employee ID;Name;Department\n");
    for i in from..from + rows {
        s.push_str(&format!("E{i:03}; Person {i} ;HR\n"));
    }
    s
}

/// Every page of one run: (keys, cursor after each page).
async fn run(c: &dyn Connector, from: Option<&str>) -> (Vec<String>, Vec<String>) {
    let mut token = None;
    let mut keys = Vec::new();
    let mut cursors = Vec::new();
    loop {
        let page = c
            .fetch_page("employees", from, token.as_ref())
            .await
            .expect("page");
        keys.extend(page.records.iter().filter_map(|r| r.key.clone()));
        if let Some(c) = page.records.last().and_then(|r| r.cursor.clone()) {
            cursors.push(c);
        }
        token = page.next;
        if token.is_none() {
            return (keys, cursors);
        }
    }
}

const SEMICOLON: &str = "[streams.csv]\ndelimiter = \";\"\n";

#[tokio::test]
async fn a_file_is_read_in_pages_then_moved_to_done() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("employees-1.csv"), csv(5, 1)).unwrap();
    std::fs::write(dir.path().join("other.csv"), csv(1, 1)).unwrap();
    let c = connector(&manifest(dir.path(), SEMICOLON));
    let (keys, cursors) = run(c.as_ref(), None).await;
    assert_eq!(keys, ["E001", "E002", "E003", "E004", "E005"]);
    // Cursors compare as text in the order pages were read.
    let mut sorted = cursors.clone();
    sorted.sort();
    assert_eq!(sorted, cursors);
    assert!(cursors[0].starts_with("0000000001|employees-1.csv|"));
    assert!(dir.path().join("done/employees-1.csv").exists());
    assert!(!dir.path().join("employees-1.csv").exists());
    assert!(
        dir.path().join("other.csv").exists(),
        "not this stream's file"
    );

    // Values are trimmed text; the byte-order mark is not part of a header.
    let page = c.fetch_page("employees", None, None).await.unwrap();
    assert!(
        page.records.is_empty() && page.next.is_none(),
        "nothing left"
    );
    let next = dir.path().join("employees-2.csv");
    std::fs::write(&next, csv(1, 9)).unwrap();
    let page = c
        .fetch_page("employees", cursors.last().map(String::as_str), None)
        .await
        .unwrap();
    assert_eq!(page.records[0].payload["Name"], "Person 9");
    assert_eq!(page.records[0].payload["Employee ID"], "E009");
    assert!(
        page.records[0]
            .cursor
            .as_deref()
            .unwrap()
            .starts_with("0000000002|")
    );
}

#[tokio::test]
async fn a_run_resumes_inside_a_file_after_the_committed_page() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("employees-1.csv"), csv(5, 1)).unwrap();
    let c = connector(&manifest(dir.path(), SEMICOLON));
    // The first page was committed, then the process died.
    let first = c.fetch_page("employees", None, None).await.unwrap();
    let committed = first.records.last().and_then(|r| r.cursor.clone()).unwrap();
    let (keys, _) = run(c.as_ref(), Some(&committed)).await;
    assert_eq!(keys, ["E003", "E004", "E005"], "page 1 is not read again");

    // Died after the last page was committed but before the move: the
    // next run only moves it.
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(dir2.path().join("employees-1.csv"), csv(2, 1)).unwrap();
    let c2 = connector(&manifest(dir2.path(), SEMICOLON));
    let page = c2.fetch_page("employees", None, None).await.unwrap();
    let at_end = page.records.last().and_then(|r| r.cursor.clone()).unwrap();
    let (keys, _) = run(c2.as_ref(), Some(&at_end)).await;
    assert!(keys.is_empty(), "{keys:?}");
    assert!(dir2.path().join("done/employees-1.csv").exists());
}

#[tokio::test]
async fn a_new_export_under_an_old_name_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("employees-daily.csv");
    std::fs::write(&file, csv(2, 1)).unwrap();
    let c = connector(&manifest(dir.path(), SEMICOLON));
    let (_, cursors) = run(c.as_ref(), None).await;
    std::fs::write(&file, csv(2, 50)).unwrap();
    let (keys, _) = run(c.as_ref(), cursors.last().map(String::as_str)).await;
    assert_eq!(keys, ["E050", "E051"]);
    assert!(
        dir.path().join("done/employees-daily.csv.1").exists(),
        "the first is kept too"
    );
}

#[tokio::test]
async fn a_broken_file_is_refused_whole_and_the_next_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // Row 3 has a field too many: nothing of this file may be stored.
    std::fs::write(
        dir.path().join("employees-1.csv"),
        "Employee ID;Name\nE1;A\nE2;B;extra\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("employees-2.csv"), csv(1, 7)).unwrap();
    let c = connector(&manifest(dir.path(), SEMICOLON));
    let (keys, _) = run(c.as_ref(), None).await;
    assert_eq!(keys, ["E007"]);
    let reason =
        std::fs::read_to_string(dir.path().join("failed/employees-1.csv.error.txt")).unwrap();
    assert!(
        reason.contains("employees-1.csv") && reason.contains("line: 3"),
        "{reason}"
    );
    assert!(dir.path().join("failed/employees-1.csv").exists());
}

#[tokio::test]
async fn json_lines_and_json_arrays_read_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (1..=5)
        .map(|i| format!("{{\"id\": {i}, \"n\": \"x{i}\"}}\n\n"))
        .collect();
    std::fs::write(dir.path().join("employees-1.jsonl"), lines).unwrap();
    let m = manifest(dir.path(), "").config;
    drop(m);
    let jsonl = format!(
        "version = 1\nsystem = \"erp-export\"\nkind = \"file\"\ndepartment = \"finance\"\ndirectory = \"{}\"\n\n[[streams]]\nname = \"employees\"\npattern = \"*.jsonl\"\nformat = \"jsonl\"\nkey = \"id\"\npage_size = 2\n",
        dir.path().display()
    );
    let m = Manifest::from_source(&SourceFile::new("c.toml", jsonl.clone())).unwrap();
    let c = connector(&m);
    let first = c.fetch_page("employees", None, None).await.unwrap();
    let committed = first.records.last().and_then(|r| r.cursor.clone()).unwrap();
    let (keys, _) = run(c.as_ref(), Some(&committed)).await;
    assert_eq!(keys, ["3", "4", "5"]);

    let items: Vec<serde_json::Value> = (1..=3).map(|i| serde_json::json!({"id": i})).collect();
    std::fs::write(
        dir.path().join("b.json"),
        serde_json::to_string(&items).unwrap(),
    )
    .unwrap();
    let json = jsonl
        .replace("*.jsonl", "*.json")
        .replace("\"jsonl\"", "\"json\"");
    let m = Manifest::from_source(&SourceFile::new("c.toml", json)).unwrap();
    let (keys, _) = run(connector(&m).as_ref(), None).await;
    assert_eq!(keys, ["1", "2", "3"]);
}

#[test]
fn manifests_are_checked() {
    let bad = "version = 1\nsystem = \"x\"\nkind = \"file\"\ndepartment = \"hr\"\ndirectory = \"/tmp\"\n\n[[streams]]\nname = \"e\"\npattern = \"in/*.csv\"\nformat = \"xlsx\"\nkey = \"id\"\n";
    let err = Manifest::from_source(&SourceFile::new("c.toml", bad)).unwrap_err();
    assert!(err.to_string().contains("unknown variant `xlsx`"), "{err}");
    let bad = bad.replace("\"xlsx\"", "\"csv\"");
    let err = Manifest::from_source(&SourceFile::new("c.toml", bad)).unwrap_err();
    assert!(err.to_string().contains("without folders"), "{err}");
}
