//! A `[streams.cursor]` table's keys, shared by the `rest` and `jsonrpc`
//! kinds, validated into a [`CursorSpec`] (no IO).

use std::time::Duration;

use chrono::DateTime;

use super::{CursorFormat, CursorRead, CursorSpec, WriteFormat};

/// A `[streams.cursor]` table's keys common to the HTTP kinds, before
/// validation.
#[derive(Debug, Clone, Copy)]
pub struct CursorKeys<'a> {
    pub field: &'a str,
    pub fields: &'a [String],
    pub format: &'a str,
    pub read: Option<&'a str>,
    pub write_format: Option<&'a str>,
    pub initial: Option<&'a str>,
    pub overlap_secs: u64,
    pub ordered: bool,
}

impl CursorKeys<'_> {
    /// Validate (no IO): the key at fault (under `cursor.`) and why.
    pub fn spec(&self) -> Result<CursorSpec, (&'static str, String)> {
        let format = CursorFormat::parse(self.format).map_err(|e| ("format", e))?;
        let read = match self.read {
            Some(r) => CursorRead::parse(r).map_err(|e| ("read", e))?,
            None => CursorRead::Auto,
        };
        let cel = matches!(read, CursorRead::Cel(_));
        let fields: Vec<Vec<String>> = match (self.field.is_empty(), self.fields.is_empty()) {
            (true, true) if cel => Vec::new(),
            (false, _) | (_, false) if cel => {
                return Err((
                    "read",
                    "a CEL `read` reads the record itself: leave out `field` and `fields`".into(),
                ));
            }
            (false, true) => vec![crate::split_path(self.field)],
            (true, false) => self.fields.iter().map(|f| crate::split_path(f)).collect(),
            (false, false) => {
                return Err((
                    "fields",
                    "set `field` (one change field) or `fields` (several), not both".into(),
                ));
            }
            (true, true) => {
                return Err((
                    "field",
                    "the cursor needs `field` (e.g. `updated_at`) or `fields` (e.g. [\"create_date\", \"write_date\"])".into(),
                ));
            }
        };
        let timed = matches!(format, CursorFormat::Rfc3339 | CursorFormat::DateTime(_));
        if matches!(read, CursorRead::Parts) && !timed {
            return Err((
                "read",
                format!(
                    "`parts` reads a date and time, so `format` must be `rfc3339` or a chrono format, not `{}`",
                    self.format
                ),
            ));
        }
        let write = match self.write_format {
            Some(w) => Some(WriteFormat::parse(w).map_err(|e| ("write_format", e))?),
            None => None,
        };
        if write.is_some() && matches!(format, CursorFormat::Text) {
            return Err((
                "write_format",
                "a `string` cursor is opaque: it can only be written as read".into(),
            ));
        }
        let initial = self
            .initial
            .map(str::to_string)
            .unwrap_or_else(|| match &format {
                CursorFormat::DateTime(fmt) => DateTime::UNIX_EPOCH.format(fmt).to_string(),
                CursorFormat::Rfc3339 => "1970-01-01T00:00:00Z".into(),
                CursorFormat::Integer => "0".into(),
                CursorFormat::Text => String::new(),
            });
        let spec = CursorSpec {
            fields,
            format,
            read,
            write,
            overlap: Duration::from_secs(self.overlap_secs),
            initial,
            ordered: self.ordered,
        };
        if !spec.is_valid(&spec.initial) {
            return Err((
                "initial",
                format!(
                    "`{}` does not match the cursor format `{}`",
                    spec.initial, self.format
                ),
            ));
        }
        Ok(spec)
    }
}
