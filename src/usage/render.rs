//! Reports as Markdown (a daily log and a weekly summary a team pastes into
//! its notes), CSV and JSON; and ledger rows as CSV or JSON Lines.

use super::ledger::{LedgerRow, from_nanos};
use super::reports::{Line, Report};
use rust_decimal::Decimal;
use std::fmt::Write;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown.
    Md,
    /// JSON.
    Json,
    /// CSV.
    Csv,
    /// JSON Lines (exports).
    Jsonl,
}

/// Dollars with cents, the same way everywhere (`$0.00`, `$9.43`).
fn money(d: Decimal) -> String {
    format!("${:.2}", d.round_dp(2))
}

/// Dollars to a hundredth of a cent, for single requests.
fn money_fine(d: Decimal) -> String {
    format!("${:.4}", d.round_dp(4))
}

fn pct(d: Option<Decimal>) -> String {
    d.map(|p| format!("{p}%")).unwrap_or_else(|| "n/a".into())
}

/// Quote a CSV field when it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn table(out: &mut String, title: &str, rows: &[Line], with_agent: bool) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {title}\n");
    let agent = if with_agent { " agent |" } else { "" };
    let _ = writeln!(
        out,
        "| {} |{agent} requests | share | cost | baseline | failed | fallbacks |",
        title.to_lowercase()
    );
    let _ = writeln!(
        out,
        "|---|{}---:|---:|---:|---:|---:|---:|",
        if with_agent { "---|" } else { "" }
    );
    for l in rows {
        let agent = if with_agent {
            format!(" {} |", l.agent.as_deref().unwrap_or("-"))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "| {} |{agent} {} | {}% | {} | {} | {} | {} |",
            l.name,
            l.requests,
            l.share,
            money(l.cost_usd),
            money(l.baseline_usd),
            l.failed,
            l.fallbacks
        );
    }
}

/// A report as Markdown.
pub fn markdown(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let period = if r.from == r.to {
        r.from.clone()
    } else {
        format!("{} → {}", r.from, r.to)
    };
    let whose = r
        .only
        .as_deref()
        .map(|w| format!(" — {w}"))
        .unwrap_or_default();
    let _ = writeln!(out, "## switchyard {} — {period}{whose}\n", r.kind);
    let _ = writeln!(out, "| | |\n|---|---:|");
    let _ = writeln!(out, "| Cost | {} |", money(s.cost_usd));
    let _ = writeln!(
        out,
        "| Baseline (everything on the baseline model) | {} |",
        money(s.baseline_usd)
    );
    let _ = writeln!(
        out,
        "| Saved | {} ({}) |",
        money(s.saved_usd),
        pct(s.savings_pct)
    );
    if s.shadowed > 0 {
        let _ = writeln!(
            out,
            "| If routing were on ({} requests in shadow mode) | {} ({}) |",
            s.shadowed,
            money(s.projected_cost_usd),
            pct(s.projected_savings_pct)
        );
    }
    if s.fixed_usd > Decimal::ZERO {
        let _ = writeln!(out, "| Fixed costs | {} |", money(s.fixed_usd));
        let _ = writeln!(out, "| Total cost of ownership | {} |", money(s.total_usd));
    }
    let counts = if s.count_calls > 0 {
        format!(" (and {} token counts)", s.count_calls)
    } else {
        String::new()
    };
    let _ = writeln!(out, "| Requests | {}{counts} |", s.requests);
    let _ = writeln!(
        out,
        "| Success / failed / fallback | {}% / {}% / {}% |",
        s.success_rate, s.failure_rate, s.fallback_rate
    );
    let _ = writeln!(
        out,
        "| Prompt cache (provider): prompt tokens read from it | {}% |",
        s.prompt_cache_read_pct
    );
    let _ = writeln!(
        out,
        "| Response cache (switchyard): hits | {}% (saved {}) |",
        s.cache_hit_rate,
        money(s.cache_saved_usd)
    );
    let _ = writeln!(
        out,
        "| Latency p50 / p95 | {:.0} ms / {:.0} ms |",
        r.latency.p50_ms, r.latency.p95_ms
    );
    let _ = writeln!(
        out,
        "| Gateway overhead p50 / p95 | {:.3} ms / {:.3} ms |",
        r.latency.overhead_p50_ms, r.latency.overhead_p95_ms
    );
    match r.kind.as_str() {
        "weekly" => table(&mut out, "Day", &r.days, false),
        "sessions" => table(&mut out, "Session", &r.sessions, true),
        "users" => table(&mut out, "User", &r.users, false),
        "teams" => table(&mut out, "Team", &r.teams, false),
        "guardrails" if r.guardrails.is_empty() => {
            let _ = writeln!(out, "\nNo guardrail decisions in this range.");
        }
        _ => {}
    }
    if matches!(r.kind.as_str(), "guardrails" | "daily" | "weekly") {
        table(&mut out, "Guardrails", &r.guardrails, false);
    }
    if (r.kind == "daily" || r.kind == "weekly") && r.only.is_none() {
        // Only when client keys are in use (not everything under "-").
        if r.teams.iter().any(|l| l.name != "-") {
            table(&mut out, "Team", &r.teams, false);
        }
        if r.users.iter().any(|l| l.name != "-") {
            table(&mut out, "User", &r.users, false);
        }
    }
    if r.kind != "sessions" {
        table(&mut out, "Model", &r.models, false);
    }
    if r.kind == "daily" || r.kind == "weekly" {
        table(&mut out, "Tier", &r.tiers, false);
    }
    if !r.top_requests.is_empty() && r.kind != "models" {
        let _ = writeln!(out, "\n### Most expensive requests\n");
        for (i, t) in r.top_requests.iter().enumerate() {
            let _ = writeln!(
                out,
                "{}. `{}` {} {} ({} tokens{})",
                i + 1,
                t.id,
                t.model.as_deref().unwrap_or("-"),
                money_fine(t.cost_usd),
                t.tokens,
                t.session
                    .as_deref()
                    .map(|s| format!(", session {s}"))
                    .unwrap_or_default()
            );
        }
    }
    if !r.pricing.is_empty() {
        let _ = writeln!(out, "\n### Prices\n");
        for p in &r.pricing {
            let _ = writeln!(out, "- {p}");
        }
    }
    if !r.issues.is_empty() {
        let _ = writeln!(out, "\n### Issues\n");
        for i in &r.issues {
            let _ = writeln!(out, "- {i}");
        }
    }
    out
}

/// A report's main table as CSV (days for weekly, sessions for sessions,
/// models otherwise).
pub fn csv(r: &Report) -> String {
    let (key, rows) = match r.kind.as_str() {
        "weekly" => ("day", &r.days),
        "sessions" => ("session", &r.sessions),
        "users" => ("user", &r.users),
        "teams" => ("team", &r.teams),
        "guardrails" => ("decision", &r.guardrails),
        _ => ("model", &r.models),
    };
    let mut out = format!(
        "{key},agent,requests,share_pct,failed,fallbacks,cost_usd,baseline_usd,input_tokens,output_tokens\n"
    );
    for l in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&l.name),
            csv_field(l.agent.as_deref().unwrap_or("")),
            l.requests,
            l.share,
            l.failed,
            l.fallbacks,
            l.cost_usd,
            l.baseline_usd,
            l.input_tokens,
            l.output_tokens
        );
    }
    out
}

/// The CSV header of exported rows.
pub const EXPORT_HEADER: &str = "id,time_ms,day,key_id,user_id,team,session_id,agent_id,dialect,endpoint,requested_model,route,tier,provider,model,upstream_model,stream,attempts,fallbacks,cache,status,outcome,error_kind,input_tokens,output_tokens,cache_write_5m_tokens,cache_write_1h_tokens,cache_read_tokens,output_estimated,priced,cost_usd,baseline_usd,latency_ms,ttft_ms,overhead_ms,priced_as,shadow_model,shadow_cost_usd,guard,reason";

/// One exported row as CSV.
pub fn export_csv(r: &LedgerRow) -> String {
    let o = |v: &Option<String>| csv_field(v.as_deref().unwrap_or(""));
    let f = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        csv_field(&r.id),
        r.ts_ms,
        r.day,
        o(&r.key_id),
        o(&r.user_id),
        o(&r.team),
        o(&r.session_id),
        o(&r.agent_id),
        r.dialect,
        r.endpoint,
        o(&r.requested_model),
        o(&r.route),
        o(&r.tier),
        o(&r.provider),
        o(&r.model),
        o(&r.upstream_model),
        r.stream,
        r.attempts,
        r.fallbacks,
        o(&r.cache),
        r.status,
        r.outcome,
        o(&r.error_kind),
        r.input_tokens,
        r.output_tokens,
        r.cache_write_5m_tokens,
        r.cache_write_1h_tokens,
        r.cache_read_tokens,
        r.output_estimated,
        r.priced,
        from_nanos(r.cost_nusd),
        from_nanos(r.baseline_nusd),
        r.latency_ms,
        f(r.ttft_ms),
        f(r.overhead_ms),
        o(&r.priced_as),
        o(&r.shadow_model),
        r.shadow_cost_nusd
            .map(from_nanos)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        o(&r.guard),
        o(&r.reason)
    )
}

/// One exported row as a JSON object.
pub fn export_json(r: &LedgerRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "time_ms": r.ts_ms, "day": r.day,
        "key_id": r.key_id, "user_id": r.user_id, "team": r.team, "session_id": r.session_id, "agent_id": r.agent_id,
        "dialect": r.dialect, "endpoint": r.endpoint, "requested_model": r.requested_model, "route": r.route,
        "tier": r.tier, "provider": r.provider, "model": r.model, "upstream_model": r.upstream_model,
        "stream": r.stream, "attempts": r.attempts, "fallbacks": r.fallbacks, "cache": r.cache,
        "status": r.status, "outcome": r.outcome, "error_kind": r.error_kind,
        "input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
        "cache_write_5m_tokens": r.cache_write_5m_tokens, "cache_write_1h_tokens": r.cache_write_1h_tokens,
        "cache_read_tokens": r.cache_read_tokens, "output_estimated": r.output_estimated, "priced": r.priced,
        "cost_usd": from_nanos(r.cost_nusd), "baseline_usd": from_nanos(r.baseline_nusd),
        "latency_ms": r.latency_ms, "ttft_ms": r.ttft_ms, "overhead_ms": r.overhead_ms,
        "priced_as": r.priced_as, "shadow_model": r.shadow_model,
        "shadow_cost_usd": r.shadow_cost_nusd.map(from_nanos), "guard": r.guard,
        "reason": r.reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(EXPORT_HEADER.split(',').count(), 40);
    }
}
