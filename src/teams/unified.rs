//! A developer's standing against their spend caps, in the shape Claude Code
//! reads from a gateway it signed in to: the `anthropic-ratelimit-unified-*`
//! response headers (its "You've used NN% of your usage credits" notice past
//! 75% and 95%), the `429 billing_error` that stops it at the cap, and the
//! `GET /api/oauth/usage` document that adds dollars to `/usage`.
//!
//! Of the spend budgets that count a person (their own, their team's, their
//! key's), the one described is the fullest; once one is used up, the used-up
//! one that resets last. Budgets without a calendar window (`total`) have no
//! reset to report and are left out.

use super::limits::RuleUse;
use super::rules::Measure;
use crate::config::BudgetWindow;
use serde_json::{Value, json};

/// One budget's standing.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// Used (and reserved by requests in flight) over the limit.
    pub utilization: f64,
    /// Used up.
    pub exceeded: bool,
    /// When its window resets (unix ms).
    pub resets_ms: i64,
    /// `daily`, `weekly` or `monthly`.
    pub period: &'static str,
    /// The limit and what is used, in nano-dollars.
    pub limit: i64,
    /// See `limit`.
    pub used: i64,
}

fn period(w: BudgetWindow) -> Option<&'static str> {
    match w {
        BudgetWindow::Day => Some("daily"),
        BudgetWindow::Week => Some("weekly"),
        BudgetWindow::Month => Some("monthly"),
        BudgetWindow::Total => None,
    }
}

/// Every windowed spend budget among `uses`, as standings.
pub fn standings(uses: &[RuleUse]) -> Vec<Standing> {
    uses.iter()
        .filter_map(|u| {
            let Measure::Spend { limit, window, .. } = &u.rule.measure else {
                return None;
            };
            let used = u.used.saturating_add(u.reserved);
            Some(Standing {
                utilization: if *limit > 0 {
                    used as f64 / *limit as f64
                } else {
                    1.0
                },
                exceeded: used >= *limit,
                resets_ms: u.resets_ms?,
                period: period(*window)?,
                limit: *limit,
                used,
            })
        })
        .collect()
}

/// The standing to describe: a used-up budget that resets last, else the
/// fullest.
pub fn binding(all: &[Standing]) -> Option<&Standing> {
    let used_up = all
        .iter()
        .filter(|s| s.exceeded)
        .max_by_key(|s| s.resets_ms);
    used_up.or_else(|| {
        all.iter()
            .max_by(|a, b| a.utilization.total_cmp(&b.utilization))
    })
}

/// Two decimals, kept below 1 while requests are still allowed.
fn shown(s: &Standing) -> f64 {
    let u = (s.utilization * 100.0).round() / 100.0;
    if s.exceeded { u.max(1.0) } else { u.min(0.99) }
}

/// The headers on an answered request.
pub fn allowed_headers(s: &Standing) -> Vec<(&'static str, String)> {
    let reset = (s.resets_ms / 1000).to_string();
    let threshold = [0.95, 0.75].into_iter().find(|t| s.utilization > *t);
    let status = if threshold.is_some() {
        "allowed_warning"
    } else {
        "allowed"
    };
    let mut h = vec![
        ("anthropic-ratelimit-unified-status", status.to_string()),
        (
            "anthropic-ratelimit-unified-representative-claim",
            "overage".into(),
        ),
        ("anthropic-ratelimit-unified-overage-status", status.into()),
        (
            "anthropic-ratelimit-unified-overage-utilization",
            format!("{:.2}", shown(s)),
        ),
        ("anthropic-ratelimit-unified-reset", reset.clone()),
        ("anthropic-ratelimit-unified-overage-reset", reset),
    ];
    if let Some(t) = threshold {
        h.push((
            "anthropic-ratelimit-unified-overage-surpassed-threshold",
            t.to_string(),
        ));
    }
    h
}

/// The headers on the `429` at the cap (no representative claim or overage
/// status, so Claude Code prints the gateway's message as it is).
pub fn rejected_headers(s: &Standing, now_ms: i64) -> Vec<(&'static str, String)> {
    let reset = (s.resets_ms / 1000).to_string();
    vec![
        ("anthropic-ratelimit-unified-status", "rejected".into()),
        ("anthropic-ratelimit-unified-reset", reset.clone()),
        ("anthropic-ratelimit-unified-overage-reset", reset),
        (
            "anthropic-ratelimit-unified-overage-utilization",
            "1".into(),
        ),
        (
            "anthropic-ratelimit-unified-overage-surpassed-threshold",
            "1".into(),
        ),
        (
            "anthropic-ratelimit-unified-overage-period",
            s.period.into(),
        ),
        (
            "anthropic-ratelimit-unified-overage-disabled-reason",
            "org_spend_cap_reached".into(),
        ),
        (
            "retry-after",
            ((s.resets_ms - now_ms).max(1000) / 1000).to_string(),
        ),
    ]
}

fn cents(nanos: i64) -> i64 {
    nanos / 10_000_000
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| String::new(), |t| t.to_string())
}

/// `GET /api/oauth/usage` for someone with these standings (cents, whole
/// percents, the same reset instants as the headers).
pub fn usage_document(all: &[Standing]) -> Value {
    let Some(active) = binding(all) else {
        return json!({"extra_usage": {"is_enabled": true, "monthly_limit": null, "used_credits": 0,
            "utilization": null, "currency": "USD"}, "limits": []});
    };
    let percent = |s: &Standing| (shown(s) * 100.0).round() as i64;
    let limits: Vec<Value> = all
        .iter()
        .map(|s| {
            json!({
                "kind": "spend",
                "group": s.period,
                "percent": percent(s),
                "resets_at": iso(s.resets_ms),
                "severity": if s.exceeded || s.utilization > 0.95 { "critical" }
                    else if s.utilization > 0.75 { "warning" } else { "normal" },
                "is_active": std::ptr::eq(s, active),
            })
        })
        .collect();
    json!({
        "extra_usage": {"is_enabled": true, "monthly_limit": cents(active.limit),
            "used_credits": cents(active.used), "utilization": percent(active), "currency": "USD"},
        "limits": limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(utilization: f64, resets_ms: i64, period: &'static str) -> Standing {
        Standing {
            utilization,
            exceeded: utilization >= 1.0,
            resets_ms,
            period,
            limit: 50 * 1_000_000_000,
            used: (utilization * 50.0 * 1e9) as i64,
        }
    }

    fn get<'a>(h: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
        h.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn below_the_thresholds_no_warning_above_them_the_threshold_passed() {
        let h = allowed_headers(&standing(0.5, 1_786_147_200_000, "daily"));
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-status"),
            Some("allowed")
        );
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-overage-utilization"),
            Some("0.50")
        );
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-reset"),
            Some("1786147200")
        );
        assert!(
            get(
                &h,
                "anthropic-ratelimit-unified-overage-surpassed-threshold"
            )
            .is_none()
        );
        let h = allowed_headers(&standing(0.82, 0, "daily"));
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-status"),
            Some("allowed_warning")
        );
        assert_eq!(
            get(
                &h,
                "anthropic-ratelimit-unified-overage-surpassed-threshold"
            ),
            Some("0.75")
        );
        let h = allowed_headers(&standing(0.999, 0, "daily"));
        assert_eq!(
            get(
                &h,
                "anthropic-ratelimit-unified-overage-surpassed-threshold"
            ),
            Some("0.95")
        );
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-overage-utilization"),
            Some("0.99"),
            "below 1 while allowed"
        );
    }

    #[test]
    fn the_cap_is_described_as_claude_code_expects() {
        let s = standing(1.02, 10_000_000, "weekly");
        let h = rejected_headers(&s, 1_000_000);
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-status"),
            Some("rejected")
        );
        assert_eq!(
            get(&h, "anthropic-ratelimit-unified-overage-period"),
            Some("weekly")
        );
        assert_eq!(get(&h, "retry-after"), Some("9000"));
        assert!(get(&h, "anthropic-ratelimit-unified-representative-claim").is_none());
    }

    #[test]
    fn the_fullest_budget_or_the_used_up_one_that_resets_last_is_described() {
        let all = [standing(0.4, 1, "daily"), standing(0.8, 2, "monthly")];
        assert_eq!(binding(&all).unwrap().period, "monthly");
        let all = [
            standing(1.0, 5, "daily"),
            standing(1.1, 9, "weekly"),
            standing(0.9, 20, "monthly"),
        ];
        assert_eq!(binding(&all).unwrap().period, "weekly");
        let doc = usage_document(&[standing(0.54, 1_790_812_800_000, "monthly")]);
        assert_eq!(doc["extra_usage"]["monthly_limit"], 5000);
        assert_eq!(doc["extra_usage"]["used_credits"], 2700);
        assert_eq!(doc["limits"][0]["percent"], 54);
        assert_eq!(doc["limits"][0]["is_active"], true);
        assert_eq!(doc["limits"][0]["resets_at"], "2026-10-01T00:00:00Z");
        assert_eq!(usage_document(&[])["limits"], json!([]));
    }
}
