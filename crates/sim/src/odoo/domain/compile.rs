//! From a normalized token list to a [`Node`] tree: every leaf checked
//! first (`_anyfy_leaves`, then `check_leaf`, each over the whole domain,
//! as Odoo does before it converts anything), then converted right to left
//! as `expression.parse` pops them, with relational names and hierarchies
//! resolved against the store.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{
    Cmp, Node, Test, boolean_leaf, cast, check_path, is_operator, normalize_leaf, py_tuple, truthy,
    unpack,
};
use crate::odoo::error::{OdooError, py_repr};
use crate::odoo::schema::{Field, ModelDef, model};
use crate::odoo::store::Store;

/// A leaf once checked: its items as sent, and the normalized operator and value.
struct Checked {
    items: Vec<Value>,
    op: String,
    right: Value,
}

pub(super) fn tokens(
    store: &Store,
    m: &'static ModelDef,
    tokens: &[Value],
    active_test: bool,
) -> Result<Node, OdooError> {
    let mut leaves: Vec<Option<Vec<Value>>> = Vec::with_capacity(tokens.len());
    for token in tokens {
        if is_operator(token) {
            leaves.push(None);
            continue;
        }
        let items = unpack(token)?;
        check_path(m, &items)?;
        leaves.push(Some(items));
    }
    let mut checked: Vec<Option<Checked>> = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        let Some(items) = leaf else {
            checked.push(None);
            continue;
        };
        // A dotted path becomes `(head, 'any', [(rest, op, value)])` first;
        // its operator is checked when that subdomain is compiled.
        let (op, right) = if is_relational_path(m, &items) {
            (String::new(), Value::Null)
        } else {
            normalize_leaf(&items)?
        };
        checked.push(Some(Checked { items, op, right }));
    }
    // Nodes with their depth: Python's recursion limit is what stops Odoo on
    // a domain nested too deep, and the same bound keeps evaluation here off
    // the end of the stack.
    let mut stack: Vec<(Node, usize)> = Vec::new();
    for (token, leaf) in tokens.iter().zip(checked).rev() {
        let mut pop = || stack.pop().unwrap_or((Node::Const(true), 0));
        let (node, depth) = match (token.as_str(), leaf) {
            (_, Some(leaf)) => (compile_leaf(store, m, &leaf, active_test)?, 0),
            (Some("!"), None) => match pop() {
                (Node::Not(inner), d) => (*inner, d.saturating_sub(1)),
                (node, d) => (Node::Not(Box::new(node)), d + 1),
            },
            (Some(op), None) => {
                let (a, b) = (pop(), pop());
                combine(op == "&", a, b)
            }
            (None, None) => (Node::Const(true), 0),
        };
        if depth > MAX_DEPTH {
            return Err(OdooError::new(
                "builtins.RecursionError",
                "maximum recursion depth exceeded",
            ));
        }
        stack.push((node, depth));
    }
    let mut node = stack.pop().unwrap_or((Node::Const(true), 0));
    while let Some(more) = stack.pop() {
        node = combine(true, node, more);
    }
    Ok(node.0)
}

/// Python's default recursion limit, less the frames a call already uses.
const MAX_DEPTH: usize = 900;

/// `&` or `|` of two nodes, flattened into one n-ary node where a side is
/// already of the same kind (as Odoo's `_tree_and`/`_tree_or` do).
fn combine(and: bool, a: (Node, usize), b: (Node, usize)) -> (Node, usize) {
    let mut items = Vec::new();
    let mut depth = 0;
    for (node, d) in [a, b] {
        match node {
            Node::And(children) if and => {
                items.extend(children);
                depth = depth.max(d);
            }
            Node::Or(children) if !and => {
                items.extend(children);
                depth = depth.max(d);
            }
            other => {
                items.push(other);
                depth = depth.max(d + 1);
            }
        }
    }
    let node = if and {
        Node::And(items)
    } else {
        Node::Or(items)
    };
    (node, depth)
}

fn is_relational_path(m: &ModelDef, items: &[Value]) -> bool {
    let Some((head, _)) = items[0].as_str().and_then(|l| l.split_once('.')) else {
        return false;
    };
    m.field(head).is_some_and(|f| f.kind.comodel().is_some())
}

fn test_node(field: &'static Field, test: Test, negate: bool) -> Node {
    let node = Node::Leaf(field, test);
    if negate {
        Node::Not(Box::new(node))
    } else {
        node
    }
}

fn is_negative(op: &str) -> bool {
    matches!(op, "!=" | "not in" | "not like" | "not ilike" | "not any")
}

/// The positive form of an operator (`not ilike` -> `ilike`).
fn positive(op: &str) -> &str {
    match op {
        "!=" => "=",
        "not in" => "in",
        "not like" => "like",
        "not ilike" => "ilike",
        "not any" => "any",
        other => other,
    }
}

fn unset(v: &Value) -> bool {
    matches!(v, Value::Null | Value::Bool(false))
}

fn invalid_term(leaf: &Checked) -> OdooError {
    let shown = [leaf.items[0].clone(), json!(leaf.op), leaf.right.clone()];
    OdooError::value(format!("Invalid domain term {}", py_tuple(&shown)))
}

fn compile_leaf(
    store: &Store,
    m: &'static ModelDef,
    leaf: &Checked,
    active_test: bool,
) -> Result<Node, OdooError> {
    if let Some(b) = boolean_leaf(&leaf.items) {
        return Ok(Node::Const(b));
    }
    let left = leaf.items[0].as_str().unwrap_or_default();
    let (head, rest) = match left.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (left, None),
    };
    let field = m.field(head).ok_or_else(|| {
        OdooError::value(format!(
            "Invalid field {}.{head} in leaf {}",
            m.name,
            py_tuple(&leaf.items)
        ))
    })?;
    let comodel = field.kind.comodel().and_then(model);
    // Many2one subsearches run with active_test=False; x2many ones keep the context's.
    let sub_active = field.kind.is_x2many() && active_test;
    if let Some(rest) = rest {
        let cm = comodel.ok_or_else(|| {
            OdooError::value(format!(
                "Invalid field {}.{left} in leaf {}",
                m.name,
                py_tuple(&leaf.items)
            ))
        })?;
        let sub = json!([[rest, leaf.items[1], leaf.items[2]]]);
        let node = super::compile(store, cm, Some(&sub), sub_active)?;
        return Ok(test_node(field, Test::Any(cm, Box::new(node)), false));
    }
    let op = leaf.op.as_str();
    let right = &leaf.right;
    match op {
        "=?" if unset(right) => return Ok(Node::Const(true)),
        "=?" => {
            let eq = Checked {
                items: leaf.items.clone(),
                op: if right.is_array() { "in" } else { "=" }.to_string(),
                right: right.clone(),
            };
            return compile_leaf(store, m, &eq, active_test);
        }
        "any" | "not any" => {
            let cm = comodel.ok_or_else(|| OdooError::key(&Value::Null))?;
            let node = super::compile(store, cm, Some(right), sub_active)?;
            return Ok(test_node(
                field,
                Test::Any(cm, Box::new(node)),
                op == "not any",
            ));
        }
        "child_of" | "parent_of" => {
            let target = if head == "id" { Some(m) } else { comodel };
            let target = target.ok_or_else(|| invalid_term(leaf))?;
            let ids = hierarchy(store, target, right, op == "child_of")?;
            return Ok(test_node(field, Test::Ids(ids, false), false));
        }
        _ => {}
    }
    let negate = is_negative(op);
    let pos = positive(op);
    if let Some(cm) = comodel {
        return relational(store, field, cm, leaf, pos, negate, active_test);
    }
    let test = match pos {
        "=" if unset(right) => Test::Empty,
        "=" => Test::Eq(cast(field, op, right)?),
        "<" | "<=" | ">" | ">=" => Test::Cmp(cmp_of(pos), cast(field, op, right)?),
        "in" => {
            let Value::Array(values) = right else {
                return Err(invalid_term(leaf));
            };
            let null_ok = values.iter().any(unset);
            let values = values
                .iter()
                .filter(|v| !unset(v))
                .map(|v| cast(field, op, v))
                .collect::<Result<Vec<_>, _>>()?;
            Test::In(values, null_ok)
        }
        _ => like_test(pos, right),
    };
    Ok(test_node(field, test, negate))
}

fn cmp_of(op: &str) -> Cmp {
    match op {
        "<" => Cmp::Lt,
        "<=" => Cmp::Le,
        ">" => Cmp::Gt,
        _ => Cmp::Ge,
    }
}

/// `like`/`ilike` wrap the value in `%`; the `=` forms use it as the pattern.
fn like_test(op: &str, right: &Value) -> Test {
    let text = match right {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    };
    let pattern = if op.starts_with('=') {
        text
    } else {
        format!("%{text}%")
    };
    Test::Like {
        pattern,
        ci: op.ends_with("ilike"),
    }
}

/// A many2one, one2many or many2many leaf: ids compare as ids, text as names.
fn relational(
    store: &Store,
    field: &'static Field,
    cm: &'static ModelDef,
    leaf: &Checked,
    pos: &str,
    negate: bool,
    active_test: bool,
) -> Result<Node, OdooError> {
    let right = &leaf.right;
    let names: Option<Vec<String>> = match right {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    };
    if let Some(names) = names {
        let name_op = if pos == "in" { "=" } else { pos };
        let ids = name_search(store, cm, name_op, &names, active_test);
        return Ok(test_node(field, Test::Ids(ids, false), negate));
    }
    let test = match pos {
        "=" if unset(right) => Test::Empty,
        "=" => Test::Ids(right.as_i64().into_iter().collect(), false),
        "in" => {
            let Value::Array(values) = right else {
                return Err(invalid_term(leaf));
            };
            let ids = values.iter().filter_map(Value::as_i64).collect();
            Test::Ids(ids, values.iter().any(unset))
        }
        "<" | "<=" | ">" | ">=" => Test::Cmp(cmp_of(pos), right.clone()),
        _ => {
            let text = py_repr(right);
            Test::Ids(name_search(store, cm, pos, &[text], active_test), false)
        }
    };
    Ok(test_node(field, test, negate))
}

/// `_name_search`: records of `cm` whose display name (or `_rec_name`, or
/// a product's internal reference) matches, archived ones left out unless
/// the context says otherwise.
fn name_search(
    store: &Store,
    cm: &ModelDef,
    op: &str,
    names: &[String],
    active_test: bool,
) -> BTreeSet<i64> {
    let mut found = BTreeSet::new();
    for id in store.ids(cm.name) {
        let Some(row) = store.row(cm.name, id) else {
            continue;
        };
        if active_test && cm.has_active() && row.get("active") != Some(&json!(true)) {
            continue;
        }
        let mut candidates: Vec<String> = store.display_name(cm.name, id).into_iter().collect();
        for f in [cm.rec_name, "default_code"] {
            if let Some(s) = row.get(f).and_then(Value::as_str) {
                candidates.push(s.to_string());
            }
        }
        let hit = names.iter().any(|name| {
            candidates.iter().any(|c| match op {
                "=" => c == name,
                _ => {
                    let Test::Like { pattern, ci } = like_test(op, &json!(name)) else {
                        return false;
                    };
                    super::like(&pattern, c, ci)
                }
            })
        });
        if hit {
            found.insert(id);
        }
    }
    found
}

/// `child_of` (the records and everything below them) or `parent_of` (the
/// records and everything above), archived records included as Odoo walks
/// the tree with `active_test=False`.
fn hierarchy(
    store: &Store,
    target: &'static ModelDef,
    right: &Value,
    down: bool,
) -> Result<BTreeSet<i64>, OdooError> {
    let parent = target
        .parent_field()
        .ok_or_else(|| OdooError::key(&json!("parent_id")))?;
    let start: Vec<i64> = match right {
        Value::String(_) => name_search(
            store,
            target,
            "ilike",
            &[right.as_str().unwrap_or_default().to_string()],
            false,
        )
        .into_iter()
        .collect(),
        Value::Array(a) if a.iter().all(Value::is_string) && !a.is_empty() => {
            let names: Vec<String> = a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            name_search(store, target, "ilike", &names, false)
                .into_iter()
                .collect()
        }
        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
        v if truthy(v) => v.as_i64().into_iter().collect(),
        _ => Vec::new(),
    };
    let mut found: BTreeSet<i64> = start
        .into_iter()
        .filter(|id| store.exists(target.name, *id))
        .collect();
    let parent_of = |id: i64| store.value(target, id, parent).as_i64();
    if down {
        let mut frontier: Vec<i64> = found.iter().copied().collect();
        while !frontier.is_empty() {
            let next: Vec<i64> = store
                .ids(target.name)
                .into_iter()
                .filter(|id| {
                    !found.contains(id) && parent_of(*id).is_some_and(|p| frontier.contains(&p))
                })
                .collect();
            found.extend(next.iter().copied());
            frontier = next;
        }
    } else {
        for id in found.clone() {
            let mut at = parent_of(id);
            while let Some(p) = at.filter(|p| !found.contains(p)) {
                found.insert(p);
                at = parent_of(p);
            }
        }
    }
    Ok(found)
}
