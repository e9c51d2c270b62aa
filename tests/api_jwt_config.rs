//! `[api.jwt]` as an admin writes it: strict keys, and `check` (and `run`)
//! naming each key file that cannot verify an employee's token, at its
//! entry in `switchboard.toml`. The tokens themselves: api_jwt.rs.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use switchboard::config::load_with_env;

use common::bin::output;
use common::{repo, write};

const ISSUER: &str = "https://login.example.com/";
const AUDIENCE: &str = "switchboard";

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/jwt").join(name)
}

/// A config in `dir` using the shipped connectors, mappings and catalogue,
/// with `[api.jwt]` naming `keys`.
fn check_config(dir: &Path, keys: &[&str]) -> PathBuf {
    let root = repo();
    let path = dir.join("switchboard.toml");
    let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    write(
        &path,
        &format!(
            "version = 1\n\n[paths]\nconnectors = \"{c}\"\nmappings = \"{m}\"\nrouting = \"{r}\"\nservices = \"{s}\"\n\n\
             [api.jwt]\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\npublic_keys = [\n  {keys}\n]\n",
            c = root.join("connectors").display(),
            m = root.join("mappings").display(),
            r = root.join("routing.toml").display(),
            s = root.join("services.toml").display(),
            keys = keys.join(",\n  "),
        ),
    );
    path
}

#[test]
fn check_names_key_files_that_cannot_verify_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    for key in ["rsa-public.pem", "ec-public.pem", "rsa-private.pem"] {
        write(
            &keys.join(key),
            &std::fs::read_to_string(fixture(key)).unwrap(),
        );
    }
    check_config(dir.path(), &["keys/rsa-public.pem"]);
    let (code, out, err) = output(dir.path(), &["check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 identity provider key(s)"), "{out}");

    // A missing file, a private key, and an EC key where only RS256 is
    // accepted: each named, at its line in the config.
    check_config(
        dir.path(),
        &[
            "keys/rsa-public.pem",
            "keys/idp.pem",
            "keys/rsa-private.pem",
            "keys/ec-public.pem",
        ],
    );
    let (code, _, err) = output(dir.path(), &["check"]);
    assert_ne!(code, 0);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("switchboard.toml:"))
        .collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].contains("switchboard.toml:14:")
            && lines[0].contains("keys/idp.pem`: no such file"),
        "{err}"
    );
    assert!(
        lines[1].contains("switchboard.toml:15:") && lines[1].contains("private key"),
        "{err}"
    );
    assert!(
        lines[2].contains("switchboard.toml:16:")
            && lines[2].contains("ec-public.pem` is not a public key")
            && lines[2].contains("an EC key; they need RSA"),
        "{err}"
    );
    assert!(err.contains("3 problem(s) found"), "{err}");
    assert!(!err.contains("BEGIN"), "no key material in {err}");
    // `run` refuses to start on the same grounds.
    let (code, _, err) = output(dir.path(), &["run", "--once"]);
    assert_ne!(code, 0);
    assert!(err.contains("keys/idp.pem`: no such file"), "{err}");
}

#[test]
fn jwt_settings_are_strict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    let cases = [
        (
            "[api.jwt]\nissuer = \"i\"\naudence = \"a\"\npublic_keys = [\"k.pem\"]\n",
            "did you mean `audience`?",
        ),
        (
            "[api.jwt]\nissuer = \"i\"\naudience = \"a\"\npublic_keys = [\"k.pem\"]\nalgorithms = [\"HS256\"]\n",
            "HS256",
        ),
        (
            "[api.jwt]\nissuer = \"i\"\naudience = \"a\"\npublic_keys = []\n",
            "no keys: give the identity provider's `jwks_url`",
        ),
        (
            "[api.jwt]\nissuer = \"\"\naudience = \"a\"\npublic_keys = [\"k.pem\"]\n",
            "issuer",
        ),
        (
            "[api.jwt]\nissuer = \"i\"\naudience = \"a\"\npublic_keys = [\"k.pem\"]\nleeway_seconds = 86400\n",
            "out of range",
        ),
        // A configured token must not pass for an employee signed in.
        (
            "[[api.tokens]]\nname = \"jwt:ann@example.com\"\ntoken = \"t\"\nscopes = [\"read\"]\n",
            "names starting `jwt:`",
        ),
    ];
    for (text, needle) in cases {
        write(&path, &format!("version = 1\n{text}"));
        let err = load_with_env(Some(&path), HashMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{text}: {err}");
        assert!(err.contains("switchboard.toml:"), "{text}: located: {err}");
    }
}
