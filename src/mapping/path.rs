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
}

/// What a path found in a record.
#[derive(Debug, PartialEq)]
pub enum Found<'v> {
    Nothing,
    One(&'v Value),
    /// Through `[*]`: every match, in order.
    Many(Vec<&'v Value>),
}

impl Found<'_> {
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
        Ok(Path {
            text: text.to_string(),
            segs,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path can yield several values.
    pub fn fans_out(&self) -> bool {
        self.segs.contains(&Seg::All)
    }

    pub fn find<'v>(&self, record: &'v Value) -> Found<'v> {
        if !self.fans_out() {
            return match follow(record, &self.segs) {
                Some(v) => Found::One(v),
                None => Found::Nothing,
            };
        }
        let mut current = vec![record];
        for seg in &self.segs {
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
    fn rejects_malformed_paths() {
        for bad in ["", "a..b", "a[", "a[x]", "a[0]b", "."] {
            assert!(Path::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
