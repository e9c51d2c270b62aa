use super::*;

// ---------------------------------------------------------------------------
// Link header parsing
// ---------------------------------------------------------------------------

pub(super) fn links(values: &[&str]) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    for v in values {
        h.append(
            reqwest::header::LINK,
            v.parse().expect("valid header value"),
        );
    }
    h
}

#[test]
fn link_next_picks_next_among_several_links() {
    let h = links(&[
        "<https://api.example.com/items?page=1>; rel=\"first\", <https://api.example.com/items?page=2>; rel=\"prev\", <https://api.example.com/items?page=4>; rel=\"next\", <https://api.example.com/items?page=9>; rel=\"last\"",
    ]);
    assert_eq!(
        link_next(&h).as_deref(),
        Some("https://api.example.com/items?page=4")
    );
}

#[test]
fn link_next_accepts_unquoted_rel_and_other_params() {
    let h = links(&["<https://a.example/x?p=2>; rel=next"]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=2"));
    let h = links(&["</x?p=3>; title=\"more\"; rel=\"next\""]);
    assert_eq!(link_next(&h).as_deref(), Some("/x?p=3"));
    // ServiceNow writes no space after the `;`.
    let h = links(&[
        "<https://sn.example/t?o=0>;rel=\"first\",<https://sn.example/t?o=10>;rel=\"next\"",
    ]);
    assert_eq!(link_next(&h).as_deref(), Some("https://sn.example/t?o=10"));
}

#[test]
fn link_next_reads_every_link_header() {
    let h = links(&[
        "<https://a.example/x?p=1>; rel=\"prev\"",
        "<https://a.example/x?p=3>; rel=\"next\"",
    ]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=3"));
}

#[test]
fn link_next_is_none_without_next() {
    assert_eq!(link_next(&links(&[])), None);
    let h = links(&[
        "<https://a.example/x?p=1>; rel=\"first\", <https://a.example/x?p=1>; rel=\"last\"",
    ]);
    assert_eq!(link_next(&h), None);
    // `next` as another parameter's value is not a relation.
    let h = links(&["<https://a.example/x?p=2>; title=\"next\""]);
    assert_eq!(link_next(&h), None);
    let h = links(&["<https://a.example/x?p=2>; rel=\"nextish\""]);
    assert_eq!(link_next(&h), None);
}

#[test]
fn link_next_keeps_commas_inside_the_target() {
    let h = links(&[
        "<https://a.example/x?fields=id,name&p=1>; rel=\"prev\", <https://a.example/x?fields=id,name&p=3>; rel=\"next\"",
    ]);
    assert_eq!(
        link_next(&h).as_deref(),
        Some("https://a.example/x?fields=id,name&p=3")
    );
}

#[test]
fn link_next_matches_next_among_several_relation_types() {
    let h = links(&["<https://a.example/x?p=2>; rel=\"next last\""]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=2"));
    let h = links(&["<https://a.example/x?p=2>; REL=\"Next\""]);
    assert_eq!(link_next(&h).as_deref(), Some("https://a.example/x?p=2"));
}
