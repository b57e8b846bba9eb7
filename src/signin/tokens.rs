//! The gateway's own session tokens: short-lived access tokens Claude Code
//! sends as its bearer, and longer-lived refresh tokens it trades for new
//! ones. Both are JWTs signed with the gateway's session secret (HS256),
//! carrying who signed in and their groups, so any instance that shares
//! the secret can check them without a database on the request path.
//! Claude Code reads `exp` and `sub` from them (without verifying).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a session token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user (the provider's `user_claim`, e.g. an e-mail address).
    pub sub: String,
    /// Their e-mail address, when the provider gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Their groups at the provider.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// The sign-in this token belongs to (refreshes keep it).
    pub sid: String,
    /// `access` or `refresh`.
    pub typ: String,
    /// The issuer: the gateway's public URL.
    pub iss: String,
    /// Refresh tokens only: the provider's refresh token, sealed
    /// (`signin::seal`), for the silent refresh to ask the provider again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prt: Option<String>,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not a token this gateway signed (or not a JWT at all).
    Invalid,
    /// Signed here but past its expiry.
    Expired,
    /// The wrong kind (a refresh token presented as a bearer, or back).
    WrongKind,
}

/// Signs and checks session tokens.
pub struct Signer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer with `secret`, issuing as `issuer`.
    pub fn new(secret: &[u8], issuer: &str) -> Signer {
        Signer {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_string(),
        }
    }

    /// The issuer tokens carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Sign `claims` (their `iss` is set to this signer's).
    pub fn sign(&self, mut claims: Claims) -> String {
        claims.iss.clone_from(&self.issuer);
        // HS256 over serializable claims cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .unwrap_or_default()
    }

    /// Check a token of kind `typ` and read its claims.
    pub fn check(&self, token: &str, typ: &str) -> Result<Claims, Rejected> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => Rejected::Expired,
                    _ => Rejected::Invalid,
                }
            })?;
        if data.claims.typ != typ {
            return Err(Rejected::WrongKind);
        }
        Ok(data.claims)
    }
}

/// Whether a bearer looks like a JWT (three base64url parts), so it is
/// worth checking as a session token rather than as a gateway key.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(typ: &str, exp: i64) -> Claims {
        Claims {
            sub: "ada@example.com".into(),
            email: Some("ada@example.com".into()),
            groups: vec!["payments".into()],
            iat: 0,
            exp,
            sid: "s1".into(),
            typ: typ.into(),
            iss: String::new(),
            prt: None,
        }
    }

    fn now() -> i64 {
        crate::teams::view::now_ms() / 1000
    }

    #[test]
    fn a_token_signed_here_is_read_back() {
        let s = Signer::new(b"secret-1", "http://127.0.0.1:4000");
        let t = s.sign(claims("access", now() + 60));
        assert!(looks_like_jwt(&t));
        let c = s.check(&t, "access").expect("valid");
        assert_eq!(c.groups, ["payments"]);
        assert_eq!(c.iss, "http://127.0.0.1:4000");
    }

    #[test]
    fn foreign_expired_and_wrong_kind_tokens_are_refused() {
        let s = Signer::new(b"secret-1", "http://gw");
        let other = Signer::new(b"secret-2", "http://gw");
        let t = other.sign(claims("access", now() + 60));
        assert_eq!(s.check(&t, "access"), Err(Rejected::Invalid));
        let old = s.sign(claims("access", now() - 5));
        assert_eq!(s.check(&old, "access"), Err(Rejected::Expired));
        let refresh = s.sign(claims("refresh", now() + 60));
        assert_eq!(s.check(&refresh, "access"), Err(Rejected::WrongKind));
        let elsewhere = Signer::new(b"secret-1", "http://other");
        let t = elsewhere.sign(claims("access", now() + 60));
        assert_eq!(s.check(&t, "access"), Err(Rejected::Invalid));
        assert_eq!(s.check("sk-sy-abc", "access"), Err(Rejected::Invalid));
    }
}
