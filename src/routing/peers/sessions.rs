//! The router's conversation memory shared by every instance: each time an
//! instance serves a turn of a Claude Code session it publishes what it now
//! remembers of that conversation, and the others keep it, so the next turn
//! is routed the same wherever it lands (the task's tier, the failures so
//! far, which model holds the prompt in its cache, who signed which
//! thinking block).
//!
//! Cache ages travel as "milliseconds ago", not as clock times, so the
//! instances' clocks need not agree. A message naming a tier this instance
//! does not have (a fleet whose configs differ) is dropped.

use crate::routing::session::{Cached, Memory, SessionKey, Sessions};
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub(super) const CHANNEL: &str = "switchyard:sessions:v1";
/// Updates sent to Redis in one round trip at most.
const BATCH: usize = 64;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Wire {
    from: String,
    session: String,
    conversation: u64,
    task: usize,
    last: usize,
    failures: u32,
    /// `(model, tokens, milliseconds since written)`.
    cached: Vec<(String, u64, u64)>,
    authors: Vec<(usize, String)>,
}

fn encode(instance: &str, key: &SessionKey, m: &Memory, now: Instant) -> Option<String> {
    let wire = Wire {
        from: instance.to_string(),
        session: key.0.clone(),
        conversation: key.1,
        task: m.task_rank,
        last: m.last_rank,
        failures: m.failures,
        cached: m
            .cached
            .iter()
            .map(|c| {
                let age = now.saturating_duration_since(c.at).as_millis();
                (
                    c.model.clone(),
                    c.tokens,
                    u64::try_from(age).unwrap_or(u64::MAX),
                )
            })
            .collect(),
        authors: m.authors.clone(),
    };
    serde_json::to_string(&wire).ok()
}

/// The key and memory of another instance's message (`None` for this
/// instance's own, a malformed one, or ranks beyond `tiers`).
fn decode(text: &str, instance: &str, tiers: usize, now: Instant) -> Option<(SessionKey, Memory)> {
    let w: Wire = serde_json::from_str(text).ok()?;
    if w.from == instance || w.task >= tiers.max(1) || w.last >= tiers.max(1) {
        return None;
    }
    let cached = w
        .cached
        .into_iter()
        .filter_map(|(model, tokens, age)| {
            let at = now.checked_sub(Duration::from_millis(age))?;
            Some(Cached { model, tokens, at })
        })
        .collect();
    let memory = Memory {
        task_rank: w.task,
        last_rank: w.last,
        failures: w.failures,
        cached,
        authors: w.authors,
    };
    Some(((w.session, w.conversation), memory))
}

/// Publish this instance's updates, a batch per round trip.
pub(super) async fn publish(
    mut conn: ConnectionManager,
    mut updates: tokio::sync::mpsc::UnboundedReceiver<(SessionKey, Memory)>,
    instance: String,
) {
    while let Some(first) = updates.recv().await {
        let now = Instant::now();
        let mut pipe = redis::pipe();
        let mut next = Some(first);
        let mut n = 0;
        while let Some((key, memory)) = next.take() {
            if let Some(text) = encode(&instance, &key, &memory, now) {
                pipe.cmd("PUBLISH").arg(CHANNEL).arg(text).ignore();
            }
            n += 1;
            if n < BATCH {
                next = updates.try_recv().ok();
            }
        }
        // The connection manager bounds the call and reconnects later.
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::debug!(error = %e, updates = n, "session memory not shared");
        }
    }
}

/// Keep another instance's published memory of a conversation.
pub(super) fn apply(text: &str, instance: &str, sessions: &Sessions, tiers: usize) {
    if let Some((key, memory)) = decode(text, instance, tiers, Instant::now()) {
        sessions.put_from_peer(key, memory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(now: Instant) -> Memory {
        let mut m = Memory::new(2);
        m.last_rank = 1;
        m.failures = 1;
        m.wrote(
            "sonnet",
            40_000,
            now - Duration::from_secs(30),
            Duration::from_secs(300),
        );
        m.answered(1, "sonnet");
        m.answered(3, "haiku");
        m
    }

    #[test]
    fn memory_travels_whole_with_cache_ages_not_clock_times() {
        let now = Instant::now();
        let key = ("sess\twith tab".to_string(), u64::MAX);
        let text = encode("a", &key, &memory(now), now).unwrap();
        // Received two seconds later (by the receiver's clock).
        let later = now + Duration::from_secs(2);
        let (got_key, got) = decode(&text, "b", 3, later).unwrap();
        assert_eq!(got_key, key);
        let want = memory(now);
        assert_eq!(
            (got.task_rank, got.last_rank, got.failures, &got.authors),
            (want.task_rank, want.last_rank, want.failures, &want.authors)
        );
        assert_eq!(got.cached.len(), 1);
        assert_eq!(got.cached[0].tokens, 40_000);
        // Written 30 s before sending, as seen on arrival.
        assert_eq!(
            later.duration_since(got.cached[0].at),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn own_malformed_and_foreign_tier_messages_are_dropped() {
        let now = Instant::now();
        let key = ("s".to_string(), 7);
        let text = encode("a", &key, &memory(now), now).unwrap();
        assert!(decode(&text, "a", 3, now).is_none(), "its own");
        assert!(
            decode(&text, "b", 2, now).is_none(),
            "task rank 2 of 2 tiers"
        );
        assert!(decode("{\"from\":\"x\"}", "b", 3, now).is_none());
        assert!(decode("not json", "b", 3, now).is_none());
    }
}
