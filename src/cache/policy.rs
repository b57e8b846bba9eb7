//! Whether a request may use the cache, and how: agent-safe by default.
//!
//! - Agent turns (tools offered, or tool results carried) are cached only
//!   where a route says `cache = { agents = true }`.
//! - The semantic cache also refuses conversations longer than `max_turns`
//!   messages, tool results, and an explicit `temperature` above 0, unless
//!   the route caches agents.
//! - `cache-control: no-store` skips the cache entirely; `no-cache` skips
//!   the lookup but stores the fresh answer.

use crate::config::{CacheConfig, RouteCache};
use crate::core::RawRequest;
use crate::core::TurnRole;
use http::HeaderMap;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Leave the cache out, for this reason.
    Skip(&'static str),
    /// Use it.
    Use {
        /// Look up an exact match.
        exact: bool,
        /// Look up a semantic match.
        semantic: bool,
        /// Look up at all (`no-cache` only stores).
        lookup: bool,
    },
}

/// What the request's body says about it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Facts {
    /// Tools are offered.
    pub tools: bool,
    /// A tool result (or OpenAI tool message / call) is in the conversation.
    pub tool_results: bool,
    /// Messages in the conversation.
    pub turns: usize,
    /// `temperature`, when set.
    pub temperature: Option<f64>,
}

impl Facts {
    /// Read the facts of a request.
    pub fn of(raw: &RawRequest) -> Facts {
        let tool_results = raw.messages().iter().any(|m| {
            m.role == TurnRole::Tool
                || m.has_tool_calls
                || (m.role == TurnRole::User
                    && memchr::memmem::find(raw.content_of(m), b"\"tool_result\"").is_some())
        });
        Facts {
            tools: raw.has_tools(),
            tool_results,
            turns: raw.messages().len(),
            temperature: raw.temperature(),
        }
    }
}

/// Whether the client asked for a cached answer or none
/// (`cache-control: only-if-cached`).
pub fn only_if_cached(headers: &HeaderMap) -> bool {
    directive(headers, "only-if-cached")
}

/// `cache-control` directives the client sent.
fn directive(headers: &HeaderMap, name: &str) -> bool {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| d.trim().eq_ignore_ascii_case(name))
}

/// Decide for a request on a route.
pub fn decide(
    config: &CacheConfig,
    route: &RouteCache,
    facts: &Facts,
    headers: &HeaderMap,
) -> Decision {
    if directive(headers, "no-store") {
        return Decision::Skip("no-store");
    }
    let exact_on = route.exact.or(config.defaults.exact).unwrap_or(true);
    let semantic_on =
        route.semantic.or(config.defaults.semantic).unwrap_or(false) && config.semantic.is_some();
    let agents = route.agents.or(config.defaults.agents).unwrap_or(false);
    if (facts.tools || facts.tool_results) && !agents {
        return Decision::Skip("agent turn");
    }
    let semantic = semantic_on
        && (agents
            || (!facts.tool_results
                && facts.turns <= config.semantic.as_ref().map_or(1, |s| s.max_turns)
                && facts.temperature.is_none_or(|t| t <= 0.0)));
    if !exact_on && !semantic {
        return Decision::Skip(if semantic_on {
            "not a single question"
        } else {
            "off for this route"
        });
    }
    Decision::Use {
        exact: exact_on,
        semantic,
        lookup: !directive(headers, "no-cache"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EmbedderConfig, SemanticConfig};
    use http::HeaderValue;

    fn config(semantic: bool) -> CacheConfig {
        let mut c = CacheConfig::default();
        c.defaults.semantic = Some(semantic);
        c.semantic = Some(SemanticConfig {
            embedder: EmbedderConfig::Ollama {
                base_url: "http://127.0.0.1:1".into(),
                model: "m".into(),
            },
            threshold: 0.92,
            explained_threshold: 0.8,
            max_turns: 1,
            max_vectors: 10,
        });
        c
    }

    fn facts(tools: bool, tool_results: bool, turns: usize, temperature: Option<f64>) -> Facts {
        Facts {
            tools,
            tool_results,
            turns,
            temperature,
        }
    }

    const USE: Decision = Decision::Use {
        exact: true,
        semantic: false,
        lookup: true,
    };

    #[test]
    fn agent_turns_need_a_route_that_wants_them() {
        let c = config(false);
        let none = HeaderMap::new();
        let d = |route: RouteCache, f: Facts| decide(&c, &route, &f, &none);
        assert_eq!(d(RouteCache::default(), facts(false, false, 1, None)), USE);
        assert_eq!(
            d(RouteCache::default(), facts(true, false, 1, None)),
            Decision::Skip("agent turn")
        );
        assert_eq!(
            d(RouteCache::default(), facts(false, true, 3, None)),
            Decision::Skip("agent turn")
        );
        let agents = RouteCache {
            agents: Some(true),
            ..RouteCache::default()
        };
        assert_eq!(d(agents, facts(true, true, 9, Some(1.0))), USE);
        let off = RouteCache {
            exact: Some(false),
            ..RouteCache::default()
        };
        assert_eq!(
            d(off, facts(false, false, 1, None)),
            Decision::Skip("off for this route")
        );
    }

    #[test]
    fn semantic_only_for_single_cold_questions() {
        let c = config(true);
        let none = HeaderMap::new();
        let semantic = |f: Facts| match decide(&c, &RouteCache::default(), &f, &none) {
            Decision::Use { semantic, .. } => semantic,
            Decision::Skip(_) => false,
        };
        assert!(semantic(facts(false, false, 1, None)));
        assert!(semantic(facts(false, false, 1, Some(0.0))));
        assert!(
            !semantic(facts(false, false, 1, Some(0.7))),
            "temperature above 0"
        );
        assert!(
            !semantic(facts(false, false, 3, None)),
            "a longer conversation"
        );
        let agents = RouteCache {
            agents: Some(true),
            ..RouteCache::default()
        };
        assert_eq!(
            decide(&c, &agents, &facts(true, true, 5, Some(1.0)), &none),
            Decision::Use {
                exact: true,
                semantic: true,
                lookup: true
            }
        );
    }

    #[test]
    fn cache_control_headers_are_honoured() {
        let c = config(false);
        let mut h = HeaderMap::new();
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        let f = facts(false, false, 1, None);
        assert_eq!(
            decide(&c, &RouteCache::default(), &f, &h),
            Decision::Use {
                exact: true,
                semantic: false,
                lookup: false
            }
        );
        h.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("max-age=0, No-Store"),
        );
        assert_eq!(
            decide(&c, &RouteCache::default(), &f, &h),
            Decision::Skip("no-store")
        );
    }
}
