//! A team's own report templates, filled from the ledger's reports: the
//! daily log (`report daily --template log`: date, cost, requests, the
//! distribution over models with what each cost, issues, notes) and the
//! weekly summary (`report weekly --template summary`: total cost against
//! the baseline, savings, success rate, key findings and a recommendation
//! by the team's go/no-go rule — adopt at ≥60% savings with >95% success,
//! not below 40% savings or 90% success, else keep both and reassess).

use super::reports::{Line, Report};
use rust_decimal::Decimal;
use std::fmt::Write;

/// Dollars as the reports write them (to a hundredth of a cent).
fn usd(d: Decimal) -> String {
    format!("${}", d.round_dp(4))
}

fn pct(d: Option<Decimal>) -> String {
    d.map_or("-".into(), |d| format!("{}%", d.round_dp(1)))
}

/// Models cheapest per request first: "qwen: 40 (free), haiku: 12 ($0.31)".
fn distribution(models: &[Line]) -> String {
    let mut lines: Vec<&Line> = models.iter().filter(|l| l.requests > 0).collect();
    lines.sort_by(|a, b| {
        let per = |l: &Line| l.cost_usd / Decimal::from(l.requests.max(1));
        per(a).cmp(&per(b)).then(b.requests.cmp(&a.requests))
    });
    if lines.is_empty() {
        return "no requests".into();
    }
    lines
        .iter()
        .map(|l| {
            let cost = if l.cost_usd.is_zero() {
                "free".to_string()
            } else {
                usd(l.cost_usd)
            };
            format!("{}: {} ({cost})", l.name, l.requests)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Problems of the period: failures by kind, and the report's own issues.
fn issues(r: &Report) -> Vec<String> {
    let mut out: Vec<String> = r
        .errors
        .iter()
        .map(|l| format!("{} failed: {}", l.requests, l.name))
        .collect();
    out.extend(r.issues.iter().cloned());
    out.extend(r.pricing.iter().cloned());
    out
}

/// What else is worth knowing: cache, prompt cache, fallbacks, guardrails.
fn notes(r: &Report) -> Vec<String> {
    let s = &r.summary;
    let mut out = Vec::new();
    if s.cache_hits > 0 {
        out.push(format!(
            "{} answers from the response cache ({}% of requests), {} saved",
            s.cache_hits,
            s.cache_hit_rate.round_dp(1),
            usd(s.cache_saved_usd)
        ));
    }
    out.push(format!(
        "{}% of prompt tokens read from the providers' prompt cache",
        s.prompt_cache_read_pct.round_dp(1)
    ));
    if s.fallbacks > 0 {
        out.push(format!(
            "{} requests answered by a fallback ({}%)",
            s.fallbacks,
            s.fallback_rate.round_dp(1)
        ));
    }
    let guarded: i64 = r.guardrails.iter().map(|l| l.requests).sum();
    if guarded > 0 {
        out.push(format!(
            "{guarded} guardrail decisions (switchyard report guardrails)"
        ));
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join("; ")
    }
}

/// The daily log.
pub fn daily_log(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(out, "## Daily log — {}\n", r.from);
    let _ = writeln!(out, "- **Date:** {}", r.from);
    let _ = writeln!(
        out,
        "- **Cost:** {} (all on the baseline model: {}; saved {})",
        usd(s.cost_usd),
        usd(s.baseline_usd),
        pct(s.savings_pct)
    );
    let _ = writeln!(
        out,
        "- **Requests:** {} ({} succeeded, {} failed; {} token counts)",
        s.requests, s.success, s.failed, s.count_calls
    );
    let _ = writeln!(out, "- **Distribution:** {}", distribution(&r.models));
    let _ = writeln!(out, "- **Issues:** {}", list(&issues(r)));
    let _ = writeln!(out, "- **Notes:** {}", list(&notes(r)));
    out
}

/// The team's rule on a period's savings and success rate.
pub fn recommendation(savings: Option<Decimal>, success: Decimal) -> &'static str {
    let savings = savings.unwrap_or_default();
    if savings >= Decimal::from(60) && success > Decimal::from(95) {
        "adopt: savings of at least 60% with more than 95% of requests successful"
    } else if savings < Decimal::from(40) || success < Decimal::from(90) {
        "do not adopt yet: savings below 40% or fewer than 90% of requests successful"
    } else {
        "keep both and reassess in 3 months: between the go and no-go marks"
    }
}

/// The weekly summary.
pub fn weekly_summary(r: &Report) -> String {
    let s = &r.summary;
    let mut out = String::new();
    let _ = writeln!(out, "## Weekly summary — {} to {}\n", r.from, r.to);
    let _ = writeln!(out, "- **Week:** {} to {}", r.from, r.to);
    let fixed = if s.fixed_usd.is_zero() {
        String::new()
    } else {
        format!("; with fixed costs {}", usd(s.total_usd))
    };
    let _ = writeln!(
        out,
        "- **Total cost:** {} (baseline: {}{fixed})",
        usd(s.cost_usd),
        usd(s.baseline_usd)
    );
    let _ = writeln!(out, "- **Savings:** {}", pct(s.savings_pct));
    let _ = writeln!(
        out,
        "- **Success rate:** {}% ({} successful / {} failed / {}% fallbacks)",
        s.success_rate.round_dp(1),
        s.success,
        s.failed,
        s.fallback_rate.round_dp(1)
    );
    let mut findings = vec![format!("distribution: {}", distribution(&r.models))];
    if let Some(top) = r.tiers.iter().max_by_key(|l| l.requests) {
        findings.push(format!(
            "most requests on the {} tier ({}%)",
            top.name,
            top.share.round_dp(1)
        ));
    }
    findings.extend(notes(r));
    findings.extend(issues(r));
    let _ = writeln!(out, "- **Key findings:**");
    for f in findings {
        let _ = writeln!(out, "  - {f}");
    }
    let _ = writeln!(
        out,
        "- **Recommendation:** {}",
        recommendation(s.savings_pct, s.success_rate)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_teams_rule() {
        let d = |n: i64| Decimal::from(n);
        assert!(recommendation(Some(d(72)), d(99)).starts_with("adopt"));
        assert!(recommendation(Some(d(72)), d(95)).starts_with("keep both"));
        assert!(recommendation(Some(d(50)), d(99)).starts_with("keep both"));
        assert!(recommendation(Some(d(39)), d(99)).starts_with("do not"));
        assert!(recommendation(Some(d(80)), d(89)).starts_with("do not"));
        assert!(recommendation(None, d(100)).starts_with("do not"));
    }
}
