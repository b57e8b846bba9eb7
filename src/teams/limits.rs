//! Budgets and rate limits, reserve then settle. Before a request goes
//! upstream every rule of its key, developer and team is charged at once:
//! the most the request can cost (its prompt at the dearest price among
//! the models that may serve it, plus all of `max_tokens` as output) is
//! reserved against each budget, and the request and its prompt's tokens
//! counted against each rate limit; if any rule lacks room nothing is
//! counted and the request is refused, so concurrent requests cannot
//! overshoot a budget by more than what one settles under its reservation.
//! When the request's record ends the reservation is released and its
//! exact cost counted. Requests only $0 models can serve reserve nothing
//! and are never refused by a money budget.
//!
//! With `redis_url` the counts live in Redis (`shared`), so every instance
//! sees them; this instance's `counters` mirror its own view, and serve
//! while Redis is unreachable for rules whose `redis_down` is `open`. Spend
//! in each budget's window is raised to the ledger's at start and every 15
//! seconds, so windows survive restarts and a lost Redis.

// The local counters sit behind a std lock: it is held for a few map
// operations, never across an await.
#![allow(clippy::disallowed_types)]

use super::counters::{Charge, Counters, Refused};
use super::rules::{Measure, Rule, rules_of};
use super::shared::Shared;
use super::spend_limits::AdminLimits;
use crate::config::{Config, RedisDown};
use crate::core::{Identity, Price, Usage};
use crate::usage::ledger::{Pricer, from_nanos, to_nanos};
use crate::usage::{CacheUse, RecordSink, RequestRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Output assumed for a request that does not cap it (OpenAI clients may
/// leave `max_tokens` out).
const UNCAPPED_OUTPUT: u64 = 32_000;

/// How often spend is raised to the ledger's.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(15);

/// Why a request may not go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A budget would be passed.
    Budget {
        /// Which budget, what it has spent, when it resets.
        message: String,
        /// Seconds until the window resets (none for a total budget).
        retry_after_secs: Option<u64>,
    },
    /// A rate limit is reached.
    Rate {
        /// Which limit and its count.
        message: String,
        /// Seconds until there is room.
        retry_after_secs: u64,
    },
    /// Redis is unreachable and a rule says to refuse meanwhile.
    Unavailable(String),
}

/// A soft limit passed: the warning header's text, and whether the budget
/// asks for a cheaper tier from here on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soft {
    /// `the monthly budget of team web: $41.20 of $50.00 used`.
    pub message: String,
    /// Serve from the next cheaper tier.
    pub step_down: bool,
}

/// One rule's use, for reports and a developer's own view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleUse {
    /// The rule.
    pub rule: Rule,
    /// Spent (nano-dollars) or counted in the last minute.
    pub used: i64,
    /// Reserved by requests still running.
    pub reserved: i64,
    /// When the window resets (budgets with one).
    pub resets_ms: Option<i64>,
}

/// Every configured budget and rate limit, and their counts.
pub struct Limits {
    rules: Vec<Arc<Rule>>,
    /// Each configured model's price, for the most a request can cost.
    prices: HashMap<String, Price>,
    /// Reserve before forwarding (off: count after the fact, to compare).
    reserve: bool,
    local: Mutex<Counters>,
    shared: Option<Arc<Shared>>,
    /// Limits set through the admin API (`spend_limits`), and what they do
    /// while Redis is unreachable.
    pub(super) admin: RwLock<AdminLimits>,
    pub(super) admin_redis_down: RedisDown,
}

fn when(ms: i64) -> String {
    crate::teams::view::when(Some(ms))
}

impl Limits {
    /// The limits of `config`, with each model's price.
    pub fn new(config: &Config, prices: HashMap<String, Price>) -> Result<Limits, String> {
        let mut limits = Limits::of(
            rules_of(&config.budgets, &config.rate_limits),
            prices,
            config.limits.reserve,
            config
                .limits
                .redis_url
                .as_deref()
                .map(|url| (url, config.limits.redis_timeout)),
        )?;
        limits.admin_redis_down = config.limits.spend_limits_redis_down;
        Ok(limits)
    }

    /// Limits counting `rules`, shared through Redis (at a URL, each call
    /// bounded by a timeout) if any.
    pub fn of(
        rules: Vec<Rule>,
        prices: HashMap<String, Price>,
        reserve: bool,
        redis: Option<(&str, std::time::Duration)>,
    ) -> Result<Limits, String> {
        let shared = match redis {
            Some((url, timeout)) => Some(Arc::new(Shared::new(url, timeout)?)),
            None => None,
        };
        Ok(Limits {
            rules: rules.into_iter().map(Arc::new).collect(),
            prices,
            reserve,
            local: Mutex::new(Counters::default()),
            shared,
            admin: RwLock::new(AdminLimits::default()),
            admin_redis_down: RedisDown::Open,
        })
    }

    /// No budgets or rate limits configured (keys may still carry their own).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.admin_is_empty()
    }

    /// Are the counts shared through Redis?
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn local(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.local.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most a request can cost on any of `models` (configured model
    /// names): `input` tokens at the dearer of the input and cache-write
    /// rates plus `max_output` tokens (or a generous cap) of output. A model
    /// without a price counts as the dearest priced one.
    pub fn most_cost<'m>(
        &self,
        models: impl Iterator<Item = &'m str>,
        input: u64,
        max_output: Option<u64>,
    ) -> i64 {
        let output = max_output.unwrap_or(UNCAPPED_OUTPUT);
        let cost = |p: &Price| {
            let plain = Usage {
                input_tokens: input,
                output_tokens: output,
                ..Usage::default()
            };
            let written = Usage {
                cache_write_1h_tokens: input,
                output_tokens: output,
                ..Usage::default()
            };
            to_nanos(p.cost(&plain).max(p.cost(&written)))
        };
        let dearest = self.prices.values().map(cost).max().unwrap_or(0);
        models
            .map(|m| self.prices.get(m).map_or(dearest, cost))
            .max()
            .unwrap_or(0)
    }

    /// What a request of `who` (whose key carries `own` rules) asks of
    /// each rule: `most` nano-dollars at most, one request, `tokens` prompt
    /// tokens.
    fn charges(
        &self,
        who: &Identity,
        own: &[Arc<Rule>],
        most: i64,
        tokens: i64,
        now_ms: i64,
    ) -> Vec<Charge> {
        let mut out = Vec::new();
        let configured = self.rules.iter().filter(|r| r.applies(who));
        let admin = self.admin_rules_for(who);
        for rule in configured.chain(&admin).chain(own) {
            let amount = match rule.measure {
                // Without reserving, a budget only refuses once it is spent.
                Measure::Spend { .. } if most <= 0 => continue,
                Measure::Spend { .. } if !self.reserve => 1,
                Measure::Spend { .. } => most,
                Measure::Requests(_) => 1,
                Measure::Tokens(_) => tokens,
            };
            out.push(Charge {
                rule: rule.clone(),
                window: rule.window_of(now_ms).0,
                amount,
            });
        }
        out
    }

    /// Admit request `id` of `who` (whose key carries `own` rules), which
    /// may cost up to `most` nano-dollars and brings `tokens` prompt
    /// tokens: count it against every rule, or refuse it. `Ok` carries a
    /// soft-limit warning.
    pub async fn admit(
        &self,
        id: &str,
        who: &Identity,
        own: &[Arc<Rule>],
        most: i64,
        tokens: i64,
        now_ms: i64,
    ) -> Result<Option<Soft>, Refusal> {
        let charges = self.charges(who, own, most, tokens, now_ms);
        if charges.is_empty() {
            return Ok(None);
        }
        if let Some(shared) = &self.shared {
            match shared.admit(id, &charges, now_ms).await {
                Ok(Ok(used)) => {
                    self.local().apply(id, &charges, now_ms);
                    return Ok(self.warning(&charges, &used));
                }
                Ok(Err(refused)) => return Err(self.refusal(&charges, refused, now_ms)),
                Err(_) => {
                    if let Some(c) = charges
                        .iter()
                        .find(|c| c.rule.redis_down == RedisDown::Closed)
                    {
                        return Err(Refusal::Unavailable(format!(
                            "{} cannot be checked: the gateway's shared counters (Redis) are unreachable; retry shortly",
                            c.rule.name()
                        )));
                    }
                }
            }
        }
        let mut local = self.local();
        let used = local
            .check(&charges, now_ms)
            .map_err(|r| self.refusal(&charges, r, now_ms))?;
        local.apply(id, &charges, now_ms);
        Ok(self.warning(&charges, &used))
    }

    fn warning(&self, charges: &[Charge], used: &[i64]) -> Option<Soft> {
        let passed = charges.iter().zip(used).filter_map(|(c, used)| {
            let rule = &c.rule;
            match rule.measure {
                Measure::Spend {
                    soft: Some(soft),
                    limit,
                    step_down,
                    ..
                } if used + c.amount > soft => Some(Soft {
                    message: format!(
                        "{}: ${} of ${} used",
                        rule.name(),
                        from_nanos(*used).round_dp(2),
                        from_nanos(limit).round_dp(2)
                    ),
                    step_down,
                }),
                _ => None,
            }
        });
        // The first passed, stepping down if any of them says so.
        passed.reduce(|first, other| Soft {
            step_down: first.step_down || other.step_down,
            ..first
        })
    }

    fn refusal(&self, charges: &[Charge], r: Refused, now_ms: i64) -> Refusal {
        let Some(c) = charges.get(r.charge) else {
            return Refusal::Unavailable("limits could not be checked".into());
        };
        let rule = &c.rule;
        match rule.measure {
            Measure::Spend { limit, .. } => {
                let (_, end) = rule.window_of(now_ms);
                let resets = (end != i64::MAX).then(|| when(end));
                Refusal::Budget {
                    message: format!(
                        "{} is used up: ${} spent and ${} reserved of ${}, and this request may cost up to ${}{}",
                        rule.name(),
                        from_nanos(r.used).round_dp(4),
                        from_nanos(r.reserved).round_dp(4),
                        from_nanos(limit).round_dp(2),
                        from_nanos(c.amount).round_dp(4),
                        resets
                            .map(|r| format!("; it resets at {r}"))
                            .unwrap_or_default()
                    ),
                    retry_after_secs: (end != i64::MAX)
                        .then(|| u64::try_from((end - now_ms + 999) / 1000).unwrap_or(0)),
                }
            }
            Measure::Requests(limit) => Refusal::Rate {
                message: format!(
                    "{} is reached: {} requests in the last minute of {limit} allowed; retry in {} s",
                    rule.name(),
                    r.used,
                    r.wait_secs
                ),
                retry_after_secs: u64::try_from(r.wait_secs).unwrap_or(1),
            },
            Measure::Tokens(limit) => Refusal::Rate {
                message: format!(
                    "{} is reached: {} tokens in the last minute of {limit} allowed, and this request brings about {}; retry in {} s",
                    rule.name(),
                    r.used,
                    c.amount,
                    r.wait_secs
                ),
                retry_after_secs: u64::try_from(r.wait_secs).unwrap_or(1),
            },
        }
    }

    /// Request `id` of `who` has ended costing `cost` nano-dollars and
    /// using `tokens`: release its holds, count its use (in Redis too, in
    /// the background).
    pub fn settle(&self, id: &str, who: Option<&Identity>, cost: i64, tokens: i64, now_ms: i64) {
        let charges = {
            let mut local = self.local();
            match local.settle(id, cost, tokens, now_ms) {
                Some(hold) => hold,
                None => {
                    // Nothing reserved here: count its cost all the same
                    // (against configured budgets; a key's own are known
                    // only from its admission).
                    let Some(who) = who.filter(|_| cost != 0) else {
                        return;
                    };
                    let charges: Vec<Charge> = self
                        .charges(who, &[], 1, 0, now_ms)
                        .into_iter()
                        .filter(|c| c.rule.is_spend())
                        .map(|c| Charge { amount: 0, ..c })
                        .collect();
                    for c in &charges {
                        local.add_spent(&c.rule.id, c.window, cost);
                    }
                    charges
                }
            }
        };
        self.settle_shared(id, charges, cost, tokens, now_ms);
    }

    fn settle_shared(&self, id: &str, charges: Vec<Charge>, cost: i64, tokens: i64, now_ms: i64) {
        let Some(shared) = self.shared.clone().filter(|_| !charges.is_empty()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let id = id.to_string();
        runtime.spawn(async move {
            // A miss is made good by the ledger at the next reconcile.
            let _ = shared.settle(&id, &charges, cost, tokens, now_ms).await;
        });
    }

    /// Raise each budget's spend in its current window to the ledger's:
    /// the configured ones and the keys' own (`own`).
    pub async fn reconcile(
        &self,
        store: &crate::store::Store,
        own: &[Arc<Rule>],
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let admin = self.admin_rules();
        for rule in self.rules.iter().chain(&admin).chain(own) {
            if !rule.is_spend() {
                continue;
            }
            let (start, _) = rule.window_of(now_ms);
            let who = crate::store::Who::of_scope(&rule.scope);
            let spent = store.spent_by(who.as_ref(), start).await?;
            self.local().floor(&rule.id, start, spent);
            if let Some(shared) = &self.shared {
                let _ = shared.floor(rule, start, spent).await;
            }
        }
        Ok(())
    }

    /// The use now of every rule that counts `who` (whose key has `own`).
    pub async fn usage_of(&self, who: &Identity, own: &[Arc<Rule>], now_ms: i64) -> Vec<RuleUse> {
        let admin = self.admin_rules_for(who);
        let rules: Vec<&Arc<Rule>> = self
            .rules
            .iter()
            .filter(|r| r.applies(who))
            .chain(&admin)
            .chain(own)
            .collect();
        self.usage_of_rules(&rules, now_ms).await
    }

    /// The use now of every configured rule and `own` (keys' rules).
    pub async fn usage(&self, own: &[Arc<Rule>], now_ms: i64) -> Vec<RuleUse> {
        let admin = self.admin_rules();
        let rules: Vec<&Arc<Rule>> = self.rules.iter().chain(&admin).chain(own).collect();
        self.usage_of_rules(&rules, now_ms).await
    }

    /// Each rule's use (from Redis when shared and reachable).
    async fn usage_of_rules(&self, rules: &[&Arc<Rule>], now_ms: i64) -> Vec<RuleUse> {
        let mut out = Vec::new();
        for rule in rules {
            let shared = match &self.shared {
                Some(s) => s.usage(rule, now_ms).await.ok(),
                None => None,
            };
            let (used, reserved) = shared.unwrap_or_else(|| self.local().usage(rule, now_ms));
            let (_, end) = rule.window_of(now_ms);
            out.push(RuleUse {
                rule: Rule::clone(rule),
                used,
                reserved,
                resets_ms: (rule.is_spend() && end != i64::MAX).then_some(end),
            });
        }
        out
    }
}

/// Settles each finished request against the limits, at its exact cost
/// (a response-cache hit costs nothing) and its tokens.
pub struct Settle {
    /// The limits.
    pub limits: Arc<Limits>,
    /// How the ledger prices a record.
    pub pricer: Pricer,
}

impl RecordSink for Settle {
    fn record(&self, r: &RequestRecord) {
        // Without a client key nothing was admitted and no limit applies.
        if r.identity.is_none() {
            return;
        }
        let cost = match (r.cache, self.pricer.price_of(r)) {
            (Some(CacheUse::Hit), _) | (_, None) => 0,
            (_, Some(p)) => to_nanos(p.price.cost(&r.usage)),
        };
        let tokens = i64::try_from(r.usage.prompt_tokens() + r.usage.output_tokens).unwrap_or(0);
        self.limits.settle(
            &r.request_id,
            r.identity.as_deref(),
            cost,
            tokens,
            crate::teams::view::now_ms(),
        );
    }
}

/// Raise spend to the ledger's every `RECONCILE_EVERY`, for the configured
/// budgets and those of the keys `keys` holds.
pub fn spawn_reconciler(
    limits: Arc<Limits>,
    keys: Arc<super::KeyRing>,
    store: crate::store::Store,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let own = keys.own_rules();
            if let Err(e) = limits
                .reconcile(&store, &own, crate::teams::view::now_ms())
                .await
            {
                tracing::warn!(error = %e, "cannot read budgets' spend from the ledger");
            }
        }
    });
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
