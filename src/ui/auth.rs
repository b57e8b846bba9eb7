//! Signing in to the dashboard: the master key is posted once from a form
//! and exchanged for a session cookie (HttpOnly, SameSite=Strict, never the
//! key itself, never in a URL).
//!
//! The cookie is `expiry.nonce.hmac` with HMAC-SHA256 keyed by the master
//! key, so it survives restarts and dies when the master key changes.
//! Signing out revokes it: the gateway keeps revoked cookies until they
//! would have expired (per instance, in memory).

use crate::config::AuthConfig;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::COOKIE;
use secrecy::ExposeSecret;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE_NAME: &str = "switchyard_ui";

/// How long a sign-in lasts.
pub const SESSION_SECS: i64 = 12 * 3600;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn mac(key: &[u8], expiry: i64, nonce: &str) -> String {
    // HMAC accepts keys of any length, so this never takes the `else`.
    let Ok(mut m) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    m.update(b"switchyard-ui-session:");
    m.update(expiry.to_string().as_bytes());
    m.update(b":");
    m.update(nonce.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// A cookie value valid until `expiry` (unix seconds), unique per sign-in.
pub fn issue(key: &str, expiry: i64) -> String {
    let nonce = uuid::Uuid::now_v7().simple().to_string();
    format!("{expiry}.{nonce}.{}", mac(key.as_bytes(), expiry, &nonce))
}

/// Whether a cookie value is one we issued and has not expired.
pub fn valid(key: &str, value: &str, at: i64) -> bool {
    let mut parts = value.splitn(3, '.');
    let (Some(expiry), Some(nonce), Some(tag)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(expiry) = expiry.parse::<i64>() else {
        return false;
    };
    !tag.is_empty()
        && expiry > at
        && bool::from(
            mac(key.as_bytes(), expiry, nonce)
                .as_bytes()
                .ct_eq(tag.as_bytes()),
        )
}

/// The session cookie's value in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == COOKIE_NAME)
        .map(|(_, v)| v)
}

/// Whether the posted key is the master key.
pub fn key_matches(auth: &AuthConfig, presented: &str) -> bool {
    match auth {
        AuthConfig::MasterKey(k) => bool::from(
            presented
                .trim()
                .as_bytes()
                .ct_eq(k.expose_secret().as_bytes()),
        ),
        _ => true,
    }
}

/// Whether this request may see the dashboard (`revoked`: cookies signed
/// out of).
pub fn signed_in(auth: &AuthConfig, headers: &HeaderMap, revoked: &dyn Fn(&str) -> bool) -> bool {
    let AuthConfig::MasterKey(key) = auth else {
        // `auth = "none"` is only allowed on loopback: open, like the API.
        return true;
    };
    cookie_value(headers).is_some_and(|v| valid(key.expose_secret(), v, now()) && !revoked(v))
}

/// The `Set-Cookie` value for a fresh sign-in.
pub fn set_cookie(auth: &AuthConfig) -> String {
    let value = match auth {
        AuthConfig::MasterKey(k) => issue(k.expose_secret(), now() + SESSION_SECS),
        _ => String::new(),
    };
    format!("{COOKIE_NAME}={value}; Path=/ui; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that signs out.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_check_key_and_expiry() {
        let c = issue("sk-master", 2_000);
        assert!(valid("sk-master", &c, 1_000));
        assert!(!valid("sk-master", &c, 2_000), "expired");
        assert!(!valid("sk-other", &c, 1_000), "another key");
        let forged = c.replacen("2000", "9000", 1);
        assert_ne!(c, issue("sk-master", 2_000), "unique per sign-in");
        assert!(!valid("sk-master", &forged, 1_000), "extended expiry");
        assert!(!valid("sk-master", "garbage", 1_000));
        assert!(!c.contains("sk-master"));
    }

    #[test]
    fn signed_in_reads_the_cookie_header() {
        let auth = AuthConfig::MasterKey("k".to_string().into());
        let mut h = HeaderMap::new();
        let none = |_: &str| false;
        assert!(!signed_in(&auth, &h, &none));
        let cookie = set_cookie(&auth);
        let pair = cookie.split(';').next().unwrap().to_string();
        h.insert(COOKIE, format!("other=1; {pair}").parse().unwrap());
        assert!(signed_in(&auth, &h, &none));
        let value = cookie_value(&h).unwrap().to_string();
        assert!(!signed_in(&auth, &h, &|v| v == value), "revoked");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    }
}
