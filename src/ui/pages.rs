//! The dashboard's pages, each built from the same reports as
//! `switchyard report` (the cards carry the report's exact values in
//! `data-value`, so a test can hold the page to the JSON API).

use super::charts;
use super::html::{card, esc, page, path_segment, pct, table, usd};
use crate::state::AppState;
use crate::store::Store;
use crate::usage::reports::{Range, Report, Summary, build, today};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::fmt::Write;

pub(super) fn store(state: &AppState) -> Result<&Store, String> {
    state
        .store
        .as_ref()
        .ok_or_else(|| "this gateway runs without a ledger".to_string())
}

pub(super) async fn report(
    state: &AppState,
    kind: &str,
    range: Range,
    top: i64,
) -> Result<Report, String> {
    build(
        store(state)?,
        kind,
        range,
        &state.config.ledger.fixed_monthly,
        top,
    )
    .await
    .map_err(|e| format!("ledger query failed: {e}"))
}

/// A card carrying its exact report value.
fn value_card(id: &str, key: &str, shown: &str, exact: &str, sub: &str) -> String {
    card(key, shown, sub, Some((id, exact)))
}

fn summary_cards(prefix: &str, s: &Summary, r: &Report) -> String {
    let saved = format!("saved {} of {}", usd(s.saved_usd), usd(s.baseline_usd));
    let savings = s.savings_pct.map(|d| d.to_string()).unwrap_or_default();
    let l = &r.latency;
    [
        value_card(
            &format!("{prefix}-cost"),
            "cost",
            &usd(s.cost_usd),
            &s.cost_usd.to_string(),
            &saved,
        ),
        value_card(
            &format!("{prefix}-savings"),
            "savings vs baseline",
            &pct(s.savings_pct),
            &savings,
            "baseline: every request on the premium model",
        ),
        value_card(
            &format!("{prefix}-requests"),
            "requests",
            &s.requests.to_string(),
            &s.requests.to_string(),
            &format!(
                "{} failed · {} aborted by the client · {} fell back · {} token counts",
                s.failed, s.aborted, s.fallbacks, s.count_calls
            ),
        ),
        value_card(
            &format!("{prefix}-success"),
            "success rate",
            &format!("{}%", s.success_rate),
            &s.success_rate.to_string(),
            &format!(
                "failure {}% · client aborts {}% · fallback {}%",
                s.failure_rate,
                abort_rate(s),
                s.fallback_rate
            ),
        ),
        value_card(
            &format!("{prefix}-cache"),
            "response cache hits",
            &format!("{}%", s.cache_hit_rate),
            &s.cache_hit_rate.to_string(),
            &format!("{} hits saved {}", s.cache_hits, usd(s.cache_saved_usd)),
        ),
        value_card(
            &format!("{prefix}-prompt-cache"),
            "prompt cache reads",
            &format!("{}%", s.prompt_cache_read_pct),
            &s.prompt_cache_read_pct.to_string(),
            "of prompt tokens, read from the provider's cache",
        ),
        if s.shadowed > 0 {
            value_card(
                &format!("{prefix}-projected"),
                "if routing were on",
                &pct(s.projected_savings_pct),
                &s.projected_savings_pct
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                &format!(
                    "{} in shadow mode: {} instead of {}",
                    s.shadowed,
                    usd(s.projected_cost_usd),
                    usd(s.cost_usd)
                ),
            )
        } else {
            String::new()
        },
        value_card(
            &format!("{prefix}-latency"),
            "latency p50 / p95",
            &format!("{:.0} / {:.0} ms", l.p50_ms, l.p95_ms),
            &l.p50_ms.to_string(),
            &format!(
                "gateway overhead {:.2} / {:.2} ms",
                l.overhead_p50_ms, l.overhead_p95_ms
            ),
        ),
    ]
    .concat()
}

/// Requests the client gave up on, as a share of all (the success,
/// failure and fallback rates share the same denominator).
fn abort_rate(s: &Summary) -> Decimal {
    if s.requests == 0 {
        return Decimal::ZERO;
    }
    (Decimal::from(s.aborted) * Decimal::from(100) / Decimal::from(s.requests)).round_dp(2)
}

/// Links to the usual ranges: today, yesterday, 7 and 30 days.
fn quick_ranges(action: &str) -> String {
    let t = today();
    let y = t - time::Duration::days(1);
    let link = |label: &str, from: time::Date, to: time::Date| {
        format!("<a href='{action}?from={from}&amp;to={to}'>{label}</a>")
    };
    format!(
        "<p class=quick>{}{}{}{}</p>",
        link("Today", t, t),
        link("Yesterday", y, y),
        link("Last 7 days", t - time::Duration::days(6), t),
        link("Last 30 days", t - time::Duration::days(29), t)
    )
}

pub(super) fn range_form(action: &str, range: Range, query: &str) -> String {
    format!(
        "{}<form class=range method=get action='{action}'>\
         <label>From<input type=date name=from value='{}'></label>\
         <label>To<input type=date name=to value='{}'></label>\
         <button type=submit>Show</button>\
         <a class=btn id=export-csv href='/ui/export{q}&format=csv' download>Export CSV</a>\
         <a class=btn id=export-json href='/ui/export{q}&format=jsonl' download>Export JSON</a>\
         <a class=btn href='/ui/report{q}&format=json'>Report JSON</a></form>",
        quick_ranges(action),
        range.from,
        range.to,
        q = esc(query)
    )
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// Today and the range: money, rates, latency, the daily trend, issues.
pub async fn overview(state: &AppState, range: Range, query: String) -> Result<String, String> {
    let day = report(state, "daily", Range::day(today()), 0).await?;
    let r = report(state, "range", range, 0).await?;
    let mut body = format!("<h1>Overview</h1>{}", range_form("/ui", range, &query));
    let _ = write!(
        body,
        "<h2>Today ({})</h2><div class=cards>{}</div>\
         <h2>{} to {}</h2><div class=cards>{}</div>\
         <h2>Cost and baseline per day</h2><div class=panel>{}</div>",
        day.from,
        summary_cards("today", &day.summary, &day),
        r.from,
        r.to,
        summary_cards("range", &r.summary, &r),
        charts::trend(&daily(&r))
    );
    if !r.issues.is_empty() {
        body.push_str("<h2>Worth a look</h2><div class=panel><ul>");
        for i in &r.issues {
            let _ = write!(body, "<li>{}</li>", esc(i));
        }
        body.push_str("</ul></div>");
    }
    if !r.pricing.is_empty() {
        body.push_str("<h2>Prices</h2><div class=panel><ul>");
        for p in &r.pricing {
            let _ = write!(body, "<li class=warn>{}</li>", esc(p));
        }
        body.push_str("</ul></div>");
    }
    Ok(page("Overview", "/ui", &query, Some(60), &body))
}

/// Every day of the range, zero where nothing ran.
fn daily(r: &Report) -> Vec<(String, f64, f64)> {
    let (Ok(from), Ok(to)) = (
        crate::usage::reports::parse_date(&r.from),
        crate::usage::reports::parse_date(&r.to),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        let name = d.to_string();
        let line = r.days.iter().find(|l| l.name == name);
        out.push((
            name,
            line.map_or(0.0, |l| f(l.cost_usd)),
            line.map_or(0.0, |l| f(l.baseline_usd)),
        ));
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    out
}

pub(super) fn lines_table(lines: &[crate::usage::reports::Line], what: &str) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                esc(&l.name),
                l.requests.to_string(),
                format!("{}%", l.share),
                l.failed.to_string(),
                l.fallbacks.to_string(),
                usd(l.cost_usd),
                usd(l.baseline_usd),
            ]
        })
        .collect();
    table(
        &[
            what,
            "#requests",
            "#share",
            "#failed",
            "#fallbacks",
            "#cost",
            "#baseline",
        ],
        &rows,
    )
}

/// Where requests went: per model and per tier.
pub async fn models(state: &AppState, range: Range, query: String) -> Result<String, String> {
    let r = report(state, "models", range, 0).await?;
    let by_cost: Vec<_> = r
        .models
        .iter()
        .map(|l| (l.name.clone(), f(l.cost_usd), usd(l.cost_usd)))
        .collect();
    let by_tier: Vec<_> = r
        .tiers
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                l.requests as f64,
                format!("{} ({}%)", l.requests, l.share),
            )
        })
        .collect();
    let body = format!(
        "<h1>Models and tiers</h1>{}\
         <h2>Requests per tier</h2><div class=panel>{}</div>\
         <h2>Cost per model</h2><div class=panel>{}</div>\
         <h2>Models</h2><div class=panel>{}</div><h2>Tiers</h2><div class=panel>{}</div>",
        range_form("/ui/models", range, &query),
        charts::bars(&by_tier),
        charts::bars(&by_cost),
        lines_table(&r.models, "model"),
        lines_table(&r.tiers, "tier"),
    );
    Ok(page(
        "Models and tiers",
        "/ui/models",
        &query,
        Some(60),
        &body,
    ))
}

fn requests_table(rows: &[crate::usage::reports::TopRequest], query: &str) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|t| {
            vec![
                format!(
                    "<a href='/ui/requests/{}{}'>{}</a>",
                    path_segment(&t.id),
                    esc(query),
                    esc(&t.id)
                ),
                time_of(t.ts_ms),
                esc(t.model.as_deref().unwrap_or("-")),
                esc(t.session.as_deref().unwrap_or("-")),
                t.tokens.to_string(),
                usd(t.cost_usd),
                usd(t.baseline_usd),
                t.status.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "request",
            "time (UTC)",
            "model",
            "session",
            "#tokens",
            "#cost",
            "#baseline",
            "#status",
        ],
        &rows,
    )
}

pub(super) fn time_of(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| {
            format!(
                "{} {:02}:{:02}:{:02}",
                t.date(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// The dearest requests and Claude Code sessions.
pub async fn spend(state: &AppState, range: Range, query: String) -> Result<String, String> {
    let r = report(state, "sessions", range, 25).await?;
    let sessions: Vec<Vec<String>> = r
        .sessions
        .iter()
        .map(|l| {
            vec![
                format!(
                    "<a href='/ui/sessions/{}{}'>{}</a>",
                    path_segment(&l.name),
                    esc(&query),
                    esc(&l.name)
                ),
                esc(l.agent.as_deref().unwrap_or("-")),
                l.requests.to_string(),
                l.failed.to_string(),
                usd(l.cost_usd),
                usd(l.baseline_usd),
            ]
        })
        .collect();
    let body = format!(
        "<h1>Top spend</h1>{}<h2>Most expensive requests</h2><div class=panel>{}</div>\
         <h2>Sessions and agents</h2><div class=panel>{}</div>",
        range_form("/ui/spend", range, &query),
        requests_table(&r.top_requests, &query),
        table(
            &[
                "session",
                "agent",
                "#requests",
                "#failed",
                "#cost",
                "#baseline"
            ],
            &sessions
        ),
    );
    Ok(page("Top spend", "/ui/spend", &query, Some(60), &body))
}

/// One session's requests.
pub async fn session(
    state: &AppState,
    id: String,
    range: Range,
    query: String,
) -> Result<String, String> {
    let (from, to) = range.millis();
    let rows = store(state)?
        .session_rows(&id, from, to, 200)
        .await
        .map_err(|e| format!("ledger query failed: {e}"))?;
    let top = crate::usage::reports::top(rows);
    let body = format!(
        "<h1>Session {}</h1><p>{} to {}, dearest first</p><div class=panel>{}</div>",
        esc(&id),
        range.from,
        range.to,
        requests_table(&top, &query)
    );
    Ok(page("Session", "/ui/spend", &query, None, &body))
}
