//! Hot reload of mapping files and the routing rules: good edits take
//! over, bad ones never do.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard::daemon::reload;
use switchboard::mapping::{Mapping, MappingSlot};
use switchboard::model::Canonical;
use tokio_util::sync::CancellationToken;

fn shipped_copy(dir: &Path) -> (std::path::PathBuf, String) {
    let text =
        std::fs::read_to_string(common::repo().join("mappings/servicenow-incident.toml")).unwrap();
    let file = dir.join("servicenow-incident.toml");
    std::fs::write(&file, &text).unwrap();
    (file, text)
}

fn title_of_untitled(slot: &MappingSlot) -> String {
    match slot
        .current()
        .apply(&json!({"sys_id": "1", "state": "1"}))
        .unwrap()
    {
        Canonical::WorkItem(w) => w.title,
        other => panic!("not a work item: {other:?}"),
    }
}

#[tokio::test]
async fn a_good_edit_replaces_the_running_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let (file, text) = shipped_copy(dir.path());
    let slot = MappingSlot::new(Arc::new(Mapping::load(&file).unwrap()));
    let mut seen = HashMap::new();
    let before = slot.current().version.clone();
    assert_eq!(title_of_untitled(&slot), "(no short description)");

    std::fs::write(&file, text.replace("(no short description)", "(untitled)")).unwrap();
    reload::check(&slot, &[], &mut seen).await;
    assert_ne!(slot.current().version, before);
    assert_eq!(title_of_untitled(&slot), "(untitled)");
}

#[tokio::test]
async fn a_bad_edit_keeps_the_old_version_until_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let (file, text) = shipped_copy(dir.path());
    let slot = MappingSlot::new(Arc::new(Mapping::load(&file).unwrap()));
    let mut seen = HashMap::new();
    let running = slot.current().version.clone();

    for broken in [
        text.replace("title = {", "titel = {"),
        text.replace("\"%Y-%m-%d %H:%M:%S\"", "\"YYYY-MM-DD\""),
        text.replace("system = \"servicenow\"", "system = \"jira\""),
        "version = 1\n[fields\n".to_string(),
    ] {
        std::fs::write(&file, broken).unwrap();
        reload::check(&slot, &[], &mut seen).await;
        assert_eq!(
            slot.current().version,
            running,
            "a bad edit must not replace the mapping"
        );
        assert_eq!(title_of_untitled(&slot), "(no short description)");
    }
    std::fs::remove_file(&file).unwrap();
    reload::check(&slot, &[], &mut seen).await;
    assert_eq!(
        slot.current().version,
        running,
        "a deleted file keeps the running version"
    );

    std::fs::write(&file, text.replace("(no short description)", "(fixed)")).unwrap();
    reload::check(&slot, &[], &mut seen).await;
    assert_eq!(title_of_untitled(&slot), "(fixed)");
}

#[tokio::test]
async fn the_watch_loop_picks_up_edits_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (file, text) = shipped_copy(dir.path());
    // No store: the job is only the slot's owner, its source never asked.
    let job = common::stream_job(
        &common::servicenow_manifest("http://127.0.0.1:9", &[]),
        "incident",
        Arc::new(Mapping::load(&file).unwrap()),
    );
    let slot = job.mapping.clone();
    let stop = CancellationToken::new();
    let watcher = tokio::spawn(reload::watch(
        vec![job],
        Duration::from_millis(20),
        None,
        stop.clone(),
    ));

    std::fs::write(&file, text.replace("(no short description)", "(watched)")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while title_of_untitled(&slot) != "(watched)" {
        assert!(Instant::now() < deadline, "the edit was not picked up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    watcher.await.unwrap();
}

#[tokio::test]
async fn an_edit_claiming_another_systems_field_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let person = |system: &str, owns: &str| {
        format!(
            "version = 1\nsystem = \"{system}\"\nstream = \"people\"\nentity = \"person\"\nowns = {owns}\n\n[fields]\nemail = {{ path = \"mail\" }}\n"
        )
    };
    let hr_file = dir.path().join("hr-people.toml");
    let itsm_file = dir.path().join("itsm-people.toml");
    std::fs::write(&hr_file, person("hr", "[\"department\"]")).unwrap();
    std::fs::write(&itsm_file, person("itsm", "[]")).unwrap();
    let hr = MappingSlot::new(Arc::new(Mapping::load(&hr_file).unwrap()));
    let itsm = MappingSlot::new(Arc::new(Mapping::load(&itsm_file).unwrap()));
    let all = [hr.clone(), itsm.clone()];
    let mut seen = HashMap::new();

    std::fs::write(&itsm_file, person("itsm", "[\"department\"]")).unwrap();
    assert!(!reload::check(&itsm, &all, &mut seen).await);
    assert!(itsm.current().owns.is_empty(), "the running version stays");

    std::fs::write(&itsm_file, person("itsm", "[\"display_name\"]")).unwrap();
    assert!(reload::check(&itsm, &all, &mut seen).await);
    assert_eq!(itsm.current().owns, ["display_name"]);
}

/// A routing edit that passes every check takes over; one that names a
/// connector no manifest has never does, and the running rules stay.
#[tokio::test]
async fn routing_edits_reload_only_when_they_check() {
    use switchboard::catalog::Catalog;
    use switchboard::config::{LoadedConfig, Settings};

    let dir = tempfile::tempdir().unwrap();
    common::hub::copy_edited("connectors", dir.path(), |_, t| t);
    common::hub::copy_edited("mappings", dir.path(), |_, t| t);
    let file = dir.path().join("routing.toml");
    let shipped = std::fs::read_to_string(common::repo().join("routing.toml")).unwrap();
    std::fs::write(&file, &shipped).unwrap();
    let cfg = LoadedConfig {
        settings: Settings::default(),
        file: None,
        base_dir: dir.path().to_path_buf(),
    };
    let catalog = Catalog::load(&cfg).unwrap_or_else(|d| panic!("{d}"));
    let slot = switchboard::routing::RoutingSlot::new(Arc::new(
        catalog.routing.clone().expect("routing.toml loads"),
    ));
    let sla = || slot.current().rules[0].sla_hours;
    assert_eq!(sla(), Some(8));
    let r = reload::RoutingReload {
        slot: slot.clone(),
        file: file.clone(),
        load: Arc::new(move || Catalog::load(&cfg).map(|c| c.routing)),
    };
    let mut seen = Some(switchboard::mapping::content_version(&shipped));
    assert!(!reload::check_routing(&r, &mut seen).await, "unchanged");

    std::fs::write(&file, shipped.replace("sla_hours = 8", "sla_hours = 4")).unwrap();
    assert!(reload::check_routing(&r, &mut seen).await);
    assert_eq!(sla(), Some(4), "the edit took over");

    let broken = shipped.replace("sla_hours = 8", "sla_hours = 2").replace(
        "connector = \"maximo\", action = \"create_workorder\" }\nsla_hours",
        "connector = \"maximoo\", action = \"create_workorder\" }\nsla_hours",
    );
    assert!(broken.contains("maximoo"), "the edit applies");
    std::fs::write(&file, broken).unwrap();
    assert!(!reload::check_routing(&r, &mut seen).await);
    assert_eq!(sla(), Some(4), "a bad edit never runs");
    // Reported once, not at every poll.
    assert!(!reload::check_routing(&r, &mut seen).await);
}
