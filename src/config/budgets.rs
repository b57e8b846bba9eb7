//! Spend limits: `[[budgets]]`, one per key, developer or team.
//!
//! ```toml
//! [[budgets]]
//! user           = "alice"     # or key = "key_…", or team = "web"
//! limit_usd      = 20          # hard: refused (429) once reached
//! soft_limit_usd = 15          # optional: a warning header from here on
//! soft_action    = "warn"      # or "step_down": past the soft limit, a
//!                              # request goes to the next cheaper tier
//! window         = "day"       # day, week (from Monday), month, or total
//! utc_offset     = "+01:00"    # where the day starts (default UTC)
//! time_zone      = "Europe/Berlin"   # or a named zone (daylight saving kept)
//! redis_down     = "open"      # Redis unreachable: count locally ("open",
//!                              # default) or refuse ("closed")
//! ```

use super::section::{Errors, Section};
use rust_decimal::Decimal;
use toml::Value;

/// Keys of a `[[budgets]]` table.
pub(super) static BUDGET_KEYS: &[&str] = &[
    "key",
    "user",
    "team",
    "limit_usd",
    "soft_limit_usd",
    "window",
    "utc_offset",
    "time_zone",
    "redis_down",
    "soft_action",
];

/// Whose spend a budget counts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BudgetScope {
    /// One client key (its id, `key_…`).
    Key(String),
    /// Every key of one developer.
    User(String),
    /// Every key of one team.
    Team(String),
    /// Every client key and signed-in person (set through the admin API's
    /// `organization` scope).
    Organization,
}

impl BudgetScope {
    /// `key key_…`, `user alice`, `team web`.
    pub fn describe(&self) -> String {
        match self {
            BudgetScope::Key(k) => format!("key {k}"),
            BudgetScope::User(u) => format!("user {u}"),
            BudgetScope::Team(t) => format!("team {t}"),
            BudgetScope::Organization => "the organization".into(),
        }
    }
}

/// The period a budget's spend is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BudgetWindow {
    /// From midnight.
    Day,
    /// From Monday midnight.
    Week,
    /// From the first of the month.
    Month,
    /// For ever.
    Total,
}

impl BudgetWindow {
    const ALL: [BudgetWindow; 4] = [
        BudgetWindow::Day,
        BudgetWindow::Week,
        BudgetWindow::Month,
        BudgetWindow::Total,
    ];

    /// `day`, `week`, `month` or `total`.
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetWindow::Day => "day",
            BudgetWindow::Week => "week",
            BudgetWindow::Month => "month",
            BudgetWindow::Total => "total",
        }
    }

    /// The window named `text` (`as_str`'s names).
    pub fn parse(text: &str) -> Option<BudgetWindow> {
        BudgetWindow::ALL.into_iter().find(|w| w.as_str() == text)
    }
}

/// One spend limit.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetConfig {
    /// Whose spend.
    pub scope: BudgetScope,
    /// Refused once reached, USD.
    pub limit: Decimal,
    /// Warned from here, USD.
    pub soft: Option<Decimal>,
    /// Counted over.
    pub window: BudgetWindow,
    /// Offset of the budget's clock from UTC, seconds.
    pub utc_offset_secs: i32,
    /// A named time zone (IANA) for the budget's clock, instead of an offset.
    pub time_zone: Option<String>,
    /// What to do while the shared counters (Redis) cannot be reached.
    pub redis_down: RedisDown,
    /// Past the soft limit, serve from the next cheaper tier.
    pub step_down: bool,
}

/// What a limit does while Redis, which shares its counters between
/// instances, cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedisDown {
    /// Go on with this instance's own counters (seeded from the ledger).
    #[default]
    Open,
    /// Refuse the key's requests (503) until Redis is back.
    Closed,
}

/// Read `redis_down` of a limit's table.
pub(super) fn redis_down(s: &Section<'_>, errors: &mut Errors) -> RedisDown {
    redis_down_at(s, "redis_down", errors)
}

/// Read a Redis-down policy (`open` or `closed`) at `key`.
pub(super) fn redis_down_at(s: &Section<'_>, key: &str, errors: &mut Errors) -> RedisDown {
    match s.str(key, errors).as_deref() {
        None | Some("open") => RedisDown::Open,
        Some("closed") => RedisDown::Closed,
        Some(other) => {
            errors.add(
                &s.path(key),
                format!("unknown policy '{other}'"),
                Some("open (count locally) or closed (refuse)".into()),
            );
            RedisDown::Open
        }
    }
}

/// Read the one of `key`, `user` or `team` a limit names.
pub(super) fn scope(
    s: &Section<'_>,
    path: &str,
    what: &str,
    errors: &mut Errors,
) -> Option<BudgetScope> {
    let scopes: Vec<BudgetScope> = [
        s.non_empty_str("key", errors).map(BudgetScope::Key),
        s.non_empty_str("user", errors).map(BudgetScope::User),
        s.non_empty_str("team", errors).map(BudgetScope::Team),
    ]
    .into_iter()
    .flatten()
    .collect();
    if scopes.len() != 1 {
        errors.add(
            path,
            format!("{what} names exactly one of key, user or team"),
            None,
        );
        return None;
    }
    scopes.into_iter().next()
}

fn usd(s: &Section<'_>, key: &str, errors: &mut Errors) -> Option<Decimal> {
    let v = s.get(key)?;
    let amount = match v {
        Value::Integer(i) if *i >= 0 => Some(Decimal::from(*i)),
        Value::Float(f) if *f >= 0.0 => f.to_string().parse().ok(),
        _ => None,
    };
    if amount.is_none() {
        errors.add(
            &s.path(key),
            "expected an amount in USD (≥ 0)",
            Some("e.g. 20 or 7.5".into()),
        );
    }
    amount
}

fn offset(text: &str) -> Option<i32> {
    let o = time::UtcOffset::parse(
        text,
        time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .ok()?;
    Some(o.whole_seconds())
}

fn read_one(t: &toml::Table, path: &str, errors: &mut Errors) -> Option<BudgetConfig> {
    let s = Section::new(t, path, BUDGET_KEYS, errors);
    let scope = scope(&s, path, "a budget", errors);
    let redis_down = redis_down(&s, errors);
    let window = match s.str("window", errors) {
        None => BudgetWindow::Month,
        Some(text) => BudgetWindow::parse(&text).unwrap_or_else(|| {
            errors.add(
                &s.path("window"),
                format!("unknown window '{text}'"),
                Some("day, week, month or total".into()),
            );
            BudgetWindow::Month
        }),
    };
    let utc_offset_secs = match s.str("utc_offset", errors) {
        None => 0,
        Some(text) => offset(&text).unwrap_or_else(|| {
            errors.add(
                &s.path("utc_offset"),
                format!("'{text}' is not an offset"),
                Some("e.g. \"+01:00\" or \"-05:00\"".into()),
            );
            0
        }),
    };
    let step_down = match s.str("soft_action", errors).as_deref() {
        None | Some("warn") => false,
        Some("step_down") => true,
        Some(other) => {
            errors.add(
                &s.path("soft_action"),
                format!("unknown soft_action '{other}'"),
                Some("warn or step_down".into()),
            );
            false
        }
    };
    let time_zone = s.non_empty_str("time_zone", errors);
    if let Some(zone) = &time_zone {
        if let Err(e) = jiff::tz::TimeZone::get(zone) {
            errors.add(
                &s.path("time_zone"),
                format!("unknown time zone '{zone}': {e}"),
                Some("an IANA name such as \"Europe/Berlin\" or \"America/New_York\"".into()),
            );
        }
        if s.has("utc_offset") {
            errors.add(
                &s.path("time_zone"),
                "give time_zone or utc_offset, not both",
                None,
            );
        }
    }
    let limit = usd(&s, "limit_usd", errors);
    let soft = usd(&s, "soft_limit_usd", errors);
    if limit.is_none() && !s.has("limit_usd") {
        errors.add(&s.path("limit_usd"), "a budget needs limit_usd", None);
    }
    if let (Some(l), Some(w)) = (limit, soft)
        && w > l
    {
        errors.add(
            &s.path("soft_limit_usd"),
            "must not be above limit_usd",
            None,
        );
    }
    Some(BudgetConfig {
        scope: scope?,
        limit: limit?,
        soft,
        window,
        utc_offset_secs,
        time_zone,
        redis_down,
        step_down,
    })
}

/// Read `[[budgets]]`.
pub(super) fn read(top: &Section<'_>, errors: &mut Errors) -> Vec<BudgetConfig> {
    let out = super::section::tables(top, "budgets", errors, read_one);
    let mut seen = std::collections::HashSet::new();
    for b in &out {
        if !seen.insert((b.scope.clone(), b.window)) {
            errors.add(
                "budgets",
                format!("two {:?} budgets for {}", b.window, b.scope.describe()),
                None,
            );
        }
    }
    out
}
