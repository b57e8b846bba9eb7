//! The fair baseline: what the baseline model would have billed for a
//! request, counting the prompt cache it would have had.
//!
//! A request served elsewhere (a local model, or another Claude model whose
//! cache was cold) reports usage without the baseline model's cache. Billing
//! the baseline for its whole prompt uncached would overstate the savings:
//! on the baseline model, an agent loop reads most of each prompt from the
//! cache. So, per Claude Code session and agent, this remembers the prompt
//! size of the last request and when it came; a request within the cache
//! TTL of the previous one (5 minutes, or 1 hour when the request wrote
//! 1-hour entries) counts that much of its prompt as a cache read and the
//! rest as a cache write, as the baseline would have billed it. Requests
//! without a session id, and requests the baseline model served itself,
//! keep their own usage.

use super::record::RequestRecord;
use crate::core::Usage;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

const TTL_1H: Duration = Duration::from_secs(3600);
/// Sessions kept before idle ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Seen {
    prompt: u64,
    at: SystemTime,
    ttl: Duration,
}

/// The baseline model's prompt cache, simulated per session and agent.
#[derive(Debug)]
pub struct BaselineCache {
    sessions: HashMap<(String, Option<String>), Seen>,
    /// The lifetime of a 5-minute entry (configurable for simulated days).
    ttl_5m: Duration,
}

impl Default for BaselineCache {
    fn default() -> Self {
        BaselineCache::new(Duration::from_secs(300))
    }
}

impl BaselineCache {
    /// A cache whose 5-minute entries live `ttl_5m`.
    pub fn new(ttl_5m: Duration) -> Self {
        BaselineCache {
            sessions: HashMap::new(),
            ttl_5m,
        }
    }

    /// The usage the baseline model would have billed for `r`; `own` when
    /// the baseline model served it (its usage is already the real one).
    pub fn usage_for(&mut self, r: &RequestRecord, own: bool) -> Usage {
        let u = r.usage;
        let prompt = u.prompt_tokens();
        let Some(session) = r.session_id.clone() else {
            return u;
        };
        let key = (session, r.agent_id.clone());
        let one_hour = u.cache_write_1h_tokens > 0;
        let ttl = if one_hour { TTL_1H } else { self.ttl_5m };
        let warm = self.sessions.get(&key).filter(|s| {
            r.started_at
                .duration_since(s.at)
                .is_ok_and(|gap| gap <= s.ttl)
        });
        let cached = warm.map_or(0, |s| s.prompt.min(prompt));
        if prompt > 0 {
            self.sessions.insert(
                key,
                Seen {
                    prompt,
                    at: r.started_at,
                    ttl,
                },
            );
            if self.sessions.len() > SWEEP_AT {
                let now = r.started_at;
                self.sessions
                    .retain(|_, s| now.duration_since(s.at).map_or(true, |gap| gap <= s.ttl));
            }
        }
        if own || prompt == 0 {
            return u;
        }
        let written = prompt - cached;
        Usage {
            input_tokens: 0,
            output_tokens: u.output_tokens,
            cache_read_tokens: cached,
            cache_write_5m_tokens: if one_hour { 0 } else { written },
            cache_write_1h_tokens: if one_hour { written } else { 0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Dialect;

    fn record(session: Option<&str>, at_secs: u64, input: u64, output: u64) -> RequestRecord {
        let mut r = RequestRecord::start("r".into(), Dialect::Anthropic, "messages");
        r.session_id = session.map(str::to_string);
        r.started_at = SystemTime::UNIX_EPOCH + Duration::from_secs(at_secs);
        r.usage = Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        };
        r
    }

    #[test]
    fn an_agent_loop_reads_its_prefix_from_the_baseline_cache() {
        let mut c = BaselineCache::default();
        // First turn: all of it written.
        let u = c.usage_for(&record(Some("s"), 1000, 20_000, 100), false);
        assert_eq!(
            (u.cache_read_tokens, u.cache_write_5m_tokens, u.input_tokens),
            (0, 20_000, 0)
        );
        // Next turn 30 s later: the previous 20K read, the new 5K written.
        let u = c.usage_for(&record(Some("s"), 1030, 25_000, 100), false);
        assert_eq!(
            (u.cache_read_tokens, u.cache_write_5m_tokens),
            (20_000, 5_000)
        );
        assert_eq!(u.output_tokens, 100);
        // After more than five idle minutes the cache is cold again.
        let u = c.usage_for(&record(Some("s"), 1400, 26_000, 100), false);
        assert_eq!((u.cache_read_tokens, u.cache_write_5m_tokens), (0, 26_000));
        // Another session is its own.
        let u = c.usage_for(&record(Some("t"), 1401, 1_000, 1), false);
        assert_eq!(u.cache_read_tokens, 0);
    }

    #[test]
    fn requests_without_a_session_or_served_by_the_baseline_keep_their_usage() {
        let mut c = BaselineCache::default();
        let r = record(None, 1000, 5000, 10);
        assert_eq!(c.usage_for(&r, false), r.usage);
        let r = record(Some("s"), 1000, 5000, 10);
        assert_eq!(c.usage_for(&r, true), r.usage);
        // …but it still warms the simulated cache for the next turn.
        let u = c.usage_for(&record(Some("s"), 1010, 6000, 10), false);
        assert_eq!(u.cache_read_tokens, 5000);
    }
}
