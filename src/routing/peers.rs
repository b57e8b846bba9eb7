//! Circuit breakers shared by every instance through Redis: a provider one
//! instance finds failing is skipped by all. When a breaker opens here its
//! target and cool-down are published (`PUBLISH`) and kept as a key that
//! expires with the cool-down; every instance subscribes and cools the same
//! target down at once, and one that starts (or reconnects) later reads the
//! keys still alive. Without Redis, or while it is away, each instance's
//! breakers work on their own as before: sharing only ever adds cool-downs.

use super::health::{Health, Opened};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

const CHANNEL: &str = "switchyard:breakers:v1";
const KEY_PREFIX: &str = "switchyard:breaker:v1:";
/// Wait before reconnecting after Redis went away.
const RECONNECT: Duration = Duration::from_secs(1);
/// Longest a publish may take.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Share `health`'s breakers through Redis at `url`: one task publishes
/// this instance's openings, one applies the others'. A bad URL is an error
/// now; Redis being down is not (it is retried).
pub fn share(health: Arc<Health>, url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
    let Some(openings) = health.report_openings() else {
        return Ok(()); // already shared
    };
    let instance = uuid::Uuid::now_v7().simple().to_string();
    tokio::spawn(publish(client.clone(), openings, instance.clone()));
    tokio::spawn(subscribe(client, health, instance));
    Ok(())
}

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

async fn publish(
    client: redis::Client,
    mut openings: tokio::sync::mpsc::UnboundedReceiver<Opened>,
    instance: String,
) {
    let mut conn: Option<redis::aio::MultiplexedConnection> = None;
    while let Some(o) = openings.recv().await {
        if conn.is_none() {
            conn = tokio::time::timeout(CALL_TIMEOUT, client.get_multiplexed_async_connection())
                .await
                .ok()
                .and_then(Result::ok);
        }
        let Some(c) = conn.as_mut() else {
            tracing::debug!(target = %o.target, "Redis away: breaker opening not shared");
            continue;
        };
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
        let sent = tokio::time::timeout(CALL_TIMEOUT, pipe.query_async::<()>(c)).await;
        if !matches!(sent, Ok(Ok(()))) {
            tracing::debug!(target = %o.target, "breaker opening not shared: Redis did not answer");
            conn = None;
        }
    }
}

async fn subscribe(client: redis::Client, health: Arc<Health>, instance: String) {
    loop {
        if let Err(e) = listen(&client, &health, &instance).await {
            tracing::debug!(error = %e, "shared breakers: Redis away, retrying");
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

async fn listen(client: &redis::Client, health: &Health, instance: &str) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    catch_up(client, health).await?;
    let mut messages = pubsub.on_message();
    while let Some(m) = messages.next().await {
        let Ok(text) = m.get_payload::<String>() else {
            continue;
        };
        if let Some((from, cooldown, target)) = parse(&text)
            && from != instance
        {
            health.open_from_peer(target, cooldown, cooldown);
        }
    }
    Ok(())
}

/// Apply the openings still alive (an instance that starts, or comes back
/// to Redis, learns what the others found meanwhile).
async fn catch_up(client: &redis::Client, health: &Health) -> redis::RedisResult<()> {
    use redis::AsyncCommands;
    let mut conn = client.get_multiplexed_async_connection().await?;
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
