//! Reports built from the ledger: daily, weekly, per model, per session,
//! and the most expensive requests. The same structures feed the CLI
//! (`switchyard report`), the admin JSON API and the dashboard, so their
//! numbers always agree.

use super::ledger::{LedgerRow, from_nanos};
use crate::store::{Group, GroupRow, Order, Store, Totals};
use rust_decimal::Decimal;
use serde::Serialize;
use time::{Date, Duration as Days, OffsetDateTime};

/// Money as reported: dollars, rounded to a hundredth of a cent.
pub fn usd(nanos: i64) -> Decimal {
    from_nanos(nanos).round_dp(4)
}

/// Savings in percent of the baseline (none when there is no baseline).
pub fn savings_pct(cost: i64, baseline: i64) -> Option<Decimal> {
    (baseline > 0).then(|| {
        (Decimal::from(baseline - cost) * Decimal::from(100) / Decimal::from(baseline)).round_dp(1)
    })
}

fn rate(part: i64, all: i64) -> Decimal {
    if all == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(part) * Decimal::from(100) / Decimal::from(all)).round_dp(1)
    }
}

/// A UTC date range, `to` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl Range {
    /// One day.
    pub fn day(d: Date) -> Self {
        Range { from: d, to: d }
    }

    /// The `days` days ending on `to`.
    pub fn ending(to: Date, days: i64) -> Self {
        Range {
            from: to - Days::days(days - 1),
            to,
        }
    }

    /// `[start ms, end ms)`.
    pub fn millis(&self) -> (i64, i64) {
        let ms = |d: Date| (d.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64;
        (ms(self.from), ms(self.to + Days::days(1)))
    }

    /// Days covered.
    pub fn days(&self) -> i64 {
        (self.to - self.from).whole_days() + 1
    }
}

/// Today (UTC).
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Parse `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, format).map_err(|_| format!("'{s}' is not a date like 2026-11-28"))
}

/// Money and counts of a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Requests.
    pub requests: i64,
    /// Answered in full.
    pub success: i64,
    /// Failed.
    pub failed: i64,
    /// Client went away.
    pub aborted: i64,
    /// Served after a fallback.
    pub fallbacks: i64,
    /// Served from the cache.
    pub cache_hits: i64,
    /// Requests with no known price (counted at $0, no baseline).
    pub unpriced: i64,
    /// Requests priced by an estimate (their model is not in the table).
    pub estimated: i64,
    /// Token-counting calls (apart from the requests above).
    pub count_calls: i64,
    /// Requests served as asked in shadow mode (routing only recorded).
    pub shadowed: i64,
    /// What the requests would have cost had routing been on, USD.
    pub projected_cost_usd: Decimal,
    /// Projected savings against the baseline had routing been on, percent.
    pub projected_savings_pct: Option<Decimal>,
    /// What the requests cost, USD.
    pub cost_usd: Decimal,
    /// What the baseline model would have cost, USD.
    pub baseline_usd: Decimal,
    /// Baseline minus cost, USD.
    pub saved_usd: Decimal,
    /// Saved, in percent of the baseline.
    pub savings_pct: Option<Decimal>,
    /// Money the response cache saved, USD.
    pub cache_saved_usd: Decimal,
    /// Share of prompt tokens read from the provider's prompt cache, percent.
    pub prompt_cache_read_pct: Decimal,
    /// Fixed costs for the period (total cost of ownership), USD.
    pub fixed_usd: Decimal,
    /// Cost plus fixed costs, USD.
    pub total_usd: Decimal,
    /// Success, failure and fallback rates, percent.
    pub success_rate: Decimal,
    /// Failure rate, percent.
    pub failure_rate: Decimal,
    /// Fallback rate, percent.
    pub fallback_rate: Decimal,
    /// Response-cache hit rate, percent.
    pub cache_hit_rate: Decimal,
    /// Tokens: uncached input, output, cache reads, cache writes.
    pub tokens: [i64; 4],
}

impl Summary {
    fn new(t: &Totals, fixed_usd: Decimal) -> Self {
        let cost = usd(t.cost_nusd);
        Summary {
            requests: t.requests,
            success: t.success,
            failed: t.failed,
            aborted: t.aborted,
            fallbacks: t.fallbacks,
            cache_hits: t.cache_hits,
            unpriced: t.unpriced,
            estimated: t.estimated,
            count_calls: t.count_calls,
            shadowed: t.shadowed,
            projected_cost_usd: usd(t.projected_nusd),
            projected_savings_pct: savings_pct(t.projected_nusd, t.baseline_nusd),
            cost_usd: cost,
            baseline_usd: usd(t.baseline_nusd),
            saved_usd: usd(t.baseline_nusd - t.cost_nusd),
            savings_pct: savings_pct(t.cost_nusd, t.baseline_nusd),
            cache_saved_usd: usd(t.cache_saved_nusd),
            prompt_cache_read_pct: rate(
                t.cache_read_tokens,
                t.input_tokens + t.cache_read_tokens + t.cache_write_tokens,
            ),
            fixed_usd,
            total_usd: cost + fixed_usd,
            success_rate: rate(t.success, t.requests),
            failure_rate: rate(t.failed, t.requests),
            fallback_rate: rate(t.fallbacks, t.requests),
            cache_hit_rate: rate(t.cache_hits, t.requests),
            tokens: [
                t.input_tokens,
                t.output_tokens,
                t.cache_read_tokens,
                t.cache_write_tokens,
            ],
        }
    }
}

/// One line of a breakdown.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    /// Model, tier, day, error, session…
    pub name: String,
    /// Agent, for sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Requests.
    pub requests: i64,
    /// Share of all requests, percent.
    pub share: Decimal,
    /// Failed.
    pub failed: i64,
    /// Served after a fallback.
    pub fallbacks: i64,
    /// Cost, USD.
    pub cost_usd: Decimal,
    /// Baseline, USD.
    pub baseline_usd: Decimal,
    /// Input tokens (all kinds).
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
}

pub(super) fn lines(rows: Vec<GroupRow>, total: i64) -> Vec<Line> {
    rows.into_iter()
        .map(|g| Line {
            name: g.key.unwrap_or_else(|| "-".into()),
            agent: g.key2,
            requests: g.requests,
            share: rate(g.requests, total),
            failed: g.failed,
            fallbacks: g.fallbacks,
            cost_usd: usd(g.cost_nusd),
            baseline_usd: usd(g.baseline_nusd),
            input_tokens: g.input_tokens,
            output_tokens: g.output_tokens,
        })
        .collect()
}

/// A costly request, for the top-N lists.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopRequest {
    /// Request id.
    pub id: String,
    /// Unix ms.
    pub ts_ms: i64,
    /// Model that served.
    pub model: Option<String>,
    /// Claude Code session.
    pub session: Option<String>,
    /// Cost, USD.
    pub cost_usd: Decimal,
    /// Baseline, USD.
    pub baseline_usd: Decimal,
    /// Input + output tokens.
    pub tokens: i64,
    /// Status.
    pub status: i64,
}

/// Ledger rows as top-list entries.
pub fn top(rows: Vec<LedgerRow>) -> Vec<TopRequest> {
    rows.into_iter()
        .map(|r| TopRequest {
            tokens: r.input_tokens
                + r.cache_read_tokens
                + r.cache_write_5m_tokens
                + r.cache_write_1h_tokens
                + r.output_tokens,
            id: r.id,
            ts_ms: r.ts_ms,
            model: r.model,
            session: r.session_id,
            cost_usd: usd(r.cost_nusd),
            baseline_usd: usd(r.baseline_nusd),
            status: r.status,
        })
        .collect()
}

/// Latency percentiles of successful requests, ms.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Latency {
    /// Median latency.
    pub p50_ms: f64,
    /// 95th percentile latency.
    pub p95_ms: f64,
    /// Median gateway overhead.
    pub overhead_p50_ms: f64,
    /// 95th percentile gateway overhead.
    pub overhead_p95_ms: f64,
}

/// The smallest value at or above which a fraction `p` of `sorted` lies
/// (PostgreSQL's `percentile_disc`, which computes it there).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted[i.min(sorted.len() - 1)]
}

async fn latency(store: &Store, from: i64, to: i64) -> Result<Latency, sqlx::Error> {
    if let Some([p50_ms, p95_ms, overhead_p50_ms, overhead_p95_ms]) =
        store.latency_percentiles(from, to).await?
    {
        return Ok(Latency {
            p50_ms,
            p95_ms,
            overhead_p50_ms,
            overhead_p95_ms,
        });
    }
    let rows = store.latencies(from, to).await?;
    let mut total: Vec<f64> = rows.iter().map(|r| r.0).collect();
    let mut overhead: Vec<f64> = rows.iter().filter_map(|r| r.1).collect();
    total.sort_by(f64::total_cmp);
    overhead.sort_by(f64::total_cmp);
    Ok(Latency {
        p50_ms: percentile(&total, 0.5),
        p95_ms: percentile(&total, 0.95),
        overhead_p50_ms: percentile(&overhead, 0.5),
        overhead_p95_ms: percentile(&overhead, 0.95),
    })
}

/// Fixed costs of a period: the monthly figures, per day.
pub fn fixed_for(fixed_monthly: &[(String, Decimal)], days: i64) -> Decimal {
    let monthly: Decimal = fixed_monthly.iter().map(|(_, v)| *v).sum();
    (monthly * Decimal::from(12) * Decimal::from(days) / Decimal::from(365)).round_dp(4)
}

/// Everything about one period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// `daily`, `weekly`, `models`, `sessions`.
    pub kind: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Money and counts.
    pub summary: Summary,
    /// Latency and gateway overhead.
    pub latency: Latency,
    /// Per model.
    pub models: Vec<Line>,
    /// Per tier.
    pub tiers: Vec<Line>,
    /// Per day.
    pub days: Vec<Line>,
    /// Failures by kind.
    pub errors: Vec<Line>,
    /// Claude Code sessions and agents.
    pub sessions: Vec<Line>,
    /// Per developer (client keys' users; "-" for requests without one).
    pub users: Vec<Line>,
    /// Per team.
    pub teams: Vec<Line>,
    /// Guardrail decisions: "ACTION RULE" (a request counts under each of
    /// its decisions).
    pub guardrails: Vec<Line>,
    /// Whose requests, when narrowed ("user alice", "team web").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
    /// The most expensive requests.
    pub top_requests: Vec<TopRequest>,
    /// Models not priced exactly: "claude-opus-6: priced as claude-opus-5-5,
    /// estimated (12 requests)", or unpriced.
    pub pricing: Vec<String>,
    /// Things worth a look.
    pub issues: Vec<String>,
}

/// Reads of one report running at once (the PostgreSQL pool has 8).
const REPORT_QUERIES_AT_ONCE: usize = 3;

/// Run `read` when one of `lanes` is free.
async fn in_lane<T>(
    lanes: &tokio::sync::Semaphore,
    read: impl std::future::Future<Output = T>,
) -> T {
    let _lane = lanes.acquire().await;
    read.await
}

/// Build the report of a range.
pub async fn build(
    store: &Store,
    kind: &str,
    range: Range,
    fixed_monthly: &[(String, Decimal)],
    top_n: i64,
) -> Result<Report, sqlx::Error> {
    let (from, to) = range.millis();
    // Independent reads of one range, a few at a time: PostgreSQL serves
    // them on several connections, and the rest of the pool stays free for
    // the ledger's writes.
    let lanes = tokio::sync::Semaphore::new(REPORT_QUERIES_AT_ONCE);
    let (
        totals,
        doubtful,
        errors,
        latency,
        models,
        tiers,
        days,
        sessions,
        users,
        teams,
        guard,
        top_rows,
    ) = tokio::try_join!(
        in_lane(&lanes, store.totals(from, to)),
        in_lane(&lanes, store.doubtful_prices(from, to)),
        in_lane(&lanes, store.group(Group::Error, from, to)),
        in_lane(&lanes, latency(store, from, to)),
        in_lane(&lanes, store.group(Group::Model, from, to)),
        in_lane(&lanes, store.group(Group::Tier, from, to)),
        in_lane(&lanes, store.group(Group::Day, from, to)),
        in_lane(&lanes, store.group(Group::Session, from, to)),
        in_lane(&lanes, store.group(Group::User, from, to)),
        in_lane(&lanes, store.group(Group::Team, from, to)),
        in_lane(&lanes, store.group(Group::Guard, from, to)),
        in_lane(&lanes, store.rows(from, to, Order::Cost, top_n)),
    )?;
    let summary = Summary::new(&totals, fixed_for(fixed_monthly, range.days()));
    let n = totals.requests;
    let pricing: Vec<String> = doubtful
        .into_iter()
        .map(|(model, priced_as, n)| match priced_as {
            Some(m) => format!("{model}: priced as {m}, estimated ({n} requests)"),
            None => format!(
                "{model}: unpriced, counted at $0 ({n} requests); set `price = {{…}}` on it"
            ),
        })
        .collect();
    let mut issues = Vec::new();
    if totals.unpriced + totals.estimated > 0 {
        issues.push(format!(
            "{} requests unpriced and {} priced by an estimate: see Prices",
            totals.unpriced, totals.estimated
        ));
    }
    if summary.failure_rate > Decimal::from(5) {
        issues.push(format!("{}% of requests failed", summary.failure_rate));
    }
    if summary.fallback_rate > Decimal::from(10) {
        issues.push(format!(
            "{}% of requests needed a fallback",
            summary.fallback_rate
        ));
    }
    let errors = lines(errors, n);
    for e in errors.iter().take(3) {
        issues.push(format!("{} × {}", e.requests, e.name));
    }
    Ok(Report {
        kind: kind.to_string(),
        from: range.from.to_string(),
        to: range.to.to_string(),
        latency,
        models: lines(models, n),
        tiers: lines(tiers, n),
        days: {
            let mut d = lines(days, n);
            d.sort_by(|a, b| a.name.cmp(&b.name));
            d
        },
        sessions: lines(sessions, n)
            .into_iter()
            .filter(|l| l.name != "-")
            .collect(),
        users: lines(users, n),
        teams: lines(teams, n),
        guardrails: super::guard_audit::lines(guard, n),
        only: store.narrowed_to(),
        top_requests: top(top_rows),
        errors,
        pricing,
        issues,
        summary,
    })
}
/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// One day: cost, requests, models, failures, fallbacks, issues, top requests.
    Daily,
    /// Seven days: cost vs baseline, savings, rates, per-day trend.
    Weekly,
    /// Per model over a range.
    Models,
    /// Per Claude Code session and agent over a range.
    Sessions,
    /// Per developer over a range.
    Users,
    /// Per team over a range.
    Teams,
    /// Guardrail decisions over a range: by action and rule.
    Guardrails,
    /// The team's weighted decision matrix over a range (default: 7 days).
    Decision,
}

/// The range a report covers.
pub fn range_of(
    kind: Kind,
    date: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Range, String> {
    let day = |s: Option<&str>| s.map(parse_date).transpose();
    let end = day(date.or(to))?.unwrap_or_else(today);
    Ok(match kind {
        Kind::Daily => Range::day(end),
        Kind::Weekly => Range::ending(end, 7),
        Kind::Models
        | Kind::Sessions
        | Kind::Users
        | Kind::Teams
        | Kind::Guardrails
        | Kind::Decision => {
            let start = day(from)?.unwrap_or(end - time::Duration::days(6));
            if start > end {
                return Err("--from is after --to".into());
            }
            Range {
                from: start,
                to: end,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_are_postgresqls_percentile_disc() {
        let sorted: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(super::percentile(&sorted, 0.5), 10.0);
        assert_eq!(super::percentile(&sorted, 0.95), 19.0);
        assert_eq!(super::percentile(&[7.0], 0.95), 7.0);
        assert_eq!(super::percentile(&[], 0.5), 0.0);
    }
}
