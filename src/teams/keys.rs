//! Key material: a new key is `sk-sy-` and 43 characters of base64url (32
//! random bytes from the operating system); what is stored is its SHA-256
//! and a hint (`sk-sy-…wxyz`), never the key.

use crate::store::KeyRow;
use base64::Engine;
use sha2::{Digest, Sha256};

/// What every client key starts with (recognisable in configs and scans).
pub const PREFIX: &str = "sk-sy-";

/// What a new key is for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewKey {
    /// What it is for ("alice's laptop", "ci").
    pub name: String,
    /// The developer.
    pub user: Option<String>,
    /// Their team.
    pub team: Option<String>,
    /// Model names (globs) it may ask for; empty: all.
    pub models: Vec<String>,
    /// Stops working at (unix ms).
    pub expires_ms: Option<i64>,
    /// Free-form JSON.
    pub metadata: Option<String>,
    /// Its own budget and rate limits.
    pub limits: KeyLimits,
}

/// SHA-256 of a key.
pub fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The stored hint of a key: its prefix and last four characters.
pub fn hint(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{PREFIX}…{tail}")
}

/// `N` random bytes from the OS (an error when it has none).
pub fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(bytes)
}

/// A fresh random secret for a master key (`switchyard init`).
pub fn random_key() -> Result<String, String> {
    Ok(format!(
        "sk-switchyard-admin-{}",
        hex::encode(random::<20>()?)
    ))
}

/// Make a key: the secret (shown once) and the row to store.
pub fn mint(new: &NewKey, now_ms: i64) -> Result<(String, KeyRow), String> {
    let secret = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?)
    );
    let row = KeyRow {
        id: format!("key_{}", hex::encode(random::<6>()?)),
        hash: hex::encode(hash(&secret)),
        hint: hint(&secret),
        name: new.name.clone(),
        user_id: new.user.clone(),
        team: new.team.clone(),
        models: (!new.models.is_empty()).then(|| new.models.join(",")),
        metadata: new.metadata.clone(),
        created_ms: now_ms,
        expires_ms: new.expires_ms,
        revoked_ms: None,
        updated_ms: now_ms,
        limits: new.limits.as_json(),
    };
    Ok((secret, row))
}

/// What the key replacing `old` at `now_ms` is for: the same owner, models
/// and metadata, and as long a life as `old` had.
pub fn successor(old: &KeyRow, now_ms: i64) -> NewKey {
    NewKey {
        name: old.name.clone(),
        user: old.user_id.clone(),
        team: old.team.clone(),
        models: old
            .models
            .as_deref()
            .map(|m| m.split(',').map(String::from).collect())
            .unwrap_or_default(),
        expires_ms: old
            .expires_ms
            .map(|e| now_ms.saturating_add(e - old.created_ms)),
        metadata: old.metadata.clone(),
        limits: KeyLimits::of_row(old).unwrap_or_default(),
    }
}

/// A key's own budget and rate limits, kept with it as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyLimits {
    /// Spend limit, USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<rust_decimal::Decimal>,
    /// day, week, month (default) or total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_window: Option<String>,
    /// Requests in any 60 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    /// Prompt and answer tokens in any 60 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_minute: Option<u64>,
    /// open (default) or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis_down: Option<String>,
    /// Guardrail action for its requests: allow, redact, force_local, block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<String>,
    /// Ceiling on an answer's tokens (`max_tokens` is lowered to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

impl KeyLimits {
    /// None set.
    pub fn is_empty(&self) -> bool {
        *self == KeyLimits::default()
    }

    /// Its JSON, none when empty.
    pub fn as_json(&self) -> Option<String> {
        (!self.is_empty())
            .then(|| serde_json::to_string(self).ok())
            .flatten()
    }

    /// The limits stored with a key.
    pub fn of_row(row: &KeyRow) -> Result<KeyLimits, String> {
        match row.limits.as_deref() {
            None | Some("") => Ok(KeyLimits::default()),
            Some(j) => serde_json::from_str(j).map_err(|e| format!("key {}: limits: {e}", row.id)),
        }
    }

    /// Refuse what could not be enforced.
    pub fn check(&self) -> Result<(), String> {
        if let Some(w) = &self.budget_window {
            crate::config::BudgetWindow::parse(w).ok_or_else(|| {
                format!("unknown budget window '{w}' (day, week, month or total)")
            })?;
        }
        if let Some(r) = &self.redis_down
            && r != "open"
            && r != "closed"
        {
            return Err(format!("unknown redis_down '{r}' (open or closed)"));
        }
        if let Some(g) = &self.guard
            && crate::config::GuardAction::parse(g).is_none()
        {
            return Err(format!(
                "unknown guard action '{g}' (allow, redact, force_local or block)"
            ));
        }
        if self.max_tokens == Some(0) {
            return Err("max_tokens must be at least 1".into());
        }
        if self.budget_usd.is_some_and(|b| b.is_sign_negative()) {
            return Err("budget_usd must not be negative".into());
        }
        if self.budget_window.is_some() && self.budget_usd.is_none() {
            return Err("a budget window needs budget_usd".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_key_is_stored_only_as_its_hash_and_hint() {
        let new = NewKey {
            name: "laptop".into(),
            user: Some("alice".into()),
            models: vec!["claude-*".into(), "gpt-4o".into()],
            ..NewKey::default()
        };
        let (secret, row) = mint(&new, 7).unwrap();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 43);
        assert_eq!(row.hash, hex::encode(hash(&secret)));
        assert!(row.hint.ends_with(&secret[secret.len() - 4..]));
        assert!(!format!("{row:?}").contains(&secret[PREFIX.len()..]));
        assert_eq!(row.models.as_deref(), Some("claude-*,gpt-4o"));
        let (other, other_row) = mint(&new, 7).unwrap();
        assert_ne!((secret, row.id), (other, other_row.id));
    }
}
