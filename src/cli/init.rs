//! `switchboard init [DIR]`: a starter project from the embedded files.
//!
//! Writes `switchboard.toml` (from `switchboard.example.toml`), the shipped
//! connector manifests, mappings, `routing.toml` and `services.toml`, with
//! every connector disabled (`enabled = false`) until an admin points it at
//! an instance: a fresh project passes `switchboard check` and `run` syncs
//! nothing it was not told to. Existing files are never overwritten without
//! `--force`.

use std::borrow::Cow;
use std::path::PathBuf;

use anyhow::Context;

use crate::shipped;

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Folder to write the project into; created if missing.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Overwrite files that already exist (else nothing is written and the
    /// first such file is named).
    #[arg(long)]
    force: bool,
}

/// The example config's name among the shipped files, and what init calls it.
const EXAMPLE_CONFIG: &str = "switchboard.example.toml";
const CONFIG: &str = crate::config::DEFAULT_CONFIG_FILE;

pub fn run(args: &InitArgs) -> anyhow::Result<()> {
    let written = shipped::write_files(&args.dir, starter_files(), args.force)?;
    println!(
        "wrote {} file(s) into {}:",
        written.len(),
        args.dir.display()
    );
    let (config, rest): (Vec<_>, Vec<_>) = written
        .iter()
        .partition(|p| p.file_name().is_some_and(|n| n == CONFIG));
    for path in config
        .iter()
        .chain(rest.iter().filter(|p| !is_in_folder(p)))
    {
        println!("  {}", path.display());
    }
    for folder in ["connectors", "mappings"] {
        let n = rest
            .iter()
            .filter(|p| p.parent().is_some_and(|d| d.ends_with(folder)))
            .count();
        println!("  {}/ ({n} file(s))", args.dir.join(folder).display());
    }
    let cd = if args.dir == std::path::Path::new(".") {
        String::new()
    } else {
        format!("cd {}, ", args.dir.display())
    };
    println!(
        "\nEvery connector is disabled (`enabled = false`), so `switchboard check` passes and \
         `switchboard run` syncs nothing yet.\nNext: {cd}pick a system in connectors/, set its \
         base_url and credentials (its comments say how), set `enabled = true`, then run \
         `switchboard check --connect` and `switchboard run`."
    );
    std::io::Write::flush(&mut std::io::stdout()).context("failed to print")?;
    Ok(())
}

fn is_in_folder(path: &std::path::Path) -> bool {
    path.parent()
        .is_some_and(|d| d.ends_with("connectors") || d.ends_with("mappings"))
}

/// The shipped files as a new project gets them: the example config under
/// its real name, every connector switched off.
pub fn starter_files() -> impl Iterator<Item = (String, Cow<'static, str>)> {
    shipped::list().iter().map(|(path, text)| {
        if *path == EXAMPLE_CONFIG {
            (CONFIG.to_string(), Cow::Owned(disable_overrides(text)))
        } else if path.starts_with("connectors/") {
            (path.to_string(), Cow::Owned(disable_manifest(text)))
        } else {
            (path.to_string(), Cow::Borrowed(*text))
        }
    })
}

/// Is this line a table header (`[http]`, `[[streams]]`)?
fn is_header(line: &str) -> bool {
    line.trim_start().starts_with('[')
}

/// Is this line the key `enabled` (any value)?
fn is_enabled_key(line: &str) -> bool {
    line.trim_start()
        .strip_prefix("enabled")
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

const DISABLED: &str = "enabled = false   # set to true once base_url and credentials are set";

/// A manifest with its top-level `enabled` set to false: the line replaced
/// if there is one, else added after `kind` (the header keys come before
/// the first table, where TOML puts top-level keys).
fn disable_manifest(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut top_level = true;
    let mut done = false;
    for line in text.lines() {
        top_level &= !is_header(line);
        if top_level && is_enabled_key(line) {
            lines.push(DISABLED.to_string());
            done = true;
        } else {
            lines.push(line.to_string());
        }
    }
    if !done {
        let header_end = lines.iter().position(|l| is_header(l));
        let top = &lines[..header_end.unwrap_or(lines.len())];
        let at = top
            .iter()
            .position(|l| l.trim_start().starts_with("kind"))
            .map(|i| i + 1)
            .or(header_end)
            .unwrap_or(lines.len());
        lines.insert(at, DISABLED.to_string());
    }
    lines.join("\n") + "\n"
}

/// The example config with every `[connectors.NAME] enabled = true`
/// turned off, since an override wins over the manifest.
fn disable_overrides(text: &str) -> String {
    let mut in_connector = false;
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if is_header(line) {
            in_connector = line.trim_start().starts_with("[connectors.");
        }
        if in_connector && is_enabled_key(line) {
            lines.push(DISABLED.to_string());
        } else {
            lines.push(line.to_string());
        }
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_without_the_key_gets_it_after_kind() {
        let text = "version = 1\nkind = \"rest\"\ndepartment = \"it\"\n[http]\nenabled = true\n";
        let out = disable_manifest(text);
        assert_eq!(
            out,
            format!(
                "version = 1\nkind = \"rest\"\n{DISABLED}\ndepartment = \"it\"\n[http]\nenabled = true\n"
            )
        );
    }

    #[test]
    fn a_manifest_with_the_key_has_it_replaced() {
        let out = disable_manifest("version = 1\nkind = \"rest\"\nenabled = true\n");
        assert_eq!(out, format!("version = 1\nkind = \"rest\"\n{DISABLED}\n"));
    }

    #[test]
    fn the_config_turns_its_overrides_off() {
        let out =
            disable_overrides("[log]\nenabled = 1\n[connectors.servicenow]\nenabled = true\n");
        assert_eq!(
            out,
            format!("[log]\nenabled = 1\n[connectors.servicenow]\n{DISABLED}\n")
        );
    }
}
