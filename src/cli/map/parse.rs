//! One JSON line to one record, in full or only the fields a mapping reads.
//!
//! Building a `serde_json::Value` for all 38 fields of a ServiceNow
//! incident costs more than mapping it, and the mapping reads about half of
//! them. The partial parse still checks every byte of the line exactly as
//! the full parse does (numbers are parsed and range-checked, strings
//! unescaped, nesting counted), so it accepts a line only when the full
//! parse would. Whenever it refuses one, the full parse runs again to give
//! the same message as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A line of input as a record: `None` for a blank line (not a record),
/// else the object or what is wrong with the line. `keep`: the top-level
/// keys to build (the rest are checked and dropped); `None` builds them all.
pub(super) fn parse_line(line: &[u8], keep: Option<&Keep>) -> Option<Result<Value, String>> {
    let text = match std::str::from_utf8(line) {
        Err(e) => {
            return Some(Err(format!(
                "invalid UTF-8 at byte offset {} of the line (0x{:02x}); records must be UTF-8",
                e.valid_up_to(),
                line[e.valid_up_to()]
            )));
        }
        Ok(text) => text,
    };
    if text.trim().is_empty() {
        return None;
    }
    if let Some(keep) = keep
        && let Some(record) = parse_pruned(text, keep)
    {
        return Some(Ok(record));
    }
    // As a sync parses a page (`crate::text`), so the preview matches what
    // the store keeps.
    Some(
        crate::text::parse_json(text)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(object),
    )
}

/// A record is a JSON object; anything else would map from defaults alone.
pub(super) fn object(value: Value) -> Result<Value, String> {
    let found = match &value {
        Value::Object(_) => return Ok(value),
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    Err(format!(
        "not a JSON object but {found}; each record is one object, `{{…}}`"
    ))
}

/// The top-level keys to build, by length: most keys of a record are not
/// wanted, and their length alone rules out most of them (a binary search
/// of the names cost about a twelfth of all the instructions).
#[derive(Debug)]
pub(super) struct Keep {
    by_len: Vec<Vec<Box<str>>>,
}

impl Keep {
    pub(super) fn new(keys: &[String]) -> Self {
        let mut by_len: Vec<Vec<Box<str>>> = Vec::new();
        for key in keys {
            if by_len.len() <= key.len() {
                by_len.resize_with(key.len() + 1, Vec::new);
            }
            by_len[key.len()].push(key.as_str().into());
        }
        Keep { by_len }
    }

    fn contains(&self, key: &str) -> bool {
        self.by_len
            .get(key.len())
            .is_some_and(|keys| keys.iter().any(|k| k.as_bytes() == key.as_bytes()))
    }
}

/// The object with only the `keep` keys; `None` for anything the full
/// parse must handle (not an object, not JSON, unpaired surrogates).
fn parse_pruned(text: &str, keep: &Keep) -> Option<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let record = Pruned { keep }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(record)
}

/// Seed for a top-level object keeping only some keys.
struct Pruned<'k> {
    keep: &'k Keep,
}

impl<'de> DeserializeSeed<'de> for Pruned<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Pruned<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(Key(key)) = access.next_key()? {
            if self.keep.contains(&key) {
                // A repeated key: the last one wins, as in the full parse.
                map.insert(key.into_owned(), access.next_value()?);
            } else {
                access.next_value::<Checked>()?;
            }
        }
        Ok(Value::Object(map))
    }
}

/// A key, borrowed from the line unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

/// A value read as the full parse reads it, then dropped. Not
/// `IgnoredAny` through `deserialize_ignored_any`: serde_json's skipping
/// path does not range-check numbers (`1e400` would pass), so a line the
/// full parse refuses could be mapped.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}
