//! Source paths in mapping rules: `caller.email`, `comments[0].text`,
//! `comments[*].text`, and the dotted index form `comments.0.text`.
//!
//! Parsed once when a mapping compiles; following one allocates nothing
//! unless it fans out through `[*]`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// A key, or an index when the value at hand is an array (`a.0.b`).
    Key(String),
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
        let mut segs = Vec::new();
        for part in text.split('.') {
            let (name, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if name.trim().is_empty() {
                return Err(format!("`{text}`: empty segment in path"));
            }
            segs.push(Seg::Key(name.to_string()));
            while !rest.is_empty() {
                let close = rest
                    .find(']')
                    .ok_or_else(|| format!("`{text}`: `[` without `]`"))?;
                let inner = &rest[1..close];
                segs.push(match inner {
                    "*" => Seg::All,
                    n => Seg::Index(n.parse().map_err(|_| {
                        format!("`{text}`: `[{n}]` is not an index; use a number or `*`")
                    })?),
                });
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("`{text}`: expected `.` or `[` after `]`"));
                }
            }
        }
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
            Some(Seg::Key(k)) => Some(k),
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

fn follow<'v>(mut value: &'v Value, segs: &[Seg]) -> Option<&'v Value> {
    for seg in segs {
        value = step(value, seg)?;
    }
    Some(value)
}

fn step<'v>(value: &'v Value, seg: &Seg) -> Option<&'v Value> {
    match (seg, value) {
        (Seg::Key(k), Value::Object(m)) => m.get(k),
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
    fn rejects_malformed_paths() {
        for bad in ["", "a..b", "a[", "a[x]", "a[0]b", "."] {
            assert!(Path::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
