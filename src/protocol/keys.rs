//! How clients present a key: Anthropic's `x-api-key`, or
//! `Authorization: Bearer` (OpenAI clients, Claude Code's
//! `ANTHROPIC_AUTH_TOKEN`). The one parser the gateway uses for it.

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// The key a client presented: `x-api-key`, else a Bearer token (the scheme
/// in any case, as RFC 9110 says), trimmed; `None` when neither is there.
pub fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(k.trim());
    }
    let auth = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn both_forms_and_any_scheme_case() {
        assert_eq!(
            presented_key(&headers(&[("x-api-key", " sk-1 ")])),
            Some("sk-1")
        );
        for auth in ["Bearer sk-2", "bearer sk-2", "BEARER  sk-2"] {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_static(auth));
            assert_eq!(presented_key(&h), Some("sk-2"), "{auth}");
        }
        assert_eq!(
            presented_key(&headers(&[
                ("x-api-key", "sk-1"),
                ("authorization", "Bearer sk-2")
            ])),
            Some("sk-1")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }
}
