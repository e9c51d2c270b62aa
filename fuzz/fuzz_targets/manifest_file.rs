//! Any text as a connector manifest: a diagnostic or a manifest, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::connector::Manifest;
use switchboard::diag::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(d) = Manifest::check(&SourceFile::new("fuzz/manifest.toml", text)) {
        let _ = d.to_string();
    }
});
