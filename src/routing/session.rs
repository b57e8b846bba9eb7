//! What the router remembers of an agent conversation between its
//! requests — the tier its task was planned on, the tier of its latest
//! turn, its failures so far, and which models hold its prompt in their
//! cache — and the cost model that prices a turn on a candidate from that.
//!
//! The cost model is what makes a session sticky or not. A model that
//! served the conversation's previous turn within the cache's lifetime
//! holds the whole prompt (Claude Code marks the last block of every
//! request), so staying costs cache reads; a model that did not must write
//! the prompt first. Each candidate is priced over a short horizon of
//! turns — the first one with the cache as it is, the rest reading what the
//! first wrote — with the answer sizes typical of the kind of turn.

use crate::core::{Price, Usage};
use rust_decimal::Decimal;
use std::time::{Duration, Instant};

/// Turns a choice is expected to hold for (the first plus three more).
pub const HORIZON: u64 = 4;
/// Tokens a loop adds per turn: a tool call and its result.
pub const GROWTH_TOKENS: u64 = 1_500;
/// Expected answer tokens of a tool step.
pub const ANSWER_TOKENS_TOOL_STEP: u64 = 400;
/// Expected answer tokens of a person's turn (planning).
pub const ANSWER_TOKENS_HUMAN: u64 = 1_200;

/// A model that holds (part of) the conversation in its prompt cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    /// The configured model.
    pub model: String,
    /// Prompt tokens cached.
    pub tokens: u64,
    /// When it was last written or read.
    pub at: Instant,
}

/// One conversation's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Memory {
    /// The tier rank its current task was planned on.
    pub task_rank: usize,
    /// The tier rank of its latest turn.
    pub last_rank: usize,
    /// Failure signals since the task was planned.
    pub failures: u32,
    /// Models holding its prompt.
    pub cached: Vec<Cached>,
    /// Which model wrote each assistant turn served so far (its index in
    /// `messages`), so another model is not sent its thinking signatures.
    pub authors: Vec<(usize, String)>,
}

impl Memory {
    /// A new conversation planned on `rank`.
    pub fn new(rank: usize) -> Self {
        Memory {
            task_rank: rank,
            last_rank: rank,
            failures: 0,
            cached: Vec::new(),
            authors: Vec::new(),
        }
    }

    /// Turns written by a model other than `model`.
    pub fn written_by_others(&self, model: &str) -> Vec<usize> {
        self.authors
            .iter()
            .filter(|(_, m)| m != model)
            .map(|(i, _)| *i)
            .collect()
    }

    /// `model` answered a request of `messages` turns: its answer is turn
    /// `messages` of the next request.
    pub fn answered(&mut self, messages: usize, model: &str) {
        const KEPT: usize = 512;
        self.authors.retain(|(i, _)| *i < messages);
        if self.authors.len() >= KEPT {
            self.authors.remove(0);
        }
        self.authors.push((messages, model.to_string()));
    }

    /// Prompt tokens `model` holds now (0 once the cache has expired).
    pub fn cached_on(&self, model: &str, ttl: Duration, now: Instant) -> u64 {
        self.cached
            .iter()
            .find(|c| c.model == model && now.saturating_duration_since(c.at) < ttl)
            .map_or(0, |c| c.tokens)
    }

    /// `model` was sent `tokens` of prompt at `now` (it caches them).
    pub fn wrote(&mut self, model: &str, tokens: u64, now: Instant, ttl: Duration) {
        self.cached
            .retain(|c| c.model != model && now.saturating_duration_since(c.at) < ttl);
        self.cached.push(Cached {
            model: model.to_string(),
            tokens,
            at: now,
        });
    }
}

/// A turn to price.
#[derive(Debug, Clone, Copy)]
pub struct TurnShape {
    /// Its prompt, in tokens.
    pub prompt: u64,
    /// Expected answer tokens.
    pub answer: u64,
    /// The client marks cache breakpoints (else nothing is cached).
    pub cache_marked: bool,
}

/// Expected cost of serving `turn` and the horizon's later turns on a
/// model whose cache holds `cached` tokens of it.
pub fn expected_cost(price: &Price, turn: TurnShape, cached: u64) -> Decimal {
    let usage = |prompt: u64, cached: u64| {
        if turn.cache_marked {
            let read = cached.min(prompt);
            Usage {
                cache_read_tokens: read,
                cache_write_5m_tokens: prompt - read,
                output_tokens: turn.answer,
                ..Usage::default()
            }
        } else {
            Usage {
                input_tokens: prompt,
                output_tokens: turn.answer,
                ..Usage::default()
            }
        }
    };
    let mut total = price.cost(&usage(turn.prompt, cached));
    let mut prompt = turn.prompt;
    for _ in 1..HORIZON {
        let before = prompt;
        prompt += GROWTH_TOKENS;
        total += price.cost(&usage(prompt, before));
    }
    total
}

/// A conversation's key: its Claude Code session id and its fingerprint.
pub type SessionKey = (String, u64);

/// Conversations remembered, by session and conversation fingerprint.
#[derive(Debug)]
pub struct Sessions {
    memory: moka::sync::Cache<SessionKey, Memory>,
    /// How long a prompt stays in a provider's cache.
    pub cache_ttl: Duration,
    /// Where this instance's updates go to be shared (`routing::peers`).
    peers: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<(SessionKey, Memory)>>,
}

impl Sessions {
    /// Remember conversations until idle for `idle`.
    pub fn new(idle: Duration, cache_ttl: Duration) -> Self {
        Sessions {
            memory: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(idle)
                .build(),
            cache_ttl,
            peers: std::sync::OnceLock::new(),
        }
    }

    /// A conversation's memory.
    pub fn get(&self, key: &SessionKey) -> Option<Memory> {
        self.memory.get(key)
    }

    /// Keep a conversation's memory (and share it, when shared).
    pub fn put(&self, key: SessionKey, memory: Memory) {
        if let Some(peers) = self.peers.get() {
            let _ = peers.send((key.clone(), memory.clone()));
        }
        self.memory.insert(key, memory);
    }

    /// Report every update from now on; `None` when already reporting.
    pub fn report_updates(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<(SessionKey, Memory)>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.peers.set(tx).ok()?;
        Some(rx)
    }

    /// Another instance served the conversation: keep its memory here too
    /// (without sharing it again).
    pub fn put_from_peer(&self, key: SessionKey, memory: Memory) {
        self.memory.insert(key, memory);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::Rates;

    /// A price from per-MTok rates (cache writes of both lifetimes alike).
    pub(crate) fn price(input: &str, output: &str, write: &str, read: &str) -> Price {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        Price {
            base: Rates {
                input: d(input),
                output: d(output),
                cache_write_5m: d(write),
                cache_write_1h: d(write),
                cache_read: d(read),
            },
            long_context: None,
        }
    }

    const STEP: TurnShape = TurnShape {
        prompt: 150_000,
        answer: ANSWER_TOKENS_TOOL_STEP,
        cache_marked: true,
    };

    #[test]
    fn a_warm_cache_can_make_the_dearer_model_cheaper() {
        // A long session: Sonnet 4.5 with its cache warm against Haiku 4.5 cold.
        let sonnet = price("3", "15", "3.75", "0.3");
        let haiku = price("1", "5", "1.25", "0.1");
        let stay = expected_cost(&sonnet, STEP, 150_000);
        let switch = expected_cost(&haiku, STEP, 0);
        assert!(stay < switch, "stay {stay} switch {switch}");
        // Both cold: the cheaper model wins.
        assert!(expected_cost(&haiku, STEP, 0) < expected_cost(&sonnet, STEP, 0));
    }

    #[test]
    fn at_current_prices_the_step_down_pays_even_cold() {
        // Sonnet 5.5 warm against Haiku 5.5 cold.
        let sonnet = price("2", "10", "2.5", "0.1");
        let haiku = price("0.1", "0.5", "0.125", "0.01");
        assert!(expected_cost(&haiku, STEP, 0) < expected_cost(&sonnet, STEP, 150_000));
    }

    #[test]
    fn uncached_requests_pay_full_input_every_turn() {
        let p = price("3", "15", "3.75", "0.3");
        let cold = TurnShape {
            cache_marked: false,
            ..STEP
        };
        assert_eq!(
            expected_cost(&p, cold, 150_000),
            expected_cost(&p, cold, 0),
            "no breakpoints, no cache"
        );
    }

    #[test]
    fn memory_forgets_expired_caches() {
        let now = Instant::now();
        let ttl = Duration::from_secs(300);
        let mut m = Memory::new(2);
        m.wrote("sonnet", 10_000, now, ttl);
        assert_eq!(m.cached_on("sonnet", ttl, now), 10_000);
        assert_eq!(m.cached_on("haiku", ttl, now), 0);
        let later = now + Duration::from_secs(301);
        assert_eq!(m.cached_on("sonnet", ttl, later), 0);
        m.wrote("haiku", 12_000, later, ttl);
        assert_eq!(m.cached.len(), 1, "the expired entry is dropped");
    }
}
