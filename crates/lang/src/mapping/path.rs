//! Source paths in mapping rules: `caller.email`, `comments[0].text`,
//! `comments[*].text`, the dotted index form `comments.0.text`, and quoted
//! keys for names with dots or brackets: `"owner.".name`, `"a[b]"`.
//!
//! Parsed once when a mapping compiles; following one allocates nothing
//! unless it fans out through `[*]`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// A key, or an index when the value at hand is an array (`a.0.b`).
    Key(String),
    /// `"…"`: a key only, taken as written (dots, brackets and digits too).
    Quoted(String),
    /// `[n]`: an array index.
    Index(usize),
    /// `[*]`: every element of an array.
    All,
}

/// A compiled source path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    segs: Vec<Seg>,
    /// Where the rule set's [`Slots`] keep this path's first key.
    slot: Option<usize>,
}

/// What a path found in a record.
#[derive(Debug, PartialEq)]
pub enum Found<'v> {
    Nothing,
    One(&'v Value),
    /// Through `[*]`: every match, in order.
    Many(Vec<&'v Value>),
}

impl<'v> Found<'v> {
    /// Borrowed when one value was found; `Many` is gathered into an array.
    pub fn into_cow(self) -> Option<std::borrow::Cow<'v, Value>> {
        match self {
            Found::Nothing => None,
            Found::One(v) => Some(std::borrow::Cow::Borrowed(v)),
            many => many.to_value().map(std::borrow::Cow::Owned),
        }
    }

    /// An owned value: `Many` becomes an array, `Nothing` is `None`.
    pub fn to_value(&self) -> Option<Value> {
        match self {
            Found::Nothing => None,
            Found::One(v) => Some((*v).clone()),
            Found::Many(vs) => Some(Value::Array(vs.iter().map(|v| (*v).clone()).collect())),
        }
    }
}

impl Path {
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Err("the path is empty".into());
        }
        super::bounds::check_path(text, 0)?;
        let segs = parse_segs(text)?;
        if segs.is_empty() {
            return Err("empty path".into());
        }
        super::bounds::check_path(text, segs.len())?;
        Ok(Path {
            text: text.to_string(),
            segs,
            slot: None,
        })
    }

    /// The top-level key the path starts at.
    pub fn head(&self) -> Option<&str> {
        match self.segs.first() {
            Some(Seg::Key(k) | Seg::Quoted(k)) => Some(k),
            _ => None,
        }
    }

    /// Read the first key from `slots[slot]` rather than the record.
    pub fn set_slot(&mut self, slot: usize) {
        self.slot = Some(slot);
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path can yield several values.
    pub fn fans_out(&self) -> bool {
        self.segs.contains(&Seg::All)
    }

    pub fn find<'v>(&self, record: &'v Value) -> Found<'v> {
        self.find_from(record, &self.segs)
    }

    fn find_from<'v>(&self, start: &'v Value, segs: &[Seg]) -> Found<'v> {
        if !self.fans_out() {
            return match follow(start, segs) {
                Some(v) => Found::One(v),
                None => Found::Nothing,
            };
        }
        let mut current = vec![start];
        for seg in segs {
            let mut next = Vec::with_capacity(current.len());
            for v in current {
                match seg {
                    Seg::All => {
                        if let Value::Array(items) = v {
                            next.extend(items.iter());
                        }
                    }
                    other => next.extend(step(v, other)),
                }
            }
            current = next;
        }
        Found::Many(current)
    }
}

/// Whether serde_json iterates object keys in sorted order. It does unless
/// some crate in the build turns on its `preserve_order` feature (features
/// are unified across a build), so this is checked once, not assumed.
static KEYS_SORTED: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    let probe = serde_json::json!({"b": 0, "a": 0});
    probe
        .as_object()
        .is_some_and(|m| m.keys().map(String::as_str).eq(["a", "b"]))
});

/// The top-level values a rule set reads, found in one pass over the
/// record. serde_json keeps object keys sorted, as the rule set keeps its
/// heads, so a merge of the two lists replaces a tree search per rule: on a
/// 40-field record that is most of the cost of mapping it.
pub struct Slots<'r> {
    values: Vec<Option<&'r Value>>,
}

impl<'r> Slots<'r> {
    /// `heads` must be sorted and distinct.
    pub fn collect(record: &'r Value, heads: &[String]) -> Self {
        let mut values = vec![None; heads.len()];
        let Value::Object(map) = record else {
            return Slots { values };
        };
        if !*KEYS_SORTED {
            for (slot, head) in values.iter_mut().zip(heads) {
                *slot = map.get(head);
            }
            return Slots { values };
        }
        let mut want = 0;
        for (key, value) in map {
            while want < heads.len() && heads[want].as_str() < key.as_str() {
                want += 1;
            }
            if want < heads.len() && heads[want] == *key {
                values[want] = Some(value);
            }
        }
        Slots { values }
    }

    /// What `path` finds in `record`, starting from its slot when it has one.
    pub fn find(&self, path: &Path, record: &'r Value) -> Found<'r> {
        match path.slot.and_then(|i| self.values.get(i)) {
            Some(Some(head)) => path.find_from(head, &path.segs[1..]),
            Some(None) => Found::Nothing,
            None => path.find(record),
        }
    }
}

/// The keys of a manifest's dotted path (`records`, `key`, a cursor
/// field), with the same quoting as a mapping's: `data."owner.".id`.
/// An index (`[0]`) becomes its number, which indexes an array. A path
/// that does not parse is split at every dot, as before quoting existed.
pub fn key_segments(text: &str) -> Vec<String> {
    if !text.contains(['"', '[']) {
        return text.split('.').map(str::to_string).collect();
    }
    match parse_segs(text) {
        Ok(segs) => segs
            .into_iter()
            .map(|seg| match seg {
                Seg::Key(k) | Seg::Quoted(k) => k,
                Seg::Index(i) => i.to_string(),
                Seg::All => "*".to_string(),
            })
            .collect(),
        Err(_) => text.split('.').map(str::to_string).collect(),
    }
}

/// Split a path into its segments: names up to `.` or `[`, or `"quoted"`
/// keys (`\"` and `\\` inside for a quote and a backslash), each followed
/// by any `[n]` or `[*]`.
fn parse_segs(text: &str) -> Result<Vec<Seg>, String> {
    let mut segs = Vec::new();
    let mut rest = text;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut key = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i + 1,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c @ ('"' | '\\'))) => key.push(c),
                        _ => {
                            return Err(format!(
                                "`{text}`: in a quoted key, `\\` comes before `\"` or `\\` only"
                            ));
                        }
                    },
                    Some((_, c)) => key.push(c),
                    None => return Err(format!("`{text}`: `\"` without a closing `\"`")),
                }
            };
            segs.push(Seg::Quoted(key));
            rest = &quoted[end..];
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..end];
            if name.trim().is_empty() {
                return Err(format!("`{text}`: empty segment in path"));
            }
            segs.push(Seg::Key(name.to_string()));
            rest = &rest[end..];
        }
        while let Some(bracket) = rest.strip_prefix('[') {
            let close = bracket
                .find(']')
                .ok_or_else(|| format!("`{text}`: `[` without `]`"))?;
            segs.push(match &bracket[..close] {
                "*" => Seg::All,
                n => Seg::Index(n.parse().map_err(|_| {
                    format!("`{text}`: `[{n}]` is not an index; use a number or `*`")
                })?),
            });
            rest = &bracket[close + 1..];
        }
        match rest.strip_prefix('.') {
            Some(next) => rest = next,
            None if rest.is_empty() => return Ok(segs),
            None => {
                return Err(format!(
                    "`{text}`: expected `.` or `[` after `]` or a quoted key"
                ));
            }
        }
    }
}

fn follow<'v>(mut value: &'v Value, segs: &[Seg]) -> Option<&'v Value> {
    for seg in segs {
        value = step(value, seg)?;
    }
    Some(value)
}

fn step<'v>(value: &'v Value, seg: &Seg) -> Option<&'v Value> {
    match (seg, value) {
        (Seg::Key(k) | Seg::Quoted(k), Value::Object(m)) => m.get(k),
        (Seg::Key(k), Value::Array(a)) => a.get(k.parse::<usize>().ok()?),
        (Seg::Index(i), Value::Array(a)) => a.get(*i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn follows_keys_indexes_and_wildcards() {
        let r = json!({"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}});
        let one = |p: &str| Path::parse(p).unwrap().find(&r).to_value();
        assert_eq!(one("a.b[1].c"), Some(json!(2)));
        assert_eq!(one("a.b.1.c"), Some(json!(2)));
        assert_eq!(one("a.b[*].c"), Some(json!([1, 2])));
        assert_eq!(one("a.x"), None);
        assert_eq!(one("a.b[9]"), None);
        assert_eq!(one("a.b[*].zz"), Some(json!([])));
    }

    #[test]
    fn slots_find_what_paths_find() {
        let r = json!({"b": {"c": [1, 2]}, "a": "x", "z": null, "m": [{"k": 1}, {"k": 2}]});
        let texts = ["a", "b.c[1]", "m[*].k", "z", "missing", "b.c"];
        let mut paths: Vec<Path> = texts.iter().map(|t| Path::parse(t).unwrap()).collect();
        let mut heads: Vec<String> = paths
            .iter()
            .filter_map(|p| p.head())
            .map(str::to_string)
            .collect();
        heads.sort();
        heads.dedup();
        for p in &mut paths {
            let i = heads
                .iter()
                .position(|h| Some(h.as_str()) == p.head())
                .unwrap();
            p.set_slot(i);
        }
        let slots = Slots::collect(&r, &heads);
        for p in &paths {
            assert_eq!(slots.find(p, &r), p.find(&r), "{}", p.as_str());
        }
        assert!(
            *KEYS_SORTED,
            "serde_json's preserve_order is on: Slots falls back to lookups"
        );
    }

    #[test]
    fn quoted_keys_hold_dots_brackets_and_quotes() {
        let r = json!({
            "owner.": {"name": "Ann"},
            "a[b]": 1,
            "0": "key zero",
            "say \"hi\"": [10, 20],
            "list": ["first"],
            "x": {"y.z": {"w": 2}},
        });
        let one = |p: &str| Path::parse(p).unwrap().find(&r).to_value();
        assert_eq!(one(r#""owner.".name"#), Some(json!("Ann")));
        assert_eq!(one(r#""a[b]""#), Some(json!(1)));
        assert_eq!(one(r#"x."y.z".w"#), Some(json!(2)));
        assert_eq!(one(r#""say \"hi\""[1]"#), Some(json!(20)));
        assert_eq!(one(r#""0""#), Some(json!("key zero")));
        // Quoted, a number is a key: it does not index an array.
        assert_eq!(one(r#"list."0""#), None);
        assert_eq!(one("list.0"), Some(json!("first")));
        // Unquoted, the dot still splits: `owner.` cannot be named so.
        assert!(Path::parse("owner..name").is_err());
        assert_eq!(
            Path::parse(r#""owner.".name"#).unwrap().head(),
            Some("owner.")
        );
    }

    #[test]
    fn manifest_paths_split_at_unquoted_dots() {
        assert_eq!(key_segments("data.items"), ["data", "items"]);
        assert_eq!(
            key_segments(r#"data."owner.".id"#),
            ["data", "owner.", "id"]
        );
        assert_eq!(key_segments("result[0].id"), ["result", "0", "id"]);
        assert_eq!(key_segments(""), [""]);
        // Not a path that parses: split as before quoting existed.
        assert_eq!(key_segments("a.\"b"), ["a", "\"b"]);
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "", "a..b", "a[", "a[x]", "a[0]b", ".", "\"open", "\"a\"b", "a.", "\"a\\x\"",
        ] {
            assert!(Path::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
