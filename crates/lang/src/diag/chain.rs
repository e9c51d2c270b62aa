//! An error and its causes, printed once each: what the store, the
//! command line and the logs say when something fails. It lives with the
//! diagnostics so that every crate above them (the store among them) can
//! use it; `telemetry::text` re-exports it.

use std::error::Error;

/// An error and its causes as one line, `outer: cause: root cause`, each
/// cause once: many errors repeat their source in their own message
/// (`cannot connect: {0}`), and printing the chain as well said it twice.
pub fn error_chain<'a>(chain: impl IntoIterator<Item = &'a (dyn Error + 'static)>) -> String {
    let mut text = String::new();
    for e in chain {
        let message = e.to_string();
        if message.is_empty() || text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

/// The causes of `e`, from `e` itself down to the root.
pub fn causes<'a>(e: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(e), |&e| e.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_repeated_in_its_parent_is_printed_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot connect to the store: {0}")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("connection refused"));
        assert_eq!(
            error_chain(causes(&e)),
            "cannot connect to the store: connection refused"
        );
        let e = anyhow::Error::new(std::io::Error::other("connection refused"))
            .context("store at db:5432")
            .context("cannot start");
        assert_eq!(
            error_chain(e.chain()),
            "cannot start: store at db:5432: connection refused"
        );
    }
}
