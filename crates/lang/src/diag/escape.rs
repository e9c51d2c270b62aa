//! Text from outside, made safe to print: what admins' files, source
//! responses and their errors say reaches a log line or a terminal only
//! through here.
//!
//! A source controls the bodies, ids and values it sends, and those end up
//! in errors, quarantine reasons and log fields. A `\n` in them would start
//! what looks like a log line of our own, and an ESC could rewrite the
//! operator's terminal. So every control character is written as an escape
//! (`\n`, `\r`, `\x1b`, `\u{85}`); text is otherwise left as it is, tabs
//! included, so paths and messages stay readable. This module must not
//! shorten or reword anything: cutting is the caller's choice.
//!
//! It lives with the diagnostics, the lowest layer that prints outside
//! text (a diagnostic quotes the admin's line); `telemetry::text` re-exports
//! it beside the log formatter that uses it.

use std::borrow::Cow;
use std::fmt::{self, Write};

/// Whether `c` must be escaped: a control character other than a tab, or
/// one of the Unicode line and paragraph separators some log viewers break
/// lines at.
fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `text` with its control characters escaped; borrowed when it has none.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Writing to a String cannot fail.
    let _ = EscapeWriter(&mut out).write_str(text);
    Cow::Owned(out)
}

/// Displays its value with control characters escaped, without an
/// intermediate string: `format!("{}", Escaped(&error))`.
pub struct Escaped<T>(pub T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapeWriter(f), "{}", self.0)
    }
}

/// A `fmt::Write` that escapes control characters on the way through.
pub struct EscapeWriter<'a, W: Write + ?Sized>(pub &'a mut W);

impl<W: Write + ?Sized> Write for EscapeWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| needs_escape(*c)) {
            self.0.write_str(&rest[..at])?;
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\x1b' => self.0.write_str("\\x1b")?,
                c if (c as u32) < 0x80 => write!(self.0, "\\x{:02x}", c as u32)?,
                c => write!(self.0, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert_eq!(escape_control("plain\ttext é"), "plain\ttext é");
        assert!(matches!(escape_control("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("a\nb\rc\x1b[31md\x07e\u{85}f\u{2028}"),
            "a\\nb\\rc\\x1b[31md\\x07e\\u{85}f\\u{2028}"
        );
        assert_eq!(
            Escaped("line\n2025-01-01 ERROR forged").to_string(),
            "line\\n2025-01-01 ERROR forged"
        );
    }
}
