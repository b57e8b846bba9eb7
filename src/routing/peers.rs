//! Circuit breakers shared by every instance through Redis: a provider one
//! instance finds failing is skipped by all. When a breaker opens here its
//! target and cool-down are published (`PUBLISH`) and kept as a key that
//! expires with the cool-down; every instance subscribes and cools the same
//! target down at once, and one that starts (or reconnects) later reads the
//! keys still alive. Without Redis, or while it is away, each instance's
//! breakers work on their own as before: sharing only ever adds cool-downs.

use super::health::{Health, Opened};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;

const CHANNEL: &str = "switchyard:breakers:v1";
const KEY_PREFIX: &str = "switchyard:breaker:v1:";
/// Wait before reconnecting after Redis went away.
const RECONNECT: Duration = Duration::from_secs(1);
/// Longest a call to Redis may take.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// Share `health`'s breakers through Redis at `url`: one task publishes
/// this instance's openings, one applies the others'. A bad URL is an error
/// now; Redis being down is not (it is retried).
pub fn share(health: Arc<Health>, url: &str) -> Result<(), String> {
    let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CALL_TIMEOUT))
        .set_response_timeout(Some(CALL_TIMEOUT))
        .set_number_of_retries(1);
    let conn = client
        .get_connection_manager_lazy(config)
        .map_err(|e| format!("redis_url: {e}"))?;
    let Some(openings) = health.report_openings() else {
        return Ok(()); // already shared
    };
    let instance = uuid::Uuid::now_v7().simple().to_string();
    tokio::spawn(publish(conn.clone(), openings, instance.clone()));
    tokio::spawn(subscribe(client, conn, health, instance));
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

async fn subscribe(
    client: redis::Client,
    conn: ConnectionManager,
    health: Arc<Health>,
    instance: String,
) {
    loop {
        if let Err(e) = listen(&client, conn.clone(), &health, &instance).await {
            tracing::debug!(error = %e, "shared breakers: Redis away, retrying");
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

async fn listen(
    client: &redis::Client,
    conn: ConnectionManager,
    health: &Health,
    instance: &str,
) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    catch_up(conn, health).await?;
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
async fn catch_up(mut conn: ConnectionManager, health: &Health) -> redis::RedisResult<()> {
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
