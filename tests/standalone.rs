//! The binary stands alone: run from a folder that holds none of the
//! repository's files, `demo` uses the project files built into it and says
//! where its store is, and `init` writes a starter project that `check`
//! accepts as written, with every connector off. The embedded files are the
//! ones on disk.

mod common;

use std::path::Path;

use common::bin::output;
use common::repo;

/// No terminal here: nothing the binary prints may carry colour codes.
fn assert_plain(text: &str) {
    assert!(!text.contains("\x1b["), "colour codes in: {text:?}");
}

#[test]
fn demo_once_runs_from_an_empty_folder_and_says_where_the_store_is() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = output(dir.path(), &["demo", "--once", "--incidents", "60"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("project files: no connectors/ folder here"),
        "{out}"
    );
    let store = dir.path().join("switchboard-demo.db");
    assert!(
        out.contains(&format!("store: sqlite://{}\n", store.display())),
        "{out}"
    );
    assert!(store.is_file(), "no store at {}", store.display());
    assert!(
        out.contains("synced servicenow/incident: 1 pages, 60 fetched, 60 stored"),
        "{out}"
    );
    assert!(out.contains("3 task(s) delivered"), "{out}");
    // The demo's story only: without -v the info log stays out of it.
    assert!(!err.contains(" INFO "), "{err}");
    assert_plain(&out);
    assert_plain(&err);
    // Nothing but the store (and its WAL companions) is left in the folder.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.starts_with("switchboard-demo.db"),
            "left behind: {name}"
        );
    }
}

/// `--log-file` takes the detailed log, plain, and leaves the terminal the story.
#[test]
fn demo_once_writes_its_log_to_a_file_without_colour() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = output(
        dir.path(),
        &[
            "demo",
            "--once",
            "--incidents",
            "10",
            "--log-file",
            "demo.log",
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("log: demo.log"), "{out}");
    assert!(!err.contains(" INFO "), "{err}");
    let log = std::fs::read_to_string(dir.path().join("demo.log")).unwrap();
    assert!(
        log.contains(" INFO ")
            && log.contains("sync finished connector=servicenow stream=incident"),
        "{log}"
    );
    assert_plain(&log);
}

/// Where the store cannot be written (here: a folder is in its way, as
/// permissions do not stop root), it goes to a temporary folder, and the
/// demo says so and where.
#[test]
fn demo_once_puts_its_store_in_a_temporary_folder_when_it_cannot_write_here() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("switchboard-demo.db")).unwrap();
    let (code, out, err) = output(dir.path(), &["demo", "--once", "--incidents", "10"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("cannot write switchboard-demo.db in the current folder"),
        "{out}"
    );
    let store = out
        .lines()
        .find_map(|l| l.strip_prefix("store: sqlite://"))
        .unwrap_or_else(|| panic!("no store line in:\n{out}"));
    let store = Path::new(store);
    assert!(store.is_file() && !store.starts_with(dir.path()), "{out}");
    std::fs::remove_dir_all(store.parent().unwrap()).unwrap();
}

#[test]
fn init_writes_a_project_that_check_accepts_with_every_connector_off() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("acme");
    let (code, out, err) = output(dir.path(), &["init", "acme"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("acme/switchboard.toml"), "{out}");
    assert!(out.contains("switchboard check"), "{out}");
    assert_plain(&out);
    for file in ["switchboard.toml", "routing.toml", "services.toml"] {
        assert!(project.join(file).is_file(), "{file}");
    }
    assert_eq!(
        count_toml(&project.join("connectors")),
        count_toml(&repo().join("connectors"))
    );
    assert_eq!(
        count_toml(&project.join("mappings")),
        count_toml(&repo().join("mappings"))
    );

    // Off in the manifests themselves, not only by the config's override,
    // so a manifest copied elsewhere stays off too.
    for entry in std::fs::read_dir(project.join("connectors")).unwrap() {
        let path = entry.unwrap().path();
        let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            manifest.get("enabled"),
            Some(&toml::Value::Boolean(false)),
            "{}",
            path.display()
        );
    }

    let (code, out, err) = output(&project, &["check"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let shipped = count_toml(&repo().join("connectors"));
    assert!(
        out.contains(&format!("{shipped} connector(s) (0 enabled)")),
        "{out}"
    );
    assert!(out.contains("routing rule(s)"), "{out}");
    assert_plain(&out);

    // `run --once` honours it: nothing is synced.
    let (code, out, err) = output(&project, &["run", "--once"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("servicenow"), "{out}");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = output(dir.path(), &["init"]);
    assert_eq!(code, 0, "{err}");
    let routing = dir.path().join("routing.toml");
    std::fs::write(&routing, "# mine\n").unwrap();
    std::fs::remove_file(dir.path().join("services.toml")).unwrap();

    let (code, out, err) = output(dir.path(), &["init", "."]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert!(
        err.contains("./connectors/") || err.contains("./mappings/") || err.contains("./routing"),
        "the error names a file: {err}"
    );
    // Nothing was written: the edit stays and the removed file is not back.
    assert_eq!(std::fs::read_to_string(&routing).unwrap(), "# mine\n");
    assert!(!dir.path().join("services.toml").exists());

    let (code, _, err) = output(dir.path(), &["init", "--force"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(&routing).unwrap(),
        std::fs::read_to_string(repo().join("routing.toml")).unwrap()
    );
    assert!(dir.path().join("services.toml").is_file());
}

/// Every shipped example is embedded as it is on disk, and nothing else is.
#[test]
fn the_embedded_files_are_the_files_on_disk() {
    let mut on_disk: Vec<String> = ["routing.toml", "services.toml", "switchboard.example.toml"]
        .map(String::from)
        .to_vec();
    for folder in ["connectors", "mappings"] {
        for entry in std::fs::read_dir(repo().join(folder)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.ends_with(".toml") {
                on_disk.push(format!("{folder}/{name}"));
            }
        }
    }
    on_disk.sort();
    let embedded: Vec<String> = switchboard::shipped::list()
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(embedded, on_disk);
    for path in &on_disk {
        let text = std::fs::read_to_string(repo().join(path)).unwrap();
        assert!(
            switchboard::shipped::get(path) == Some(text.as_str()),
            "{path} differs from its embedded copy: build again"
        );
    }
}

/// The embedded copies, written out, load as a catalog with the example
/// config (whose relative paths are taken from its own folder).
#[test]
fn the_embedded_files_load_as_a_catalog() {
    let dir = tempfile::tempdir().unwrap();
    switchboard::shipped::write_to(dir.path(), false).unwrap();
    let config = dir.path().join("switchboard.example.toml");
    let cfg = switchboard::config::load_with_env(Some(&config), Default::default()).unwrap();
    let catalog = switchboard::catalog::Catalog::load(&cfg).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(
        catalog.manifests.len(),
        count_toml(&repo().join("connectors"))
    );
    assert!(catalog.routing.is_some() && catalog.services.is_some());
}

fn count_toml(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".toml")
        })
        .count()
}
