//! Where `switchboard demo` finds its project files and keeps its store, so
//! that it runs from any folder: the repository, a fresh project, or an
//! empty folder after installing the binary.
//!
//! Only decides and prepares paths; the demo itself runs the pipeline.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::LoadedConfig;

/// The store file's name, in the current folder or a temporary one.
const STORE_FILE: &str = "switchboard-demo.db";

/// Without a `connectors/` folder where the config says, use the files built
/// into the binary: written to a temporary folder that lives as long as the
/// returned guard, with every path of `cfg` pointed there. A folder that has
/// the project files keeps using them (the repository, an `init` project).
pub fn embedded_if_missing(cfg: &mut LoadedConfig) -> anyhow::Result<Option<tempfile::TempDir>> {
    if cfg.connectors_dir().is_dir() {
        return Ok(None);
    }
    let dir = tempfile::Builder::new()
        .prefix("switchboard-demo-files-")
        .tempdir()
        .context("failed to create a temporary folder for the built-in project files")?;
    crate::shipped::write_to(dir.path(), false)?;
    let paths = &mut cfg.settings.paths;
    // Absolute, so the config file's folder no longer matters.
    paths.connectors = dir.path().join("connectors");
    paths.mappings = dir.path().join("mappings");
    paths.routing = dir.path().join("routing.toml");
    paths.services = dir.path().join("services.toml");
    Ok(Some(dir))
}

/// The demo's store when `--store` is not given: `switchboard-demo.db` in
/// the current folder, or, if that cannot be written (a read-only folder,
/// a container's root), in a new temporary folder that is kept afterwards
/// so the store can be looked at. Returns the URL and whether it is the
/// temporary folder.
pub fn default_store() -> anyhow::Result<(String, bool)> {
    let here = Path::new(STORE_FILE);
    if writable(here) {
        // Absolute, so the line that names it says where it is.
        return Ok(match std::env::current_dir() {
            Ok(dir) => (
                format!("sqlite://{}", dir.join(STORE_FILE).display()),
                false,
            ),
            Err(_) => (format!("sqlite://{STORE_FILE}"), false),
        });
    }
    let dir: PathBuf = tempfile::Builder::new()
        .prefix("switchboard-demo-")
        .tempdir()
        .context("the current folder is not writable, nor is the temporary folder")?
        .keep();
    Ok((format!("sqlite://{}", dir.join(STORE_FILE).display()), true))
}

/// Can the store file be created or opened for writing? Opening in append
/// mode changes nothing in a file that is there; one this created is left
/// empty, and the demo deletes it before it starts.
fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .is_ok()
}

/// Delete a SQLite demo file and its WAL companions; other URLs are left alone.
pub fn reset_sqlite(url: &str) -> anyhow::Result<()> {
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return Ok(());
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{path}{suffix}");
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot reset demo store {file}")),
        }
    }
    Ok(())
}
