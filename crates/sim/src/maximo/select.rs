//! Which properties a response carries: the `oslc.select` query parameter
//! and the `properties` request header of writes share one syntax
//! (`wonum,status,worklog{description,createdate}`, `*` for every attribute),
//! and members are rendered from it, lean or namespaced (`spi:wonum`).
//!
//! As the server does: every member carries its `href` and `_rowstamp`; a
//! domain attribute brings its `_description`; `status_maxvalue` is the
//! status's internal value; null attributes are dropped unless
//! `_dropnulls=0`. Assumed where the docs are silent: `*` does not expand
//! child objects (name them, as `worklog{*}`), and unknown names are skipped.

use serde_json::{Map, Value, json};

use super::model::{ATTRIBUTES, CHILDREN, WORKLOG_ATTRIBUTES, record_id, status_description};

/// A parsed select list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Select {
    /// `*`: every attribute of this level.
    pub all: bool,
    pub attrs: Vec<String>,
    /// Child objects and the select list applied to each element.
    pub children: Vec<(String, Select)>,
}

impl Select {
    pub fn everything() -> Self {
        Select {
            all: true,
            ..Select::default()
        }
    }
}

/// Parses `a,b,child{c,d},*`; the error is the detail of a 400.
pub fn parse(text: &str) -> Result<Select, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let select = parse_level(&chars, &mut pos, 0)?;
    if pos < chars.len() {
        return Err(format!("unexpected `{}` at column {}", chars[pos], pos + 1));
    }
    Ok(select)
}

fn parse_level(chars: &[char], pos: &mut usize, depth: usize) -> Result<Select, String> {
    let mut select = Select::default();
    loop {
        while chars.get(*pos).is_some_and(|c| c.is_whitespace()) {
            *pos += 1;
        }
        let start = *pos;
        while chars
            .get(*pos)
            .is_some_and(|c| !matches!(c, ',' | '{' | '}') && !c.is_whitespace())
        {
            *pos += 1;
        }
        let name: String = chars[start..*pos].iter().collect::<String>().to_lowercase();
        while chars.get(*pos).is_some_and(|c| c.is_whitespace()) {
            *pos += 1;
        }
        if chars.get(*pos) == Some(&'{') {
            *pos += 1;
            let inner = parse_level(chars, pos, depth + 1)?;
            if chars.get(*pos) != Some(&'}') {
                return Err(format!("`{name}{{` is not closed"));
            }
            *pos += 1;
            if name.is_empty() {
                return Err("a `{` without a child object name".into());
            }
            select.children.push((name, inner));
        } else if name == "*" {
            select.all = true;
        } else if !name.is_empty() {
            select.attrs.push(name);
        }
        match chars.get(*pos) {
            Some(',') => *pos += 1,
            Some('}') if depth > 0 => return Ok(select),
            None if depth == 0 => return Ok(select),
            Some(c) => return Err(format!("unexpected `{c}` at column {}", *pos + 1)),
            None => return Err("a `{` is not closed".into()),
        }
    }
}

/// How members are written out.
#[derive(Debug, Clone)]
pub struct Render {
    /// The collection's URL, `http://host/maximo/oslc/os/mxwo`; members'
    /// hrefs are this plus their rest id.
    pub collection: String,
    pub lean: bool,
    pub drop_nulls: bool,
}

/// A stored work order as a response member under `select`.
pub fn member(rec: &Map<String, Value>, select: &Select, render: &Render) -> Value {
    let href = format!("{}/{}", render.collection, record_id(rec));
    let href_key = if render.lean { "href" } else { "rdf:about" };
    let mut out = Map::new();
    if *select == Select::default() {
        // A query without oslc.select lists each member's href only.
        out.insert(href_key.into(), json!(href));
        return Value::Object(out);
    }
    let names: Vec<&str> = if select.all {
        ATTRIBUTES.iter().map(|(n, _)| *n).collect()
    } else {
        select.attrs.iter().map(String::as_str).collect()
    };
    for name in names {
        if name == "status_maxvalue" {
            // The sim defines no synonyms: the internal value is the status.
            put(&mut out, name, rec.get("status").cloned(), render);
            continue;
        }
        if !ATTRIBUTES.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let value = rec.get(name).cloned();
        if name == "status" {
            let description = value
                .as_ref()
                .and_then(Value::as_str)
                .and_then(status_description)
                .map(|d| json!(d));
            put(&mut out, "status_description", description, render);
        }
        put(&mut out, name, value, render);
    }
    for (child, inner) in &select.children {
        if !CHILDREN.contains(&child.as_str()) {
            continue;
        }
        let elements: Vec<Value> = rec
            .get(child)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, el)| el.as_object().map(|o| (i, o)))
            .map(|(i, el)| child_member(el, inner, render, &format!("{href}/{child}/{i}")))
            .collect();
        if !elements.is_empty() {
            out.insert(key(child, render), Value::Array(elements));
        }
    }
    out.insert(
        "_rowstamp".into(),
        rec.get("_rowstamp").cloned().unwrap_or(json!("0")),
    );
    out.insert(href_key.into(), json!(href));
    Value::Object(out)
}

fn child_member(
    el: &Map<String, Value>,
    select: &Select,
    render: &Render,
    localref: &str,
) -> Value {
    let mut out = Map::new();
    let names: Vec<&str> = if select.all {
        WORKLOG_ATTRIBUTES
            .iter()
            .map(|(n, _)| *n)
            .chain(el.keys().map(String::as_str))
            .collect()
    } else {
        select.attrs.iter().map(String::as_str).collect()
    };
    for name in names {
        if out.contains_key(&key(name, render)) {
            continue;
        }
        put(&mut out, name, el.get(name).cloned(), render);
    }
    let id = el
        .get("worklogid")
        .and_then(Value::as_i64)
        .map(|id| format!("-{id}"))
        .unwrap_or_default();
    out.insert("localref".into(), json!(format!("{localref}{id}")));
    Value::Object(out)
}

fn key(name: &str, render: &Render) -> String {
    if render.lean {
        name.to_string()
    } else {
        format!("spi:{name}")
    }
}

fn put(out: &mut Map<String, Value>, name: &str, value: Option<Value>, render: &Render) {
    let value = value.unwrap_or(Value::Null);
    let empty = value.is_null() || value == "";
    if empty && render.drop_nulls {
        return;
    }
    out.insert(key(name, render), if empty { Value::Null } else { value });
}
