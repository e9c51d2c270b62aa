//! A small memo for CEL expressions over categorical fields.
//!
//! CEL here is pure: no clock, no randomness, and an expression reads only
//! the record fields [`super::expr`] found in its text. So the result for
//! given values of those fields never changes, and conditions such as
//! `record.impact == '1' && record.urgency == '1'` see a handful of distinct
//! inputs across millions of records. Building CEL's view of a record costs
//! about a microsecond; a hit here costs a hash.
//!
//! It watches its own use: an expression over free text (every record
//! different) misses every time, and after a trial the memo switches itself
//! off for that expression, so it never costs more than a hash per record
//! for long.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use serde_json::Value;

/// Distinct inputs kept per expression.
const CAPACITY: usize = 1024;
/// Lookups per trial; a trial with fewer hits than half turns the memo off.
const TRIAL: u32 = 4096;

#[derive(Debug, Default)]
pub(super) struct Memo {
    state: Mutex<State>,
}

/// The field values seen, and what the expression gave for them.
type Entry = (Vec<Option<Value>>, Result<Value, String>);

#[derive(Debug, Default)]
struct State {
    off: bool,
    entries: HashMap<u64, Entry>,
    lookups: u32,
    hits: u32,
}

impl Memo {
    /// The remembered result for these field values, else `compute` it (and
    /// remember it while the memo earns its keep).
    pub fn get_or(
        &self,
        inputs: &[Option<&Value>],
        compute: impl FnOnce() -> Result<Value, String>,
    ) -> Result<Value, String> {
        let key = hash(inputs);
        {
            // Another thread holding the lock means evaluating, not waiting.
            let Ok(mut state) = self.state.try_lock() else {
                return compute();
            };
            if state.off {
                drop(state);
                return compute();
            }
            state.lookups += 1;
            if let Some((seen, result)) = state.entries.get(&key)
                && seen.iter().map(Option::as_ref).eq(inputs.iter().copied())
            {
                let result = result.clone();
                state.hits += 1;
                state.judge();
                return result;
            }
            state.judge();
        }
        let result = compute();
        if let Ok(mut state) = self.state.try_lock()
            && !state.off
        {
            if state.entries.len() >= CAPACITY {
                state.entries.clear();
            }
            let seen = inputs.iter().map(|v| v.cloned()).collect();
            state.entries.insert(key, (seen, result.clone()));
        }
        result
    }
}

impl State {
    fn judge(&mut self) {
        if self.lookups < TRIAL {
            return;
        }
        if self.hits < TRIAL / 2 {
            self.off = true;
            self.entries = HashMap::new();
        }
        self.lookups = 0;
        self.hits = 0;
    }
}

fn hash(inputs: &[Option<&Value>]) -> u64 {
    let mut h = DefaultHasher::new();
    for v in inputs {
        match v {
            None => 0u8.hash(&mut h),
            Some(v) => hash_value(v, &mut h),
        }
    }
    h.finish()
}

fn hash_value(v: &Value, h: &mut DefaultHasher) {
    match v {
        Value::Null => 1u8.hash(h),
        Value::Bool(b) => (2u8, b).hash(h),
        Value::Number(n) => (3u8, n.to_string()).hash(h),
        Value::String(s) => (4u8, s).hash(h),
        Value::Array(items) => {
            (5u8, items.len()).hash(h);
            items.iter().for_each(|i| hash_value(i, h));
        }
        Value::Object(map) => {
            (6u8, map.len()).hash(h);
            for (k, v) in map {
                k.hash(h);
                hash_value(v, h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    #[test]
    fn remembers_by_value_and_tells_inputs_apart() {
        let memo = Memo::default();
        let calls = Cell::new(0);
        let eval = |a: &Value| {
            memo.get_or(&[Some(a)], || {
                calls.set(calls.get() + 1);
                Ok(json!(a == "1"))
            })
        };
        assert_eq!(eval(&json!("1")), Ok(json!(true)));
        assert_eq!(eval(&json!("1")), Ok(json!(true)));
        assert_eq!(eval(&json!("2")), Ok(json!(false)));
        // 1 and "1" are different inputs.
        assert_eq!(eval(&json!(1)), Ok(json!(false)));
        assert_eq!(calls.get(), 3);
        // A missing field is an input of its own.
        let missing = memo.get_or(&[None], || Err("no such key".into()));
        assert_eq!(missing, Err("no such key".to_string()));
    }

    #[test]
    fn switches_itself_off_for_free_text() {
        let memo = Memo::default();
        for i in 0..TRIAL {
            let v = json!(format!("ticket {i}"));
            memo.get_or(&[Some(&v)], || Ok(json!(true))).unwrap();
        }
        let state = memo.state.lock().unwrap();
        assert!(state.off && state.entries.is_empty());
    }
}
