//! Text from outside, made safe to print: what admins' files, source
//! responses and their errors say reaches a log line or a terminal only
//! through here (the escaping itself is `diag::escape`, re-exported).
//!
//! A source controls the bodies, ids and values it sends, and those end up
//! in errors, quarantine reasons and log fields. A `\n` in them would start
//! what looks like a log line of our own, and an ESC could rewrite the
//! operator's terminal. So every control character is written as an escape
//! (`\n`, `\r`, `\x1b`, `\u{85}`); text is otherwise left as it is, tabs
//! included, so paths and messages stay readable. This module must not
//! shorten or reword anything: cutting is the caller's choice.

use std::fmt::{self, Write};

pub use switchboard_lang::diag::chain::{causes, error_chain};
pub use switchboard_lang::diag::escape::{EscapeWriter, Escaped, escape_control};

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// How text log lines write their fields: as tracing-subscriber does
/// (`message key=value …`), but with every value's control characters
/// escaped, so one event is always one line whatever a source sent. JSON
/// lines need nothing: JSON strings escape them already.
pub fn log_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    tracing_subscriber::fmt::format::debug_fn(
        |w: &mut Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
            if field.name() == "message" {
                write!(EscapeWriter(w), "{value:?}")
            } else {
                write!(w, "{}=", field.name())?;
                write!(EscapeWriter(w), "{value:?}")
            }
        },
    )
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_cannot_be_forged_by_a_field_value() {
        let forged = "boom\n2026-01-01T00:00:00Z  INFO sync finished\r\x1b[2K";
        let line = {
            // A real event through the real formatter, into a buffer.
            use std::sync::{Arc, Mutex};
            let buf = Arc::new(Mutex::new(Vec::new()));
            let writer = {
                let buf = buf.clone();
                move || BufWriter(buf.clone())
            };
            let subscriber = tracing_subscriber::fmt()
                .fmt_fields(log_fields())
                .with_ansi(false)
                .with_writer(writer)
                .finish();
            tracing::subscriber::with_default(subscriber, || {
                tracing::error!(connector = "x", error = %forged, "sync failed: {}", forged);
            });
            String::from_utf8(buf.lock().unwrap().clone()).unwrap()
        };
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.contains(
                "sync failed: boom\\n2026-01-01T00:00:00Z  INFO sync finished\\r\\x1b[2K"
            ),
            "{line}"
        );
        assert!(line.contains("error=boom\\n2026"), "{line}");
        assert!(!line.contains('\x1b') && !line.contains('\r'), "{line}");
    }

    struct BufWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for BufWriter {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
