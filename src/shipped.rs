//! The shipped project files, embedded in the binary by `build.rs`: the
//! connector manifests, mappings, `routing.toml`, `services.toml` and
//! `switchboard.example.toml`, under their paths relative to the project root.
//!
//! They let `switchboard demo` run from any folder and `switchboard init`
//! write a starter project without the repository. This module only holds
//! and writes them; it must not parse or judge them (the catalog does, and a
//! test loads the embedded copies and compares them with the files on disk).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

/// Writing shipped files into a folder failed.
#[derive(Debug, thiserror::Error)]
pub enum ShippedError {
    /// Nothing was written: these files are there already.
    #[error(
        "`{}` already exists{}; nothing was written (--force overwrites)",
        .0[0].display(),
        match .0.len() { 1 => String::new(), n => format!(" (and {} more file(s))", n - 1) }
    )]
    Exists(Vec<PathBuf>),
    #[error("cannot write `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Every embedded file: (path relative to the project root, contents),
/// sorted by path, with `/` as the separator.
pub fn list() -> &'static [(&'static str, &'static str)] {
    FILES
}

/// One embedded file by its relative path, e.g. `connectors/jira.toml`.
pub fn get(path: &str) -> Option<&'static str> {
    FILES
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| FILES[i].1)
}

/// Write every embedded file, as shipped, under `dir`; returns the paths
/// written. Refuses, writing nothing, if any exists and `force` is false.
pub fn write_to(dir: &Path, force: bool) -> Result<Vec<PathBuf>, ShippedError> {
    write_files(
        dir,
        FILES
            .iter()
            .map(|(p, t)| (p.to_string(), Cow::Borrowed(*t))),
        force,
    )
}

/// Write (relative path, contents) pairs under `dir`, creating folders.
/// Every destination is checked before the first write, so a refusal leaves
/// the folder as it was.
pub fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (String, Cow<'a, str>)>,
    force: bool,
) -> Result<Vec<PathBuf>, ShippedError> {
    let files: Vec<(PathBuf, Cow<'a, str>)> = files
        .into_iter()
        .map(|(relative, text)| (dir.join(relative), text))
        .collect();
    if !force {
        let existing: Vec<PathBuf> = files
            .iter()
            .filter(|(path, _)| path.exists())
            .map(|(path, _)| path.clone())
            .collect();
        if !existing.is_empty() {
            return Err(ShippedError::Exists(existing));
        }
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ShippedError::Io { path, source }
    };
    let mut written = Vec::with_capacity(files.len());
    for (path, text) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text.as_bytes()).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_holds_every_kind_of_file() {
        assert!(list().windows(2).all(|w| w[0].0 < w[1].0));
        for path in [
            "connectors/servicenow.toml",
            "mappings/servicenow-incident.toml",
            "routing.toml",
            "services.toml",
            "switchboard.example.toml",
        ] {
            assert!(get(path).is_some_and(|t| !t.is_empty()), "{path}");
        }
        assert_eq!(get("connectors/nothing.toml"), None);
    }

    #[test]
    fn writing_refuses_an_existing_file_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("routing.toml"), "mine").unwrap();
        let err = write_to(dir.path(), false).unwrap_err();
        assert!(
            matches!(&err, ShippedError::Exists(f) if f == &[dir.path().join("routing.toml")]),
            "{err}"
        );
        assert!(err.to_string().contains("routing.toml` already exists"));
        assert!(!dir.path().join("connectors").exists());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("routing.toml")).unwrap(),
            "mine"
        );
        let written = write_to(dir.path(), true).unwrap();
        assert_eq!(written.len(), list().len());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("routing.toml")).unwrap(),
            get("routing.toml").unwrap()
        );
    }
}
