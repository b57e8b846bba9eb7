//! The dashboard's Guardrails page: what the guard is set to do, its
//! decisions over a range by action and rule (the report behind
//! `switchyard report guardrails`), and the latest requests it acted on,
//! each linked to its ledger row. Notes carry rule names, paths and
//! fingerprints, never a secret.

use super::charts;
use super::html::{esc, page, path_segment, table};
use super::pages::{lines_table, range_form, report, store, time_of};
use crate::config::{Config, OnViolation, ToolRules};
use crate::state::AppState;
use crate::store::Order;
use crate::usage::reports::Range;

/// How many guarded requests the page lists.
const LATEST: i64 = 50;

/// A rule set's names, or "none".
fn rules(r: ToolRules) -> String {
    let names: Vec<&str> = ToolRules::NAMED
        .iter()
        .filter(|(_, rule)| r.has(*rule))
        .map(|(n, _)| *n)
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn limit(v: Option<u64>) -> String {
    v.map_or("none".into(), |n| n.to_string())
}

/// The settings in force: global, per tier, per route (only where set).
fn settings(config: &Config) -> String {
    let g = &config.guard;
    let violation = match g.on_violation {
        OnViolation::Escalate => "escalate to the next target",
        OnViolation::Refuse => "refuse in place",
    };
    let mut rows = vec![vec![
        "[guard]".to_string(),
        g.secrets.as_str().to_string(),
        esc(&rules(g.tools)),
        limit(g.max_tokens),
    ]];
    for t in &g.tiers {
        rows.push(vec![
            format!("tier {}", esc(&t.name)),
            t.secrets.map_or("-", |a| a.as_str()).to_string(),
            esc(&rules(t.tools)),
            limit(t.max_tokens),
        ]);
    }
    for r in &config.routing.routes {
        if r.guard.is_none() && r.guard_tools.is_empty() && r.max_tokens.is_none() {
            continue;
        }
        rows.push(vec![
            format!("route {}", esc(&r.name)),
            r.guard.map_or("-", |a| a.as_str()).to_string(),
            esc(&rules(r.guard_tools)),
            limit(r.max_tokens),
        ]);
    }
    format!(
        "{}<p>On a refused tool call: {violation}. Response size cap: {} bytes. \
         Workspace roots beyond the ones Claude Code states: {}. \
         Sensitive file patterns: {}.</p>",
        table(&["where", "secrets", "tool rules", "max_tokens"], &rows),
        limit(g.max_response_bytes),
        if g.workspace.is_empty() {
            "none".to_string()
        } else {
            esc(&g.workspace.join(", "))
        },
        g.sensitive_files.len() + g.patterns.len(),
    )
}

/// The latest requests with a guardrail note.
async fn latest(state: &AppState, range: Range, query: &str) -> Result<String, String> {
    let (from, to) = range.millis();
    let rows = store(state)?
        .rows(from, to, Order::Guarded, LATEST)
        .await
        .map_err(|e| format!("ledger query failed: {e}"))?;
    if rows.is_empty() {
        return Ok("<p>No request in this range was acted on.</p>".into());
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                format!(
                    "<a href='/ui/requests/{}{}'>{}</a>",
                    path_segment(&r.id),
                    esc(query),
                    esc(&r.id)
                ),
                time_of(r.ts_ms),
                esc(r.model.as_deref().unwrap_or("-")),
                esc(r.tier.as_deref().unwrap_or("-")),
                r.status.to_string(),
                esc(r.guard.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    Ok(table(
        &[
            "request",
            "time (UTC)",
            "model",
            "tier",
            "#status",
            "decision",
        ],
        &rows,
    ))
}

/// Guardrail settings, decisions and the requests they touched.
pub async fn guardrails(state: &AppState, range: Range, query: String) -> Result<String, String> {
    let r = report(state, "guardrails", range, 0).await?;
    let bars: Vec<_> = r
        .guardrails
        .iter()
        .map(|l| (l.name.clone(), l.requests as f64, l.requests.to_string()))
        .collect();
    let chart = if bars.is_empty() {
        "<p>No guardrail decisions in this range.</p>".to_string()
    } else {
        charts::bars(&bars)
    };
    let body = format!(
        "<h1>Guardrails</h1>{}\
         <h2>Settings</h2><div class=panel>{}</div>\
         <h2>Decisions by action and rule</h2><div class=panel>{chart}{}</div>\
         <h2>Latest requests acted on</h2><div class=panel>{}</div>\
         <p>A request counts under each decision it carries. Notes hold rule names, paths \
         and fingerprints, never a secret.</p>",
        range_form("/ui/guardrails", range, &query),
        settings(&state.config),
        lines_table(&r.guardrails, "decision"),
        latest(state, range, &query).await?,
    );
    Ok(page(
        "Guardrails",
        "/ui/guardrails",
        &query,
        Some(60),
        &body,
    ))
}
