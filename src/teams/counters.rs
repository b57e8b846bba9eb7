//! One instance's counters: spend per budget window (spent and reserved),
//! requests and tokens per second for the sliding minute of each rate
//! limit, and each admitted request's holds until it settles. The same
//! arithmetic runs in Redis (`shared`) when instances share their counts;
//! these then mirror this instance's view, for when Redis is unreachable.

use super::rules::{Measure, Rule};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Seconds a rate limit looks back.
pub const RATE_WINDOW_SECS: i64 = 60;

/// What one request asks of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The rule.
    pub rule: Arc<Rule>,
    /// Start of the rule's window (budgets; rate limits slide: 0).
    pub window: i64,
    /// Nano-dollars reserved, requests or tokens counted.
    pub amount: i64,
}

/// Why a request was refused: which of its charges, and the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// Index into the charges.
    pub charge: usize,
    /// Spent (budgets) or counted in the last minute (rate limits).
    pub used: i64,
    /// Reserved by requests still running (budgets).
    pub reserved: i64,
    /// For a rate limit: seconds until enough of the minute has passed.
    pub wait_secs: i64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Spend {
    window: i64,
    spent: i64,
    reserved: i64,
}

/// The counts, behind the caller's lock.
#[derive(Debug, Default)]
pub struct Counters {
    spend: HashMap<String, Spend>,
    rate: HashMap<String, BTreeMap<i64, i64>>,
    holds: HashMap<String, Vec<Charge>>,
}

/// Seconds until a rate window holding `buckets` (second → count, oldest
/// first) has room for `amount` more under `limit`.
pub fn wait_for_room(buckets: &BTreeMap<i64, i64>, now_sec: i64, amount: i64, limit: i64) -> i64 {
    let mut left: i64 = buckets.values().sum();
    for (sec, n) in buckets {
        left -= n;
        if left + amount <= limit {
            return (sec + RATE_WINDOW_SECS - now_sec).max(1);
        }
    }
    RATE_WINDOW_SECS
}

impl Counters {
    fn spend(&mut self, rule: &str, window: i64) -> &mut Spend {
        let s = self.spend.entry(rule.to_string()).or_insert(Spend {
            window,
            ..Spend::default()
        });
        if s.window < window {
            *s = Spend {
                window,
                ..Spend::default()
            };
        }
        s
    }

    fn rate(&mut self, rule: &str, now_sec: i64) -> &mut BTreeMap<i64, i64> {
        let buckets = self.rate.entry(rule.to_string()).or_default();
        let live = buckets.split_off(&(now_sec - RATE_WINDOW_SECS + 1));
        *buckets = live;
        buckets
    }

    /// Would `charges` fit? `Ok` holds each rule's use before them.
    pub fn check(&mut self, charges: &[Charge], now_ms: i64) -> Result<Vec<i64>, Refused> {
        let now_sec = now_ms.div_euclid(1000);
        let mut used = Vec::with_capacity(charges.len());
        for (i, c) in charges.iter().enumerate() {
            let limit = c.rule.limit();
            if c.rule.is_spend() {
                let s = *self.spend(&c.rule.id, c.window);
                if s.spent + s.reserved + c.amount > limit {
                    return Err(Refused {
                        charge: i,
                        used: s.spent,
                        reserved: s.reserved,
                        wait_secs: 0,
                    });
                }
                used.push(s.spent + s.reserved);
            } else {
                let buckets = self.rate(&c.rule.id, now_sec);
                let sum: i64 = buckets.values().sum();
                if sum + c.amount > limit {
                    return Err(Refused {
                        charge: i,
                        used: sum,
                        reserved: 0,
                        wait_secs: wait_for_room(buckets, now_sec, c.amount, limit),
                    });
                }
                used.push(sum);
            }
        }
        Ok(used)
    }

    /// Count `charges` for request `id` (after `check`, or when Redis has
    /// already admitted them).
    pub fn apply(&mut self, id: &str, charges: &[Charge], now_ms: i64) {
        let now_sec = now_ms.div_euclid(1000);
        for c in charges {
            if c.rule.is_spend() {
                self.spend(&c.rule.id, c.window).reserved += c.amount;
            } else {
                *self.rate(&c.rule.id, now_sec).entry(now_sec).or_default() += c.amount;
            }
        }
        self.holds.insert(id.to_string(), charges.to_vec());
    }

    /// Request `id` ended costing `cost` nano-dollars and using `tokens`:
    /// release what it reserved, count what it used. Returns its charges
    /// (none when it reserved nothing here).
    pub fn settle(&mut self, id: &str, cost: i64, tokens: i64, now_ms: i64) -> Option<Vec<Charge>> {
        let hold = self.holds.remove(id)?;
        let now_sec = now_ms.div_euclid(1000);
        for c in &hold {
            match c.rule.measure {
                Measure::Spend { .. } => {
                    let s = self.spend(&c.rule.id, c.window);
                    if s.window == c.window {
                        s.reserved -= c.amount;
                        s.spent += cost;
                    }
                }
                Measure::Tokens(_) if tokens != c.amount => {
                    *self.rate(&c.rule.id, now_sec).entry(now_sec).or_default() +=
                        tokens - c.amount;
                }
                _ => {}
            }
        }
        Some(hold)
    }

    /// Count `cost` that nothing reserved (a request admitted elsewhere).
    pub fn add_spent(&mut self, rule: &str, window: i64, cost: i64) {
        self.spend(rule, window).spent += cost;
    }

    /// Raise a budget's spend to at least `spent` (what the ledger holds).
    pub fn floor(&mut self, rule: &str, window: i64, spent: i64) {
        let s = self.spend(rule, window);
        s.spent = s.spent.max(spent);
    }

    /// A rule's use now: (spent or counted, reserved).
    pub fn usage(&mut self, rule: &Rule, now_ms: i64) -> (i64, i64) {
        if rule.is_spend() {
            let s = *self.spend(&rule.id, rule.window_of(now_ms).0);
            (s.spent, s.reserved)
        } else {
            let sum = self.rate(&rule.id, now_ms.div_euclid(1000)).values().sum();
            (sum, 0)
        }
    }
}
