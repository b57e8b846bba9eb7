//! Facts shared by both sides of the OpenAI ⇄ Anthropic translation: stop
//! reasons and usage. (Anthropic's `input_tokens` excludes cached tokens;
//! OpenAI's `prompt_tokens` includes them.)

use crate::core::Usage;
use serde::Deserialize;
use serde_json::{Value, json};

/// OpenAI's `usage` object as providers send it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OpenAiUsage {
    /// All input tokens, cached included.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Breakdown of the input.
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptDetails>,
}

/// `prompt_tokens_details`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PromptDetails {
    /// Read from the provider's cache.
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    /// Written to the provider's cache (newer APIs).
    #[serde(default)]
    pub cache_write_tokens: Option<u64>,
}

impl OpenAiUsage {
    /// Canonical usage.
    pub fn to_usage(&self) -> Usage {
        let d = self.prompt_tokens_details.clone().unwrap_or_default();
        usage_from_openai(
            self.prompt_tokens,
            self.completion_tokens,
            d.cached_tokens.unwrap_or(0),
            d.cache_write_tokens.unwrap_or(0),
        )
    }
}

/// OpenAI `finish_reason` → Anthropic `stop_reason`.
pub fn stop_reason_from_finish(finish: &str) -> &'static str {
    match finish {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic `stop_reason` → OpenAI `finish_reason`.
pub fn finish_from_stop_reason(stop: &str) -> &'static str {
    match stop {
        "max_tokens" | "pause_turn" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop",
    }
}

/// Usage from OpenAI counts (`cached` is part of `prompt`).
pub fn usage_from_openai(prompt: u64, completion: u64, cached: u64, cache_write: u64) -> Usage {
    Usage {
        input_tokens: prompt.saturating_sub(cached).saturating_sub(cache_write),
        output_tokens: completion,
        cache_read_tokens: cached,
        cache_write_5m_tokens: cache_write,
        cache_write_1h_tokens: 0,
    }
}

/// The OpenAI `usage` object for canonical usage.
pub fn usage_to_openai(u: &Usage) -> Value {
    let prompt = u.prompt_tokens();
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": u.output_tokens,
        "total_tokens": prompt + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": 0},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_both_ways() {
        for (stop, finish) in [
            ("end_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "content_filter"),
        ] {
            assert_eq!(finish_from_stop_reason(stop), finish);
            assert_eq!(stop_reason_from_finish(finish), stop);
        }
        assert_eq!(finish_from_stop_reason("stop_sequence"), "stop");
        assert_eq!(finish_from_stop_reason("pause_turn"), "length");
        assert_eq!(finish_from_stop_reason("something_new"), "stop");
        assert_eq!(stop_reason_from_finish("function_call"), "tool_use");
        assert_eq!(stop_reason_from_finish("weird"), "end_turn");
    }

    #[test]
    fn usage_both_ways() {
        let u = usage_from_openai(1000, 20, 600, 0);
        assert_eq!(
            (u.input_tokens, u.cache_read_tokens, u.output_tokens),
            (400, 600, 20)
        );
        let o = usage_to_openai(&u);
        assert_eq!(o["prompt_tokens"], 1000);
        assert_eq!(o["prompt_tokens_details"]["cached_tokens"], 600);
        assert_eq!(o["total_tokens"], 1020);
    }
}
