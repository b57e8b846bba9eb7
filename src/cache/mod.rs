//! The response cache: exact (a hash over everything that can change the
//! answer) and semantic (the nearest earlier question within the same
//! scope, above a similarity threshold), in memory or in Redis.
//!
//! The serving path asks [`ResponseCache::lookup`] once the plan is known: a
//! hit is answered from the stored canonical answer in the client's dialect
//! (whole, or replayed as a stream); a miss carries a [`Pending`] that the
//! capture (`capture`) fills with the answer the client was actually sent,
//! and that is stored only when it was complete and successful.

pub mod capture;
pub mod entry;
pub mod key;
pub mod memory;
pub mod policy;
pub mod redis;
pub mod semantic;

use crate::config::{CacheBackend, CacheConfig};
use crate::core::fields::Fields;
use crate::core::{Dialect, RawRequest, TurnRole};
use crate::protocol::keys::presented_key;
use crate::routing::Plan;
use entry::Entry;
use http::HeaderMap;
use key::{Key, KeyScope, exact_key};
use memory::MemoryStore;
use policy::{Decision, Facts};
use redis::RedisStore;
use semantic::Embedder;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Where entries are kept.
pub enum Store {
    /// In this process.
    Memory(MemoryStore),
    /// In Redis.
    Redis(RedisStore),
}

/// What a miss needs to store its answer later.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The exact key.
    pub key: Key,
    /// The semantic scope, the question's vector and its text, when semantic.
    pub semantic: Option<(Key, Arc<[f32]>, Arc<str>)>,
    /// Largest answer kept.
    pub max_bytes: usize,
}

/// The outcome of a lookup.
pub enum Lookup {
    /// The cache stays out of it.
    Skip(&'static str),
    /// A stored answer (with its similarity, for semantic hits).
    Hit {
        /// The answer.
        entry: Arc<Entry>,
        /// Cosine similarity of a semantic hit.
        similarity: Option<f32>,
    },
    /// Nothing stored; keep the answer when it comes.
    Miss(Pending),
}

/// The cache.
pub struct ResponseCache {
    config: CacheConfig,
    store: Store,
    embedder: Option<Embedder>,
    /// Writes to a shared store still running (drained at shutdown).
    writing: std::sync::atomic::AtomicUsize,
}

/// The body a semantic scope is keyed on: the request without its turns,
/// but with its system prompt (OpenAI keeps that among the messages).
fn scope_body(raw: &RawRequest) -> Option<Vec<u8>> {
    let fields: Fields<'_> = serde_json::from_slice(raw.bytes()).ok()?;
    let mut out = serde_json::Map::new();
    for (name, value) in &fields.0 {
        if name != "messages" {
            out.insert(name.clone(), serde_json::from_str(value.get()).ok()?);
        }
    }
    let system: Vec<serde_json::Value> = raw
        .messages()
        .iter()
        .filter(|m| m.role == TurnRole::System)
        .filter_map(|m| serde_json::from_slice(raw.content_of(m)).ok())
        .collect();
    out.insert("messages".into(), serde_json::Value::Array(system));
    serde_json::to_vec(&out).ok()
}

impl ResponseCache {
    /// Build the configured cache (loading a local embedder now).
    pub fn new(config: &CacheConfig) -> Result<Self, String> {
        let max_vectors = config.semantic.as_ref().map_or(1, |s| s.max_vectors);
        let store = match &config.backend {
            CacheBackend::Memory => Store::Memory(MemoryStore::new(
                config.ttl,
                config.max_entries,
                config.max_bytes,
                max_vectors,
            )),
            CacheBackend::Redis(url) => {
                Store::Redis(RedisStore::new(url, config.ttl, max_vectors)?)
            }
        };
        let embedder = match &config.semantic {
            Some(s) => Some(Embedder::new(&s.embedder)?),
            None => None,
        };
        Ok(ResponseCache {
            config: config.clone(),
            store,
            embedder,
            writing: Default::default(),
        })
    }

    /// The config it runs on.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Look a request up.
    pub async fn lookup(
        &self,
        plan: &Plan,
        raw: &RawRequest,
        headers: &HeaderMap,
        dialect: Dialect,
    ) -> Lookup {
        let started = Instant::now();
        let facts = Facts::of(raw);
        let (exact, semantic, lookup) =
            match policy::decide(&self.config, &plan.cache, &facts, headers) {
                Decision::Skip(why) => return Lookup::Skip(why),
                Decision::Use {
                    exact,
                    semantic,
                    lookup,
                } => (exact, semantic, lookup),
            };
        let Some(first) = plan.targets.first() else {
            return Lookup::Skip("no target");
        };
        let scope = KeyScope {
            dialect,
            routed_model: &first.model.name,
            betas: headers.get("anthropic-beta").and_then(|v| v.to_str().ok()),
            client_key: self
                .config
                .per_key
                .then(|| presented_key(headers))
                .flatten(),
        };
        let Some(key) = exact_key(&scope, raw.bytes()) else {
            return Lookup::Skip("unreadable body");
        };
        if exact && lookup {
            match self.get(&key).await {
                Ok(Some(entry)) => {
                    metrics::histogram!("switchyard_cache_lookup_seconds", "result" => "hit")
                        .record(started.elapsed().as_secs_f64());
                    return Lookup::Hit {
                        entry,
                        similarity: None,
                    };
                }
                Ok(None) => {}
                Err(()) => return Lookup::Skip("cache unavailable"),
            }
        }
        let mut vector = None;
        if semantic
            && let (Some(embedder), Some(text)) = (&self.embedder, semantic::last_user_text(raw))
            && let Some(scope_key) = scope_body(raw).and_then(|b| exact_key(&scope, &b))
        {
            match embedder.embed(&text).await {
                Ok(v) => {
                    let v: Arc<[f32]> = Arc::from(v);
                    if lookup
                        && let Some((sim, entry)) = self.semantic_hit(&scope_key, &v, &text).await
                    {
                        metrics::histogram!("switchyard_cache_lookup_seconds", "result" => "semantic_hit")
                            .record(started.elapsed().as_secs_f64());
                        return Lookup::Hit {
                            entry,
                            similarity: Some(sim),
                        };
                    }
                    vector = Some((scope_key, v, Arc::from(text)));
                }
                Err(e) => tracing::warn!(error = %e, "embedding failed; semantic cache skipped"),
            }
        }
        metrics::histogram!("switchyard_cache_lookup_seconds", "result" => "miss")
            .record(started.elapsed().as_secs_f64());
        Lookup::Miss(Pending {
            key,
            semantic: vector,
            max_bytes: self.config.max_entry_bytes,
        })
    }

    /// The entry under `key`; `Err` when the store cannot be reached.
    async fn get(&self, key: &Key) -> Result<Option<Arc<Entry>>, ()> {
        match &self.store {
            Store::Memory(m) => Ok(m.get(key)),
            Store::Redis(r) => r.get(key).await,
        }
    }

    /// The best earlier question in `scope` that is close enough to `v`
    /// and passes the lexical guard, with its similarity and answer: close
    /// enough is `threshold`, or `explained_threshold` when the guard
    /// explains every word that differs.
    async fn semantic_hit(&self, scope: &Key, v: &[f32], text: &str) -> Option<(f32, Arc<Entry>)> {
        let (threshold, explained) = self
            .config
            .semantic
            .as_ref()
            .map_or((1.0, 1.0), |s| (s.threshold, s.explained_threshold));
        let lowest = threshold.min(explained);
        let candidates = match &self.store {
            Store::Memory(m) => m.nearest(scope, v, lowest),
            Store::Redis(r) => r.nearest(scope, v, lowest).await,
        };
        for (sim, key, cached) in candidates {
            match semantic::guard::judge(text, &cached) {
                Err(why) => {
                    metrics::counter!("switchyard_cache_semantic_refused_total").increment(1);
                    tracing::debug!(similarity = sim, reason = why, "semantic candidate refused");
                    continue;
                }
                Ok(agreement) if sim < agreement.needs(threshold, explained) => continue,
                Ok(_) => {}
            }
            match self.get(&key).await {
                Ok(Some(entry)) => return Some((sim, entry)),
                Ok(None) => {
                    if let Store::Redis(r) = &self.store {
                        r.forget_vector(scope, &key).await;
                    }
                }
                Err(()) => return None,
            }
        }
        None
    }

    /// Keep an answer for `pending` (skipped when larger than the cap).
    pub async fn put(&self, pending: Pending, entry: Entry) {
        let encoded = entry.encode();
        if encoded.is_empty() || encoded.len() > pending.max_bytes {
            metrics::counter!("switchyard_cache_too_large_total").increment(1);
            return;
        }
        match &self.store {
            Store::Memory(m) => Self::put_in_memory(m, pending, entry, encoded.len()),
            Store::Redis(r) => {
                r.put(&pending.key, encoded).await;
                if let Some((scope, v, text)) = pending.semantic {
                    r.put_vector(&scope, &v, &pending.key, &text).await;
                }
            }
        }
    }

    fn put_in_memory(m: &MemoryStore, pending: Pending, entry: Entry, size: usize) {
        m.put(pending.key, Arc::new(entry), size);
        if let Some((scope, v, text)) = pending.semantic {
            m.put_vector(scope, v, pending.key, text);
        }
    }

    /// Keep an answer without holding up the caller: at once in memory (so
    /// the very next request can hit), in the background for Redis.
    pub fn put_later(self: &Arc<Self>, pending: Pending, entry: Entry) {
        if let Store::Memory(m) = &self.store {
            let encoded = entry.encode();
            if !encoded.is_empty() && encoded.len() <= pending.max_bytes {
                Self::put_in_memory(m, pending, entry, encoded.len());
            } else {
                metrics::counter!("switchyard_cache_too_large_total").increment(1);
            }
            return;
        }
        let cache = self.clone();
        cache.writing.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            cache.put(pending, entry).await;
            cache.writing.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Wait, up to `within`, for the writes still running to finish (at
    /// shutdown, so answers already paid for are kept); `false` if some
    /// were still running.
    pub async fn drain(&self, within: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while self.writing.load(Ordering::SeqCst) > 0 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        true
    }

    /// Whether the store answers (always, in memory).
    pub async fn ping(&self) -> Result<(), String> {
        match &self.store {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => r.ping().await,
        }
    }

    /// Drop every entry; returns how many there were.
    pub async fn purge(&self) -> Result<u64, String> {
        match &self.store {
            Store::Memory(m) => Ok(m.purge()),
            Store::Redis(r) => r.purge().await,
        }
    }
}
