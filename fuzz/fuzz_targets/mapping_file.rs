//! Any text as a mapping file: parsing, validation and compilation must
//! return a diagnostic or a mapping, never panic. A mapping that compiles is
//! also applied to a small record, so compile-time checks and run time agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::diag::SourceFile;
use switchboard::mapping::AnyMapping;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = SourceFile::new("fuzz/mapping.toml", text);
    let record = serde_json::json!({"state": "1", "n": 2, "t": "x", "list": [1, "a"], "status": "new"});
    match AnyMapping::from_source(&source) {
        Ok(AnyMapping::Inbound(mapping)) => {
            let _ = mapping.skips(&record);
            let _ = mapping.apply(&record);
        }
        Ok(AnyMapping::Outbound(mapping)) => {
            let _ = mapping.render_value(&record);
        }
        Err(_) => {}
    }
    // Rendering diagnostics (snippets, carets) must not panic either.
    if let Err(d) = AnyMapping::from_source(&source) {
        let _ = d.to_string();
    }
});
