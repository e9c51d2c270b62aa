//! Any text as a mapping file: parsing, validation and compilation must
//! return a diagnostic or a mapping, never panic. A mapping that compiles is
//! also applied to a small record, so compile-time checks and run time agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::diag::SourceFile;
use switchboard::mapping::Mapping;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let source = SourceFile::new("fuzz/mapping.toml", text);
    if let Ok(mapping) = Mapping::from_source(&source) {
        let record = serde_json::json!({"state": "1", "n": 2, "t": "x", "list": [1, "a"]});
        let _ = mapping.skips(&record);
        let _ = mapping.apply(&record);
    }
    // Rendering diagnostics (snippets, carets) must not panic either.
    if let Err(d) = Mapping::from_source(&source) {
        let _ = d.to_string();
    }
});
