//! Counters shared by every instance through Redis. Each admission is one
//! Lua script that checks every rule of the request and, only if all have
//! room, counts it — atomic across instances, one round trip. A budget
//! window is a hash (`spent`, `reserved`, one `h:{request}` per hold) with
//! a sorted set of hold deadlines, so the holds of an instance that died
//! are released; a rate limit is a hash of per-second counts over the last
//! minute. Calls are bounded by a short timeout; after a failure Redis is
//! left alone for a second and the caller applies each rule's `redis_down`.

// The outage time is locked for a read or a write, never across an await.
#![allow(clippy::disallowed_types)]

use super::counters::{Charge, Refused};
use super::rules::Rule;
use redis::aio::ConnectionManager;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

const PREFIX: &str = "switchyard:limits:v1:";
/// How long to stay away after a failure.
const BACKOFF: Duration = Duration::from_secs(1);
/// A hold not settled by then belonged to an instance that died.
const HOLD_LIFETIME_MS: i64 = 3_600_000;
/// Budget windows are kept this long after they end (for reports).
const KEEP_AFTER_MS: i64 = 7 * 86_400_000;

const ADMIT: &str = r"
local now, id, deadline = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local sec = math.floor(now / 1000)
local used = {}
for i, key in ipairs(KEYS) do
  local at = 3 + (i - 1) * 4
  local kind, limit, amount = ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  if kind == 's' then
    local holds = key .. ':holds'
    for _, h in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now)) do
      local a = tonumber(redis.call('HGET', key, 'h:' .. h) or '0')
      redis.call('HINCRBY', key, 'reserved', -a)
      redis.call('HDEL', key, 'h:' .. h)
      redis.call('ZREM', holds, h)
    end
    local spent = tonumber(redis.call('HGET', key, 'spent') or '0')
    local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
    if spent + reserved + amount > limit then return {i, spent, reserved, 0} end
    used[i] = spent + reserved
  else
    local flat = redis.call('HGETALL', key)
    local live, sum = {}, 0
    for j = 1, #flat, 2 do
      local s, n = tonumber(flat[j]), tonumber(flat[j + 1])
      if s <= sec - 60 then redis.call('HDEL', key, flat[j])
      else sum = sum + n; live[#live + 1] = {s, n} end
    end
    if sum + amount > limit then
      table.sort(live, function(a, b) return a[1] < b[1] end)
      local wait, left = 60, sum
      for _, b in ipairs(live) do
        left = left - b[2]
        if left + amount <= limit then wait = math.max(1, b[1] + 60 - sec); break end
      end
      return {i, sum, 0, wait}
    end
    used[i] = sum
  end
end
for i, key in ipairs(KEYS) do
  local at = 3 + (i - 1) * 4
  local kind, amount, expire = ARGV[at + 1], ARGV[at + 3], tonumber(ARGV[at + 4])
  if kind == 's' then
    redis.call('HINCRBY', key, 'reserved', amount)
    redis.call('HSET', key, 'h:' .. id, amount)
    redis.call('ZADD', key .. ':holds', deadline, id)
    if expire > 0 then
      redis.call('PEXPIREAT', key, expire)
      redis.call('PEXPIREAT', key .. ':holds', expire)
    end
  else
    redis.call('HINCRBY', key, sec, amount)
    redis.call('EXPIRE', key, 120)
  end
end
table.insert(used, 1, 0)
return used
";

const SETTLE: &str = r"
local now, id = tonumber(ARGV[1]), ARGV[2]
local sec = math.floor(now / 1000)
for i, key in ipairs(KEYS) do
  local at = 2 + (i - 1) * 3
  local kind, delta, expire = ARGV[at + 1], tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  if kind == 's' then
    local a = redis.call('HGET', key, 'h:' .. id)
    if a then
      redis.call('HINCRBY', key, 'reserved', -tonumber(a))
      redis.call('HDEL', key, 'h:' .. id)
      redis.call('ZREM', key .. ':holds', id)
    end
    if delta ~= 0 then redis.call('HINCRBY', key, 'spent', ARGV[at + 2]) end
    if expire > 0 then redis.call('PEXPIREAT', key, expire) end
  elseif delta ~= 0 then
    redis.call('HINCRBY', key, sec, ARGV[at + 2])
    redis.call('EXPIRE', key, 120)
  end
end
return 0
";

const FLOOR: &str = r"
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
if tonumber(ARGV[1]) > spent then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return 0
";

/// The Redis key of a charge.
fn key_of(rule: &Rule, window: i64) -> String {
    if rule.is_spend() {
        format!("{PREFIX}{}:{window}", rule.id)
    } else {
        format!("{PREFIX}{}", rule.id)
    }
}

/// When a budget window's key may go (0: never, for total budgets).
fn expire_at(rule: &Rule, window: i64) -> i64 {
    let (_, end) = rule.window_of(window.max(0));
    if end == i64::MAX {
        0
    } else {
        end + KEEP_AFTER_MS
    }
}

fn kind(rule: &Rule) -> &'static str {
    if rule.is_spend() { "s" } else { "r" }
}

/// Counters in Redis.
pub struct Shared {
    conn: ConnectionManager,
    timeout: Duration,
    admit: redis::Script,
    settle: redis::Script,
    floor: redis::Script,
    down_until: Mutex<Option<Instant>>,
}

/// Redis could not be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable;

impl Shared {
    /// Counters on `url`, each call bounded by `timeout` (connects
    /// lazily; a bad URL is an error now).
    pub fn new(url: &str, timeout: Duration) -> Result<Shared, String> {
        let (_, conn) = crate::routing::peers::connect(url, timeout)?;
        Ok(Shared {
            conn,
            timeout,
            admit: redis::Script::new(ADMIT),
            settle: redis::Script::new(SETTLE),
            floor: redis::Script::new(FLOOR),
            down_until: Mutex::new(None),
        })
    }

    fn available(&self) -> bool {
        match self.down_until.lock() {
            Ok(d) => d.is_none_or(|t| Instant::now() >= t),
            Err(_) => true,
        }
    }

    fn failed(&self, error: &dyn std::fmt::Display) {
        if let Ok(mut d) = self.down_until.lock() {
            if d.is_none_or(|t| Instant::now() >= t) {
                tracing::warn!(error = %error, "Redis unreachable: limits counted per each key's redis_down");
            }
            *d = Some(Instant::now() + BACKOFF);
        }
        metrics::counter!("switchyard_limits_redis_errors_total").increment(1);
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        call: &redis::ScriptInvocation<'_>,
    ) -> Result<T, Unreachable> {
        if !self.available() {
            return Err(Unreachable);
        }
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeout, call.invoke_async::<T>(&mut conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                self.failed(&e);
                Err(Unreachable)
            }
            Err(_) => {
                self.failed(&"timed out");
                Err(Unreachable)
            }
        }
    }

    /// Check and count `charges` for request `id` on every instance's
    /// counters at once.
    pub async fn admit(
        &self,
        id: &str,
        charges: &[Charge],
        now_ms: i64,
    ) -> Result<Result<Vec<i64>, Refused>, Unreachable> {
        let mut call = self.admit.prepare_invoke();
        call.arg(now_ms).arg(id).arg(now_ms + HOLD_LIFETIME_MS);
        for c in charges {
            let rule = &c.rule;
            call.key(key_of(rule, c.window))
                .arg(kind(rule))
                .arg(rule.limit())
                .arg(c.amount)
                .arg(expire_at(rule, c.window));
        }
        let reply: Vec<i64> = self.run(&call).await?;
        match reply.as_slice() {
            [0, used @ ..] => Ok(Ok(used.to_vec())),
            [i, used, reserved, wait] => Ok(Err(Refused {
                charge: usize::try_from(*i - 1).unwrap_or(0),
                used: *used,
                reserved: *reserved,
                wait_secs: *wait,
            })),
            _ => {
                self.failed(&"unexpected reply from the admit script");
                Err(Unreachable)
            }
        }
    }

    /// Release request `id`'s holds and count what it used: `cost` on each
    /// budget, `tokens` less what was counted at admission on token limits.
    pub async fn settle(
        &self,
        id: &str,
        charges: &[Charge],
        cost: i64,
        tokens: i64,
        now_ms: i64,
    ) -> Result<(), Unreachable> {
        let mut call = self.settle.prepare_invoke();
        call.arg(now_ms).arg(id);
        for c in charges {
            let rule = &c.rule;
            let delta = match rule.measure {
                super::rules::Measure::Spend { .. } => cost,
                super::rules::Measure::Tokens(_) => tokens - c.amount,
                super::rules::Measure::Requests(_) => 0,
            };
            call.key(key_of(rule, c.window))
                .arg(kind(rule))
                .arg(delta)
                .arg(expire_at(rule, c.window));
        }
        self.run::<i64>(&call).await.map(|_| ())
    }

    /// Raise a budget window's spend to at least `spent` (the ledger's).
    pub async fn floor(&self, rule: &Rule, window: i64, spent: i64) -> Result<(), Unreachable> {
        let mut call = self.floor.prepare_invoke();
        call.key(key_of(rule, window))
            .arg(spent)
            .arg(expire_at(rule, window));
        self.run::<i64>(&call).await.map(|_| ())
    }

    /// A rule's counts: (spent or counted in the last minute, reserved).
    pub async fn usage(&self, rule: &Rule, now_ms: i64) -> Result<(i64, i64), Unreachable> {
        // The admit script with no room asked: it counts nothing and reports.
        let window = rule.window_of(now_ms).0;
        let mut call = self.admit.prepare_invoke();
        call.arg(now_ms)
            .arg("")
            .arg(now_ms)
            .key(key_of(rule, window))
            .arg(kind(rule))
            .arg(-1)
            .arg(0)
            .arg(0);
        let reply: Vec<i64> = self.run(&call).await?;
        match reply.as_slice() {
            [_, used, reserved, _] => Ok((*used, *reserved)),
            _ => Err(Unreachable),
        }
    }
}
