//! Diagnostics for the files admins edit: configs, manifests and mappings.
//!
//! Every error about such a file names the file, line and column, and the key
//! at fault, because the person reading it is editing that file right now.
//! Parsing here is strict: unknown keys are errors, with the nearest valid key
//! offered as a hint. This module does no IO beyond reading the file itself.

pub mod chain;
pub mod escape;
mod locate;
mod snippet;

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::DeTable;

use escape::Escaped;
use locate::{Keys, Lines};
pub use snippet::Snippet;

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
    /// The offending line, for the caret snippet under the message.
    pub snippet: Option<Snippet>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The message quotes the file (keys, values), so it is escaped as the snippet is.
        write!(
            f,
            "{}:{}:{}: {}",
            Escaped(self.file.display()),
            self.line,
            self.col,
            Escaped(&self.message)
        )?;
        if let Some(hint) = &self.hint {
            write!(f, " ({})", Escaped(hint))?;
        }
        if let Some(snippet) = &self.snippet {
            snippet.render(f, self.line)?;
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

/// A TOML file held in memory with its path, so any later error can point
/// into it. Its lines and keys are indexed on first use, so locating many
/// problems costs one pass over the file, not one per problem.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    lines: OnceLock<Lines>,
    keys: OnceLock<Keys>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
            lines: OnceLock::new(),
            keys: OnceLock::new(),
        }
    }

    /// Read a file that must be UTF-8; invalid UTF-8 is reported at its first bad byte.
    pub fn read(path: &Path) -> Result<Self, Diagnostic> {
        let bytes = std::fs::read(path).map_err(|e| Diagnostic {
            file: path.to_path_buf(),
            line: 1,
            col: 1,
            message: format!("cannot read file: {e}"),
            ..Default::default()
        })?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(path, text)),
            Err(e) => Err(invalid_utf8(
                path,
                e.as_bytes(),
                e.utf8_error().valid_up_to(),
            )),
        }
    }

    fn lines(&self) -> &Lines {
        self.lines.get_or_init(|| Lines::new(&self.text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines().line_col(&self.text, offset)
    }

    /// A diagnostic at a byte span of this file.
    pub fn error_at(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.line_col(span.start);
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
            snippet: (!self.text.is_empty())
                .then(|| Snippet::new(self.lines().line(&self.text, line), col - 1, width)),
        }
    }

    /// The span of the key named by a dotted path (`streams.0.cursor.format`).
    /// A numeric segment indexes an array where the value is one, and is a
    /// plain key in a table (`maps.state.1`).
    pub fn key_span(&self, key_path: &str) -> Option<Range<usize>> {
        self.keys
            .get_or_init(|| Keys::new(&self.text))
            .span(key_path)
    }

    /// A diagnostic at the key named by a dotted path (`streams.0.cursor.format`),
    /// or at the start of the file when the key is absent.
    pub fn error_at_key(&self, key_path: &str, message: impl Into<String>) -> Diagnostic {
        let span = self.key_span(key_path).unwrap_or(0..0);
        let message = message.into();
        self.error_at(span, format!("`{key_path}`: {message}"))
    }

    /// Parse the document and check its `version` key.
    pub fn parse_document(&self) -> Result<Spanned<DeTable<'_>>, Diagnostic> {
        let doc = parse_toml(&self.text).map_err(|e| self.toml_error(&e, &[]))?;
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
        let mut span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let doc = parse_toml(&self.text).ok();
        let unknown = parse_unknown_field(&message);
        if let (Some(doc), Some((name, _))) = (&doc, &unknown)
            && let Some(key) = locate::unknown_key_span(doc.get_ref(), &span, name)
        {
            span = key;
        }
        let mut d = self.error_at(span.clone(), message.clone());
        if let Some((unknown, mut expected)) = unknown {
            expected.extend(extra_keys.iter().map(|k| k.to_string()));
            d.hint = suggest(&unknown, &expected)
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("valid keys: {}", expected.join(", "))));
        } else if let Some(key) = doc
            .as_ref()
            .and_then(|doc| locate::key_of_value_at(doc.get_ref(), &span, ""))
        {
            // Type errors point at the value; name the key the admin must fix.
            d.message = format!("`{key}`: {message}");
        }
        d
    }
}

/// Parse TOML text. Every parse of a file goes through here, so a test can
/// count them: locating problems must not parse a file once per problem.
pub fn parse_toml(text: &str) -> Result<Spanned<DeTable<'_>>, toml::de::Error> {
    #[cfg(any(test, feature = "parse-count"))]
    PARSES.with(|n| n.set(n.get() + 1));
    DeTable::parse(text)
}

// The hub's catalog tests count parses too; they turn on `parse-count`
// (a dev-dependency feature), so a production build has no counter.
#[cfg(any(test, feature = "parse-count"))]
thread_local! {
    /// TOML parses on this thread, for tests of how often files are parsed.
    pub static PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A file that is not UTF-8, located at its first bad byte.
fn invalid_utf8(path: &Path, bytes: &[u8], valid_up_to: usize) -> Diagnostic {
    // The bytes before the first bad one are valid UTF-8.
    let before = std::str::from_utf8(&bytes[..valid_up_to]).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = bytes[valid_up_to..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| valid_up_to + i);
    let line = before.matches('\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    let text = String::from_utf8_lossy(&bytes[line_start..line_end]);
    Diagnostic {
        file: path.to_path_buf(),
        line,
        col,
        message: format!(
            "invalid UTF-8 at byte offset {valid_up_to} (0x{:02x}): the file must be UTF-8",
            bytes[valid_up_to]
        ),
        hint: Some("save it as UTF-8; an editor or `iconv -f latin1 -t utf-8` converts it".into()),
        snippet: Some(Snippet::new(&text, col - 1, 1)),
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

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct WithTagged {
        version: u32,
        paging: Paging,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
    #[allow(dead_code)]
    enum Paging {
        Offset { size: u32 },
    }

    #[test]
    fn unknown_key_in_a_tagged_table_is_at_its_own_line() {
        let err = file("version = 1\n[paging]\ntype = \"offset\"\nsize = 1\nsise = 2\n")
            .parse::<WithTagged>()
            .unwrap_err();
        assert_eq!((err.line, err.col), (5, 1), "{err}");
        assert_eq!(err.hint.as_deref(), Some("did you mean `size`?"));
        let text = "version = 1\npaging = { type = \"offset\", size = 1, sise = 2 }\n";
        let err = file(text).parse::<WithTagged>().unwrap_err();
        let col = text.lines().nth(1).unwrap().find("sise").unwrap() + 1;
        assert_eq!((err.line, err.col), (2, col), "{err}");
    }

    #[test]
    fn invalid_utf8_is_located_at_its_first_bad_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, b"version = 1\nname = \"caf\xe9\"\n").unwrap();
        let err = SourceFile::read(&path).unwrap_err();
        assert_eq!((err.line, err.col), (2, 12), "{err}");
        assert!(
            err.message
                .starts_with("invalid UTF-8 at byte offset 23 (0xe9)"),
            "{err}"
        );
        assert!(
            err.to_string().contains("\n2 | name = \"caf\u{fffd}\"\n"),
            "{err}"
        );
    }

    #[test]
    fn suggest_ignores_distant_words() {
        let c = vec!["schedule".to_string(), "kind".to_string()];
        assert_eq!(suggest("kidn", &c).as_deref(), Some("kind"));
        assert_eq!(suggest("zzzzzzzz", &c), None);
    }
}
