//! Recognising the hub's own words when a system gives them back.
//!
//! A comment crosses between linked records through a writer: an origin's
//! public comment goes forward to its target, a target's comes back to the
//! origin, and progress is posted on the origin. Each lands in that system
//! as one of its own comments, and the next read of the record returns it
//! like any other. Sent on again it would cross back, and again, for ever.
//!
//! So a writer notes the text it writes on an existing record
//! ([`notes_in`], kept by the store before the call), and routing skips a
//! comment that [`is_echo`] finds among those notes. Systems rarely give
//! text back byte for byte: TOPdesk wraps it in HTML, ServiceNow prefixes
//! a journal entry, Maximo cuts a summary at 100 characters. Both sides are
//! therefore compared [`normalise`]d, and a comment that is mostly a note
//! (the note with a prefix of the system's), or most of one (cut short),
//! matches; one that quotes the hub among words of its own does not. A
//! missed echo costs one comment sent back once: what the hub posts back
//! is noted in turn, so the round stops there unless that system too
//! changes the text beyond recognition. Pure: no IO.

use serde_json::Value;

/// Shorter notes are not kept: a status code or a number in an update's
/// body would otherwise match any comment that happens to contain it.
const SHORTEST_NOTE: usize = 12;

/// A comment this long that holds most of a note is the note cut short by
/// the system (a summary field); a shorter one may just be a common phrase.
const SHORTEST_CUT: usize = 24;

/// Text as compared: HTML tags dropped, the common entities decoded,
/// whitespace collapsed, lower case.
pub fn normalise(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let decoded = [
        ("&nbsp;", " "),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&apos;", "'"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(plain, |t, (entity, c)| t.replace(entity, c));
    decoded
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The notes a body written on a record leaves there: each text value in
/// it, normalised, long enough to recognise.
pub fn notes_in(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(body, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            let n = normalise(s);
            if n.chars().count() >= SHORTEST_NOTE {
                out.push(n);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect(i, out)),
        _ => {}
    }
}

/// Whether `comment`, read from a record, is one of the `notes` the hub
/// wrote there (already normalised).
pub fn is_echo(comment: &str, notes: &[String]) -> bool {
    if notes.is_empty() {
        return false;
    }
    let c = normalise(comment);
    if c.is_empty() {
        return false;
    }
    let len = c.chars().count();
    // Most of the comment is the note (a system's own prefix around it),
    // or most of the note is the comment (cut short): someone quoting a
    // title or a phrase of the hub's in words of their own is neither.
    let most = |part: usize, whole: usize| part * 2 >= whole;
    notes.iter().any(|n| {
        let n_len = n.chars().count();
        *n == c
            || (most(n_len, len) && c.contains(n.as_str()))
            || (len >= SHORTEST_CUT && most(len, n_len) && n.contains(c.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_note_is_found_again_through_html_prefixes_and_cuts() {
        let body = json!({
            "action": "servicenow INC0010001, Alice Jones: The printer on floor 2 is out of toner",
            "status": "in_progress",
            "id": 42,
        });
        let notes = notes_in(&body);
        assert_eq!(notes.len(), 1, "short values are not notes: {notes:?}");
        // As TOPdesk gives it back: in HTML, entities and all.
        assert!(is_echo(
            "<p>servicenow INC0010001, Alice&nbsp;Jones: The printer on floor 2 is out of toner</p>",
            &notes
        ));
        // With a prefix of the system's own.
        assert!(is_echo(
            "2026-12-05 10:00 - Integration (Comments)\nservicenow INC0010001, Alice Jones: The printer on floor 2 is out of toner",
            &notes
        ));
        // Cut short by a summary field.
        assert!(is_echo(
            "servicenow INC0010001, Alice Jones: The printer",
            &notes
        ));
        // Someone's own words are not an echo, even a few of the same ones.
        assert!(!is_echo("The printer works again, thanks", &notes));
        assert!(!is_echo("out of toner", &notes));
        // Nor words that quote what the hub wrote (a title, a team's name)
        // among more of their own.
        let created = notes_in(&json!({
            "briefDescription": "Printer on floor 2 is out of toner",
            "operatorGroup": {"name": "Service Desk"},
        }));
        assert!(is_echo("Printer on floor 2 is out of toner", &created));
        assert!(!is_echo(
            "Re: Printer on floor 2 is out of toner. A new cartridge is on its way, it arrives tomorrow.",
            &created
        ));
        assert!(!is_echo(
            "Please bring the laptop to the service desk on floor 1.",
            &created
        ));
        assert!(!is_echo("", &notes));
        assert!(!is_echo("anything at all", &[]));
    }
}
