//! Client keys written in the config, `[[keys]]`, beside those made with
//! `switchyard keys` (which live in the database): for a fleet deployed
//! from one file, or a gateway without a writable database.
//!
//! ```toml
//! [[keys]]
//! name   = "ci"
//! key    = "${SWITCHYARD_CI_KEY}"     # the key itself (from the environment), or
//! # key_sha256 = "9f86d081…"          # its SHA-256 in hex: the file holds no secret
//! user   = "ci-bot"
//! team   = "platform"
//! models = ["claude-haiku-*"]
//! ```
//!
//! Only the SHA-256 is kept once the config is read. Such a key's id is
//! `key_` and the first 12 hex digits of that hash, the same on every
//! instance, so `[[budgets]]` and `[[rate_limits]]` can name it.

use super::section::{Errors, Section};
use sha2::{Digest, Sha256};

/// Keys of a `[[keys]]` table.
pub(super) static STATIC_KEY_KEYS: &[&str] = &[
    "name",
    "key",
    "key_sha256",
    "user",
    "team",
    "models",
    "guard",
    "max_tokens",
];

/// Shortest key accepted in the config.
const MIN_KEY_CHARS: usize = 24;

/// A client key from the config.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKey {
    /// What it is for.
    pub name: String,
    /// SHA-256 of the key, lowercase hex.
    pub sha256: String,
    /// The developer.
    pub user: Option<String>,
    /// Their team.
    pub team: Option<String>,
    /// Model names (globs) it may ask for; empty: all.
    pub models: Vec<String>,
    /// Its own guardrail action, over the route's and `[guard]`'s.
    pub guard: Option<super::GuardAction>,
    /// Its ceiling on an answer's tokens.
    pub max_tokens: Option<u64>,
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticKey({}, {})", self.id(), self.name)
    }
}

impl StaticKey {
    /// `key_` and the first 12 hex digits of the hash.
    pub fn id(&self) -> String {
        format!("key_{}", self.sha256.get(..12).unwrap_or(&self.sha256))
    }
}

fn read_one(t: &toml::Table, path: &str, errors: &mut Errors) -> Option<StaticKey> {
    let s = Section::new(t, path, STATIC_KEY_KEYS, errors);
    let name = s.non_empty_str("name", errors);
    let plain = s.non_empty_str("key", errors);
    let given = s.non_empty_str("key_sha256", errors);
    let sha256 = match (plain, given) {
        (Some(_), Some(_)) | (None, None) => {
            errors.add(path, "a key needs exactly one of key or key_sha256", None);
            None
        }
        (Some(k), None) if k.chars().count() < MIN_KEY_CHARS => {
            errors.add(
                &s.path("key"),
                format!("shorter than {MIN_KEY_CHARS} characters"),
                Some("switchyard keys create makes strong ones".into()),
            );
            None
        }
        (Some(k), None) => Some(hex::encode(Sha256::digest(k.as_bytes()))),
        (None, Some(h)) => {
            let h = h.to_ascii_lowercase();
            if h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()) {
                Some(h)
            } else {
                errors.add(
                    &s.path("key_sha256"),
                    "expected 64 hex digits",
                    Some("printf %s \"$KEY\" | sha256sum".into()),
                );
                None
            }
        }
    };
    if name.is_none() && !s.has("name") {
        errors.add(&s.path("name"), "a key needs a name", None);
    }
    Some(StaticKey {
        name: name?,
        sha256: sha256?,
        user: s.non_empty_str("user", errors),
        team: s.non_empty_str("team", errors),
        models: s.str_list("models", errors).unwrap_or_default(),
        guard: super::guard::action(&s, "guard", errors),
        max_tokens: super::guard::token_ceiling(&s, errors),
    })
}

/// Read `[[keys]]`.
pub(super) fn read(top: &Section<'_>, errors: &mut Errors) -> Vec<StaticKey> {
    let out = super::section::tables(top, "keys", errors, read_one);
    let mut seen = std::collections::HashSet::new();
    for k in &out {
        if !seen.insert(k.sha256.clone()) {
            errors.add("keys", format!("the key of {} appears twice", k.name), None);
        }
    }
    out
}
