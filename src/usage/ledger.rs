//! Ledger rows: a finished request record, priced — its exact cost and what
//! the baseline model would have charged for the same tokens.

use super::pricing::{Price, PriceBook, Priced};
use super::record::RequestRecord;
use crate::config::Config;
use crate::core::Usage;
pub use crate::store::LedgerRow;
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Nano-dollars per dollar (money is stored as integer nano-dollars).
pub const NANOS: i64 = 1_000_000_000;

/// Dollars to nano-dollars (rounded; sub-nano-dollar remainders are far
/// below any bill's resolution).
pub fn to_nanos(usd: Decimal) -> i64 {
    (usd * Decimal::from(NANOS))
        .round()
        .try_into()
        .unwrap_or(i64::MAX)
}

/// Nano-dollars to dollars.
pub fn from_nanos(nanos: i64) -> Decimal {
    Decimal::from(nanos) / Decimal::from(NANOS)
}

/// Prices requests: per-model overrides, free local providers, the price
/// book, and the baseline.
#[derive(Debug, Clone, Default)]
pub struct Pricer {
    book: PriceBook,
    /// Configured model name → its price (overrides, and local models at $0).
    by_model: HashMap<String, Price>,
    baseline: Option<Price>,
    baseline_model: Option<String>,
}

impl Pricer {
    /// The baseline model's price, if known.
    pub fn baseline(&self) -> Option<Price> {
        self.baseline
    }

    /// What routing's choice would have cost for `r`'s tokens (shadow mode).
    pub fn shadow_price_of(&self, r: &RequestRecord) -> Option<Price> {
        if let Some(p) = r.shadow_model.as_ref().and_then(|m| self.by_model.get(m)) {
            return Some(*p);
        }
        let upstream = r.shadow_upstream.as_deref()?;
        self.book.lookup(upstream).map(|p| p.price)
    }

    /// Whether the baseline model served `r`.
    pub fn baseline_served(&self, r: &RequestRecord) -> bool {
        self.baseline_model.is_some() && r.model == self.baseline_model
    }
}

/// A configured model's price: its own (or $0 when local), else the book's
/// for its upstream id.
fn model_price(
    by_model: &HashMap<String, Price>,
    book: &PriceBook,
    m: &crate::config::ModelConfig,
) -> Option<Price> {
    by_model.get(&m.name).copied().or_else(|| {
        book.lookup(m.id.as_deref().unwrap_or(&m.name))
            .map(|p| p.price)
    })
}

impl Pricer {
    /// Build from config and a price book.
    pub fn new(config: &Config, book: PriceBook) -> Self {
        let mut by_model = HashMap::new();
        for m in &config.models {
            let local = super::price_check::is_local(config, m);
            match (m.price, local) {
                (Some(p), _) => {
                    by_model.insert(m.name.clone(), p);
                }
                (None, true) => {
                    by_model.insert(m.name.clone(), Price::free());
                }
                (None, false) => {}
            }
        }
        let baseline = config.routing.baseline.as_deref().and_then(|name| {
            let m = config.models.iter().find(|m| m.name == name)?;
            model_price(&by_model, &book, m)
        });
        if config.routing.baseline.is_some() && baseline.is_none() {
            tracing::warn!(
                "the baseline model has no known price; savings cannot be computed (set its price in config)"
            );
        }
        Pricer {
            book,
            by_model,
            baseline,
            baseline_model: config.routing.baseline.clone(),
        }
    }

    /// The price of each configured model that has one (configured, local
    /// at $0, or from the book by its upstream id).
    pub fn model_prices(&self, config: &Config) -> HashMap<String, Price> {
        config
            .models
            .iter()
            .filter_map(|m| Some((m.name.clone(), model_price(&self.by_model, &self.book, m)?)))
            .collect()
    }

    /// The price of what served a record, if known (or estimated).
    pub fn price_of(&self, r: &RequestRecord) -> Option<Priced> {
        if let Some(p) = r.model.as_ref().and_then(|m| self.by_model.get(m)) {
            return Some(Priced {
                price: *p,
                estimated_from: None,
            });
        }
        [&r.upstream_model, &r.response_model]
            .into_iter()
            .flatten()
            .find_map(|m| self.book.lookup(m))
    }
}

/// A server on this machine (a local model costs nothing).
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    match u.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl LedgerRow {
    /// Price a finished record; `baseline_usage` is what the baseline model
    /// would have billed for it (see `baseline`).
    pub fn from_record(r: &RequestRecord, pricer: &Pricer, baseline_usage: &Usage) -> Self {
        let priced = pricer.price_of(r);
        let served = priced
            .as_ref()
            .map(|p| p.price.cost(&r.usage))
            .unwrap_or_default();
        // A cache hit costs nothing; its tokens are what it saved.
        let hit = r.cache == Some(super::CacheUse::Hit);
        let cost = if hit { Default::default() } else { served };
        // Shadow mode: the same tokens at the price of routing's choice.
        let shadow_cost = r
            .shadow_model
            .as_ref()
            .map(|_| match pricer.shadow_price_of(r) {
                Some(_) if hit => 0,
                Some(p) => to_nanos(p.cost(&r.usage)),
                None => to_nanos(cost),
            });
        // What the baseline would have charged for the same tokens; a
        // served-from-cache answer saves all of it.
        // An unpriced row has no baseline either: its savings are unknown,
        // and counting the baseline alone would overstate them.
        let baseline = match (pricer.baseline, &priced) {
            (_, None) => Decimal::ZERO,
            (Some(b), Some(_)) => b.cost(baseline_usage),
            (None, Some(_)) => served,
        };
        let when = OffsetDateTime::from(r.started_at);
        let ts_ms = i64::try_from(when.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let day = format!(
            "{:04}-{:02}-{:02}",
            when.year(),
            u8::from(when.month()),
            when.day()
        );
        let first_byte = r.ttft.unwrap_or(r.latency);
        let overhead = (r.attempts > 0).then(|| ms(first_byte.saturating_sub(r.upstream_time)));
        LedgerRow {
            id: r.request_id.clone(),
            ts_ms,
            day,
            key_id: r.identity.as_ref().map(|i| i.key_id.clone()),
            user_id: r.identity.as_ref().and_then(|i| i.user.clone()),
            team: r.identity.as_ref().and_then(|i| i.team.clone()),
            session_id: r.session_id.clone(),
            agent_id: r.agent_id.clone(),
            dialect: r.dialect.as_str().to_string(),
            endpoint: r.endpoint.to_string(),
            requested_model: r.requested_model.clone(),
            route: r.route.clone(),
            tier: r.tier.clone(),
            provider: r.provider.clone(),
            model: r.model.clone(),
            upstream_model: r.upstream_model.clone(),
            stream: r.stream,
            attempts: i64::from(r.attempts),
            fallbacks: i64::from(r.fallbacks),
            cache: r.cache.map(|c| c.as_str().to_string()),
            status: i64::from(r.status),
            outcome: r.outcome.as_str().to_string(),
            error_kind: r.error_kind.clone(),
            input_tokens: tokens(r.usage.input_tokens),
            output_tokens: tokens(r.usage.output_tokens),
            cache_write_5m_tokens: tokens(r.usage.cache_write_5m_tokens),
            cache_write_1h_tokens: tokens(r.usage.cache_write_1h_tokens),
            cache_read_tokens: tokens(r.usage.cache_read_tokens),
            output_estimated: r.output_estimated,
            priced: priced.is_some() || r.usage == Default::default(),
            priced_as: priced.and_then(|p| p.estimated_from),
            shadow_model: r.shadow_model.clone(),
            shadow_cost_nusd: shadow_cost,
            guard: r.guard.clone(),
            reason: r.reason.clone(),
            cost_nusd: to_nanos(cost),
            baseline_nusd: to_nanos(baseline),
            latency_ms: ms(r.latency),
            ttft_ms: r.ttft.map(ms),
            overhead_ms: overhead,
        }
    }
}
