//! The dashboard's Teams page: spend per team and per developer (the
//! client keys' owners) over a range, from the same report as
//! `switchyard report teams|users`, and where every budget and rate limit
//! stands now (from the limits' counters, shared ones when in Redis).

use super::html::{esc, page, table, usd};
use super::pages::{lines_table, range_form, report};
use crate::state::AppState;
use crate::teams::rules::Measure;
use crate::teams::view::{now_ms, when};
use crate::usage::ledger::from_nanos;
use crate::usage::reports::Range;

/// One limit's row: name, use, limit, reserved, left, resets.
fn limit_row(u: &crate::teams::RuleUse) -> Vec<String> {
    let (used, limit, left) = match u.rule.measure {
        Measure::Spend { limit, .. } => (
            usd(from_nanos(u.used)),
            usd(from_nanos(limit)),
            usd(from_nanos((limit - u.used - u.reserved).max(0))),
        ),
        Measure::Requests(limit) | Measure::Tokens(limit) => (
            format!("{} / min", u.used),
            format!("{limit} / min"),
            (limit - u.used).max(0).to_string(),
        ),
    };
    let share = match u.rule.limit() {
        l if l > 0 => format!("{}%", (u.used + u.reserved) * 100 / l),
        _ => "-".into(),
    };
    vec![
        esc(&u.rule.name()),
        used,
        usd(from_nanos(u.reserved)),
        limit,
        share,
        left,
        u.resets_ms.map_or("-".into(), |ms| when(Some(ms))),
    ]
}

/// Teams, developers and their limits.
pub async fn teams(state: &AppState, range: Range, query: String) -> Result<String, String> {
    let r = report(state, "teams", range, 0).await?;
    let limits: Vec<Vec<String>> = state
        .limits
        .usage(&state.keys.own_rules(), now_ms())
        .await
        .iter()
        .map(limit_row)
        .collect();
    let limits_table = if limits.is_empty() {
        "<p>No budgets or rate limits are configured ([[budgets]], [[rate_limits]]).</p>".into()
    } else {
        table(
            &[
                "limit",
                "#used",
                "#reserved",
                "#limit",
                "#share",
                "#left",
                "resets",
            ],
            &limits,
        )
    };
    let body = format!(
        "<h1>Teams and developers</h1>{}\
         <h2>Budgets and rate limits, now</h2><div class=panel>{limits_table}</div>\
         <h2>Teams</h2><div class=panel>{}</div>\
         <h2>Developers</h2><div class=panel>{}</div>\
         <p>Requests made with the master key, or without client keys, are under “-”.</p>",
        range_form("/ui/teams", range, &query),
        lines_table(&r.teams, "team"),
        lines_table(&r.users, "developer"),
    );
    Ok(page("Teams", "/ui/teams", &query, Some(60), &body))
}
