//! A system's name reaches the environment: `hr-csv` is overridden by
//! `SWITCHBOARD__CONNECTORS__HR_CSV__…` (a variable name cannot hold `-`),
//! and `check` refuses a name no variable could name, or two names one
//! variable would.

mod common;

use std::collections::HashMap;

use switchboard::catalog::Catalog;
use switchboard::config::load_with_env;

use common::project::Project;

fn catalog(p: &Project, env: &[(&str, &str)]) -> Result<Catalog, String> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cfg = load_with_env(Some(&p.path("switchboard.toml")), env).map_err(|e| e.to_string())?;
    Catalog::load(&cfg).map_err(|d| d.to_string())
}

fn schedule_of(c: &Catalog, system: &str) -> Option<String> {
    let m = c.manifests.iter().find(|m| m.header.system == system);
    m.and_then(|m| m.header.schedule.clone())
}

#[test]
fn a_hyphenated_system_is_overridden_by_its_underscored_variable() {
    let p = Project::shipped();
    let shipped = schedule_of(&catalog(&p, &[]).unwrap(), "hr-csv");
    assert_eq!(shipped.as_deref(), Some("*/5 * * * *"));

    let env = [("SWITCHBOARD__CONNECTORS__HR_CSV__SCHEDULE", "0 3 * * *")];
    let c = catalog(&p, &env).unwrap();
    assert_eq!(schedule_of(&c, "hr-csv").as_deref(), Some("0 3 * * *"));

    // The file names it as it is; the environment still wins, as it does
    // for every other key.
    p.append(
        "switchboard.toml",
        "\n[connectors.hr-csv]\nschedule = \"0 1 * * *\"\nenabled = true\n",
    );
    let c = catalog(&p, &[]).unwrap();
    assert_eq!(schedule_of(&c, "hr-csv").as_deref(), Some("0 1 * * *"));
    let c = catalog(&p, &env).unwrap();
    let m = c.manifests.iter().find(|m| m.header.system == "hr-csv");
    assert_eq!(schedule_of(&c, "hr-csv").as_deref(), Some("0 3 * * *"));
    assert!(
        m.unwrap().header.enabled,
        "the file's other keys still apply"
    );

    // A variable for no system is still an error.
    let err = catalog(&p, &[("SWITCHBOARD__CONNECTORS__HR_CVS__ENABLED", "true")]).unwrap_err();
    assert!(
        err.contains("no connector manifest has system `hr_cvs`"),
        "{err}"
    );
}

#[test]
fn check_refuses_a_name_no_variable_can_override() {
    let p = Project::shipped();
    p.edit(
        "connectors/hr-csv.toml",
        "system = \"hr-csv\"",
        "system = \"HR CSV\"",
    );
    p.edit(
        "mappings/hr-csv-employees.toml",
        "system = \"hr-csv\"",
        "system = \"HR CSV\"",
    );
    let err = catalog(&p, &[]).unwrap_err();
    let line = p.line_of("connectors/hr-csv.toml", "system = \"HR CSV\"");
    assert!(
        err.contains(&format!("hr-csv.toml:{line}:")),
        "located at the key: {err}"
    );
    assert!(
        err.contains("system name `HR CSV` cannot be overridden from the environment"),
        "{err}"
    );
    assert!(err.contains("such as `hr-csv`"), "{err}");

    for bad in ["erp__tasks", "erp-", "1erp", "erp-_tasks"] {
        let p = Project::shipped();
        p.edit(
            "connectors/hr-csv.toml",
            "system = \"hr-csv\"",
            &format!("system = \"{bad}\""),
        );
        p.edit(
            "mappings/hr-csv-employees.toml",
            "system = \"hr-csv\"",
            &format!("system = \"{bad}\""),
        );
        let err = catalog(&p, &[]).unwrap_err();
        assert!(
            err.contains(&format!("system name `{bad}`")),
            "{bad}: {err}"
        );
    }
}

#[test]
fn check_refuses_two_systems_one_variable_would_name() {
    let p = Project::shipped();
    let text = p
        .read("connectors/hr-csv.toml")
        .replace("system = \"hr-csv\"", "system = \"hr_csv\"");
    p.write("connectors/hr_csv.toml", &text);
    let mapping = p
        .read("mappings/hr-csv-employees.toml")
        .replace("system = \"hr-csv\"", "system = \"hr_csv\"");
    p.write("mappings/hr_csv-employees.toml", &mapping);
    let err = catalog(&p, &[]).unwrap_err();
    assert!(
        err.contains("would share the environment variables SWITCHBOARD__CONNECTORS__HR_CSV__"),
        "{err}"
    );
}

/// An environment's own rate limit replaces the manifest's.
#[test]
fn an_override_sets_the_rate_limit() {
    let p = Project::shipped();
    let rate = |env: &[(&str, &str)]| {
        let mut env = env.to_vec();
        env.push(("SWITCHBOARD__CONNECTORS__SERVICENOW__USERNAME", "u"));
        env.push(("SWITCHBOARD__CONNECTORS__SERVICENOW__PASSWORD", "p"));
        let c = catalog(&p, &env).unwrap();
        let m = c
            .manifests
            .iter()
            .find(|m| m.header.system == "servicenow")
            .unwrap();
        m.config.build(&m.header).unwrap().rate_limit_per_sec()
    };
    assert_eq!(rate(&[]), Some(10), "the shipped manifest's");
    let env = [(
        "SWITCHBOARD__CONNECTORS__SERVICENOW__RATE_LIMIT_PER_SEC",
        "25",
    )];
    assert_eq!(rate(&env), Some(25));
    let err = catalog(
        &p,
        &[("SWITCHBOARD__CONNECTORS__HR_CSV__RATE_LIMIT_PER_SEC", "5")],
    )
    .unwrap_err();
    assert!(err.contains("a `file` connector has no URL"), "{err}");
}
