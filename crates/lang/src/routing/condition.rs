//! A rule's CEL condition. It sees two variables: `record`, the canonical
//! record as `switchboard map` prints it, and `event`, the change that
//! brought it (`event.kind`, `event.system`, `event.from_status`, …).

use std::sync::{Arc, LazyLock};

use cel::{Context, Env, Program};
use serde_json::Value;

use crate::mapping::expr::to_cel;

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(Env::stdlib()));

const VARIABLES: [&str; 2] = ["record", "event"];

#[derive(Debug, Clone)]
pub struct Condition {
    text: String,
    program: Arc<Program>,
}

impl Condition {
    pub fn compile(text: &str) -> Result<Self, String> {
        let program = crate::mapping::bounds::compile_cel(&ENV, text)?;
        let bound = crate::mapping::expr::bound_variables(text);
        if let Some(other) = program
            .references()
            .variables()
            .into_iter()
            .find(|v| !VARIABLES.contains(v) && !bound.iter().any(|b| b == v))
        {
            return Err(format!(
                "unknown variable `{other}`; a condition reads `record` (the canonical record) and `event` (the change)"
            ));
        }
        Ok(Self {
            text: text.to_string(),
            program: Arc::new(program),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True or false; anything else (a typo reading a missing field) is an
    /// error, never a silent `false`.
    pub fn eval(&self, record: &Value, event: &Value) -> Result<bool, String> {
        let mut ctx = Context::with_env(ENV.clone());
        ctx.add_variable_from_value("record", to_cel(record));
        ctx.add_variable_from_value("event", to_cel(event));
        match self.program.execute(&ctx) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("gave {other:?}, not true or false")),
            Err(e) => Err(e.to_string()),
        }
    }
}
