use serde_json::json;

use super::*;
use crate::Manifest;

fn tap() -> String {
    crate::repo_root()
        .join("tests/taps/tap-fixture")
        .display()
        .to_string()
}

fn connector(rows: Value, extra: &str) -> Arc<dyn Connector> {
    let text = format!(
        "version = 1\nsystem = \"singer\"\nkind = \"exec\"\ndepartment = \"hr\"\ncommand = \"{}\"\n\n[config]\nrows = '{}'\n{extra}\n[[streams]]\nname = \"employees\"\nkey = \"id\"\npage_size = 10\n",
        tap(),
        rows
    );
    // The fixture reads `rows` as JSON; TOML carries it as a string here
    // and the test tap gets it parsed below.
    let text = text.replace(
        &format!("rows = '{rows}'"),
        &format!("rows = {}", toml_array(&rows)),
    );
    let m = Manifest::from_source(&SourceFile::new("connectors/singer.toml", text))
        .unwrap_or_else(|d| panic!("manifest parses:\n{d}"));
    m.config.build(&m.header).expect("builds")
}

/// `[{id=1,…}]` as an inline TOML array of tables.
fn toml_array(rows: &Value) -> String {
    let items: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let fields: Vec<String> = r
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn rows(n: u64) -> Value {
    Value::Array(
        (1..=n)
            .map(|i| json!({"id": i, "name": format!("P{i}"), "updated": i * 10}))
            .collect(),
    )
}

async fn all_pages(c: &dyn Connector, from: Option<&str>) -> Result<Vec<Page>, ConnectorError> {
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = c.fetch_page("employees", from, token.as_ref()).await?;
        token = page.next.clone();
        pages.push(page);
        if token.is_none() {
            return Ok(pages);
        }
    }
}

#[tokio::test]
async fn pages_end_at_each_state_and_carry_it() {
    let c = connector(rows(5), "state_every = 2\n");
    let pages = all_pages(c.as_ref(), None).await.expect("tap runs");
    // (The tap's closing output may make one last, empty page.)
    let keys: Vec<Vec<String>> = pages
        .iter()
        .filter(|p| !p.records.is_empty())
        .map(|p| p.records.iter().filter_map(|r| r.key.clone()).collect())
        .collect();
    // Pages of two, closed by the tap's states; the `teams` record is not ours.
    assert_eq!(keys, [vec!["1", "2"], vec!["3", "4"], vec!["5"]]);
    let cursor = pages[0].records[0].cursor.clone().unwrap();
    assert_eq!(
        cursor,
        "000000000001|{\"bookmarks\":{\"employees\":{\"updated\":20}}}"
    );
    let last = pages[2].records[0].cursor.clone().unwrap();
    assert!(
        last.starts_with("000000000003|") && last.contains("50"),
        "{last}"
    );
}

#[tokio::test]
async fn a_committed_state_is_handed_back_to_the_tap() {
    let c = connector(rows(5), "state_every = 2\n");
    let first = all_pages(c.as_ref(), None).await.unwrap();
    let committed = first[0].records[0].cursor.clone().unwrap();
    let again = all_pages(c.as_ref(), Some(&committed)).await.unwrap();
    let keys: Vec<String> = again
        .iter()
        .flat_map(|p| p.records.iter().filter_map(|r| r.key.clone()))
        .collect();
    assert_eq!(keys, ["3", "4", "5"], "the tap resumed after its bookmark");
    // Sequence numbers keep rising across runs, so the cursor only moves on.
    let c2 = again[0].records[0].cursor.clone().unwrap();
    assert!(c2 > committed, "{c2} after {committed}");
}

#[tokio::test]
async fn a_failing_tap_fails_the_run_with_its_last_words() {
    let c = connector(rows(5), "state_every = 2\nfail_after = 3\n");
    let err = match all_pages(c.as_ref(), None).await {
        Ok(p) => panic!("the tap failed, got {} pages", p.len()),
        Err(e) => e.to_string(),
    };
    assert!(
        err.starts_with("singer")
            && err.contains("exited with")
            && err.contains("upstream API went away"),
        "{err}"
    );
    let missing = "version = 1\nsystem = \"singer\"\nkind = \"exec\"\ndepartment = \"hr\"\ncommand = \"/nonexistent/tap-nothing\"\n\n[[streams]]\nname = \"employees\"\nkey = \"id\"\n";
    let m = Manifest::from_source(&SourceFile::new("c.toml", missing)).unwrap();
    let err = m
        .config
        .build(&m.header)
        .unwrap()
        .fetch_page("employees", None, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot start the tap"), "{err}");
}
