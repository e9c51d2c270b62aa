//! Value transforms a rule can chain: `transforms = ["trim", { split = "," }]`.
//!
//! Each transform is compiled once (regexes included) and applied in order.
//! A transform given an array applies to each element, so
//! `comments[*].body` with `["trim"]` trims every comment. Null passes
//! through untouched, so a missing value stays missing and the rule's
//! `default` can apply.

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

/// A transform as written in a mapping file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TransformSpec {
    /// Strip leading and trailing white space.
    Trim,
    Lower,
    Upper,
    /// Strip tags, decode entities, keep paragraph breaks.
    HtmlToText,
    /// `"42"` → 42, `"3.5"` → 3.5; anything else fails the record.
    ParseNumber,
    /// `true/false`, `yes/no`, `y/n`, `on/off`, `1/0`, any case.
    ParseBool,
    /// Split a string into an array: `{ split = "," }`. Parts are trimmed.
    Split(String),
    /// Join an array into a string: `{ join = ", " }`.
    Join(String),
    /// Keep at most this many characters: `{ truncate = 80 }`.
    Truncate(usize),
    /// The first capture group (or the whole match) of a regex; null when it does not match.
    RegexExtract(String),
    /// Replace every match: `{ regex_replace = { pattern = "\\s+", with = " " } }`.
    RegexReplace {
        pattern: String,
        with: String,
    },
}

/// A compiled transform.
#[derive(Debug, Clone)]
pub enum Transform {
    Trim,
    Lower,
    Upper,
    HtmlToText,
    ParseNumber,
    ParseBool,
    Split(String),
    Join(String),
    Truncate(usize),
    RegexExtract(Regex),
    RegexReplace(Regex, String),
}

impl Transform {
    pub fn compile(spec: &TransformSpec) -> Result<Self, String> {
        let regex = |p: &str| Regex::new(p).map_err(|e| format!("invalid regex `{p}`: {e}"));
        Ok(match spec {
            TransformSpec::Trim => Transform::Trim,
            TransformSpec::Lower => Transform::Lower,
            TransformSpec::Upper => Transform::Upper,
            TransformSpec::HtmlToText => Transform::HtmlToText,
            TransformSpec::ParseNumber => Transform::ParseNumber,
            TransformSpec::ParseBool => Transform::ParseBool,
            TransformSpec::Split(sep) if sep.is_empty() => {
                return Err("`split` needs a separator".into());
            }
            TransformSpec::Split(sep) => Transform::Split(sep.clone()),
            TransformSpec::Join(sep) => Transform::Join(sep.clone()),
            TransformSpec::Truncate(0) => {
                return Err("`truncate` must keep at least 1 character".into());
            }
            TransformSpec::Truncate(n) => Transform::Truncate(*n),
            TransformSpec::RegexExtract(p) => Transform::RegexExtract(regex(p)?),
            TransformSpec::RegexReplace { pattern, with } => {
                Transform::RegexReplace(regex(pattern)?, with.clone())
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Transform::Trim => "trim",
            Transform::Lower => "lower",
            Transform::Upper => "upper",
            Transform::HtmlToText => "html_to_text",
            Transform::ParseNumber => "parse_number",
            Transform::ParseBool => "parse_bool",
            Transform::Split(_) => "split",
            Transform::Join(_) => "join",
            Transform::Truncate(_) => "truncate",
            Transform::RegexExtract(_) => "regex_extract",
            Transform::RegexReplace(..) => "regex_replace",
        }
    }

    pub fn apply(&self, value: Value) -> Result<Value, String> {
        match (self, value) {
            (_, Value::Null) => Ok(Value::Null),
            // Join consumes the array itself; every other transform maps over it.
            (Transform::Join(sep), Value::Array(items)) => Ok(Value::String(
                items
                    .iter()
                    .filter(|v| !v.is_null())
                    .map(text_of)
                    .collect::<Vec<_>>()
                    .join(sep),
            )),
            (t, Value::Array(items)) => items
                .into_iter()
                .map(|v| t.apply(v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            (t, v) => t.apply_scalar(v),
        }
    }

    fn apply_scalar(&self, value: Value) -> Result<Value, String> {
        let text = text_of(&value);
        Ok(match self {
            Transform::Trim => Value::String(text.trim().to_string()),
            Transform::Lower => Value::String(text.to_lowercase()),
            Transform::Upper => Value::String(text.to_uppercase()),
            Transform::HtmlToText => Value::String(html_to_text(&text)),
            Transform::Truncate(n) => Value::String(text.chars().take(*n).collect()),
            Transform::Join(_) => Value::String(text),
            Transform::Split(sep) => Value::Array(
                text.split(sep.as_str())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
            Transform::RegexExtract(re) => match re.captures(&text) {
                Some(c) => {
                    let m = c
                        .get(1)
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str())
                        .unwrap_or("");
                    Value::String(m.to_string())
                }
                None => Value::Null,
            },
            Transform::RegexReplace(re, with) => {
                Value::String(re.replace_all(&text, with.as_str()).into_owned())
            }
            Transform::ParseNumber => match value {
                Value::Number(n) => Value::Number(n),
                _ => parse_number(text.trim())
                    .ok_or_else(|| format!("parse_number: `{text}` is not a number"))?,
            },
            Transform::ParseBool => match value {
                Value::Bool(b) => Value::Bool(b),
                _ => Value::Bool(
                    parse_bool(text.trim())
                        .ok_or_else(|| format!("parse_bool: `{text}` is not a boolean"))?,
                ),
            },
        })
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn parse_number(s: &str) -> Option<Value> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    let f: f64 = s.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// Plain text from HTML as ticket systems send it: tags dropped, block
/// elements and `<br>` become line breaks, common entities decoded, runs of
/// blank space collapsed. Not a browser: enough for descriptions and comments.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split([' ', '/'])
            .next()
            .unwrap_or("");
        if matches!(
            name,
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
        ) {
            out.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let decoded = decode_entities(&out);
    // Collapse spaces within lines and blank lines between them.
    let lines: Vec<String> = decoded
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let mut text = String::new();
    for line in lines {
        if line.is_empty() {
            if !text.is_empty() && !text.ends_with("\n\n") {
                text.push('\n');
            }
            continue;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
    }
    text.trim().to_string()
}

fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let end = tail.find(';').filter(|&i| i <= 10);
        let decoded = end.and_then(|i| {
            let entity = &tail[1..i];
            let ch = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                    .ok()
                    .and_then(char::from_u32),
                e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                _ => None,
            }?;
            Some((ch, i + 1))
        });
        match decoded {
            Some((ch, len)) => {
                out.push(ch);
                rest = &tail[len..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(spec: TransformSpec, v: Value) -> Result<Value, String> {
        Transform::compile(&spec)?.apply(v)
    }

    #[test]
    fn string_transforms() {
        assert_eq!(run(TransformSpec::Trim, json!("  a b  ")), Ok(json!("a b")));
        assert_eq!(run(TransformSpec::Lower, json!("ÄB")), Ok(json!("äb")));
        assert_eq!(run(TransformSpec::Upper, json!("ab")), Ok(json!("AB")));
        assert_eq!(
            run(TransformSpec::Truncate(3), json!("héllo")),
            Ok(json!("hél"))
        );
        assert_eq!(run(TransformSpec::Trim, Value::Null), Ok(Value::Null));
    }

    #[test]
    fn split_and_join() {
        assert_eq!(
            run(TransformSpec::Split(",".into()), json!("a, b,,c ")),
            Ok(json!(["a", "b", "c"]))
        );
        assert_eq!(
            run(
                TransformSpec::Join(" / ".into()),
                json!(["a", 1, null, "c"])
            ),
            Ok(json!("a / 1 / c"))
        );
    }

    #[test]
    fn arrays_are_mapped_element_wise() {
        assert_eq!(
            run(TransformSpec::Upper, json!(["a", "b"])),
            Ok(json!(["A", "B"]))
        );
    }

    #[test]
    fn regexes() {
        let extract = TransformSpec::RegexExtract(r"INC(\d+)".into());
        assert_eq!(
            run(extract.clone(), json!("see INC0010042 now")),
            Ok(json!("0010042"))
        );
        assert_eq!(run(extract, json!("nothing")), Ok(Value::Null));
        let replace = TransformSpec::RegexReplace {
            pattern: r"\s+".into(),
            with: " ".into(),
        };
        assert_eq!(run(replace, json!("a \n\t b")), Ok(json!("a b")));
        assert!(
            Transform::compile(&TransformSpec::RegexExtract("(".into()))
                .unwrap_err()
                .contains("invalid regex")
        );
    }

    #[test]
    fn parsing_numbers_and_booleans() {
        assert_eq!(
            run(TransformSpec::ParseNumber, json!(" 42 ")),
            Ok(json!(42))
        );
        assert_eq!(
            run(TransformSpec::ParseNumber, json!("2.5")),
            Ok(json!(2.5))
        );
        assert!(
            run(TransformSpec::ParseNumber, json!("4x"))
                .unwrap_err()
                .contains("`4x` is not a number")
        );
        assert_eq!(run(TransformSpec::ParseBool, json!("Yes")), Ok(json!(true)));
        assert_eq!(run(TransformSpec::ParseBool, json!("0")), Ok(json!(false)));
        assert!(run(TransformSpec::ParseBool, json!("maybe")).is_err());
    }

    #[test]
    fn html_becomes_readable_text() {
        let html = "<p>Printer on <b>2nd</b>&nbsp;floor</p><p>jams &amp; smokes&#33;<br/>Call me</p><script";
        assert_eq!(
            html_to_text(html),
            "Printer on 2nd floor\njams & smokes!\nCall me\n<script"
        );
        assert_eq!(html_to_text("AT&T &bogus; a &lt; b"), "AT&T &bogus; a < b");
    }
}
