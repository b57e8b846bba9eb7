//! Token usage: the counts every request is priced on.
//!
//! [`Usage`] is the canonical count (Anthropic's split: `input_tokens`
//! excludes cache reads and writes). [`UsageReport`] is the Anthropic wire
//! form, where every field may be absent or null and a later report (a
//! stream's `message_delta`) overrides an earlier one field by field.

use serde::{Deserialize, Serialize};

/// Tokens of one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Uncached input tokens.
    pub input_tokens: u64,
    /// Output tokens (thinking included).
    pub output_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache with the 5-minute TTL.
    pub cache_write_5m_tokens: u64,
    /// Input tokens written to the cache with the 1-hour TTL.
    pub cache_write_1h_tokens: u64,
}

impl Usage {
    /// All cache writes.
    pub fn cache_write_tokens(&self) -> u64 {
        self.cache_write_5m_tokens + self.cache_write_1h_tokens
    }

    /// The whole prompt: uncached input, cache reads and cache writes.
    pub fn prompt_tokens(&self) -> u64 {
        self.input_tokens + self.cache_read_tokens + self.cache_write_tokens()
    }
}

/// The `cache_creation` split by TTL.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCreation {
    /// 5-minute writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_5m_input_tokens: Option<u64>,
    /// 1-hour writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_1h_input_tokens: Option<u64>,
}

/// Anthropic's `usage` object as it appears in messages and stream events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageReport {
    /// Uncached input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u64>,
    /// Output (cumulative in `message_delta`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u64>,
    /// All cache writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Cache reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Cache writes split by TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation: Option<CacheCreation>,
    /// Unmodelled fields (`service_tier`, `server_tool_use`, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl UsageReport {
    /// Apply this report over `usage`: fields it carries replace the old values.
    pub fn apply_to(&self, usage: &mut Usage) {
        if let Some(v) = self.input_tokens {
            usage.input_tokens = v;
        }
        if let Some(v) = self.output_tokens {
            usage.output_tokens = v;
        }
        if let Some(v) = self.cache_read_input_tokens {
            usage.cache_read_tokens = v;
        }
        let split = self.cache_creation.filter(|c| {
            c.ephemeral_5m_input_tokens.is_some() || c.ephemeral_1h_input_tokens.is_some()
        });
        match (split, self.cache_creation_input_tokens) {
            (Some(c), total) => {
                let h1 = c.ephemeral_1h_input_tokens.unwrap_or(0);
                let m5 = c.ephemeral_5m_input_tokens.unwrap_or(0);
                // Trust the total when the split does not add up to it.
                let m5 = match total {
                    Some(t) if t > m5 + h1 => t - h1,
                    _ => m5,
                };
                usage.cache_write_5m_tokens = m5;
                usage.cache_write_1h_tokens = h1;
            }
            // A total without its split (what a stream's final
            // `message_delta` carries): keep the 1-hour share already known,
            // as far as the total covers it.
            (None, Some(total)) => {
                let h1 = usage.cache_write_1h_tokens.min(total);
                usage.cache_write_5m_tokens = total - h1;
                usage.cache_write_1h_tokens = h1;
            }
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(json: &str) -> UsageReport {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn message_start_then_delta() {
        let mut u = Usage::default();
        report(r#"{"input_tokens":377,"cache_creation_input_tokens":1000,"cache_read_input_tokens":null,"output_tokens":1,"service_tier":"standard"}"#)
            .apply_to(&mut u);
        report(r#"{"output_tokens":65}"#).apply_to(&mut u);
        assert_eq!(
            u,
            Usage {
                input_tokens: 377,
                output_tokens: 65,
                cache_read_tokens: 0,
                cache_write_5m_tokens: 1000,
                cache_write_1h_tokens: 0
            }
        );
        assert_eq!(u.prompt_tokens(), 1377);
    }

    #[test]
    fn ttl_split() {
        let mut u = Usage::default();
        report(r#"{"input_tokens":5,"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}"#)
            .apply_to(&mut u);
        assert_eq!(
            (u.cache_write_5m_tokens, u.cache_write_1h_tokens),
            (100, 200)
        );
        // A split that does not add up: the remainder is priced as 5m writes.
        let mut u = Usage::default();
        report(r#"{"cache_creation_input_tokens":300,"cache_creation":{"ephemeral_1h_input_tokens":200}}"#)
            .apply_to(&mut u);
        assert_eq!(
            (u.cache_write_5m_tokens, u.cache_write_1h_tokens),
            (100, 200)
        );
    }

    #[test]
    fn a_later_total_keeps_the_ttl_split() {
        let mut u = Usage::default();
        // message_start: the split.
        report(r#"{"input_tokens":10,"cache_creation_input_tokens":3000,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":1}"#)
            .apply_to(&mut u);
        // message_delta: the same total, no split.
        report(r#"{"cache_creation_input_tokens":3000,"output_tokens":50}"#).apply_to(&mut u);
        assert_eq!(
            (u.cache_write_5m_tokens, u.cache_write_1h_tokens),
            (1000, 2000)
        );
        // A larger total: the extra is 5-minute writes.
        report(r#"{"cache_creation_input_tokens":3500}"#).apply_to(&mut u);
        assert_eq!(
            (u.cache_write_5m_tokens, u.cache_write_1h_tokens),
            (1500, 2000)
        );
        // A total alone, with nothing known before: 5-minute writes.
        let mut fresh = Usage::default();
        report(r#"{"cache_creation_input_tokens":700}"#).apply_to(&mut fresh);
        assert_eq!(
            (fresh.cache_write_5m_tokens, fresh.cache_write_1h_tokens),
            (700, 0)
        );
    }
}
