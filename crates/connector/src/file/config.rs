//! The `file` kind's manifest keys: a drop directory and, per stream, which
//! files belong to it and how to read them.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where exports are dropped. Finished files move to `done/` inside it,
    /// unreadable ones to `failed/` with a `.error.txt` beside them.
    pub directory: String,
    pub streams: Vec<FileStream>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStream {
    /// Stream name, as mapping files refer to it.
    pub name: String,
    /// File names of this stream: `*` matches any run of characters, `?`
    /// one, e.g. `employees-*.csv`. Matched against the name only.
    pub pattern: String,
    pub format: Format,
    /// Dotted path of the record's unique id, e.g. `Employee ID`.
    pub key: String,
    /// Records per page: a page is committed with its place in the file.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// CSV options.
    #[serde(default)]
    pub csv: CsvOptions,
    /// A `json` file (one array) is read whole; larger ones are refused.
    /// Use `jsonl` or `csv` for big exports: those stream.
    #[serde(default = "default_max_json_bytes")]
    pub max_json_bytes: u64,
    /// `[streams.deletions]` is the `rest` kind's only: read here so
    /// `check` can say so rather than call it an unknown key.
    #[serde(default)]
    pub deletions: Option<toml::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A header row, then one record per row; values are text.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvOptions {
    /// One character, e.g. `;` for exports from a German Excel.
    pub delimiter: char,
    /// Strip spaces around values.
    pub trim: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: ',',
            trim: true,
        }
    }
}

fn default_page_size() -> usize {
    1000
}

fn default_max_json_bytes() -> u64 {
    64 * 1024 * 1024
}

/// Whether `name` matches a pattern of `*` and `?` wildcards.
pub fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_match_names() {
        assert!(matches("employees-*.csv", "employees-2026-11-23.csv"));
        assert!(matches("employees-*.csv", "employees-.csv"));
        assert!(!matches("employees-*.csv", "employees-2026.csv.tmp"));
        assert!(matches("e?.jsonl", "e1.jsonl"));
        assert!(!matches("e?.jsonl", "e12.jsonl"));
        assert!(matches("*", "anything"));
    }
}
