//! Cache config: `[cache]`, `[cache.semantic]`, the top-level `redis_url`,
//! and the `cache` table a route may carry.
//!
//! ```toml
//! redis_url = "redis://127.0.0.1:6379"   # several instances share one cache
//!
//! [cache]
//! backend         = "redis"      # or "memory" (default without redis_url)
//! ttl             = "1h"
//! max_entries     = 10000        # in memory
//! max_bytes       = "256MB"      # in memory
//! max_entry_bytes = "1MB"        # larger answers (and streams) are not kept
//! per_key         = false        # true: each client key has its own entries
//! exact           = true         # defaults for routes without their own `cache`
//! agents          = false        # cache agent turns (tools, tool results, long chats, temperature > 0)
//!
//! [cache.semantic]
//! embedder   = "local"           # or "ollama" / "openai"
//! model_dir  = "/models/all-MiniLM-L6-v2"
//! threshold  = 0.92
//! explained_threshold = 0.80    # when the guard explains every word that differs
//! max_turns  = 1
//! all_routes = false             # true: every route without its own `cache` is semantic
//!
//! [[routes]]
//! match = { model = "faq-*" }
//! model = "haiku"
//! cache = { semantic = true }
//! ```

use super::section::{Errors, Section};
use std::path::PathBuf;
use std::time::Duration;
use toml::{Table, Value};

/// Where entries live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheBackend {
    /// In this process.
    Memory,
    /// In Redis, shared by every instance pointed at it.
    Redis(String),
}

/// How the semantic cache embeds text.
#[derive(Debug, Clone)]
pub enum EmbedderConfig {
    /// A sentence-embedding BERT model run in-process.
    Local {
        /// Holds `model.safetensors`, `config.json`, `tokenizer.json`.
        model_dir: PathBuf,
    },
    /// Ollama's `/api/embed`.
    Ollama {
        /// Server URL.
        base_url: String,
        /// Embedding model name.
        model: String,
    },
    /// An OpenAI-compatible `/v1/embeddings`.
    OpenAi {
        /// Base URL including `/v1`.
        base_url: String,
        /// Embedding model name.
        model: String,
        /// Bearer key, if the server wants one.
        api_key: Option<secrecy::SecretString>,
    },
}

/// `[cache.semantic]`.
#[derive(Debug, Clone)]
pub struct SemanticConfig {
    /// The embedder.
    pub embedder: EmbedderConfig,
    /// Lowest cosine similarity that counts as the same question.
    pub threshold: f32,
    /// Lowest similarity when the guard explains every content word that
    /// differs (same words, forms, typos, synonyms): such a pair rewords
    /// the question without asking anything else. Never above `threshold`.
    pub explained_threshold: f32,
    /// Conversations longer than this many messages are not semantically
    /// cached (unless the route caches agents).
    pub max_turns: usize,
    /// Most vectors kept per scope (oldest dropped first).
    pub max_vectors: usize,
}

/// What a route (or the `[cache]` defaults) says about caching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouteCache {
    /// Exact cache.
    pub exact: Option<bool>,
    /// Semantic cache.
    pub semantic: Option<bool>,
    /// Also cache agent turns.
    pub agents: Option<bool>,
}

/// `[cache]`.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Where entries live.
    pub backend: CacheBackend,
    /// How long an entry lives.
    pub ttl: Duration,
    /// Most entries in memory.
    pub max_entries: u64,
    /// Most bytes in memory.
    pub max_bytes: u64,
    /// Largest answer kept (streams are captured up to this).
    pub max_entry_bytes: usize,
    /// Entries are per client key.
    pub per_key: bool,
    /// Defaults for routes that say nothing.
    pub defaults: RouteCache,
    /// The semantic cache, when configured.
    pub semantic: Option<SemanticConfig>,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            backend: CacheBackend::Memory,
            ttl: Duration::from_secs(3600),
            max_entries: 10_000,
            max_bytes: 256 * 1024 * 1024,
            max_entry_bytes: 1024 * 1024,
            per_key: false,
            defaults: RouteCache {
                exact: Some(true),
                semantic: Some(false),
                agents: Some(false),
            },
            semantic: None,
        }
    }
}

pub(super) static CACHE_KEYS: &[&str] = &[
    "backend",
    "ttl",
    "max_entries",
    "max_bytes",
    "max_entry_bytes",
    "per_key",
    "exact",
    "agents",
    "semantic",
];
pub(super) static SEMANTIC_KEYS: &[&str] = &[
    "embedder",
    "model_dir",
    "base_url",
    "model",
    "api_key",
    "threshold",
    "explained_threshold",
    "max_turns",
    "max_vectors",
    "all_routes",
];
pub(super) static ROUTE_CACHE_KEYS: &[&str] = &["exact", "semantic", "agents"];

/// A route's `cache = { … }`.
pub(super) fn read_route_cache(t: &Table, path: &str, errors: &mut Errors) -> RouteCache {
    let s = Section::new(t, path, ROUTE_CACHE_KEYS, errors);
    RouteCache {
        exact: s.bool("exact", errors),
        semantic: s.bool("semantic", errors),
        agents: s.bool("agents", errors),
    }
}

/// `[cache]` and `redis_url` (`None`: no caching).
pub(super) fn read(root: &Section<'_>, errors: &mut Errors) -> Option<CacheConfig> {
    let redis_url = match root.get("redis_url") {
        Some(Value::String(u)) if !u.trim().is_empty() => Some(u.trim().to_string()),
        Some(Value::String(_)) | None => None,
        Some(_) => {
            errors.add("redis_url", "expected a string", None);
            None
        }
    };
    let t = match root.get("cache")? {
        Value::Table(t) => t,
        _ => {
            errors.add("cache", "expected a table ([cache])", None);
            return None;
        }
    };
    let s = Section::new(t, "cache", CACHE_KEYS, errors);
    let mut c = CacheConfig::default();
    let backend = s.str("backend", errors);
    c.backend = match (backend.as_deref(), redis_url) {
        (None | Some("redis"), Some(url)) => CacheBackend::Redis(url),
        (Some("redis"), None) => {
            errors.add(
                "cache.backend",
                "the redis backend needs redis_url",
                Some("redis_url = \"redis://127.0.0.1:6379\" at the top level".into()),
            );
            CacheBackend::Memory
        }
        (None | Some("memory"), _) => CacheBackend::Memory,
        (Some(other), _) => {
            errors.add(
                "cache.backend",
                format!("unknown backend '{other}'"),
                Some("memory or redis".into()),
            );
            CacheBackend::Memory
        }
    };
    c.ttl = s.duration("ttl", errors).unwrap_or(c.ttl);
    c.max_entries = s.u64("max_entries", errors).unwrap_or(c.max_entries).max(1);
    c.max_bytes = s.size("max_bytes", errors).unwrap_or(c.max_bytes).max(1024);
    c.max_entry_bytes = s
        .size("max_entry_bytes", errors)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
        .unwrap_or(c.max_entry_bytes);
    c.per_key = s.bool("per_key", errors).unwrap_or(false);
    c.defaults.exact = Some(s.bool("exact", errors).unwrap_or(true));
    c.defaults.agents = Some(s.bool("agents", errors).unwrap_or(false));
    match s.get("semantic") {
        Some(Value::Table(st)) => {
            let (semantic, all_routes) = read_semantic(st, errors);
            c.defaults.semantic = Some(all_routes);
            c.semantic = semantic;
        }
        Some(_) => errors.add("cache.semantic", "expected a [cache.semantic] table", None),
        None => {}
    }
    Some(c)
}

/// `[cache.semantic]`, and whether it applies to every route (`all_routes`).
fn read_semantic(t: &Table, errors: &mut Errors) -> (Option<SemanticConfig>, bool) {
    let s = Section::new(t, "cache.semantic", SEMANTIC_KEYS, errors);
    let all_routes = s.bool("all_routes", errors).unwrap_or(false);
    let model = s.non_empty_str("model", errors);
    let base_url = s.non_empty_str("base_url", errors);
    let embedder = match s.str("embedder", errors).as_deref() {
        Some("local") => match s.non_empty_str("model_dir", errors) {
            Some(dir) => EmbedderConfig::Local {
                model_dir: PathBuf::from(dir),
            },
            None => {
                errors.add(
                    "cache.semantic.model_dir",
                    "the local embedder needs a model directory",
                    Some("a directory with model.safetensors, config.json, tokenizer.json".into()),
                );
                return (None, all_routes);
            }
        },
        Some("ollama") => EmbedderConfig::Ollama {
            base_url: base_url.unwrap_or_else(|| "http://127.0.0.1:11434".into()),
            model: model.unwrap_or_else(|| "all-minilm".into()),
        },
        Some("openai") => EmbedderConfig::OpenAi {
            base_url: base_url.unwrap_or_else(|| "https://api.openai.com/v1".into()),
            model: model.unwrap_or_else(|| "text-embedding-3-small".into()),
            api_key: s
                .non_empty_str("api_key", errors)
                .map(secrecy::SecretString::from),
        },
        other => {
            errors.add(
                "cache.semantic.embedder",
                match other {
                    Some(o) => format!("unknown embedder '{o}'"),
                    None => "missing".to_string(),
                },
                Some("local, ollama or openai".into()),
            );
            return (None, all_routes);
        }
    };
    let threshold = s.fraction("threshold", errors).unwrap_or(0.92) as f32;
    let explained_threshold = s
        .fraction("explained_threshold", errors)
        .map_or(0.80, |t| t as f32)
        .min(threshold);
    let semantic = SemanticConfig {
        embedder,
        threshold,
        explained_threshold,
        max_turns: s.u64("max_turns", errors).map(|n| n as usize).unwrap_or(1),
        max_vectors: s
            .u64("max_vectors", errors)
            .map(|n| n as usize)
            .unwrap_or(10_000),
    };
    (Some(semantic), all_routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn semantic(extra: &str) -> SemanticConfig {
        let text = format!(
            "embedder = \"ollama\"\nbase_url = \"http://127.0.0.1:1\"\nmodel = \"m\"\n{extra}"
        );
        let table: Table = text.parse().expect("toml");
        let mut errors = Errors::default();
        let (semantic, _) = read_semantic(&table, &mut errors);
        semantic.expect("a semantic config")
    }

    #[test]
    fn explained_threshold_defaults_below_the_threshold_and_never_above_it() {
        let s = semantic("");
        assert_eq!((s.threshold, s.explained_threshold), (0.92, 0.80));
        let s = semantic("threshold = 0.85\nexplained_threshold = 0.9\n");
        assert_eq!((s.threshold, s.explained_threshold), (0.85, 0.85));
        let s = semantic("threshold = 0.75\n");
        assert_eq!(s.explained_threshold, 0.75);
    }
}
