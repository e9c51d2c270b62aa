//! The caret snippet under a diagnostic: the offending line, with a `^^^`
//! under the part at fault.
//!
//! The line comes from a file an admin may not have written by hand (a
//! generated manifest, a minified value), so it is cut to a window around
//! the problem when long, and its control characters are escaped: a
//! snippet must stay one line on the terminal and in a log.

use std::fmt;

use super::escape::escape_control;

/// Characters of a line shown at most.
const WIDTH: usize = 120;
/// Of those, how many come before the caret when the line is cut.
const LEAD: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The line as printed: cut (`…` marks a cut) and escaped.
    pub text: String,
    /// Characters of `text` before the caret. (`u32` keeps a
    /// [`Diagnostic`](super::Diagnostic) small; a window is 120 characters.)
    pub caret: u32,
    /// Characters underlined, at least 1.
    pub width: u32,
}

impl Snippet {
    /// `line`, with `width` characters underlined from character `col` (0-based).
    pub fn new(line: &str, col: usize, width: usize) -> Self {
        let total = line.chars().count();
        let col = col.min(total);
        let (start, end) = if total <= WIDTH {
            (0, total)
        } else {
            let start = col.saturating_sub(LEAD).min(total - WIDTH);
            (start, start + WIDTH)
        };
        let shown = |from: usize, to: usize| -> String {
            let part: String = line
                .chars()
                .skip(from)
                .take(to.saturating_sub(from))
                .collect();
            escape_control(&part).into_owned()
        };
        let mut text = String::new();
        if start > 0 {
            text.push('…');
        }
        text.push_str(&shown(start, col));
        let caret = text.chars().count() as u32;
        let stop = (col + width.max(1)).min(end);
        let under = shown(col, stop);
        let width = under.chars().count().max(1) as u32;
        text.push_str(&under);
        text.push_str(&shown(stop, end));
        if end < total {
            text.push('…');
        }
        Self { text, caret, width }
    }

    /// The three lines under a diagnostic's headline, for line number `line`.
    pub(super) fn render(&self, f: &mut fmt::Formatter<'_>, line: usize) -> fmt::Result {
        let gutter = " ".repeat(line.to_string().len());
        // Tabs stay tabs under the line, so the caret lines up with it.
        let pad: String = self
            .text
            .chars()
            .take(self.caret as usize)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(
            f,
            "\n{gutter} |\n{line} | {}\n{gutter} | {pad}{}",
            self.text,
            "^".repeat(self.width as usize)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_line_is_shown_whole() {
        let s = Snippet::new("schedul = \"y\"", 0, 7);
        assert_eq!(
            (s.text.as_str(), s.caret, s.width),
            ("schedul = \"y\"", 0, 7)
        );
    }

    #[test]
    fn a_long_line_is_cut_around_the_caret() {
        let line = format!("key = \"{}BAD{}\"", "a".repeat(5000), "b".repeat(5000));
        let col = line.find("BAD").unwrap();
        let s = Snippet::new(&line, col, 3);
        assert_eq!(s.text.chars().count(), WIDTH + 2, "{}", s.text);
        assert!(s.text.starts_with('…') && s.text.ends_with('…'));
        let under: String = s
            .text
            .chars()
            .skip(s.caret as usize)
            .take(s.width as usize)
            .collect();
        assert_eq!(under, "BAD");
        // The start of a long line is not cut at the front.
        let s = Snippet::new(&line, 0, 3);
        assert!(s.text.starts_with("key = ") && s.text.ends_with('…'));
        // Nor is its end at the back.
        let s = Snippet::new(&line, line.len() - 1, 1);
        assert!(s.text.starts_with('…') && s.text.ends_with("b\""));
        assert_eq!(s.text.chars().nth(s.caret as usize), Some('"'));
    }

    #[test]
    fn control_characters_are_escaped_and_the_caret_follows() {
        let s = Snippet::new("a = \"\x1b[2J\r\" # x", 14, 1);
        assert_eq!(s.text, "a = \"\\x1b[2J\\r\" # x");
        assert_eq!(s.text.chars().nth(s.caret as usize), Some('x'));
    }
}
