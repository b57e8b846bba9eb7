//! `switchyard report decision`: the team's weighted decision matrix,
//! computed from the ledger where it can be measured.
//!
//! Criteria and weights are the team's: cost savings 40% (target more than
//! 60% below the baseline, fixed monthly costs included), reliability 25%
//! (more than 95% of requests successful), setup time 15% (under 4 hours,
//! from `switchyard init` to the first successful Claude Code request, or
//! as given), security 10% (no regression against their old tool: path
//! jailing, sensitive files, read-only tools, output limits, timeouts) and
//! UX 10% (the team's own score). Each is scored 1–5 (5 exceeds, 4 meets,
//! 3 acceptable, 2 below, 1 unacceptable); the weighted score decides: 4.0
//! or more adopt, 3.0–3.9 keep both and reassess in 3 months, under 3.0 do
//! not adopt. The go/no-go checks come beside it: go at ≥60% savings and
//! >95% reliability, no-go under 40% savings or 90% reliability.

use super::reports::Report;
use crate::config::{Config, ToolRules};
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt::Write;

/// What the ledger cannot know, given by the team.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// Hours from nothing to the first successful Claude Code request, when
    /// not measured (or to override the measurement).
    pub setup_hours: Option<f64>,
    /// Measured setup time, hours (from `init`'s mark to the ledger).
    pub measured_setup_hours: Option<f64>,
    /// The team's UX score, 1–5.
    pub ux: Option<u8>,
}

/// One row of the matrix.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Criterion {
    /// Its name.
    pub name: &'static str,
    /// Its weight (percent).
    pub weight: u8,
    /// What was measured, in words.
    pub measured: String,
    /// The target, in words.
    pub target: &'static str,
    /// Its score, 1–5 (none: not measured and not given).
    pub score: Option<u8>,
    /// Where the number came from.
    pub source: String,
}

/// The matrix and what it decides.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decision {
    /// First and last day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// The rows.
    pub criteria: Vec<Criterion>,
    /// Σ weight × score over the scored rows, divided by their weights.
    pub weighted: Option<Decimal>,
    /// The rule's verdict on the weighted score.
    pub verdict: String,
    /// The go/no-go checks, each with whether it passed.
    pub checks: Vec<(String, bool)>,
    /// Rows not scored (the verdict is provisional while any is missing).
    pub missing: Vec<&'static str>,
}

/// The band a value falls in: `cuts` are the lower bounds of 5, 4, 3, 2.
fn band(value: Decimal, cuts: [Decimal; 4], strictly_above_meets: bool) -> u8 {
    let [exceeds, meets, acceptable, below] = cuts;
    if value >= exceeds {
        5
    } else if (strictly_above_meets && value > meets) || (!strictly_above_meets && value >= meets) {
        4
    } else if value >= acceptable {
        3
    } else if value >= below {
        2
    } else {
        1
    }
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

/// Savings with fixed monthly costs counted (total cost of ownership).
fn savings_tco(r: &Report) -> Option<Decimal> {
    let s = &r.summary;
    (!s.baseline_usd.is_zero())
        .then(|| (s.baseline_usd - s.total_usd) * d(100) / s.baseline_usd)
        .map(|p| p.round_dp(1))
}

/// Successful requests of those that ended (client aborts are neither).
fn reliability(r: &Report) -> Option<Decimal> {
    let s = &r.summary;
    let ended = s.success + s.failed;
    (ended > 0).then(|| (d(s.success) * d(100) / d(ended)).round_dp(2))
}

/// Parity with the old tool's protections, from the guard config.
fn security(config: &Config) -> (u8, String) {
    let g = &config.guard;
    let rules = g.tiers.iter().fold(g.tools, |acc, t| acc.with(t.tools));
    let rules = config
        .routing
        .routes
        .iter()
        .fold(rules, |acc, r| acc.with(r.guard_tools));
    let checks = [
        ("path jailing", rules.has(ToolRules::JAIL)),
        ("sensitive files", rules.has(ToolRules::SENSITIVE_FILES)),
        ("read-only tools", rules.has(ToolRules::READ_ONLY)),
        (
            "output limits",
            g.max_tokens.is_some() || g.max_response_bytes.is_some(),
        ),
        // Every upstream call has connect, first-byte, idle and total
        // timeouts (defaults when the config gives none).
        ("timeouts", true),
    ];
    let held = checks.iter().filter(|(_, ok)| *ok).count();
    let missing: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    let secrets_kept = !matches!(g.secrets, crate::config::GuardAction::Allow);
    let score = match (held, secrets_kept) {
        (5, true) => 5,
        (5, false) => 4,
        (4, _) => 3,
        (3, _) => 2,
        _ => 1,
    };
    let mut text = format!("{held} of 5 protections configured");
    if !missing.is_empty() {
        let _ = write!(text, " (missing: {})", missing.join(", "));
    }
    if secrets_kept {
        text.push_str("; secrets kept off providers");
    }
    (score, text)
}

/// The matrix for a period's report.
pub fn decide(r: &Report, config: &Config, given: &Given) -> Decision {
    let mut criteria = Vec::new();
    let savings = savings_tco(r);
    criteria.push(Criterion {
        name: "Cost savings",
        weight: 40,
        measured: savings.map_or("no baseline priced".into(), |s| {
            format!(
                "{s}% (${} against ${} all on the baseline, fixed costs ${} included)",
                r.summary.total_usd.round_dp(4),
                r.summary.baseline_usd.round_dp(4),
                r.summary.fixed_usd.round_dp(2)
            )
        }),
        target: ">60% reduction",
        score: savings.map(|s| band(s, [d(75), d(60), d(50), d(40)], false)),
        source: "ledger".into(),
    });
    let rel = reliability(r);
    criteria.push(Criterion {
        name: "Reliability",
        weight: 25,
        measured: rel.map_or("no requests".into(), |p| {
            format!(
                "{p}% ({} successful, {} failed, {} fallbacks; {} client aborts not counted)",
                r.summary.success, r.summary.failed, r.summary.fallbacks, r.summary.aborted
            )
        }),
        target: ">95% success",
        score: rel.map(|p| band(p, [d(99), d(95), Decimal::new(925, 1), d(90)], true)),
        source: "ledger".into(),
    });
    let (hours, source) = match (given.setup_hours, given.measured_setup_hours) {
        (Some(h), _) => (Some(h), "given (--setup-hours)".to_string()),
        (None, Some(h)) => (
            Some(h),
            "measured: `switchyard init` to the first successful Claude Code request".into(),
        ),
        (None, None) => (None, "not measured: pass --setup-hours".into()),
    };
    let setup = hours
        .and_then(Decimal::from_f64_retain)
        .map(|h| h.round_dp(2));
    criteria.push(Criterion {
        name: "Setup time",
        weight: 15,
        measured: setup.map_or("unknown".into(), |h| format!("{h} h")),
        target: "<4 h",
        // Shorter is better: score the negated hours.
        score: setup.map(|h| band(-h, [d(-1), d(-4), d(-6), d(-8)], true)),
        source,
    });
    let (sec, sec_text) = security(config);
    criteria.push(Criterion {
        name: "Security",
        weight: 10,
        measured: sec_text,
        target: "no regressions",
        score: Some(sec),
        source: "the guard config ([guard], tiers, routes)".into(),
    });
    criteria.push(Criterion {
        name: "UX",
        weight: 10,
        measured: given
            .ux
            .map_or("not given".into(), |u| format!("{u} (the team's score)")),
        target: "the team's judgement",
        score: given.ux.map(|u| u.clamp(1, 5)),
        source: if given.ux.is_some() {
            "given (--ux)".into()
        } else {
            "pass --ux 1-5".into()
        },
    });
    finish(r, criteria, savings, rel)
}

fn finish(
    r: &Report,
    criteria: Vec<Criterion>,
    savings: Option<Decimal>,
    rel: Option<Decimal>,
) -> Decision {
    let scored: Vec<&Criterion> = criteria.iter().filter(|c| c.score.is_some()).collect();
    let weights: i64 = scored.iter().map(|c| i64::from(c.weight)).sum();
    let weighted = (weights > 0).then(|| {
        let sum: i64 = scored
            .iter()
            .map(|c| i64::from(c.weight) * i64::from(c.score.unwrap_or(0)))
            .sum();
        (d(sum) / d(weights)).round_dp(2)
    });
    let missing: Vec<&'static str> = criteria
        .iter()
        .filter(|c| c.score.is_none())
        .map(|c| c.name)
        .collect();
    let s = savings.unwrap_or_default();
    let p = rel.unwrap_or_default();
    let checks = vec![
        ("go: savings at least 60%".to_string(), s >= d(60)),
        ("go: reliability above 95%".to_string(), p > d(95)),
        ("no-go: savings below 40%".to_string(), s < d(40)),
        ("no-go: reliability below 90%".to_string(), p < d(90)),
    ];
    let no_go = checks[2].1 || checks[3].1;
    let mut verdict = match weighted {
        _ if no_go => "do not adopt: a no-go check failed".to_string(),
        Some(w) if w >= d(4) => "adopt (weighted score 4.0 or more)".into(),
        Some(w) if w >= d(3) => "keep both, reassess in 3 months (weighted score 3.0-3.9)".into(),
        Some(_) => "do not adopt (weighted score under 3.0)".into(),
        None => "no verdict: nothing scored".into(),
    };
    if !missing.is_empty() && weighted.is_some() {
        let _ = write!(
            verdict,
            "; provisional until scored: {}",
            missing.join(", ")
        );
    }
    Decision {
        from: r.from.to_string(),
        to: r.to.to_string(),
        criteria,
        weighted,
        verdict,
        checks,
        missing,
    }
}

/// The matrix as Markdown.
pub fn markdown(m: &Decision) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Decision matrix — {} to {}\n", m.from, m.to);
    let _ = writeln!(
        out,
        "| Criterion | Weight | Target | Measured | Score (1-5) | Weighted | Source |\n|---|---|---|---|---|---|---|"
    );
    for c in &m.criteria {
        let (score, weighted) = match c.score {
            Some(s) => (
                s.to_string(),
                format!("{:.2}", f64::from(s) * f64::from(c.weight) / 100.0),
            ),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {}% | {} | {} | {score} | {weighted} | {} |",
            c.name, c.weight, c.target, c.measured, c.source
        );
    }
    let _ = writeln!(
        out,
        "\n**Weighted score:** {}  \n**Verdict:** {}\n",
        m.weighted.map_or("-".into(), |w| w.to_string()),
        m.verdict
    );
    let _ = writeln!(out, "Go / no-go checks:");
    for (name, passed) in &m.checks {
        let mark = if name.starts_with("go") {
            if *passed { "met" } else { "not met" }
        } else if *passed {
            "TRIGGERED"
        } else {
            "clear"
        };
        let _ = writeln!(out, "- {name}: {mark}");
    }
    let _ = writeln!(
        out,
        "\nScores: 5 exceeds, 4 meets, 3 acceptable, 2 below, 1 unacceptable. \
         Rule: 4.0 or more adopt; 3.0-3.9 keep both and reassess in 3 months; under 3.0 do not adopt."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_teams_definitions() {
        let cuts = [d(75), d(60), d(50), d(40)];
        let b = |v: i64| band(d(v), cuts, false);
        assert_eq!(
            [b(80), b(75), b(60), b(55), b(45), b(39)],
            [5, 5, 4, 3, 2, 1]
        );
        let r = |v: Decimal| band(v, [d(99), d(95), Decimal::new(925, 1), d(90)], true);
        assert_eq!(r(d(95)), 3, "reliability must be above 95% to meet");
        assert_eq!(r(Decimal::new(951, 1)), 4);
        assert_eq!(r(d(89)), 1);
        let h = |hours: i64| band(-d(hours), [d(-1), d(-4), d(-6), d(-8)], true);
        assert_eq!([h(1), h(3), h(4), h(6), h(9)], [5, 4, 3, 3, 1]);
    }
}
