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

/// The only variable an expression may use.
pub const RECORD: &str = "record";

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

/// A compiled expression and its source text, for messages.
#[derive(Debug, Clone)]
pub struct Expr {
    text: String,
    program: Arc<Program>,
}

impl Expr {
    pub fn compile(text: &str) -> Result<Self, String> {
        let program = ENV.compile(text).map_err(|e| {
            format!(
                "invalid CEL expression `{text}`: {}",
                one_line(&e.to_string())
            )
        })?;
        let references = program.references();
        if let Some(other) = references.variables().into_iter().find(|v| *v != RECORD) {
            return Err(format!(
                "CEL expression `{text}` uses unknown variable `{other}`; the source record is `{RECORD}` (e.g. `{RECORD}.{other}`)"
            ));
        }
        Ok(Expr {
            text: text.to_string(),
            program: Arc::new(program),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Evaluate to JSON.
    pub fn eval(&self, scope: &Scope) -> Result<Value, String> {
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

/// One record's CEL view, converted on first use.
pub struct Scope<'r> {
    record: &'r Value,
    context: std::cell::OnceCell<Result<Context<'static, 'static>, String>>,
}

impl<'r> Scope<'r> {
    pub fn new(record: &'r Value) -> Self {
        Scope {
            record,
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
                ctx.add_variable_from_value(RECORD, to_cel(self.record));
                Ok(ctx)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// JSON to CEL. Whole numbers become `int` (not `uint`, which is what
/// serde would pick for positive ones): CEL refuses to mix the two, and
/// `record.count * 2` must just work.
fn to_cel(value: &Value) -> cel::Value {
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
            let map: std::collections::HashMap<String, cel::Value> =
                map.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::Map(map.into())
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
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
