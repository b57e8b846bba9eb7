//! Spend limits, reserve then settle. Before a request goes upstream the
//! most it can cost (its prompt at the dearest price among the models that
//! may serve it, plus all of `max_tokens` as output) is reserved against
//! every budget of its key, developer and team, atomically: a request that
//! would take a budget past its limit is refused, so concurrent requests
//! cannot overshoot by more than what one settled under its reservation.
//! When the request's record is finished the reservation is released and
//! its exact cost counted. Requests that only $0 models can serve reserve
//! nothing and are never refused. Spend in the current window is read from
//! the ledger at start, so windows survive a restart.
//!
//! One instance's counters live here; instances sharing a team's budgets
//! through Redis are still to come.

// The counters sit behind a std lock: it is held for a few map operations,
// never across an await, so no runtime worker waits on it for long.
#![allow(clippy::disallowed_types)]

use crate::config::{BudgetConfig, BudgetScope, BudgetWindow};
use crate::core::{Identity, Price, Usage};
use crate::usage::ledger::{Pricer, from_nanos, to_nanos};
use crate::usage::{CacheUse, RecordSink, RequestRecord};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;

const DAY_MS: i64 = 86_400_000;

/// One configured limit in nano-dollars.
#[derive(Debug, Clone)]
struct Rule {
    scope: BudgetScope,
    limit: i64,
    soft: Option<i64>,
    window: BudgetWindow,
    offset_ms: i64,
}

impl Rule {
    fn applies(&self, who: &Identity) -> bool {
        match &self.scope {
            BudgetScope::Key(k) => *k == who.key_id,
            BudgetScope::User(u) => who.user.as_ref() == Some(u),
            BudgetScope::Team(t) => who.team.as_ref() == Some(t),
        }
    }

    fn name(&self) -> String {
        let window = match self.window {
            BudgetWindow::Day => "daily",
            BudgetWindow::Week => "weekly",
            BudgetWindow::Month => "monthly",
            BudgetWindow::Total => "total",
        };
        format!("the {window} budget of {}", self.scope.describe())
    }

    /// The window holding `now_ms`: its start and end (unix ms).
    fn window_of(&self, now_ms: i64) -> (i64, i64) {
        let local = now_ms + self.offset_ms;
        let day = local.div_euclid(DAY_MS);
        let (start_day, end_day) = match self.window {
            BudgetWindow::Total => return (i64::MIN, i64::MAX),
            BudgetWindow::Day => (day, day + 1),
            // 1970-01-01 was a Thursday: Monday is 3 days before it.
            BudgetWindow::Week => {
                let monday = day - (day + 3).rem_euclid(7);
                (monday, monday + 7)
            }
            BudgetWindow::Month => month_of(day),
        };
        (
            start_day * DAY_MS - self.offset_ms,
            end_day * DAY_MS - self.offset_ms,
        )
    }
}

/// The first day of the month holding `day` (days since 1970) and of the next.
fn month_of(day: i64) -> (i64, i64) {
    let epoch = time::Date::from_ordinal_date(1970, 1).unwrap_or(time::Date::MIN);
    let days = |d: time::Date| (d - epoch).whole_days();
    let date = epoch + time::Duration::days(day);
    let first = date.replace_day(1).unwrap_or(date);
    let next = if first.month() == time::Month::December {
        time::Date::from_calendar_date(first.year() + 1, time::Month::January, 1)
    } else {
        time::Date::from_calendar_date(first.year(), first.month().next(), 1)
    }
    .unwrap_or(first);
    (days(first), days(next))
}

/// A budget's counts in its current window.
#[derive(Debug, Clone, Copy)]
struct Counter {
    start_ms: i64,
    spent: i64,
    reserved: i64,
}

/// Reservations of one request: (rule, window start, amount).
type Hold = Vec<(usize, i64, i64)>;

#[derive(Debug, Default)]
struct State {
    counters: HashMap<usize, Counter>,
    holds: HashMap<String, Hold>,
}

/// A request refused by a budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Which budget, what it has spent, when it resets.
    pub message: String,
    /// Seconds until the window resets (none for a total budget).
    pub retry_after_secs: Option<u64>,
}

/// Output assumed for a request that does not cap it (OpenAI clients may
/// leave `max_tokens` out).
const UNCAPPED_OUTPUT: u64 = 32_000;

/// Every configured budget and its counts.
#[derive(Debug)]
pub struct Budgets {
    rules: Vec<Rule>,
    /// Each configured model's price, for the most a request can cost.
    prices: HashMap<String, Price>,
    state: Mutex<State>,
}

fn when(ms: i64) -> String {
    crate::teams::view::when(Some(ms))
}

impl Budgets {
    /// The budgets of a config, with each model's price.
    pub fn new(configs: &[BudgetConfig], prices: HashMap<String, Price>) -> Budgets {
        Budgets {
            prices,
            rules: configs
                .iter()
                .map(|c| Rule {
                    scope: c.scope.clone(),
                    limit: to_nanos(c.limit),
                    soft: c.soft.map(to_nanos),
                    window: c.window,
                    offset_ms: i64::from(c.utc_offset_secs) * 1000,
                })
                .collect(),
            state: Mutex::new(State::default()),
        }
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

    /// No budgets configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counter of `rule` at `now_ms`, rolled into a new window when the
    /// old one has ended.
    fn counter<'s>(&self, state: &'s mut State, rule: usize, now_ms: i64) -> &'s mut Counter {
        let (start, _) = self.rules[rule].window_of(now_ms);
        let c = state.counters.entry(rule).or_insert(Counter {
            start_ms: start,
            spent: 0,
            reserved: 0,
        });
        if c.start_ms != start {
            *c = Counter {
                start_ms: start,
                spent: 0,
                reserved: 0,
            };
        }
        c
    }

    /// Reserve `max_nusd` for request `id` against every budget of `who`.
    /// `Ok` carries a warning when a soft limit is passed.
    pub fn reserve(
        &self,
        id: &str,
        who: Option<&Identity>,
        max_nusd: i64,
        now_ms: i64,
    ) -> Result<Option<String>, Refusal> {
        let Some(who) = who else { return Ok(None) };
        let rules: Vec<usize> = (0..self.rules.len())
            .filter(|i| self.rules[*i].applies(who))
            .collect();
        if rules.is_empty() || max_nusd <= 0 {
            return Ok(None);
        }
        let mut state = self.state();
        let mut warning = None;
        for &i in &rules {
            let rule = &self.rules[i];
            let c = *self.counter(&mut state, i, now_ms);
            let after = c.spent + c.reserved + max_nusd;
            if after > rule.limit {
                let (_, end) = rule.window_of(now_ms);
                let resets = (end != i64::MAX).then(|| when(end));
                return Err(Refusal {
                    message: format!(
                        "{} is used up: ${} spent and ${} reserved of ${}, and this request may cost up to ${}{}",
                        rule.name(),
                        from_nanos(c.spent).round_dp(4),
                        from_nanos(c.reserved).round_dp(4),
                        from_nanos(rule.limit).round_dp(2),
                        from_nanos(max_nusd).round_dp(4),
                        resets
                            .map(|r| format!("; it resets at {r}"))
                            .unwrap_or_default()
                    ),
                    retry_after_secs: (end != i64::MAX)
                        .then(|| u64::try_from((end - now_ms + 999) / 1000).unwrap_or(0)),
                });
            }
            if rule.soft.is_some_and(|s| after > s) && warning.is_none() {
                warning = Some(format!(
                    "{}: ${} of ${} used",
                    rule.name(),
                    from_nanos(c.spent + c.reserved).round_dp(2),
                    from_nanos(rule.limit).round_dp(2)
                ));
            }
        }
        let mut hold = Hold::new();
        for &i in &rules {
            let c = self.counter(&mut state, i, now_ms);
            c.reserved += max_nusd;
            hold.push((i, c.start_ms, max_nusd));
        }
        state.holds.insert(id.to_string(), hold);
        Ok(warning)
    }

    /// Request `id` has ended costing `cost_nusd`: release its reservation
    /// and count the cost against every budget of `who`.
    pub fn settle(&self, id: &str, who: Option<&Identity>, cost_nusd: i64, now_ms: i64) {
        let mut state = self.state();
        if let Some(hold) = state.holds.remove(id) {
            for (i, start, amount) in hold {
                let c = self.counter(&mut state, i, now_ms);
                if c.start_ms == start {
                    c.reserved -= amount;
                    c.spent += cost_nusd;
                }
            }
            return;
        }
        let Some(who) = who else { return };
        if cost_nusd == 0 {
            return;
        }
        for i in 0..self.rules.len() {
            if self.rules[i].applies(who) {
                self.counter(&mut state, i, now_ms).spent += cost_nusd;
            }
        }
    }

    /// Set each budget's spend in its current window from the ledger.
    pub async fn load_spent(
        &self,
        store: &crate::store::Store,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        for (i, rule) in self.rules.iter().enumerate() {
            let (start, _) = rule.window_of(now_ms);
            let (column, value) = match &rule.scope {
                BudgetScope::Key(k) => ("key_id", k),
                BudgetScope::User(u) => ("user_id", u),
                BudgetScope::Team(t) => ("team", t),
            };
            let spent = store.spent_since(column, value, start).await?;
            self.counter(&mut self.state(), i, now_ms).spent = spent;
        }
        Ok(())
    }

    /// Spent and reserved in each budget's current window (for reports).
    pub fn usage(&self, now_ms: i64) -> Vec<(String, i64, i64, i64)> {
        let mut state = self.state();
        (0..self.rules.len())
            .map(|i| {
                let c = *self.counter(&mut state, i, now_ms);
                (
                    self.rules[i].name(),
                    c.spent,
                    c.reserved,
                    self.rules[i].limit,
                )
            })
            .collect()
    }
}

/// Settles each finished request against the budgets, at its exact cost
/// (a response-cache hit costs nothing).
pub struct Settle {
    /// The budgets.
    pub budgets: Arc<Budgets>,
    /// How the ledger prices a record.
    pub pricer: Pricer,
}

impl RecordSink for Settle {
    fn record(&self, r: &RequestRecord) {
        let cost = match (r.cache, self.pricer.price_of(r)) {
            (Some(CacheUse::Hit), _) | (_, None) => 0,
            (_, Some(p)) => to_nanos(p.price.cost(&r.usage)),
        };
        self.budgets.settle(
            &r.request_id,
            r.identity.as_deref(),
            cost,
            crate::teams::view::now_ms(),
        );
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
