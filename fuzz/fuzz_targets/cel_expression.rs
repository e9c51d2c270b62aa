//! Any text as a CEL expression, both where mappings use one (`expr`,
//! `when`, `skip_if`) and as a routing condition: an error or a program,
//! never a panic or a stack overflow; what compiles is evaluated against a
//! small record (and event) on a thread with a runtime worker's stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::mapping::expr::{Expr, Scope};
use switchboard::routing::condition::Condition;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = text.to_string();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let record = serde_json::json!({"n": 2, "s": "x", "list": [1, "a", {"k": true}], "o": {"a": null}});
            let event = serde_json::json!({"kind": "created", "system": "servicenow"});
            if let Ok(e) = Expr::compile(&text) {
                let _ = e.eval(&Scope::new(&record));
            }
            if let Ok(c) = Condition::compile(&text) {
                let _ = c.eval(&record, &event);
            }
        })
        .expect("spawn")
        .join()
        .expect("no panic");
});
