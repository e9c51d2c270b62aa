//! `check`: the shipped files accepted, each kind of mistake located at its
//! file, line and key, and `check --connect` reaching each enabled system.

use super::*;

#[test]
fn check_accepts_the_shipped_files() {
    let (code, out, err) = output(&repo(), &["check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok:"), "{out}");
    let (code, _, err) = output(&repo(), &["check", "--config", "switchboard.example.toml"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn check_locates_a_typo_in_the_config_file() {
    let ws = workspace();
    write(
        &ws.path().join("switchboard.toml"),
        "version = 1\n\n[htp]\nlisten = \"127.0.0.1:1\"\n",
    );
    for cmd in [&["check"][..], &["run", "--once"][..]] {
        let (code, _, err) = output(ws.path(), cmd);
        assert_ne!(code, 0);
        assert!(
            err.contains("switchboard.toml:3:2: unknown field `htp`"),
            "{cmd:?}: {err}"
        );
        assert!(err.contains("did you mean `http`?"), "{err}");
    }
}

#[test]
fn check_locates_a_typo_in_a_manifest() {
    let ws = workspace();
    let manifest = ws.path().join("connectors/servicenow.toml");
    edit(manifest.clone(), "page_size = 100", "page_sise = 100");
    let line = line_of(&manifest, "page_sise");
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(err.contains("connectors/servicenow.toml:"), "{err}");
    assert!(err.contains("page_sise"), "{err}");
    assert!(err.contains("did you mean `page_size`?"), "{err}");
    // Serde reports unknown keys of tagged tables at the table header; accept either line.
    let table_line = line_of(&manifest, "[streams.pagination]");
    assert!(
        err.contains(&format!("servicenow.toml:{line}:"))
            || err.contains(&format!("servicenow.toml:{table_line}:")),
        "{err}"
    );
}

#[test]
fn check_locates_errors_in_a_mapping_and_reports_them_all() {
    let ws = workspace();
    let mapping = ws.path().join("mappings/servicenow-incident.toml");
    edit(mapping.clone(), "title = {", "titel = {");
    edit(mapping.clone(), "map = \"priority\"", "map = \"priorty\"");
    edit(mapping.clone(), "\"7\" = \"closed\"", "\"7\" = \"done\"");
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    let titel = line_of(&mapping, "titel");
    assert!(
        err.contains(&format!(
            "servicenow-incident.toml:{titel}:1: `fields.titel`"
        )),
        "{err}"
    );
    assert!(err.contains("did you mean `title`?"), "{err}");
    assert!(
        err.contains("no map named `priorty`") && err.contains("did you mean `priority`?"),
        "{err}"
    );
    assert!(err.contains("`done` is not one of"), "{err}");
    // `titel` is `title` misspelt: not also reported as a missing `title`.
    assert!(!err.contains("requires field `title`"), "{err}");
    assert!(err.contains("problem(s) found"), "{err}");
}

#[test]
fn check_rejects_a_mapping_for_an_unknown_stream() {
    let ws = workspace();
    edit(
        ws.path().join("mappings/servicenow-incident.toml"),
        "stream = \"incident\"",
        "stream = \"incidnet\"",
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("has no stream `incidnet`") && err.contains("did you mean `incident`?"),
        "{err}"
    );
    // One mistake, one error: the stream the typo meant is not also unmapped.
    assert!(!err.contains("stream `incident` has no mapping"), "{err}");
}

#[test]
fn check_refuses_progress_that_would_overwrite_what_the_origin_owns() {
    let ws = workspace();
    let routing = ws.path().join("routing.toml");
    write(
        &routing,
        &std::fs::read_to_string(repo().join("routing.toml")).unwrap(),
    );
    edit(
        routing.clone(),
        "servicenow = \"comment_incident\"",
        "servicenow = \"update_incident\"",
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1, "{err}");
    let line = line_of(&routing, "servicenow = \"update_incident\"");
    assert!(
        err.contains(&format!("routing.toml:{line}:"))
            && err.contains("`update_incident` writes `state`, which servicenow owns as `status`")
            && err.contains("comment action"),
        "{err}"
    );
}

#[test]
fn check_ties_outbound_mappings_to_declared_actions() {
    let ws = workspace();
    let mapping = ws.path().join("mappings/servicenow-comment-incident.toml");
    edit(
        mapping.clone(),
        "action = \"comment_incident\"",
        "action = \"coment_incident\"",
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    let line = line_of(&mapping, "action = ");
    assert!(
        err.contains(&format!("servicenow-comment-incident.toml:{line}:"))
            && err.contains("connector `servicenow` has no action `coment_incident`")
            && err.contains("did you mean `comment_incident`?"),
        "{err}"
    );
    // One mistake, one error: the action the typo meant is not also
    // reported as having no body mapping.
    assert!(
        !err.contains("action `comment_incident` has no body mapping"),
        "{err}"
    );
}

#[test]
fn route_shows_which_rule_takes_the_work_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("items.jsonl");
    write(
        &input,
        "{\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"No heating on floor 3\",\"status\":\"new\",\"department\":\"it\",\"attributes\":{}}\n\
         {\"entity\":\"work_item\",\"kind\":\"incident\",\"title\":\"VPN drops\",\"status\":\"new\",\"department\":\"it\",\"attributes\":{}}\n",
    );
    let input = input.to_str().unwrap();
    let (code, out, err) = output(&repo(), &["route", "--input", input]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("1. heating-and-leaks-to-facilities: matched")
            && out.contains("-> facilities / maximo / create_workorder (SLA 8 h)")
            && out.contains("-> no rule matched; it stays where it was raised"),
        "{out}"
    );
    let (code, _, err) = output(&repo(), &["route", "--input", input, "--event", "hired"]);
    assert_eq!(code, 1);
    assert!(err.contains("events are created, updated"), "{err}");
}

#[test]
fn check_validates_the_routing_rules_against_the_manifests() {
    let ws = workspace();
    let routing = ws.path().join("routing.toml");
    write(
        &routing,
        &std::fs::read_to_string(repo().join("routing.toml"))
            .unwrap()
            .replace(
                "action = \"create_workorder\"",
                "action = \"create_work_order\"",
            ),
    );
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1);
    let line = line_of(&routing, "create_work_order");
    assert!(
        err.contains(&format!("routing.toml:{line}:"))
            && err.contains("connector `maximo` has no action `create_work_order`")
            && err.contains("did you mean `create_workorder`?"),
        "{err}"
    );
}

#[test]
fn check_rejects_two_systems_owning_one_person_field() {
    let ws = workspace();
    let person = |system: &str| {
        format!(
            "version = 1\nsystem = \"{system}\"\nstream = \"incident\"\nentity = \"person\"\nowns = [\"location\"]\n\n[fields]\nemail = {{ path = \"caller_id\" }}\n"
        )
    };
    // Two copies of the ServiceNow manifest under other names, each with a
    // person mapping that claims `department`.
    let manifest = std::fs::read_to_string(ws.path().join("connectors/servicenow.toml")).unwrap();
    for system in ["hr", "itsm"] {
        write(
            &ws.path().join(format!("connectors/{system}.toml")),
            &manifest.replacen(
                "system = \"servicenow\"",
                &format!("system = \"{system}\""),
                1,
            ),
        );
        write(
            &ws.path().join(format!("mappings/{system}-incident.toml")),
            &person(system),
        );
    }
    let (code, _, err) = output(ws.path(), &["check"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("mappings/itsm-incident.toml:5:")
            && err.contains("`person.location` is already owned by system `hr`"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_reaches_each_enabled_system() {
    let sim = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = daemon_config(dir.path(), &sim, "sqlite://unused.db", "127.0.0.1:0");
    let cfg = config.to_str().unwrap().to_string();
    let (code, out, err) = output(dir.path(), &["--config", &cfg, "check", "--connect"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let incident = out
        .lines()
        .find(|l| l.starts_with("ok   servicenow/incident: "))
        .unwrap_or_else(|| panic!("a line per stream: {out}"));
    assert!(
        incident.contains("record(s) on the first page")
            && incident.contains("first record mapped: {\"entity\":\"work_item\""),
        "{incident}"
    );
    // The deleted-records endpoint too, needing rights of its own.
    assert!(
        out.lines().any(|l| l
            == "ok   servicenow/incident#deletions: 0 deleted record(s) on the endpoint's first page"),
        "{out}"
    );
    // The request is the one a first run sends, cursor template and all.
    let first_incident_list = |sim: &SimHandle| {
        sim.sim
            .requests()
            .into_iter()
            .find(|r| r.method == "GET" && r.path.ends_with("/table/incident"))
            .expect("a list request")
            .query
    };
    let checked = first_incident_list(&sim);
    assert_eq!(
        checked.get("sysparm_query").map(String::as_str),
        Some("sys_updated_on>=1970-01-01 00:00:00^ORDERBYsys_updated_on^ORDERBYsys_id"),
        "{checked:?}"
    );
    let ran = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let run_store = format!("sqlite://{}", run_dir.path().join("s.db").display());
    let run_config = daemon_config(run_dir.path(), &ran, &run_store, "127.0.0.1:0");
    let (code, out, err) = output(
        run_dir.path(),
        &["--config", run_config.to_str().unwrap(), "run", "--once"],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let mut sent = first_incident_list(&ran);
    // The page's offset and size are the only paging there is.
    assert_eq!(
        sent.remove("sysparm_offset"),
        checked.get("sysparm_offset").cloned()
    );
    let mut checked = checked;
    checked.remove("sysparm_offset");
    assert_eq!(sent, checked);
    ran.shutdown().await;
    // The shipped manifests of systems not configured here are off.
    assert!(
        out.contains("skip jira: disabled in its manifest") || !out.contains("jira"),
        "{out}"
    );

    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("sim-password", "wrong");
    std::fs::write(&config, text).unwrap();
    let (code, out, _) = output(dir.path(), &["--config", &cfg, "check", "--connect"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("FAIL servicenow/incident: servicenow:") && out.contains("401"),
        "{out}"
    );
    // Said once for the connector, not once per stream.
    assert_eq!(out.matches("FAIL").count(), 1, "{out}");
    sim.shutdown().await;
}

/// A first request with a query that finds nothing says so, and what to
/// look at, rather than `ok` alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_says_when_a_query_found_nothing() {
    let sim = ServiceNowSim::spawn(SimConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let connectors = common::hub::copy_edited("connectors", dir.path(), |name, text| {
        match name {
            // Nothing was updated after 2100: the query is sent, and empty.
            "servicenow.toml" => text.replacen(
                "overlap_secs = 60",
                "overlap_secs = 60\ninitial = \"2100-01-01 00:00:00\"",
                1,
            ),
            _ => text,
        }
    });
    let config = daemon_config(dir.path(), &sim, "sqlite://unused.db", "127.0.0.1:0");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &format!("{}/connectors", repo().display()),
        &connectors.display().to_string(),
    );
    write(&config, &text);
    let (code, out, err) = output(
        dir.path(),
        &["--config", config.to_str().unwrap(), "check", "--connect"],
    );
    assert_eq!(code, 0, "nothing failed: {out}\n{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("ok   servicenow/incident: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("0 records on the first page, asked for records from `2100-01-01 00:00:00`")
            && line.contains("check the stream's query"),
        "{line}"
    );
    sim.shutdown().await;
}
