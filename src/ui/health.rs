//! The dashboard's health page: each provider's and model's circuit-breaker
//! state now, and their requests and error rate over the last hour.

use super::html::{esc, page, table};
use super::pages::store;
use crate::routing::health::{BreakerState, breaker_key};
use crate::state::AppState;
use crate::store::Group;

/// Providers and models: circuit-breaker state now, error rate in the
/// last hour.
pub async fn health(state: &AppState, query: String) -> Result<String, String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let hour = now - 3_600_000;
    let store = store(state)?;
    let by_model = store
        .group(Group::Model, hour, now + 1)
        .await
        .map_err(|e| e.to_string())?;
    let by_provider = store
        .group(Group::Provider, hour, now + 1)
        .await
        .map_err(|e| e.to_string())?;
    let breakers = state.router.health().snapshot();
    let rate = |rows: &[crate::store::GroupRow], name: &str| {
        rows.iter().find(|g| g.key.as_deref() == Some(name)).map_or(
            ("0".to_string(), "–".to_string()),
            |g| {
                let r = if g.requests > 0 {
                    g.failed as f64 * 100.0 / g.requests as f64
                } else {
                    0.0
                };
                (g.requests.to_string(), format!("{r:.1}%"))
            },
        )
    };
    let state_cell = |key: &str| {
        let open: Vec<_> = breakers
            .iter()
            .filter(|b| b.target == key || b.target.starts_with(&format!("{key}/")))
            .collect();
        let worst = open
            .iter()
            .map(|b| b.state)
            .find(|s| !matches!(s, BreakerState::Up { .. }));
        match worst {
            Some(BreakerState::CoolingDown { left }) => format!(
                "<span class=bad>cooling down ({} s left)</span>",
                left.as_secs().max(1)
            ),
            Some(_) => "<span class=warn>probing</span>".to_string(),
            None => "<span class=ok>up</span>".to_string(),
        }
    };
    let providers: Vec<Vec<String>> = state
        .config
        .providers
        .iter()
        .map(|p| {
            let (n, r) = rate(&by_provider, &p.name);
            vec![
                esc(&p.name),
                esc(p.kind.as_str()),
                state_cell(&p.name),
                n,
                r,
            ]
        })
        .collect();
    let models: Vec<Vec<String>> = state
        .router
        .models()
        .iter()
        .map(|m| {
            let (n, r) = rate(&by_model, &m.name);
            let key = breaker_key(&m.provider, m.id.as_deref().unwrap_or(&m.name));
            vec![esc(&m.name), esc(&m.provider), state_cell(&key), n, r]
        })
        .collect();
    let body = format!(
        "<h1>Health</h1><p>Breaker state now; requests and error rate over the last hour. Refreshes every 15 s.</p>\
         <h2>Providers</h2><div class=panel>{}</div><h2>Models</h2><div class=panel>{}</div>",
        table(
            &[
                "provider",
                "kind",
                "state",
                "#requests (1 h)",
                "#error rate"
            ],
            &providers
        ),
        table(
            &[
                "model",
                "provider",
                "state",
                "#requests (1 h)",
                "#error rate"
            ],
            &models
        ),
    );
    Ok(page("Health", "/ui/health", &query, Some(15), &body))
}
