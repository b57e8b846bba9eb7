//! What the limits are: one `Rule` per configured budget or rate limit,
//! whose key, developer or team it applies to, and the window it counts
//! over (a calendar day, week or month at a UTC offset, for ever, or the
//! last 60 seconds).

use crate::config::{BudgetConfig, BudgetScope, BudgetWindow, RateLimitConfig, RedisDown};
use crate::core::Identity;
use crate::usage::ledger::to_nanos;

const DAY_MS: i64 = 86_400_000;

/// What a rule counts and its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Measure {
    /// Cost in nano-dollars over a calendar window.
    Spend {
        /// Refused past this.
        limit: i64,
        /// Warned past this.
        soft: Option<i64>,
        /// Counted over.
        window: BudgetWindow,
        /// Offset of the window's clock from UTC, ms.
        offset_ms: i64,
        /// A named time zone instead of the offset.
        zone: Option<jiff::tz::TimeZone>,
        /// Past `soft`, step requests down a tier.
        step_down: bool,
    },
    /// Requests in the last 60 s.
    Requests(i64),
    /// Prompt and answer tokens in the last 60 s.
    Tokens(i64),
}

/// One limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Whose use it counts.
    pub scope: BudgetScope,
    /// What it counts.
    pub measure: Measure,
    /// What happens while Redis is unreachable.
    pub redis_down: RedisDown,
    /// A name that is the same on every instance (Redis keys).
    pub id: String,
}

fn scope_id(scope: &BudgetScope) -> String {
    match scope {
        BudgetScope::Key(k) => format!("key={k}"),
        BudgetScope::User(u) => format!("user={u}"),
        BudgetScope::Team(t) => format!("team={t}"),
        BudgetScope::Organization => "organization".into(),
    }
}

/// The rules of a config: its budgets, then its rate limits.
pub fn rules_of(budgets: &[BudgetConfig], rates: &[RateLimitConfig]) -> Vec<Rule> {
    let mut out: Vec<Rule> = budgets
        .iter()
        .map(|c| {
            let offset_ms = i64::from(c.utc_offset_secs) * 1000;
            let clock = c
                .time_zone
                .clone()
                .unwrap_or_else(|| format!("{offset_ms:+}"));
            Rule {
                id: format!("{}/spend/{:?}{clock}", scope_id(&c.scope), c.window),
                scope: c.scope.clone(),
                measure: Measure::Spend {
                    limit: to_nanos(c.limit),
                    soft: c.soft.map(to_nanos),
                    window: c.window,
                    offset_ms,
                    zone: c
                        .time_zone
                        .as_deref()
                        .and_then(|z| jiff::tz::TimeZone::get(z).ok()),
                    step_down: c.step_down,
                },
                redis_down: c.redis_down,
            }
        })
        .collect();
    for r in rates {
        let per_minute = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut add = |name: &str, measure| {
            out.push(Rule {
                id: format!("{}/{name}", scope_id(&r.scope)),
                scope: r.scope.clone(),
                measure,
                redis_down: r.redis_down,
            })
        };
        if let Some(n) = r.requests_per_minute {
            add("rpm", Measure::Requests(per_minute(n)));
        }
        if let Some(n) = r.tokens_per_minute {
            add("tpm", Measure::Tokens(per_minute(n)));
        }
    }
    out
}

/// The rules a key carries itself (`keys create --budget-usd …`); their
/// ids are apart from configured rules for the same key.
pub fn rules_of_key(key_id: &str, limits: &super::keys::KeyLimits) -> Vec<Rule> {
    let scope = BudgetScope::Key(key_id.to_string());
    let redis_down = match limits.redis_down.as_deref() {
        Some("closed") => RedisDown::Closed,
        _ => RedisDown::Open,
    };
    let budgets: Vec<BudgetConfig> = limits
        .budget_usd
        .map(|limit| BudgetConfig {
            scope: scope.clone(),
            limit,
            soft: None,
            window: limits
                .budget_window
                .as_deref()
                .and_then(BudgetWindow::parse)
                .unwrap_or(BudgetWindow::Month),
            utc_offset_secs: 0,
            time_zone: None,
            redis_down,
            step_down: false,
        })
        .into_iter()
        .collect();
    let rates: Vec<RateLimitConfig> = (limits.requests_per_minute.is_some()
        || limits.tokens_per_minute.is_some())
    .then_some(RateLimitConfig {
        scope,
        requests_per_minute: limits.requests_per_minute,
        tokens_per_minute: limits.tokens_per_minute,
        redis_down,
    })
    .into_iter()
    .collect();
    rules_of(&budgets, &rates)
        .into_iter()
        .map(|mut r| {
            r.id = format!("own:{}", r.id);
            r
        })
        .collect()
}

impl Rule {
    /// Does it count `who`'s requests?
    pub fn applies(&self, who: &Identity) -> bool {
        match &self.scope {
            BudgetScope::Key(k) => *k == who.key_id,
            BudgetScope::User(u) => who.user.as_ref() == Some(u),
            BudgetScope::Team(t) => who.team.as_ref() == Some(t),
            BudgetScope::Organization => true,
        }
    }

    /// "the daily budget of team web", "the request rate limit of key k".
    pub fn name(&self) -> String {
        let what = match &self.measure {
            Measure::Spend { window, .. } => match window {
                BudgetWindow::Day => "daily budget",
                BudgetWindow::Week => "weekly budget",
                BudgetWindow::Month => "monthly budget",
                BudgetWindow::Total => "total budget",
            },
            Measure::Requests(_) => "request rate limit",
            Measure::Tokens(_) => "token rate limit",
        };
        match self.scope {
            BudgetScope::Organization => format!("the organization's {what}"),
            _ => format!("the {what} of {}", self.scope.describe()),
        }
    }

    /// The refusal limit (nano-dollars, requests or tokens).
    pub fn limit(&self) -> i64 {
        match self.measure {
            Measure::Spend { limit, .. } => limit,
            Measure::Requests(n) | Measure::Tokens(n) => n,
        }
    }

    /// Is it a money budget?
    pub fn is_spend(&self) -> bool {
        matches!(self.measure, Measure::Spend { .. })
    }

    /// The calendar window holding `now_ms`: its start and end (unix ms);
    /// rate limits slide, so theirs is all time.
    pub fn window_of(&self, now_ms: i64) -> (i64, i64) {
        let Measure::Spend {
            window,
            offset_ms,
            ref zone,
            ..
        } = self.measure
        else {
            return (i64::MIN, i64::MAX);
        };
        if let Some(zone) = zone
            && window != BudgetWindow::Total
            && let Some(w) = zoned_window(zone, window, now_ms)
        {
            return w;
        }
        let local = now_ms + offset_ms;
        let day = local.div_euclid(DAY_MS);
        let (start_day, end_day) = match window {
            BudgetWindow::Total => return (i64::MIN, i64::MAX),
            BudgetWindow::Day => (day, day + 1),
            // 1970-01-01 was a Thursday: Monday is 3 days before it.
            BudgetWindow::Week => {
                let monday = day - (day + 3).rem_euclid(7);
                (monday, monday + 7)
            }
            BudgetWindow::Month => month_of(day),
        };
        (start_day * DAY_MS - offset_ms, end_day * DAY_MS - offset_ms)
    }
}

/// The calendar window holding `now_ms` in a named time zone: from local
/// midnight (of the day, the Monday or the first) to the next, whatever
/// daylight saving does in between.
fn zoned_window(
    zone: &jiff::tz::TimeZone,
    window: BudgetWindow,
    now_ms: i64,
) -> Option<(i64, i64)> {
    use jiff::ToSpan;
    let today = jiff::Timestamp::from_millisecond(now_ms)
        .ok()?
        .to_zoned_datetime(zone.clone())
        .date();
    let (start, length) = match window {
        BudgetWindow::Day => (today, 1.day()),
        BudgetWindow::Week => {
            let back = jiff::civil::Weekday::Monday.until(today.weekday());
            (today.checked_sub(i64::from(back).days()).ok()?, 7.days())
        }
        BudgetWindow::Month => (today.first_of_month(), 1.month()),
        BudgetWindow::Total => return None,
    };
    let end = start.checked_add(length).ok()?;
    let at = |d: jiff::civil::Date| -> Option<i64> {
        Some(
            d.to_zoned_datetime(zone.clone())
                .ok()?
                .timestamp()
                .as_millisecond(),
        )
    };
    Some((at(start)?, at(end)?))
}

/// The start of the UTC day holding `now_ms` (unix ms).
pub fn day_start(now_ms: i64) -> i64 {
    now_ms.div_euclid(DAY_MS) * DAY_MS
}

/// The start of the UTC month holding `now_ms` (unix ms).
pub fn month_start(now_ms: i64) -> i64 {
    month_of(now_ms.div_euclid(DAY_MS)).0 * DAY_MS
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
