//! The dashboard's page for one request: who sent it, where routing sent
//! it and why (the reason the client saw in `x-switchyard-reason`), what
//! happened, what it cost against the baseline, how long it took, and what
//! the guardrails did.

use super::html::{esc, page, table, usd};
use super::pages::{store, time_of};
use crate::state::AppState;
use crate::store::LedgerRow;
use rust_decimal::Decimal;

fn opt(v: &Option<String>) -> String {
    v.as_deref().map_or_else(|| "-".to_string(), esc)
}

fn dollars(nusd: i64) -> String {
    usd(Decimal::new(nusd, 9))
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1} ms"))
}

fn section(title: &str, rows: Vec<(&str, String)>) -> String {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|(k, v)| vec![k.to_string(), v])
        .collect();
    format!(
        "<div class=panel><h2>{title}</h2>{}</div>",
        table(&["", ""], &rows)
    )
}

fn routing(r: &LedgerRow) -> String {
    let served = match (&r.model, &r.provider) {
        (Some(m), Some(p)) => format!("{} on {} ({})", esc(m), esc(p), opt(&r.upstream_model)),
        _ => "-".into(),
    };
    let mut rows = vec![
        ("asked for", opt(&r.requested_model)),
        ("route", opt(&r.route)),
        ("tier", opt(&r.tier)),
        ("served by", served),
        ("why", format!("<span id=reason>{}</span>", opt(&r.reason))),
        (
            "attempts",
            format!("{} ({} fallbacks)", r.attempts, r.fallbacks),
        ),
        ("response cache", opt(&r.cache)),
    ];
    if r.shadow_model.is_some() {
        rows.push((
            "shadow mode",
            format!(
                "routing would have chosen {} ({})",
                opt(&r.shadow_model),
                r.shadow_cost_nusd.map_or("-".into(), dollars)
            ),
        ));
    }
    section("Routing", rows)
}

fn cost(r: &LedgerRow) -> String {
    let saved = r.baseline_nusd - r.cost_nusd;
    let priced = if !r.priced {
        "not priced (the model has no price)".to_string()
    } else if let Some(from) = &r.priced_as {
        format!("priced as {}", esc(from))
    } else {
        "exact".to_string()
    };
    section(
        "Cost",
        vec![
            (
                "cost",
                format!("<span id=cost>{}</span>", dollars(r.cost_nusd)),
            ),
            ("on the baseline", dollars(r.baseline_nusd)),
            ("saved", dollars(saved)),
            ("pricing", priced),
            (
                "tokens",
                format!(
                    "{} in, {} out{}, {} cache reads, {} + {} cache writes (5 min + 1 h)",
                    r.input_tokens,
                    r.output_tokens,
                    if r.output_estimated {
                        " (estimated)"
                    } else {
                        ""
                    },
                    r.cache_read_tokens,
                    r.cache_write_5m_tokens,
                    r.cache_write_1h_tokens
                ),
            ),
        ],
    )
}

/// One ledger record.
pub async fn request(state: &AppState, id: String, query: String) -> Result<String, String> {
    let row = store(state)?
        .row(&id)
        .await
        .map_err(|e| format!("ledger query failed: {e}"))?;
    let Some(r) = row else {
        return Ok(page(
            "Request",
            "/ui/spend",
            &query,
            None,
            &format!("<h1>No request {}</h1>", esc(&id)),
        ));
    };
    let outcome = match &r.error_kind {
        Some(kind) => format!("{} ({})", esc(&r.outcome), esc(kind)),
        None => esc(&r.outcome),
    };
    let session = match &r.session_id {
        Some(s) => format!(
            "<a href='/ui/sessions/{}{}'>{}</a>",
            super::html::path_segment(s),
            esc(&query),
            esc(s)
        ),
        None => "-".into(),
    };
    let body = [
        format!(
            "<h1>Request {}</h1><p>{} · {} {} · status {} · <b>{outcome}</b></p>",
            esc(&id),
            time_of(r.ts_ms),
            esc(&r.dialect),
            esc(&r.endpoint),
            r.status
        ),
        routing(&r),
        cost(&r),
        section(
            "Timing",
            vec![
                ("total", ms(Some(r.latency_ms))),
                ("first token", ms(r.ttft_ms)),
                ("gateway overhead", ms(r.overhead_ms)),
                ("streamed", if r.stream { "yes" } else { "no" }.into()),
            ],
        ),
        section(
            "Who",
            vec![
                ("key", opt(&r.key_id)),
                ("developer", opt(&r.user_id)),
                ("team", opt(&r.team)),
                ("session", session),
                ("agent", opt(&r.agent_id)),
            ],
        ),
        section("Guardrails", vec![("decisions", opt(&r.guard))]),
    ]
    .concat();
    Ok(page("Request", "/ui/spend", &query, None, &body))
}
