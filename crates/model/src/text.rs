//! Text every store can keep: one rule for what sources and senders send
//! that PostgreSQL cannot store.
//!
//! PostgreSQL refuses U+0000 in `text` and `jsonb` (`unsupported Unicode
//! escape sequence`), and JSON may carry UTF-16 surrogates that are not in
//! pairs (`"\ud800"`), which are not characters at all: `serde_json` refuses
//! the whole document. One such value in a page made the page's transaction
//! (or its parse) fail on every run, and the clean records with it. The rule,
//! the same on SQLite and PostgreSQL, for raw payloads, keys, cursors,
//! canonical fields and attributes alike: **each U+0000 and each unpaired
//! surrogate becomes U+FFFD (the replacement character)**, and the record is
//! stored. It is applied where records enter (the sync and the webhook
//! handler), so hashes, mapping, routing and the store all see the same text.
//! Documented in `docs/ARCHITECTURE.md` ("Bad input").

use serde_json::Value;

/// What a NUL or an unpaired surrogate becomes.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Parse JSON; a document refused only for unpaired surrogates is parsed
/// again with each of them replaced, so one odd character cannot fail a page.
pub fn parse_json(text: &str) -> Result<Value, serde_json::Error> {
    match serde_json::from_str(text) {
        // serde_json words this several ways ("lone leading surrogate",
        // "unexpected end of hex escape"); whether a repair changes the
        // text is what tells.
        Err(e) => match repair_surrogates(text) {
            Some(repaired) => serde_json::from_str(&repaired),
            None => Err(e),
        },
        parsed => parsed,
    }
}

/// [`parse_json`] for bytes; invalid UTF-8 stays an error.
pub fn parse_json_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_json(text),
        // serde_json names the position of the bad byte.
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// Replace each `\uD800`–`\uDFFF` escape that is not half of a pair with
/// `\uFFFD`; `None` when there is none. Escaped backslashes (`\\ud800`,
/// literal text) are left alone.
fn repair_surrogates(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = escape_at(bytes, i) else {
            // Any other escape, `\\` included: skip both characters.
            i += 2;
            continue;
        };
        let high = (0xD800..0xDC00).contains(&unit);
        let low = (0xDC00..0xE000).contains(&unit);
        let paired = high && escape_at(bytes, i + 6).is_some_and(|n| (0xDC00..0xE000).contains(&n));
        if paired {
            i += 12;
        } else if high || low {
            out.push_str(&text[copied..i]);
            out.push_str("\\ufffd");
            i += 6;
            copied = i;
        } else {
            i += 6;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// The code unit of a `\uXXXX` escape starting at `at`.
fn escape_at(bytes: &[u8], at: usize) -> Option<u32> {
    let hex = bytes.get(at..at + 6)?;
    if hex[0] != b'\\' || hex[1] != b'u' {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()
}

/// Replace every U+0000 in `value`'s strings and object keys; how many.
pub fn scrub(value: &mut Value) -> usize {
    // Iterative: a payload nested as deep as the JSON parser allows must not
    // cost stack here.
    let mut replaced = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => replaced += scrub_str(s),
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => {
                if map.keys().any(|k| k.contains('\0')) {
                    let old = std::mem::take(map);
                    for (mut k, v) in old {
                        replaced += scrub_str(&mut k);
                        map.insert(k, v);
                    }
                }
                stack.extend(map.values_mut());
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    replaced
}

/// Replace every U+0000 in `s`; how many.
pub fn scrub_str(s: &mut String) -> usize {
    let n = s.matches('\0').count();
    if n > 0 {
        *s = s.replace('\0', "\u{FFFD}");
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_becomes_the_replacement_character_in_values_and_keys() {
        let mut v = json!({"a\u{0}b": ["x\u{0}", {"c": "\u{0}\u{0}"}], "n": 1});
        assert_eq!(scrub(&mut v), 4);
        assert_eq!(
            v,
            json!({"a\u{FFFD}b": ["x\u{FFFD}", {"c": "\u{FFFD}\u{FFFD}"}], "n": 1})
        );
        assert_eq!(scrub(&mut v), 0);
    }

    #[test]
    fn unpaired_surrogates_are_replaced_and_pairs_kept() {
        let v =
            parse_json(r#"{"a": "x\ud800y", "b": "\udc00", "c": "\ud83d\ude00", "d": "\\ud800"}"#)
                .unwrap();
        assert_eq!(v["a"], "x\u{FFFD}y");
        assert_eq!(v["b"], "\u{FFFD}");
        assert_eq!(v["c"], "😀");
        // An escaped backslash: literal text, not an escape.
        assert_eq!(v["d"], "\\ud800");
        // A high surrogate followed by another high one: both unpaired.
        let v = parse_json(r#"["\ud800\ud800\udc00"]"#).unwrap();
        assert_eq!(v[0], "\u{FFFD}\u{10000}");
    }

    #[test]
    fn other_errors_stay_errors() {
        assert!(parse_json("{\"a\": ").is_err());
        assert!(parse_json_slice(b"{\"a\": \"\xff\"}").is_err());
    }
}
