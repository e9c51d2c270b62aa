//! A connector's cookie jar: cookies a response sets (a login's session
//! cookie) are kept and sent with later requests to the same system, as a
//! browser or `requests.Session` would. One jar per connector, one host
//! per connector, so domains and paths are not tracked; `Max-Age=0`, an
//! expiry in the past or an empty value removes a cookie. Values are
//! credentials: `Debug` shows names only.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, SET_COOKIE};

#[derive(Default)]
pub struct CookieJar(Mutex<BTreeMap<String, String>>);

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .0
            .lock()
            .map(|j| j.keys().cloned().collect())
            .unwrap_or_default();
        write!(f, "CookieJar({names:?})")
    }
}

impl CookieJar {
    /// Keep what a response's `Set-Cookie` headers say.
    pub fn store(&self, headers: &HeaderMap) {
        let Ok(mut jar) = self.0.lock() else {
            return;
        };
        for raw in headers.get_all(SET_COOKIE) {
            let Ok(raw) = raw.to_str() else { continue };
            let mut attrs = raw.split(';');
            let Some((name, value)) = attrs.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim().trim_matches('"'));
            if name.is_empty() {
                continue;
            }
            let expired = attrs.any(|a| {
                let a = a.trim().to_ascii_lowercase();
                a == "max-age=0" || a.starts_with("max-age=-") || a.contains("1970")
            });
            if expired || value.is_empty() {
                jar.remove(name);
            } else {
                jar.insert(name.to_string(), value.to_string());
            }
        }
    }

    /// The `Cookie` header for the next request, with `extra` (cookies a
    /// manifest builds) first; `None` when there are none.
    pub fn header(&self, extra: &[(String, String)]) -> Option<String> {
        let jar = self.0.lock().ok()?;
        let pairs: Vec<String> = extra
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(
                jar.iter()
                    .filter(|(k, _)| !extra.iter().any(|(e, _)| e == *k))
                    .map(|(k, v)| format!("{k}={v}")),
            )
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    pub fn clear(&self) {
        if let Ok(mut jar) = self.0.lock() {
            jar.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn keeps_replaces_and_expires_cookies_and_hides_values() {
        let jar = CookieJar::default();
        let mut h = HeaderMap::new();
        h.append(
            SET_COOKIE,
            HeaderValue::from_static("sid=abc123; Path=/; HttpOnly"),
        );
        h.append(SET_COOKIE, HeaderValue::from_static("lang=en"));
        jar.store(&h);
        assert_eq!(jar.header(&[]).as_deref(), Some("lang=en; sid=abc123"));
        let mut h = HeaderMap::new();
        h.append(SET_COOKIE, HeaderValue::from_static("lang=; Max-Age=0"));
        jar.store(&h);
        assert_eq!(
            jar.header(&[("sid".into(), "mine".into())]).as_deref(),
            Some("sid=mine")
        );
        assert!(!format!("{jar:?}").contains("abc123"));
    }
}
