//! `switchboard.toml` and its environment layered together: defaults, the
//! environment over the file, typos and unusable values located, and every
//! shipped example config loaded.

use super::*;

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn defaults_are_the_embedded_setup() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "version = 1\n");
    let cfg = load_with_env(Some(&path), HashMap::new()).unwrap();
    let s = &cfg.settings;
    assert_eq!(
        s.store.url,
        SecretRef::Literal("sqlite://switchboard.db".into())
    );
    assert!(s.broker.is_none());
    assert_eq!(s.delivery.outage_budget().as_secs(), 6 * 3600);
    assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(cfg.connectors_dir(), dir.path().join("connectors"));
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "version = 1\n[http]\nlisten = \"127.0.0.1:9000\"\n",
    );
    let env = HashMap::from([
        ("SWITCHBOARD__HTTP__LISTEN".into(), "0.0.0.0:7000".into()),
        ("SWITCHBOARD__STORE__URL".into(), "env:PG_URL".into()),
        (
            "SWITCHBOARD__CONNECTORS__SERVICENOW__BASE_URL".into(),
            "http://sn.local".into(),
        ),
        (
            "SWITCHBOARD__DELIVERY__OUTAGE_BUDGET_SECS".into(),
            "43200".into(),
        ),
    ]);
    let cfg = load_with_env(Some(&path), env).unwrap();
    assert_eq!(cfg.settings.http.listen.to_string(), "0.0.0.0:7000");
    assert_eq!(cfg.settings.store.url, SecretRef::Env("PG_URL".into()));
    assert_eq!(cfg.settings.delivery.outage_budget().as_secs(), 43200);
    assert_eq!(
        cfg.settings.connectors["servicenow"].base_url.as_deref(),
        Some("http://sn.local")
    );
}

#[test]
fn typo_in_file_is_located_with_hint() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "version = 1\n[store]\nulr = \"sqlite://x.db\"\n",
    );
    let err = load_with_env(Some(&path), HashMap::new()).unwrap_err();
    let ConfigError::File(d) = err else {
        panic!("expected a file diagnostic, got {err:?}")
    };
    assert_eq!((d.line, d.col), (3, 1));
    assert_eq!(d.hint.as_deref(), Some("did you mean `url`?"));
}

#[test]
fn bad_environment_override_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "version = 1\n");
    let env = HashMap::from([("SWITCHBOARD__HTTP__LISTEN".into(), "nope".into())]);
    let err = load_with_env(Some(&path), env).unwrap_err().to_string();
    assert!(
        err.contains("SWITCHBOARD__HTTP__LISTEN: invalid socket address"),
        "{err}"
    );
}

#[test]
fn values_that_cannot_work_are_refused_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[store]\nmax_connections = 4294967295\n",
            (3, 1),
            "out of range: 1 to 1000",
        ),
        ("[store]\nmax_connections = 0\n", (3, 1), "out of range"),
        ("[store]\nurl = \"mysql://db/x\"\n", (3, 1), "not `mysql:`"),
        (
            "[broker]\nurl = \"redis://:pw@h\"\n",
            (3, 1),
            "not `redis:`",
        ),
        (
            "[connectors.sn]\nbase_url = \"https://x:0\"\n",
            (3, 1),
            "port 0",
        ),
        ("[log]\nlevel = \"info,[[\"\n", (3, 1), "not a log filter"),
        ("[paths]\nreload_secs = 999999\n", (3, 1), "out of range"),
        ("[daemon]\nlease_secs = 1\n", (3, 1), "3 to 3600 seconds"),
        (
            "[daemon]\noutbox_poll_secs = 0\n",
            (3, 1),
            "1 to 3600 seconds",
        ),
        (
            "[daemon]\nmax_streams_at_once = 99999\n",
            (3, 1),
            "0 (no limit) to 10000",
        ),
        (
            "[daemon]\nshutdown_grace_secs = 0\n",
            (3, 1),
            "1 to 3600 seconds",
        ),
        (
            "[delivery]\noutage_budget_secs = 99999999\n",
            (3, 1),
            "30 days",
        ),
        (
            "[connectors.sn]\nbase_url = \"ftp://x\"\n",
            (3, 1),
            "`http` or `https`",
        ),
        (
            "[connectors.sn]\nschedule = \"0 0 30 2 *\"\n",
            (3, 1),
            "never fires",
        ),
    ];
    for (text, at, needle) in cases {
        let path = write(dir.path(), &format!("version = 1\n{text}"));
        let err = load_with_env(Some(&path), HashMap::new()).unwrap_err();
        let ConfigError::File(d) = &err else {
            panic!("{text}: expected a located error, got {err:?}")
        };
        assert_eq!((d.line, d.col), at, "{text}: {d}");
        assert!(d.message.contains(needle), "{text}: {d}");
        assert!(!d.message.contains(":pw@"), "no password in {d}");
    }
}

#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "version = 1\n");
    let env = HashMap::from([("SWITCHBOARD__STORE__MAX_CONNECTIONS".into(), "0".into())]);
    let err = load_with_env(Some(&path), env).unwrap_err().to_string();
    assert!(
        err.contains("SWITCHBOARD__STORE__MAX_CONNECTIONS: 0 is out of range"),
        "{err}"
    );
}

#[test]
fn missing_explicit_file_is_an_error() {
    let err = load_with_env(Some(Path::new("/nonexistent/sb.toml")), HashMap::new());
    assert!(matches!(err, Err(ConfigError::Missing(_))));
}

#[test]
fn shipped_example_configs_load() {
    let root = crate::repo_root();
    for file in [
        "switchboard.example.toml",
        "deploy/container/switchboard.toml",
    ] {
        load_with_env(Some(&root.join(file)), HashMap::new())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
fn kubernetes_configmap_config_loads() {
    let root = crate::repo_root();
    let yaml = std::fs::read_to_string(root.join("deploy/kubernetes/configmap.yaml")).unwrap();
    // The embedded file is the block after `switchboard.toml: |`, indented by four spaces.
    let toml: String = yaml
        .split_once("switchboard.toml: |\n")
        .expect("configmap embeds switchboard.toml")
        .1
        .lines()
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), &toml);
    let cfg = load_with_env(Some(&path), HashMap::new()).unwrap();
    assert_eq!(cfg.settings.http.listen.to_string(), "0.0.0.0:8080");
}
