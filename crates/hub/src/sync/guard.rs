//! Noticing a source that pages forever, from a few words per page.

use crate::connector::PageToken;

/// What a run remembers of the pages it read to notice a source that pages
/// forever: one that ignores the offset or page number and sends the same
/// records again, or whose next link or token leads back to a page already
/// read. A few words per page, for the last [`PagingGuard::REMEMBERED`].
#[derive(Default)]
pub(super) struct PagingGuard {
    previous: Option<PageFingerprint>,
    tokens: std::collections::VecDeque<u64>,
}

impl PagingGuard {
    const REMEMBERED: usize = 64;

    pub(super) fn check(
        &mut self,
        page: usize,
        records: PageFingerprint,
        asked: Option<&PageToken>,
        next: Option<&PageToken>,
    ) -> Result<(), String> {
        if records.count > 0 && self.previous == Some(records) {
            return Err(format!(
                "page {page} holds the same {} records as page {}: the source ignores the paging parameter",
                records.count,
                page - 1
            ));
        }
        self.previous = Some(records);
        if let Some(asked) = asked {
            self.remember(hash_of(asked));
        }
        if let Some(next) = next
            && self.tokens.contains(&hash_of(next))
        {
            return Err(format!(
                "page {page} points to a page already read as the next one ({}): the source's paging loops",
                describe(next)
            ));
        }
        Ok(())
    }

    fn remember(&mut self, token: u64) {
        if self.tokens.len() == Self::REMEMBERED {
            self.tokens.pop_front();
        }
        self.tokens.push_back(token);
    }
}

/// The records of one page, as the hash of their content hashes, in order.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct PageFingerprint {
    count: usize,
    hash: u64,
}

impl PageFingerprint {
    pub(super) fn add(&mut self, content_hash: &str) {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.hash, content_hash).hash(&mut h);
        self.hash = h.finish();
        self.count += 1;
    }
}

fn hash_of(token: &PageToken) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

/// A token for a message: links and tokens as sent, cut to a readable length.
fn describe(token: &PageToken) -> String {
    let text = match token {
        // Without the query: some APIs put a key there.
        PageToken::Url(u) => match u.split_once('?') {
            Some((path, _)) => format!("{path}?…"),
            None => u.clone(),
        },
        PageToken::Token(t) => format!("token {t}"),
        other => format!("{other:?}"),
    };
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}
