//! Text templates in rules: `"{first_name} {last_name}"`, `"INC {number}"`.
//! Parsed once; `{{` and `}}` are literal braces.

use serde_json::Value;

use super::path::{Found, Path};

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Field(Path),
}

#[derive(Debug, Clone)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        super::bounds::check_template(text, 0)?;
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, n)| *n) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, n)| *n) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let close = rest
                        .find('}')
                        .ok_or_else(|| format!("template `{text}`: `{{` without `}}`"))?;
                    let path = Path::parse(rest[..close].trim())
                        .map_err(|e| format!("template `{text}`: {e}"))?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(path));
                    // Skip the placeholder's characters.
                    while chars.peek().is_some_and(|(j, _)| *j <= i + 1 + close) {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "template `{text}`: `}}` without `{{`; write `}}}}` for a brace"
                    ));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        let fields = parts.iter().filter(|p| matches!(p, Part::Field(_))).count();
        super::bounds::check_template(text, fields)?;
        if fields == 0 {
            return Err(format!(
                "template `{text}` has no `{{path}}`; use `const` for fixed text"
            ));
        }
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The top-level keys the placeholders read, for `check`.
    pub fn heads(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(path) => path.head(),
            Part::Text(_) => None,
        })
    }

    /// Each placeholder's compiled path.
    pub(super) fn parts_paths(&self) -> impl Iterator<Item = &Path> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(path) => Some(path),
            Part::Text(_) => None,
        })
    }

    /// Each placeholder's path as written (`fields.summary`), for checks
    /// that need more than the top-level key.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(path) => Some(path.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Render against a record. When every placeholder is missing or empty
    /// the result is empty, so the rule's `default` applies rather than a
    /// string of bare separators.
    pub fn render(&self, record: &Value) -> String {
        let mut out = String::new();
        let mut any = false;
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(p) => {
                    let text = match p.find(record) {
                        Found::One(Value::String(s)) => s.clone(),
                        Found::One(Value::Null) | Found::Nothing => String::new(),
                        Found::One(v) => v.to_string(),
                        Found::Many(vs) => vs
                            .iter()
                            .map(|v| match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                    };
                    any |= !text.is_empty();
                    out.push_str(&text);
                }
            }
        }
        if any {
            out.trim().to_string()
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_fields_and_escapes() {
        let t = Template::parse("{first} {last} {{x}}").unwrap();
        assert_eq!(
            t.render(&json!({"first": "Ada", "last": "Lovelace"})),
            "Ada Lovelace {x}"
        );
        assert_eq!(t.render(&json!({"first": "Ada"})), "Ada  {x}");
        assert_eq!(t.render(&json!({})), "");
        let n = Template::parse("INC-{n}").unwrap();
        assert_eq!(n.render(&json!({"n": 42})), "INC-42");
        let many = Template::parse("tags: {tags[*].name}").unwrap();
        assert_eq!(
            many.render(&json!({"tags": [{"name": "a"}, {"name": "b"}]})),
            "tags: a, b"
        );
    }

    #[test]
    fn rejects_bad_templates() {
        for bad in ["{unclosed", "stray }", "no placeholders", "{a..b}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
