//! Rate limits and how limits are counted: `[[rate_limits]]` and `[limits]`.
//!
//! ```toml
//! [[rate_limits]]
//! team                = "web"      # or key = "key_…", or user = "alice"
//! requests_per_minute = 600        # over the last 60 s, sliding
//! tokens_per_minute   = 2000000    # prompt and answer tokens
//! redis_down          = "open"     # or "closed": refuse while Redis is down
//!
//! [limits]
//! store   = "redis"    # counters shared by every instance (default when
//!                      # redis_url is set), or "local" (this instance only)
//! reserve = true       # reserve a request's most cost before it goes out
//! redis_timeout = "500ms"   # longest a request waits for the counters
//! spend_limits_redis_down = "open"   # limits set through the admin API
//!                      # (/v1/organizations/spend_limits) while Redis is
//!                      # unreachable: count locally, or "closed": refuse
//! ```

use super::budgets::{BudgetScope, RedisDown, redis_down, redis_down_at, scope};
use super::section::{Errors, Section};
use toml::Value;

/// Keys of a `[[rate_limits]]` table.
pub(super) static RATE_LIMIT_KEYS: &[&str] = &[
    "key",
    "user",
    "team",
    "requests_per_minute",
    "tokens_per_minute",
    "redis_down",
];

/// Keys of `[limits]`.
pub(super) static LIMITS_KEYS: &[&str] = &[
    "store",
    "reserve",
    "redis_timeout",
    "spend_limits_redis_down",
];

/// Requests and tokens per minute for a key, developer or team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Whose requests.
    pub scope: BudgetScope,
    /// Requests in any 60 s.
    pub requests_per_minute: Option<u64>,
    /// Prompt and answer tokens in any 60 s.
    pub tokens_per_minute: Option<u64>,
    /// What to do while Redis cannot be reached.
    pub redis_down: RedisDown,
}

/// How budgets and rate limits are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitsConfig {
    /// Redis shared by every instance (`None`: this instance's memory).
    pub redis_url: Option<String>,
    /// Reserve before forwarding (off only to measure what it prevents).
    pub reserve: bool,
    /// Longest a request waits for Redis before its limits' `redis_down`
    /// applies.
    pub redis_timeout: std::time::Duration,
    /// What spend limits set through the admin API do while Redis cannot be
    /// reached.
    pub spend_limits_redis_down: RedisDown,
}

/// Default of `[limits] redis_timeout`.
const REDIS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            redis_url: None,
            reserve: true,
            redis_timeout: REDIS_TIMEOUT,
            spend_limits_redis_down: RedisDown::Open,
        }
    }
}

fn read_one(t: &toml::Table, path: &str, errors: &mut Errors) -> Option<RateLimitConfig> {
    let s = Section::new(t, path, RATE_LIMIT_KEYS, errors);
    let scope = scope(&s, path, "a rate limit", errors);
    let redis_down = redis_down(&s, errors);
    let requests_per_minute = s.u64("requests_per_minute", errors);
    let tokens_per_minute = s.u64("tokens_per_minute", errors);
    if requests_per_minute.is_none() && tokens_per_minute.is_none() {
        errors.add(
            path,
            "a rate limit needs requests_per_minute or tokens_per_minute",
            None,
        );
    }
    Some(RateLimitConfig {
        scope: scope?,
        requests_per_minute,
        tokens_per_minute,
        redis_down,
    })
}

/// Read `[[rate_limits]]`.
pub(super) fn read_rate_limits(top: &Section<'_>, errors: &mut Errors) -> Vec<RateLimitConfig> {
    let out = super::section::tables(top, "rate_limits", errors, read_one);
    let mut seen = std::collections::HashSet::new();
    for r in &out {
        if !seen.insert(r.scope.clone()) {
            errors.add(
                "rate_limits",
                format!("two rate limits for {}", r.scope.describe()),
                Some("put requests_per_minute and tokens_per_minute in one table".into()),
            );
        }
    }
    out
}

/// Read `[limits]`; `redis_url` is the top-level one.
pub(super) fn read_limits(top: &Section<'_>, errors: &mut Errors) -> LimitsConfig {
    // Its mistakes are reported with the cache's.
    let redis_url = match top.get("redis_url") {
        Some(Value::String(u)) if !u.trim().is_empty() => Some(u.trim().to_string()),
        _ => None,
    };
    let Some(t) = top.table("limits", errors) else {
        return LimitsConfig {
            redis_url,
            ..LimitsConfig::default()
        };
    };
    let s = Section::new(t, "limits", LIMITS_KEYS, errors);
    let store = s.str("store", errors);
    if store.as_deref() == Some("redis") && redis_url.is_none() {
        errors.add(
            &s.path("store"),
            "the redis store needs redis_url",
            Some("redis_url = \"redis://127.0.0.1:6379\" at the top level".into()),
        );
    }
    let redis_url = match store.as_deref() {
        None | Some("redis") => redis_url,
        Some("local") => None,
        Some(other) => {
            errors.add(
                &s.path("store"),
                format!("unknown store '{other}'"),
                Some("redis or local".into()),
            );
            None
        }
    };
    LimitsConfig {
        redis_url,
        reserve: s.bool("reserve", errors).unwrap_or(true),
        redis_timeout: s.duration("redis_timeout", errors).unwrap_or(REDIS_TIMEOUT),
        spend_limits_redis_down: redis_down_at(&s, "spend_limits_redis_down", errors),
    }
}
