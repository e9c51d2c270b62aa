//! URLs as connectors check and show them: a base URL that can work, and
//! a request's URL with every credential masked (a password, a parameter
//! named like a secret) for errors, logs, quarantine and dead letters.

/// A system's base URL: `http` or `https`, with a host. Anything else
/// (`ftp://`, a bare host name, which parses as a path) could only fail at
/// the first request.
pub fn check_base_url(url: &str) -> Result<(), String> {
    let mut parsed = match url::Url::parse(url) {
        Ok(parsed) => parsed,
        // Not parsed, so which part is a password is unknown: with an `@`
        // in it, quote none of it.
        Err(e) if url_has_password(url) => return Err(format!("the value is not a URL: {e}")),
        Err(e) => return Err(format!("`{url}` is not a URL: {e}")),
    };
    // Credentials belong in `[auth]`; never repeat them in a message.
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let url = parsed.to_string();
    let url = url.as_str();
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "`{url}`: the scheme must be `http` or `https`, not `{}`",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    if parsed.port() == Some(0) {
        return Err(format!("`{url}`: port 0 cannot be connected to"));
    }
    Ok(())
}

/// Whether a name (a query parameter, a var) is a credential's, so its
/// value is masked wherever it is shown.
pub fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // Whole names only for the short ones: `author` and `assignee` are not
    // credentials.
    [
        "password",
        "passwd",
        "secret",
        "token",
        "key",
        "signature",
        "session",
    ]
    .iter()
    .any(|w| name.contains(w))
        || ["auth", "sig", "pwd", "pass"].contains(&name.as_str())
}

/// A request's URL as errors, logs, quarantine and dead letters show it:
/// with its query, so an admin sees which parameter a server refused, and
/// with credentials masked: a password in the URL, and the value of any
/// parameter named like a credential (`api_key=***`).
pub fn shown_url(url: &str, query: &[(String, String)]) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a URL (a test double's name): only the user-info can hide a
        // secret, so drop everything before an `@` in the authority.
        return match url.split_once("://") {
            Some((scheme, rest)) => match rest.split('/').next().and_then(|a| a.rfind('@')) {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => url.to_string(),
            },
            None => url.to_string(),
        };
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .chain(query.iter().cloned())
        .collect();
    if pairs.is_empty() {
        return parsed.to_string();
    }
    parsed.set_query(None);
    {
        let mut q = parsed.query_pairs_mut();
        for (k, v) in &pairs {
            q.append_pair(k, if looks_secret(k) { "***" } else { v });
        }
    }
    // `***` stays readable rather than percent-encoded.
    parsed.to_string().replace("%2A%2A%2A", "***")
}

/// Whether a configured URL carries a password, so that a diagnostic about
/// it must not quote its line.
pub fn url_has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some())
        || url.split_once("://").is_some_and(|(_, rest)| {
            rest.split('/')
                .next()
                .is_some_and(|authority| authority.contains('@'))
        })
}

#[cfg(test)]
mod shown_url_tests {
    use super::shown_url;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_query_is_shown_and_credentials_are_masked() {
        assert_eq!(
            shown_url(
                "https://bot:s3cret@erp.example.com/jsonrpc?db=acme&api_key=k1",
                &q(&[
                    ("domain", "[[\"write_date\", \">\", \"2026-01-01Z\"]]"),
                    ("access_token", "t0k")
                ])
            ),
            "https://bot:***@erp.example.com/jsonrpc?db=acme&api_key=***&domain=%5B%5B%22write_date%22%2C+%22%3E%22%2C+%222026-01-01Z%22%5D%5D&access_token=***"
        );
        assert_eq!(
            shown_url(
                "http://127.0.0.1:9/api/now/table/incident",
                &q(&[("sysparm_limit", "100"), ("author", "ann")])
            ),
            "http://127.0.0.1:9/api/now/table/incident?sysparm_limit=100&author=ann"
        );
        assert_eq!(shown_url("http://h/p", &[]), "http://h/p");
        // Not a URL: still no user-info.
        assert_eq!(shown_url("http://u:p@/x", &[]), "http://***@/x");
    }
}
