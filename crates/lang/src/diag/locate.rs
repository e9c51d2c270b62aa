//! Finding things in a file: the line and column of a byte offset, and the
//! span of a key by its dotted path.
//!
//! Both are indexed once per file, on first use. A catalog with thousands
//! of streams can have thousands of problems in one manifest, and searching
//! the text or parsing the TOML again for each would make `check` grow with
//! the square of that number.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where each line of a text starts.
#[derive(Debug, Clone)]
pub(super) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(super) fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self { starts }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(super) fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }

    /// The text of a 1-based line, without its line break.
    pub(super) fn line<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self.starts.get(line).map_or(text.len(), |next| next - 1);
        text[start..end].trim_end_matches('\r')
    }
}

/// Every key of a TOML document by its dotted path (`streams.0.cursor.format`),
/// and every array element by its index (`streams.1`).
#[derive(Debug, Clone, Default)]
pub(super) struct Keys {
    /// The span, and how many tables deep the key sits: a path that could
    /// name a nested key or a key with dots in it (`"fields.summary"`) goes
    /// to the nested one.
    spans: HashMap<String, (usize, Range<usize>)>,
}

impl Keys {
    /// The keys of `text`; none when it is not TOML.
    pub(super) fn new(text: &str) -> Self {
        let mut keys = Keys::default();
        if let Ok(doc) = super::parse_toml(text) {
            keys.add_table(doc.get_ref(), "", 0);
        }
        keys
    }

    pub(super) fn span(&self, key_path: &str) -> Option<Range<usize>> {
        self.spans.get(key_path).map(|(_, span)| span.clone())
    }

    fn add(&mut self, path: String, depth: usize, span: Range<usize>) {
        match self.spans.get(&path) {
            Some((known, _)) if *known >= depth => {}
            _ => {
                self.spans.insert(path, (depth, span));
            }
        }
    }

    fn add_table(&mut self, table: &DeTable<'_>, prefix: &str, depth: usize) {
        for (key, value) in table.iter() {
            let path = join(prefix, key.get_ref());
            self.add(path.clone(), depth, key.span());
            self.add_value(value, &path, depth);
        }
    }

    fn add_value(&mut self, value: &Spanned<DeValue<'_>>, path: &str, depth: usize) {
        match value.get_ref() {
            DeValue::Table(table) => self.add_table(table, path, depth + 1),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = join(path, &i.to_string());
                    self.add(path.clone(), depth + 1, item.span());
                    self.add_value(item, &path, depth + 1);
                }
            }
            _ => {}
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The span of the key `name` in the innermost table at `span`. Serde
/// reports an unknown key of a tagged table (`[streams.pagination]` with
/// `type = …`) at the whole table, having lost the key's own place on the
/// way through its buffer; this finds it again.
pub(super) fn unknown_key_span(
    doc: &DeTable<'_>,
    span: &Range<usize>,
    name: &str,
) -> Option<Range<usize>> {
    let mut best: Option<Range<usize>> = None;
    let mut consider = |table: &DeTable<'_>, table_span: Range<usize>| {
        let holds = table_span == *span || table_span.contains(&span.start);
        let Some((key, _)) = table.get_key_value(name).filter(|_| holds) else {
            return;
        };
        let narrower = best.as_ref().is_none_or(|b| table_span.len() < b.len());
        if narrower {
            best = Some(key.span());
        }
    };
    walk_tables(doc, 0..usize::MAX, &mut consider);
    best
}

fn walk_tables(
    table: &DeTable<'_>,
    span: Range<usize>,
    visit: &mut impl FnMut(&DeTable<'_>, Range<usize>),
) {
    visit(table, span);
    for (_, value) in table.iter() {
        walk_value(value, visit);
    }
}

fn walk_value(value: &Spanned<DeValue<'_>>, visit: &mut impl FnMut(&DeTable<'_>, Range<usize>)) {
    match value.get_ref() {
        DeValue::Table(t) => walk_tables(t, value.span(), visit),
        DeValue::Array(items) => items.iter().for_each(|item| walk_value(item, visit)),
        _ => {}
    }
}

/// The dotted key whose value sits exactly at `span`, searching nested tables and arrays.
pub(super) fn key_of_value_at(
    table: &DeTable<'_>,
    span: &Range<usize>,
    prefix: &str,
) -> Option<String> {
    for (key, value) in table.iter() {
        let path = join(prefix, key.get_ref());
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
