//! Circuit breakers shared by every instance: when a breaker opens here
//! its target and cool-down are published and kept as a key that expires
//! with the cool-down; every other instance cools the same target down at
//! once, and one that starts (or reconnects) later reads the keys still
//! alive. Sharing only ever adds cool-downs.

use crate::routing::health::{Health, Opened};
use redis::aio::ConnectionManager;
use std::time::Duration;

pub(super) const CHANNEL: &str = "switchyard:breakers:v1";
const KEY_PREFIX: &str = "switchyard:breaker:v1:";

fn message(instance: &str, o: &Opened) -> String {
    format!("{instance}\t{}\t{}", o.cooldown.as_millis(), o.target)
}

/// `(instance, cool-down, target)` of a published opening.
fn parse(text: &str) -> Option<(&str, Duration, &str)> {
    let mut parts = text.splitn(3, '\t');
    let instance = parts.next()?;
    let ms: u64 = parts.next()?.parse().ok()?;
    let target = parts.next().filter(|t| !t.is_empty())?;
    Some((instance, Duration::from_millis(ms), target))
}

pub(super) async fn publish(
    mut conn: ConnectionManager,
    mut openings: tokio::sync::mpsc::UnboundedReceiver<Opened>,
    instance: String,
) {
    while let Some(o) = openings.recv().await {
        let ms = o.cooldown.as_millis().max(1) as u64;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(format!("{KEY_PREFIX}{}", o.target))
            .arg(ms)
            .arg("PX")
            .arg(ms)
            .ignore()
            .cmd("PUBLISH")
            .arg(CHANNEL)
            .arg(message(&instance, &o))
            .ignore();
        // The connection manager bounds the call and reconnects later.
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::debug!(target = %o.target, error = %e, "breaker opening not shared");
        }
    }
}

/// Apply another instance's published opening.
pub(super) fn apply(text: &str, instance: &str, health: &Health) {
    if let Some((from, cooldown, target)) = parse(text)
        && from != instance
    {
        health.open_from_peer(target, cooldown, cooldown);
    }
}

/// Apply the openings still alive (an instance that starts, or comes back
/// to Redis, learns what the others found meanwhile).
pub(super) async fn catch_up(
    mut conn: ConnectionManager,
    health: &Health,
) -> redis::RedisResult<()> {
    use redis::AsyncCommands;
    let mut keys = Vec::new();
    {
        let mut found: redis::AsyncIter<String> = conn.scan_match(format!("{KEY_PREFIX}*")).await?;
        while let Some(k) = found.next_item().await {
            keys.push(k?);
        }
    }
    for key in keys {
        let (left, cooldown): (i64, Option<u64>) = redis::pipe()
            .cmd("PTTL")
            .arg(&key)
            .cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await?;
        if let (Ok(left), Some(cooldown), Some(target)) =
            (u64::try_from(left), cooldown, key.strip_prefix(KEY_PREFIX))
        {
            health.open_from_peer(
                target,
                Duration::from_millis(left),
                Duration::from_millis(cooldown),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_bad_ones_are_ignored() {
        let o = Opened {
            target: "anthropic/claude-x\twith tab".into(),
            cooldown: Duration::from_millis(1500),
        };
        let text = message("abc", &o);
        assert_eq!(
            parse(&text),
            Some((
                "abc",
                Duration::from_millis(1500),
                "anthropic/claude-x\twith tab"
            ))
        );
        assert_eq!(parse("abc\tx\tt"), None);
        assert_eq!(parse("abc\t5"), None);
        assert_eq!(parse("abc\t5\t"), None);
    }
}
