//! The Redis store, shared by every instance pointed at the same server.
//!
//! Entries are `SET … PX ttl` under `switchyard:cache:v1:e:{key}`; the
//! semantic vectors of a scope are one hash, `…:v:{scope}`, field = entry
//! key, value = little-endian f32s, scanned on lookup. Every call is bounded
//! by a short timeout; when Redis fails the cache is skipped for a moment
//! (with a warning at most every 30 s) and requests go on without it.

// The outage timestamps are locked for a read or a write, never across an await.
#![allow(clippy::disallowed_types)]

use super::entry::Entry;
use super::key::{Key, hex};
use super::memory::{Candidate, best};
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

const PREFIX: &str = "switchyard:cache:v1:";
/// Longest any Redis call may take before the cache is skipped.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How long to stay away after a failure.
const BACKOFF: Duration = Duration::from_secs(2);

/// A Redis-backed store.
pub struct RedisStore {
    conn: ConnectionManager,
    ttl: Duration,
    max_vectors: usize,
    down_until: Mutex<Option<Instant>>,
    warned_at: Mutex<Option<Instant>>,
}

fn entry_key(key: &Key) -> String {
    format!("{PREFIX}e:{}", hex(key))
}

fn scope_key(scope: &Key) -> String {
    format!("{PREFIX}v:{}", hex(scope))
}

/// `[dims u32][dims × f32][question text]`, little-endian.
fn indexed_bytes(v: &[f32], text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 * v.len() + text.len());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
    out.extend_from_slice(text.as_bytes());
    out
}

fn indexed_from(bytes: &[u8]) -> Option<(Vec<f32>, Arc<str>)> {
    let dims = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = 4 + 4 * dims;
    let v = bytes
        .get(4..end)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let text = std::str::from_utf8(bytes.get(end..)?).ok()?;
    Some((v, Arc::from(text)))
}

fn key_from_hex(s: &str) -> Option<Key> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl RedisStore {
    /// A store on `url` (connects lazily; a bad URL is an error now).
    pub fn new(url: &str, ttl: Duration, max_vectors: usize) -> Result<Self, String> {
        let (_, conn) = crate::routing::peers::connect(url, CALL_TIMEOUT)?;
        Ok(RedisStore {
            conn,
            ttl,
            max_vectors: max_vectors.max(1),
            down_until: Mutex::new(None),
            warned_at: Mutex::new(None),
        })
    }

    fn available(&self) -> bool {
        match self.down_until.lock() {
            Ok(d) => d.is_none_or(|t| Instant::now() >= t),
            Err(_) => true,
        }
    }

    fn failed(&self, what: &str, error: &dyn std::fmt::Display) {
        let now = Instant::now();
        if let Ok(mut d) = self.down_until.lock() {
            *d = Some(now + BACKOFF);
        }
        metrics::counter!("switchyard_cache_backend_errors_total").increment(1);
        if let Ok(mut w) = self.warned_at.lock()
            && w.is_none_or(|t| now.duration_since(t) > Duration::from_secs(30))
        {
            *w = Some(now);
            tracing::warn!(error = %error, "Redis cache unavailable ({what}); serving without the cache");
        }
    }

    async fn run<T: redis::FromRedisValue>(&self, what: &str, cmd: redis::Cmd) -> Option<T> {
        if !self.available() {
            return None;
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(CALL_TIMEOUT, cmd.query_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Some(v),
            Ok(Err(e)) => {
                self.failed(what, &e);
                None
            }
            Err(_) => {
                self.failed(what, &"timed out");
                None
            }
        }
    }

    /// Whether Redis answers a PING now (whatever the back-off says).
    pub async fn ping(&self) -> Result<(), String> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(
            CALL_TIMEOUT,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".into()),
        }
    }

    /// The entry under `key`; `Err` when Redis cannot be reached.
    pub async fn get(&self, key: &Key) -> Result<Option<Arc<Entry>>, ()> {
        let bytes: Option<Vec<u8>> = self
            .run("get", redis::cmd("GET").arg(entry_key(key)).clone())
            .await
            .ok_or(())?;
        Ok(bytes.and_then(|b| Entry::decode(&b)).map(Arc::new))
    }

    /// Keep an encoded entry.
    pub async fn put(&self, key: &Key, encoded: Vec<u8>) {
        let ttl_ms = u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        let mut cmd = redis::cmd("SET");
        cmd.arg(entry_key(key)).arg(encoded).arg("PX").arg(ttl_ms);
        let _: Option<()> = self.run("set", cmd).await;
    }

    /// Remember the question `text` and its `vector` for `key` in `scope`.
    pub async fn put_vector(&self, scope: &Key, vector: &[f32], key: &Key, text: &str) {
        let name = scope_key(scope);
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg(&name)
            .arg(hex(key))
            .arg(indexed_bytes(vector, text))
            .ignore();
        pipe.cmd("PEXPIRE")
            .arg(&name)
            .arg(
                u64::try_from(self.ttl.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            )
            .ignore();
        pipe.cmd("HLEN").arg(&name);
        if !self.available() {
            return;
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(CALL_TIMEOUT, pipe.query_async::<(u64,)>(&mut conn)).await {
            Ok(Ok((len,))) if len as usize > self.max_vectors => {
                // Over the cap: drop a random field (HRANDFIELD) to bound the scan.
                let mut cmd = redis::cmd("HRANDFIELD");
                cmd.arg(&name);
                if let Some(victim) = self
                    .run::<Option<String>>("hrandfield", cmd)
                    .await
                    .flatten()
                {
                    let mut del = redis::cmd("HDEL");
                    del.arg(&name).arg(victim);
                    let _: Option<()> = self.run("hdel", del).await;
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => self.failed("hset", &e),
            Err(_) => self.failed("hset", &"timed out"),
        }
    }

    /// The questions in `scope` closest to `query`, at or above
    /// `threshold`, best first.
    pub async fn nearest(&self, scope: &Key, query: &[f32], threshold: f32) -> Vec<Candidate> {
        let name = scope_key(scope);
        let Some(fields) = self
            .run::<Vec<(String, Vec<u8>)>>("hgetall", redis::cmd("HGETALL").arg(&name).clone())
            .await
        else {
            return Vec::new();
        };
        let scored = fields
            .iter()
            .filter_map(|(k, v)| {
                let (vector, text) = indexed_from(v)?;
                Some((
                    super::semantic::cosine(&vector, query),
                    key_from_hex(k)?,
                    text,
                ))
            })
            .collect();
        best(scored, threshold)
    }

    /// Forget the vector of an entry that is gone.
    pub async fn forget_vector(&self, scope: &Key, key: &Key) {
        let mut del = redis::cmd("HDEL");
        del.arg(scope_key(scope)).arg(hex(key));
        let _: Option<()> = self.run("hdel", del).await;
    }

    /// Delete every cache key; returns how many entries there were.
    pub async fn purge(&self) -> Result<u64, String> {
        let mut conn = self.conn.clone();
        let mut cursor: u64 = 0;
        let mut entries = 0;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(format!("{PREFIX}*"))
                .arg("COUNT")
                .arg(500);
            let (next, keys): (u64, Vec<String>) = scan
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            entries += keys
                .iter()
                .filter(|k| k.starts_with(&format!("{PREFIX}e:")))
                .count() as u64;
            if !keys.is_empty() {
                let mut del = redis::cmd("UNLINK");
                del.arg(&keys);
                let _: u64 = del
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_and_keys_survive_their_encodings() {
        let v = vec![0.5f32, -1.25, 3.0e-7];
        let (back, text) = indexed_from(&indexed_bytes(&v, "Why café?")).unwrap();
        assert_eq!((back, text.as_ref()), (v, "Why café?"));
        assert!(indexed_from(&[9, 0, 0, 0, 1]).is_none());
        let k = [0xabu8; 32];
        assert_eq!(key_from_hex(&hex(&k)), Some(k));
        assert_eq!(key_from_hex("zz"), None);
    }
}
