//! The provider's refresh token, sealed into the gateway's own refresh
//! token. A silent refresh asks the identity provider whether the person
//! may still sign in, with the refresh token the provider gave at sign-in;
//! carried sealed (AES-256-GCM under a key derived from the session
//! secret) inside the gateway's refresh token, it reaches whichever
//! instance sharing that secret the refresh lands on, and survives
//! restarts, without a database and without the client being able to read
//! or change it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

/// Seals and opens provider refresh tokens.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

/// What the sealed bytes are bound to, so they open nowhere else.
const AAD: &[u8] = b"switchyard provider refresh token v1";

impl Sealer {
    /// A sealer keyed from the session secret.
    pub fn new(secret: &[u8]) -> Result<Sealer, String> {
        let mut h = Sha256::new();
        h.update(b"switchyard seal key v1\0");
        h.update(secret);
        let key = UnboundKey::new(&AES_256_GCM, &h.finalize())
            .map_err(|_| "sign-in: cannot make the sealing key".to_string())?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
        })
    }

    /// `text` sealed under a fresh nonce, as base64url.
    pub fn seal(&self, text: &str) -> Result<String, String> {
        let nonce = crate::teams::keys::random::<NONCE_LEN>()?;
        let mut bytes = text.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut bytes,
            )
            .map_err(|_| "sign-in: cannot seal".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&bytes);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The text of a sealed value (none when it was not sealed with this
    /// secret, or was changed).
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut rest)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_secret_opens_what_was_sealed_and_nothing_changed_opens() {
        let a = Sealer::new(b"secret-one").unwrap();
        let sealed = a.seal("provider-refresh-token").unwrap();
        assert!(!sealed.contains("provider"));
        assert_ne!(
            sealed,
            a.seal("provider-refresh-token").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(a.open(&sealed).as_deref(), Some("provider-refresh-token"));
        assert_eq!(Sealer::new(b"secret-two").unwrap().open(&sealed), None);
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(a.open(&URL_SAFE_NO_PAD.encode(bytes)), None);
        assert_eq!(a.open("short"), None);
    }
}
