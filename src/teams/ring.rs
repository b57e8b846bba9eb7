//! The keys a gateway instance knows, in memory: checked on every request
//! without touching the database, refreshed from it in the background.

use super::keys::{KeyLimits, hash};
use super::rules::{Rule, rules_of_key};
use crate::core::Identity;
use crate::routing::glob_match;
use crate::store::{KeyRow, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Changes are read again this far back, so a change committed late with
/// an earlier timestamp (another instance's clock) is not missed.
const OVERLAP_MS: i64 = 10_000;

/// How the key id of a sign-in session begins (`signin:<user>`).
pub const SESSION_KEY_PREFIX: &str = "signin:";

/// A client key as the gateway holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// Who it belongs to.
    pub identity: Arc<Identity>,
    /// Enough of it to recognise (`sk-sy-…wxyz`).
    pub hint: String,
    /// Model names (globs) it may ask for; empty: all.
    pub models: Vec<String>,
    /// Tiers that may serve it (`tier:NAME` in its model list); empty: all.
    pub tiers: Vec<String>,
    /// Stops working at (unix ms).
    pub expires_ms: Option<i64>,
    /// Revoked at (unix ms).
    pub revoked_ms: Option<i64>,
    /// Its own budget and rate limits.
    pub rules: Vec<Arc<Rule>>,
    /// Its own guardrail action.
    pub guard: Option<crate::config::GuardAction>,
    /// Its ceiling on an answer's tokens.
    pub max_tokens: Option<u64>,
}

impl ClientKey {
    fn from_row(row: &KeyRow) -> ClientKey {
        let listed: Vec<String> = row
            .models
            .as_deref()
            .map(|m| {
                m.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let (tiers, models): (Vec<String>, Vec<String>) =
            listed.into_iter().partition(|m| m.starts_with("tier:"));
        let limits = KeyLimits::of_row(row).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a stored key's limits are unreadable; none applied");
            KeyLimits::default()
        });
        ClientKey {
            max_tokens: limits.max_tokens,
            guard: limits
                .guard
                .as_deref()
                .and_then(crate::config::GuardAction::parse),
            identity: Arc::new(Identity {
                key_id: row.id.clone(),
                name: row.name.clone(),
                user: row.user_id.clone(),
                team: row.team.clone(),
            }),
            hint: row.hint.clone(),
            models,
            tiers: tiers
                .iter()
                .map(|t| t.trim_start_matches("tier:").to_string())
                .collect(),
            expires_ms: row.expires_ms,
            revoked_ms: row.revoked_ms,
            rules: rules_of_key(&row.id, &limits)
                .into_iter()
                .map(Arc::new)
                .collect(),
        }
    }

    /// May a model of `tier` serve this key?
    pub fn allows_tier(&self, tier: Option<&str>) -> bool {
        self.tiers.is_empty() || tier.is_some_and(|t| self.tiers.iter().any(|a| a == t))
    }

    /// Whether this key stands for a sign-in session (Claude Code signed in
    /// through the identity provider) rather than a gateway key.
    pub fn is_session(&self) -> bool {
        self.identity.key_id.starts_with(SESSION_KEY_PREFIX)
    }

    /// May this key ask for `model`?
    pub fn allows(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|g| glob_match(g, model))
    }
}

/// What a presented key turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A live client key.
    Client(Arc<ClientKey>),
    /// Not a key this gateway knows.
    Unknown,
    /// A key that was revoked.
    Revoked(Arc<ClientKey>),
    /// A key past its expiry.
    Expired(Arc<ClientKey>),
    /// A sign-in session token that is no longer good (expired, revoked,
    /// or not this gateway's), and why.
    SignedOut(String),
}

/// Every client key, by the SHA-256 of the key.
#[derive(Debug)]
pub struct KeyRing {
    keys: moka::sync::Cache<[u8; 32], Arc<ClientKey>>,
    seen_ms: AtomicI64,
}

impl Default for KeyRing {
    fn default() -> Self {
        KeyRing {
            keys: moka::sync::Cache::builder().build(),
            seen_ms: AtomicI64::new(0),
        }
    }
}

impl KeyRing {
    /// Check a presented key at `now_ms`.
    pub fn check(&self, presented: &str, now_ms: i64) -> Verdict {
        let Some(key) = self.keys.get(&hash(presented)) else {
            return Verdict::Unknown;
        };
        if key.revoked_ms.is_some() {
            Verdict::Revoked(key)
        } else if key.expires_ms.is_some_and(|at| at <= now_ms) {
            Verdict::Expired(key)
        } else {
            Verdict::Client(key)
        }
    }

    /// Take stored rows (new keys and changes to known ones).
    pub fn apply(&self, rows: &[KeyRow]) {
        for row in rows {
            let Ok(bytes) = hex::decode(&row.hash) else {
                tracing::warn!(key = %row.id, "a stored key has a malformed hash; skipped");
                continue;
            };
            let Ok(h) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                tracing::warn!(key = %row.id, "a stored key has a malformed hash; skipped");
                continue;
            };
            self.keys.insert(h, Arc::new(ClientKey::from_row(row)));
            self.seen_ms.fetch_max(row.updated_ms, Ordering::Relaxed);
        }
    }

    /// Take the keys written in the config (`[[keys]]`).
    pub fn apply_static(&self, keys: &[crate::config::StaticKey]) {
        let rows: Vec<KeyRow> = keys
            .iter()
            .map(|k| KeyRow {
                id: k.id(),
                hash: k.sha256.clone(),
                hint: "(config)".into(),
                name: k.name.clone(),
                user_id: k.user.clone(),
                team: k.team.clone(),
                models: (!k.models.is_empty()).then(|| k.models.join(",")),
                metadata: None,
                created_ms: 0,
                expires_ms: None,
                revoked_ms: None,
                updated_ms: 0,
                limits: KeyLimits {
                    guard: k.guard.map(|g| g.as_str().to_string()),
                    max_tokens: k.max_tokens,
                    ..KeyLimits::default()
                }
                .as_json(),
            })
            .collect();
        self.apply(&rows);
    }

    /// Read what changed in the database since the last read.
    pub async fn refresh(&self, store: &Store) -> Result<usize, sqlx::Error> {
        let since = self.seen_ms.load(Ordering::Relaxed);
        let rows = store
            .keys_changed_since(if since == 0 { 0 } else { since - OVERLAP_MS })
            .await?;
        self.apply(&rows);
        Ok(rows.len())
    }

    /// The own limits of every live key (for reconciling and reports).
    pub fn own_rules(&self) -> Vec<Arc<Rule>> {
        self.keys
            .iter()
            .filter(|(_, k)| k.revoked_ms.is_none())
            .flat_map(|(_, k)| k.rules.clone())
            .collect()
    }

    /// Keys known (live or not).
    pub fn len(&self) -> u64 {
        self.keys.run_pending_tasks();
        self.keys.entry_count()
    }

    /// No keys known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Poll the database every `every` until the process ends.
    pub fn spawn_refresher(self: Arc<Self>, store: Store, every: Duration) {
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                tokio::time::sleep(every).await;
                match self.refresh(&store).await {
                    Ok(_) if failing => {
                        failing = false;
                        tracing::info!("client keys: reading the key table again");
                    }
                    Ok(_) => {}
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "client keys: cannot read the key table; keeping the keys known");
                    }
                    Err(_) => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teams::{NewKey, mint};

    #[test]
    fn live_revoked_expired_and_unknown_keys() {
        let ring = KeyRing::default();
        let new = NewKey {
            name: "n".into(),
            user: Some("alice".into()),
            models: vec!["claude-*".into()],
            ..NewKey::default()
        };
        let (live, row) = mint(&new, 1_000).unwrap();
        let (gone, mut revoked) = mint(&new, 1_000).unwrap();
        revoked.revoked_ms = Some(2_000);
        let (old, mut expired) = mint(&new, 1_000).unwrap();
        expired.expires_ms = Some(5_000);
        ring.apply(&[row, revoked, expired]);
        let Verdict::Client(k) = ring.check(&live, 4_000) else {
            panic!("live key refused");
        };
        assert_eq!(k.identity.user.as_deref(), Some("alice"));
        assert!(k.allows("claude-opus-5-5") && !k.allows("gpt-4o"));
        assert!(matches!(ring.check(&gone, 4_000), Verdict::Revoked(_)));
        assert!(matches!(ring.check(&old, 4_000), Verdict::Client(_)));
        assert!(matches!(ring.check(&old, 5_000), Verdict::Expired(_)));
        assert_eq!(ring.check("sk-sy-nope", 4_000), Verdict::Unknown);
        assert_eq!(ring.len(), 3);
    }
}
