//! What every instance of a fleet shares through Redis, so that a load
//! balancer may send any request anywhere:
//!
//! - [`breakers`]: a provider one instance finds failing is cooled down by
//!   all (published, and kept as an expiring key for late joiners);
//! - [`sessions`]: the router's memory of each Claude Code conversation
//!   (task tier, failures, which model caches its prompt and wrote which
//!   turn), so a session keeps its model and prompt cache whichever
//!   instance its next turn lands on.
//!
//! Updates travel by `PUBLISH` on one channel each; every instance
//! subscribes to both and applies what others sent, so nothing waits on
//! Redis on the request path. Without Redis, or while it is away, each
//! instance works on its own as before: sharing only ever adds knowledge.

mod breakers;
mod sessions;

use super::health::Health;
use super::session::Sessions;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::time::Duration;

/// Wait before reconnecting after Redis went away.
const RECONNECT: Duration = Duration::from_secs(1);
/// Longest a call to Redis may take.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// What this instance shares.
pub struct Shared {
    /// Its circuit breakers.
    pub health: Arc<Health>,
    /// Its conversations, and the number of tiers their ranks index.
    pub sessions: (Arc<Sessions>, usize),
}

/// A client for `url` and a connection to it that connects lazily and
/// reconnects on its own, each call bounded by `timeout`, as everything the
/// instances share through Redis uses (breakers and sessions here, the
/// response cache, budget and rate-limit counters). A bad URL is an error
/// now; Redis being down is not.
pub fn connect(url: &str, timeout: Duration) -> Result<(redis::Client, ConnectionManager), String> {
    let client = redis::Client::open(url).map_err(|e| format!("redis_url: {e}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1);
    let conn = client
        .get_connection_manager_lazy(config)
        .map_err(|e| format!("redis_url: {e}"))?;
    Ok((client, conn))
}

/// Share breakers and sessions through Redis at `url`: tasks publish this
/// instance's updates and apply the others'. A bad URL is an error now;
/// Redis being down is not (it is retried).
pub fn share(shared: Shared, url: &str) -> Result<(), String> {
    let (client, conn) = connect(url, CALL_TIMEOUT)?;
    let (Some(openings), Some(updates)) = (
        shared.health.report_openings(),
        shared.sessions.0.report_updates(),
    ) else {
        return Ok(()); // already shared
    };
    let instance = uuid::Uuid::now_v7().simple().to_string();
    tokio::spawn(breakers::publish(conn.clone(), openings, instance.clone()));
    tokio::spawn(sessions::publish(conn.clone(), updates, instance.clone()));
    tokio::spawn(subscribe(client, conn, shared, instance));
    Ok(())
}

async fn subscribe(
    client: redis::Client,
    conn: ConnectionManager,
    shared: Shared,
    instance: String,
) {
    loop {
        if let Err(e) = listen(&client, conn.clone(), &shared, &instance).await {
            tracing::debug!(error = %e, "fleet sharing: Redis away, retrying");
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

async fn listen(
    client: &redis::Client,
    conn: ConnectionManager,
    shared: &Shared,
    instance: &str,
) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub
        .subscribe(&[breakers::CHANNEL, sessions::CHANNEL])
        .await?;
    breakers::catch_up(conn, &shared.health).await?;
    let mut messages = pubsub.on_message();
    while let Some(m) = messages.next().await {
        let Ok(text) = m.get_payload::<String>() else {
            continue;
        };
        if m.get_channel_name() == breakers::CHANNEL {
            breakers::apply(&text, instance, &shared.health);
        } else {
            let (sessions, tiers) = &shared.sessions;
            sessions::apply(&text, instance, sessions, *tiers);
        }
    }
    Ok(())
}
