//! Diagnostics for the files admins edit: configs, manifests and mappings.
//!
//! Every error about such a file names the file, line and column, and the key
//! at fault, because the person reading it is editing that file right now.
//! Parsing here is strict: unknown keys are errors, with the nearest valid key
//! offered as a hint. This module does no IO beyond reading the file itself.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The only file format version this build reads.
pub const FILE_VERSION: i64 = 1;

/// One problem in one file, located precisely enough to jump to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The offending line and how many characters to underline, for the
    /// caret snippet under the message.
    pub snippet: Option<(String, usize)>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        if let Some((text, width)) = &self.snippet {
            let gutter = " ".repeat(self.line.to_string().len());
            let pad = " ".repeat(self.col.saturating_sub(1));
            write!(
                f,
                "\n{gutter} |\n{} | {text}\n{gutter} | {pad}{}",
                self.line,
                "^".repeat((*width).max(1))
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// Several diagnostics, reported together so an admin fixes them in one pass.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// A TOML file held in memory with its path, so any later error can point into it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    pub fn read(path: &Path) -> Result<Self, Diagnostic> {
        let text = std::fs::read_to_string(path).map_err(|e| Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!("cannot read file: {e}"),
            ..Default::default()
        })?;
        Ok(Self::new(path, text))
    }

    /// A diagnostic at a byte span of this file.
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = line_col(&self.text, span.start);
        let line_text = self.text.lines().nth(line - 1).unwrap_or("");
        // Underline the span, but never past the end of its first line.
        let width = self
            .text
            .get(span.clone())
            .map(|s| s.lines().next().unwrap_or("").chars().count())
            .unwrap_or(1);
        Diagnostic {
            file: self.path.clone(),
            line,
            col,
            message: message.into(),
            hint: None,
            snippet: (!self.text.is_empty()).then(|| (line_text.to_string(), width)),
        }
    }

    /// A diagnostic at the key named by a dotted path (`streams.0.cursor.format`),
    /// or at the start of the file when the key is absent.
    pub fn error_at_key(&self, key_path: &str, message: impl Into<String>) -> Diagnostic {
        let span = DeTable::parse(&self.text)
            .ok()
            .and_then(|doc| find_key_span(&doc, key_path))
            .unwrap_or(0..0);
        let message = message.into();
        self.error_at(span, format!("`{key_path}`: {message}"))
    }

    /// Parse the document and check its `version` key.
    pub fn parse_document(&self) -> Result<Spanned<DeTable<'_>>, Diagnostic> {
        let doc = DeTable::parse(&self.text).map_err(|e| self.toml_error(&e, &[]))?;
        self.check_version(&doc)?;
        Ok(doc)
    }

    fn check_version(&self, doc: &Spanned<DeTable<'_>>) -> Result<(), Diagnostic> {
        let Some((key, value)) = doc.get_ref().get_key_value("version") else {
            let mut d = self.error_at(0..0, "missing key `version`");
            d.hint = Some(format!("add `version = {FILE_VERSION}` at the top"));
            return Err(d);
        };
        match value.get_ref().as_integer().map(|i| i.as_str()) {
            Some(v) if v == FILE_VERSION.to_string() => Ok(()),
            _ => {
                let mut d = self.error_at(
                    key.span(),
                    format!(
                        "`version`: unsupported file version {}; this build reads version {FILE_VERSION}",
                        &self.text[value.span()]
                    ),
                );
                d.hint = Some(format!("set `version = {FILE_VERSION}`"));
                Err(d)
            }
        }
    }

    /// Deserialize a whole file strictly into `T` (which should use `deny_unknown_fields`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        let doc = self.parse_document()?;
        self.deserialize_table(doc, &[])
    }

    /// Deserialize a (possibly partial) table of this file strictly into `T`.
    /// `extra_keys` are keys valid in the same table but consumed elsewhere;
    /// they only widen the "did you mean" candidates.
    pub fn deserialize_table<T: DeserializeOwned>(
        &self,
        table: Spanned<DeTable<'_>>,
        extra_keys: &[&str],
    ) -> Result<T, Diagnostic> {
        let de = toml::de::Deserializer::from(table);
        T::deserialize(de).map_err(|e| self.toml_error(&e, extra_keys))
    }

    fn toml_error(&self, e: &toml::de::Error, extra_keys: &[&str]) -> Diagnostic {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let mut d = self.error_at(span.clone(), message.clone());
        if let Some((unknown, mut expected)) = parse_unknown_field(&message) {
            expected.extend(extra_keys.iter().map(|k| k.to_string()));
            d.hint = suggest(&unknown, &expected)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("valid keys: {}", expected.join(", "))));
        } else if let Some(key) = DeTable::parse(&self.text)
            .ok()
            .and_then(|doc| key_of_value_at(doc.get_ref(), &span, ""))
        {
            // Type errors point at the value; name the key the admin must fix.
            d.message = format!("`{key}`: {message}");
        }
        d
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The span of a key named by a dotted path. A numeric segment indexes an
/// array where the value is one, and is a plain key in a table (`maps.state.1`).
fn find_key_span(doc: &Spanned<DeTable<'_>>, key_path: &str) -> Option<Range<usize>> {
    let segments: Vec<&str> = key_path.split('.').collect();
    find_in_table(doc.get_ref(), &segments)
}

/// A key may itself contain dots (`"fields.summary" = …`), so each table
/// step tries the shortest run of segments that names a key, then longer.
fn find_in_table(table: &DeTable<'_>, segments: &[&str]) -> Option<Range<usize>> {
    (1..=segments.len()).find_map(|n| {
        let (key, value) = table.get_key_value(segments[..n].join(".").as_str())?;
        match &segments[n..] {
            [] => Some(key.span()),
            rest => find_in_value(value, rest),
        }
    })
}

fn find_in_value(value: &Spanned<DeValue<'_>>, segments: &[&str]) -> Option<Range<usize>> {
    match value.get_ref() {
        DeValue::Array(items) => {
            let item = items.get(segments[0].parse::<usize>().ok()?)?;
            match &segments[1..] {
                [] => Some(item.span()),
                rest => find_in_value(item, rest),
            }
        }
        DeValue::Table(table) => find_in_table(table, segments),
        _ => None,
    }
}

/// The dotted key whose value sits exactly at `span`, searching nested tables and arrays.
fn key_of_value_at(table: &DeTable<'_>, span: &Range<usize>, prefix: &str) -> Option<String> {
    for (key, value) in table.iter() {
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        if value.span() == *span {
            return Some(path);
        }
        if let Some(found) = key_of_spanned_value(value, span, &path) {
            return Some(found);
        }
    }
    None
}

fn key_of_spanned_value(
    value: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
    path: &str,
) -> Option<String> {
    match value.get_ref() {
        DeValue::Table(t) => key_of_value_at(t, span, path),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let path = format!("{path}.{i}");
            if item.span() == *span {
                Some(path)
            } else {
                key_of_spanned_value(item, span, &path)
            }
        }),
        _ => None,
    }
}

/// Pull the unknown key and the expected keys out of serde's message
/// "unknown field `x`, expected one of `a`, `b`" (or "expected `a` or `b`").
fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, tail) = rest.split_once('`')?;
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((unknown.to_string(), expected))
}

/// The candidate nearest to `input`, if it is plausibly a typo of it.
pub fn suggest(input: &str, candidates: &[String]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(input, c), c))
        .filter(|(dist, c)| *dist <= (c.len().max(input.len()) / 3).max(2))
        .min_by_key(|(dist, _)| *dist)
        .map(|(_, c)| c.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        version: u32,
        schedule: String,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        limit: u32,
    }

    fn file(text: &str) -> SourceFile {
        SourceFile::new("conf/sample.toml", text)
    }

    #[test]
    fn unknown_key_names_line_col_and_suggests() {
        let err = file("version = 1\nschedule = \"x\"\nschedul = \"y\"\n")
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!((err.line, err.col), (3, 1));
        assert!(err.message.contains("unknown field `schedul`"), "{err}");
        assert_eq!(err.hint.as_deref(), Some("did you mean `schedule`?"));
        assert!(err.to_string().starts_with("conf/sample.toml:3:1: "));
        // A caret snippet points at the key.
        assert!(
            err.to_string()
                .ends_with("\n  |\n3 | schedul = \"y\"\n  | ^^^^^^^"),
            "{err}"
        );
    }

    #[test]
    fn nested_unknown_key_is_located() {
        let err = file("version = 1\nschedule = \"x\"\n[inner]\nlimt = 3\n")
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!((err.line, err.col), (4, 1));
        assert_eq!(err.hint.as_deref(), Some("did you mean `limit`?"));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = file("version = 1\nschedule = 5\n")
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("schedule"), "{err}");
    }

    #[test]
    fn version_is_required_and_checked() {
        let err = file("schedule = \"x\"\n").parse::<Sample>().unwrap_err();
        assert!(err.message.contains("missing key `version`"));
        let err = file("version = 2\nschedule = \"x\"\n")
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!((err.line, err.col), (1, 1));
        assert!(err.message.contains("unsupported file version 2"));
    }

    #[test]
    fn syntax_error_is_located() {
        let err = file("version = 1\nschedule = \"x\nnext = 1\n")
            .parse::<Sample>()
            .unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn error_at_key_finds_array_elements() {
        let f = file("version = 1\n[[streams]]\nname = \"a\"\n[[streams]]\nname = \"b\"\n");
        let d = f.error_at_key("streams.1.name", "bad");
        assert_eq!((d.line, d.col), (5, 1));
    }

    #[test]
    fn error_at_key_finds_keys_with_dots_in_them() {
        let f = file("version = 1\n[fields]\nstate = 1\n\"fields.summary\" = { path = \"x\" }\n");
        let d = f.error_at_key("fields.fields.summary", "bad");
        assert_eq!((d.line, d.col), (4, 1));
        let d = f.error_at_key("fields.fields.summary.path", "bad");
        assert_eq!((d.line, d.col), (4, 22));
    }

    #[test]
    fn suggest_ignores_distant_words() {
        let c = vec!["schedule".to_string(), "kind".to_string()];
        assert_eq!(suggest("kidn", &c).as_deref(), Some("kind"));
        assert_eq!(suggest("zzzzzzzz", &c), None);
    }
}
