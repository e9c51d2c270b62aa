//! Limits on what admins write: CEL expressions, templates and paths.
//!
//! `check` compiles every expression on the main thread (8 MiB of stack),
//! while records are mapped and routed on runtime workers (2 MiB). The CEL
//! interpreter evaluates by recursion, one frame per level of the syntax tree,
//! and a chain such as `a + a + … + a` nests one level per `+`: a few thousand
//! terms compile fine and then overflow a worker's stack on the first record.
//! So the size and nesting of an expression are bounded where it compiles
//! (the one place both mappings and routing conditions go through), and
//! anything that compiles is shallow enough to evaluate on any thread.
//! The limits are documented in `docs/MAPPING.md` ("Limits").

use cel::common::ast::{EntryExpr, Expr};
use cel::{Env, IdedExpr, Program};

/// Longest CEL expression, in bytes. Bounds the parser's work and the size
/// of the tree it builds (and later drops) before depth is known.
pub const MAX_EXPR_BYTES: usize = 4096;
/// Deepest CEL syntax tree: nesting of calls, operators, selections and
/// literals. `a + b + c` is 3 deep; `a && b && c` is balanced by the parser.
pub const MAX_EXPR_DEPTH: usize = 40;
/// Longest template, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 4096;
/// Most `{path}` placeholders in one template.
pub const MAX_TEMPLATE_FIELDS: usize = 64;
/// Longest source path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Most segments in one source path (`a.b[0].c` has four).
pub const MAX_PATH_SEGMENTS: usize = 32;

/// Compile a CEL expression within the limits above.
pub fn compile_cel(env: &Env, text: &str) -> Result<Program, String> {
    if text.len() > MAX_EXPR_BYTES {
        return Err(format!(
            "CEL expression is {} bytes long; the limit is {MAX_EXPR_BYTES} (split it into rules, or use a value map)",
            text.len()
        ));
    }
    // The parser recurses once per bracket, with large frames; count them
    // first. Operator chains it parses in a loop, and the text is short.
    let nesting = bracket_depth(text);
    if nesting > MAX_EXPR_DEPTH {
        return Err(format!(
            "CEL expression nests brackets {nesting} deep; the limit is {MAX_EXPR_DEPTH}"
        ));
    }
    // The parser and the tree's drop recurse along selection and operator
    // chains; until the depth is known, both run on a stack big enough for
    // any text within the size limit. What comes back is shallow.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cel-compile".into())
            .stack_size(COMPILE_STACK_BYTES)
            .spawn_scoped(scope, || parse_shallow(env, text))
            .map_err(|e| format!("cannot compile a CEL expression: {e}"))?
            .join()
            .map_err(|_| format!("CEL expression `{text}` could not be compiled"))?
    })
}

/// Stack for parsing: far more than a text of [`MAX_EXPR_BYTES`] needs,
/// and only reserved, not touched, unless used.
const COMPILE_STACK_BYTES: usize = 64 * 1024 * 1024;

fn parse_shallow(env: &Env, text: &str) -> Result<Program, String> {
    let program = env.compile(text).map_err(|e| {
        format!(
            "invalid CEL expression `{text}`: {}",
            one_line(&e.to_string())
        )
    })?;
    let depth = depth(program.expression());
    if depth > MAX_EXPR_DEPTH {
        return Err(format!(
            "CEL expression nests {depth} levels deep; the limit is {MAX_EXPR_DEPTH} \
             (a chain of `+` nests one level per term: build long text with a template)"
        ));
    }
    Ok(program)
}

/// The deepest nesting of `(`, `[` and `{` outside string literals.
fn bracket_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    deepest
}

/// The depth of a syntax tree, measured without recursion so that a tree too
/// deep to evaluate is also safe to measure.
fn depth(root: &IdedExpr) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&IdedExpr, usize)> = vec![(root, 1)];
    while let Some((node, level)) = stack.pop() {
        deepest = deepest.max(level);
        let next = level + 1;
        match &node.expr {
            Expr::Call(call) => {
                stack.extend(call.target.iter().map(|t| (t.as_ref(), next)));
                stack.extend(call.args.iter().map(|a| (a, next)));
            }
            Expr::Comprehension(c) => stack.extend(
                [
                    &c.iter_range,
                    &c.accu_init,
                    &c.loop_cond,
                    &c.loop_step,
                    &c.result,
                ]
                .map(|e| (e, next)),
            ),
            Expr::List(list) => stack.extend(list.elements.iter().map(|e| (e, next))),
            Expr::Map(map) => stack.extend(map.entries.iter().flat_map(|e| entry(&e.expr, next))),
            Expr::Struct(s) => stack.extend(s.entries.iter().flat_map(|e| entry(&e.expr, next))),
            Expr::Select(select) => stack.push((&select.operand, next)),
            Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    deepest
}

fn entry(e: &EntryExpr, level: usize) -> Vec<(&IdedExpr, usize)> {
    match e {
        EntryExpr::MapEntry(m) => vec![(&m.key, level), (&m.value, level)],
        EntryExpr::StructField(f) => vec![(&f.value, level)],
    }
}

/// Refuse a template too long or with too many placeholders.
pub fn check_template(text: &str, fields: usize) -> Result<(), String> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "template is {} bytes long; the limit is {MAX_TEMPLATE_BYTES}",
            text.len()
        ));
    }
    if fields > MAX_TEMPLATE_FIELDS {
        return Err(format!(
            "template has {fields} placeholders; the limit is {MAX_TEMPLATE_FIELDS}"
        ));
    }
    Ok(())
}

/// Refuse a path too long or with too many segments.
pub fn check_path(text: &str, segments: usize) -> Result<(), String> {
    if text.len() > MAX_PATH_BYTES {
        return Err(format!(
            "path is {} bytes long; the limit is {MAX_PATH_BYTES}",
            text.len()
        ));
    }
    if segments > MAX_PATH_SEGMENTS {
        return Err(format!(
            "path `{text}` has {segments} segments; the limit is {MAX_PATH_SEGMENTS}"
        ));
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::expr::{Expr as MappingExpr, Scope};
    use crate::routing::condition::Condition;

    /// Runs `f` on a thread with `kib` KiB of stack: far less than a runtime
    /// worker's 2 MiB, so passing here proves the bound, not the luck of a
    /// big main thread.
    fn on_small_stack<T: Send + 'static>(kib: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::Builder::new()
            .stack_size(kib * 1024)
            .spawn(f)
            .unwrap()
            .join()
            .expect("no stack overflow")
    }

    /// A tokio worker's stack. Tests run unoptimised builds, whose frames
    /// are several times larger than a release build's: fitting here leaves
    /// the release daemon a wide margin.
    const WORKER_STACK_KIB: usize = 2048;

    fn chain(op: &str, terms: usize) -> String {
        vec!["record.n"; terms].join(op)
    }

    #[test]
    fn a_long_chain_is_refused_at_compile_time_without_overflowing() {
        // The shape from the field: thousands of `+` terms.
        for text in [
            chain(" + ", 3000),
            chain("+", 800),
            chain(" - ", 700),
            "(".repeat(2000) + "1" + &")".repeat(2000),
            "[".repeat(2000) + &"]".repeat(2000),
            "record".to_string() + &".a".repeat(2000),
            "f(".repeat(1300) + &")".repeat(1300),
        ] {
            let short = text.chars().take(30).collect::<String>();

            let errors = on_small_stack(WORKER_STACK_KIB, move || {
                (
                    MappingExpr::compile(&text).map(|_| ()),
                    Condition::compile(&text).map(|_| ()),
                )
            });
            assert!(errors.0.is_err(), "mapping accepted `{short}…`");
            assert!(errors.1.is_err(), "routing accepted `{short}…`");
        }
    }

    #[test]
    fn unary_chains_fold_and_evaluate_on_a_worker_stack() {
        // The parser folds repeated `!` and `-`; whatever it accepts must run.
        for text in ["!".repeat(4000) + "true", "-".repeat(3999) + "1"] {
            on_small_stack(WORKER_STACK_KIB, move || {
                if let Ok(e) = MappingExpr::compile(&text) {
                    let _ = e.eval(&Scope::new(&serde_json::json!({})));
                }
                if let Ok(c) = Condition::compile(&text) {
                    let _ = c.eval(&serde_json::json!({}), &serde_json::json!({}));
                }
            });
        }
    }

    #[test]
    fn the_limits_are_named_in_the_error() {
        let err = MappingExpr::compile(&chain(" + ", 100)).unwrap_err();
        assert!(err.contains("limit is 40"), "{err}");
        let err = Condition::compile(&"x".repeat(MAX_EXPR_BYTES + 1)).unwrap_err();
        assert!(err.contains("limit is 4096"), "{err}");
    }

    #[test]
    fn the_deepest_expression_allowed_evaluates_on_a_small_stack() {
        let text = chain(" + ", MAX_EXPR_DEPTH - 1);
        let value = on_small_stack(WORKER_STACK_KIB, move || {
            let e = MappingExpr::compile(&text).expect("within the limit");
            e.eval(&Scope::new(&serde_json::json!({"n": 1})))
        });
        assert_eq!(value.unwrap(), serde_json::json!(MAX_EXPR_DEPTH - 1));
    }

    #[test]
    fn long_logical_chains_stay_shallow() {
        // `||` and `&&` chains are balanced by the parser: 200 alternatives
        // are about 9 levels, and allowed.
        let text = (0..200)
            .map(|i| format!("record.n == {i}"))
            .collect::<Vec<_>>()
            .join(" || ");
        assert!(text.len() <= MAX_EXPR_BYTES);
        MappingExpr::compile(&text).unwrap();
    }
}
