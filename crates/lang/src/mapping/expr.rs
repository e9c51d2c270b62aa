//! CEL expressions in mappings: `when` conditions on rules, `skip_if` on
//! whole records, and computed values (`expr`).
//!
//! An expression sees the source record as `record`, e.g.
//! `record.priority == "1" && has(record.caller_id)`. Expressions compile once
//! with the mapping; a record gets one CEL view, built only when the mapping
//! uses CEL at all.

use std::sync::{Arc, LazyLock};

use cel::{Context, Env, Program};
use serde_json::Value;

use super::memo::Memo;

/// The only variable an expression may use.
pub const RECORD: &str = "record";

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// A compiled expression and its source text, for messages.
#[derive(Debug, Clone)]
pub struct Expr {
    text: String,
    program: Arc<Program>,
    /// The top-level record fields it reads (`record.impact`), or `None`
    /// when it uses `record` some other way and needs all of it.
    fields: Option<Vec<String>>,
    /// Results by the values of `fields`, when those are known.
    memo: Option<Arc<Memo>>,
}

impl Expr {
    pub fn compile(text: &str) -> Result<Self, String> {
        let program = super::bounds::compile_cel(&ENV, text)?;
        let references = program.references();
        let bound = bound_variables(text);
        if let Some(other) = references
            .variables()
            .into_iter()
            .find(|v| *v != RECORD && !bound.iter().any(|b| b == v))
        {
            return Err(format!(
                "CEL expression `{text}` uses unknown variable `{other}`; the source record is `{RECORD}` (e.g. `{RECORD}.{other}`)"
            ));
        }
        let fields = fields_read(text);
        Ok(Expr {
            text: text.to_string(),
            program: Arc::new(program),
            memo: fields.is_some().then(|| Arc::new(Memo::default())),
            fields,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn fields(&self) -> Option<&[String]> {
        self.fields.as_deref()
    }

    /// Evaluate to JSON.
    pub fn eval(&self, scope: &Scope) -> Result<Value, String> {
        match (&self.memo, &self.fields, scope.record()) {
            (Some(memo), Some(fields), Value::Object(map)) if fields.len() <= 8 => {
                let mut inputs = [None; 8];
                for (slot, f) in inputs.iter_mut().zip(fields) {
                    *slot = map.get(f);
                }
                memo.get_or(&inputs[..fields.len()], || self.run(scope))
            }
            _ => self.run(scope),
        }
    }

    fn run(&self, scope: &Scope) -> Result<Value, String> {
        let ctx = scope.context()?;
        let value = self
            .program
            .execute(ctx)
            .map_err(|e| format!("CEL `{}` failed: {e}", self.text))?;
        value
            .json()
            .map_err(|e| format!("CEL `{}` gave a value with no JSON form: {e:?}", self.text))
    }

    /// Evaluate a condition; anything but a boolean is an error, so a typo
    /// cannot silently read as `false`.
    pub fn eval_bool(&self, scope: &Scope) -> Result<bool, String> {
        match self.eval(scope)? {
            Value::Bool(b) => Ok(b),
            other => Err(format!(
                "CEL `{}` must give true or false, gave {other}",
                self.text
            )),
        }
    }
}

/// The names CEL's macros bind (`list.filter(f, f.id == 1)`): variables of
/// the expression's own making, not unknown ones.
pub(crate) fn bound_variables(text: &str) -> Vec<String> {
    static MACRO: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"\.(?:all|exists|exists_one|filter|map)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,",
        )
        .expect("valid pattern")
    });
    MACRO
        .captures_iter(text)
        .map(|c| c[1].to_string())
        .collect()
}

/// Which top-level fields `text` reads as `record.<field>`; `None` if it
/// also uses `record` in any other way (`record["x"]`, `size(record)`), in
/// which case the whole record must be given to CEL. Converting only what
/// is read keeps a condition on two fields from costing a 40-field copy.
fn fields_read(text: &str) -> Option<Vec<String>> {
    let mut fields = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(RECORD) {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        let after = &rest[i + RECORD.len()..];
        if !before_ok || after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            // Part of another identifier, such as `records` or `my_record`.
            rest = after;
            continue;
        }
        let name: String = after
            .strip_prefix('.')?
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            return None;
        }
        if !fields.contains(&name) {
            fields.push(name);
        }
        rest = after;
    }
    Some(fields)
}

/// The union of what several expressions read: `None` if any needs it all.
pub fn union_of_fields<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Option<Vec<String>> {
    let mut all = Vec::new();
    for e in exprs {
        for f in e.fields()? {
            if !all.contains(f) {
                all.push(f.clone());
            }
        }
    }
    Some(all)
}

/// One record's CEL view, converted on first use.
pub struct Scope<'r> {
    record: &'r Value,
    /// Only these top-level fields are given to CEL; `None` gives all.
    fields: Option<&'r [String]>,
    context: std::cell::OnceCell<Result<Context<'static, 'static>, String>>,
}

impl<'r> Scope<'r> {
    /// A scope giving CEL the whole record.
    pub fn new(record: &'r Value) -> Self {
        Self::with_fields(record, None)
    }

    /// A scope giving CEL only `fields` of the record (see [`union_of_fields`]).
    pub fn with_fields(record: &'r Value, fields: Option<&'r [String]>) -> Self {
        Scope {
            record,
            fields,
            context: std::cell::OnceCell::new(),
        }
    }

    pub fn record(&self) -> &'r Value {
        self.record
    }

    fn context(&self) -> Result<&Context<'static, 'static>, String> {
        self.context
            .get_or_init(|| {
                let mut ctx = Context::with_env(ENV.clone());
                let value = match (self.fields, self.record) {
                    (Some(fields), Value::Object(map)) => {
                        // Built as cel's own map type directly: going through
                        // a `HashMap<String, _>` would hash every key twice.
                        let picked: std::collections::HashMap<cel::objects::Key, cel::Value> =
                            fields
                                .iter()
                                .filter_map(|f| {
                                    let v = map.get(f)?;
                                    Some((
                                        cel::objects::Key::String(Arc::new(f.clone())),
                                        to_cel(v),
                                    ))
                                })
                                .collect();
                        cel::Value::Map(cel::objects::Map {
                            map: Arc::new(picked),
                        })
                    }
                    _ => to_cel(self.record),
                };
                ctx.add_variable_from_value(RECORD, value);
                Ok(ctx)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// JSON to CEL. Whole numbers become `int` (not `uint`, which is what
/// serde would pick for positive ones): CEL refuses to mix the two, and
/// `record.count * 2` must just work.
pub(crate) fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => cel::Value::Int(i),
            (None, Some(u), _) => cel::Value::UInt(u),
            (_, _, f) => cel::Value::Float(f.unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(map) => {
            let map: std::collections::HashMap<cel::objects::Key, cel::Value> = map
                .iter()
                .map(|(k, v)| (cel::objects::Key::String(Arc::new(k.clone())), to_cel(v)))
                .collect();
            cel::Value::Map(cel::objects::Map { map: Arc::new(map) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evaluates_against_the_record() {
        let rec = json!({"priority": "1", "tags": ["vpn"], "n": 3});
        let scope = Scope::new(&rec);
        let cond = Expr::compile("record.priority == '1' && size(record.tags) > 0").unwrap();
        assert_eq!(cond.eval_bool(&scope), Ok(true));
        let calc = Expr::compile("record.n * 2").unwrap();
        assert_eq!(calc.eval(&scope), Ok(json!(6)));
    }

    #[test]
    fn rejects_bad_expressions_and_unknown_variables() {
        assert!(
            Expr::compile("record.a ==")
                .unwrap_err()
                .contains("invalid CEL")
        );
        let e = Expr::compile("priority == '1'").unwrap_err();
        assert!(
            e.contains("unknown variable `priority`") && e.contains("record.priority"),
            "{e}"
        );
    }

    #[test]
    fn finds_the_fields_an_expression_reads() {
        assert_eq!(
            fields_read("has(record.a) && record.b_2 == 'x' || records.c"),
            Some(vec!["a".to_string(), "b_2".to_string()])
        );
        assert_eq!(fields_read("size(record) > 3"), None);
        assert_eq!(fields_read("record['a'] == 1"), None);
        // Only the fields read are given to CEL, and they behave the same.
        let rec = json!({"impact": "1", "other": [1, 2, 3]});
        let e = Expr::compile("record.impact == '1'").unwrap();
        let fields = union_of_fields([&e]);
        let scope = Scope::with_fields(&rec, fields.as_deref());
        assert_eq!(e.eval_bool(&scope), Ok(true));
    }

    #[test]
    fn macro_variables_are_not_unknown() {
        let rec = json!({"values": [{"id": "summary", "v": "VPN"}, {"id": "x", "v": 1}]});
        let e = Expr::compile("record.values.filter(f, f.id == 'summary')[0].v").unwrap();
        assert_eq!(e.eval(&Scope::new(&rec)), Ok(json!("VPN")));
        assert_eq!(e.fields(), Some(&["values".to_string()][..]));
        let e = Expr::compile("record.values.exists(v, v.id == 'x')").unwrap();
        assert_eq!(e.eval_bool(&Scope::new(&rec)), Ok(true));
        // Outside a macro, `f` is still unknown.
        assert!(
            Expr::compile("f.id == 1")
                .unwrap_err()
                .contains("unknown variable `f`")
        );
    }

    #[test]
    fn non_boolean_condition_is_an_error() {
        let rec = json!({"a": "x"});
        let e = Expr::compile("record.a")
            .unwrap()
            .eval_bool(&Scope::new(&rec))
            .unwrap_err();
        assert!(e.contains("must give true or false"), "{e}");
    }

    #[test]
    fn missing_key_is_an_error_not_a_panic() {
        let rec = json!({});
        assert!(
            Expr::compile("record.nope == 1")
                .unwrap()
                .eval(&Scope::new(&rec))
                .is_err()
        );
        let has = Expr::compile("has(record.nope)").unwrap();
        assert_eq!(has.eval_bool(&Scope::new(&rec)), Ok(false));
    }
}
