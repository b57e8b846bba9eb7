//! What a model costs: per-million-token rates for each kind of token, and
//! the exact cost of a usage in USD (`rust_decimal`, never floats).

use super::Usage;
use rust_decimal::Decimal;
use serde::Serialize;

/// Where long-context rates start when a price does not say (Anthropic's
/// 1M-context tier for Sonnet 4 and 4.5).
pub const LONG_CONTEXT_TOKENS: u64 = 200_000;

/// Per-million-token prices of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Rates {
    /// Uncached input.
    pub input: Decimal,
    /// Output.
    pub output: Decimal,
    /// Cache writes, 5-minute TTL.
    pub cache_write_5m: Decimal,
    /// Cache writes, 1-hour TTL.
    pub cache_write_1h: Decimal,
    /// Cache reads.
    pub cache_read: Decimal,
}

/// A long-context tier: every token of a request whose prompt (input, cache
/// writes and cache reads) is over `above` tokens is billed at `rates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LongContext {
    /// The prompt size the tier starts after.
    pub above: u64,
    /// Its rates.
    pub rates: Rates,
}

/// A model's prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Price {
    /// The normal rates.
    pub base: Rates,
    /// The long-context tier, for models that have one.
    pub long_context: Option<LongContext>,
}

impl Price {
    /// A model that costs nothing (a local one).
    pub fn free() -> Self {
        Price::default()
    }

    /// Exact cost of `usage` in USD.
    pub fn cost(&self, usage: &Usage) -> Decimal {
        let rates = match self.long_context {
            Some(long) if usage.prompt_tokens() > long.above => long.rates,
            _ => self.base,
        };
        let per = |tokens: u64, rate: Decimal| Decimal::from(tokens) * rate;
        (per(usage.input_tokens, rates.input)
            + per(usage.output_tokens, rates.output)
            + per(usage.cache_write_5m_tokens, rates.cache_write_5m)
            + per(usage.cache_write_1h_tokens, rates.cache_write_1h)
            + per(usage.cache_read_tokens, rates.cache_read))
            / Decimal::from(1_000_000)
    }
}
