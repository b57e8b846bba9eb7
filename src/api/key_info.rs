//! `GET /v1/key`: a developer asks, with their own client key, what the
//! key is, what it has spent today and this month (from the ledger), and
//! where it stands against every budget and rate limit that counts it —
//! the same shape OpenRouter's `GET /api/v1/key` answers with usage and
//! remaining limit. The master key has no limits; it gets a short answer.

use super::RequestId;
use crate::state::AppState;
use crate::teams::rules::Measure;
use crate::teams::view::{now_ms, when};
use crate::usage::ledger::from_nanos;
use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;

fn usd(nanos: i64) -> String {
    from_nanos(nanos).round_dp(6).normalize().to_string()
}

/// Spend of this key since `start_ms`, from the ledger (none without one).
async fn spent(state: &AppState, key_id: &str, start_ms: i64) -> Option<String> {
    let store = state.store.as_ref()?;
    store
        .spent_since(&crate::store::Who::Key(key_id.to_string()), start_ms)
        .await
        .ok()
        .map(usd)
}

/// `GET /v1/key`.
pub async fn key_info(
    State(state): State<Arc<AppState>>,
    Extension(id): Extension<RequestId>,
) -> Response {
    let Some(key) = id.1 else {
        return Json(json!({"data": {"admin": true,
            "note": "the master key has no budgets or rate limits; ask with a client key"}}))
        .into_response();
    };
    let who = &key.identity;
    let now = now_ms();
    let (today, month) = (
        crate::teams::rules::day_start(now),
        crate::teams::rules::month_start(now),
    );
    let limits: Vec<Value> = state
        .limits
        .usage_of(who, &key.rules, now)
        .await
        .into_iter()
        .map(|u| {
            let base = json!({"name": u.rule.name(), "applies_to": u.rule.scope.describe()});
            let mut v = match u.rule.measure {
                Measure::Spend {
                    limit,
                    soft,
                    window,
                    ..
                } => json!({
                    "kind": "budget",
                    "window": window.as_str(),
                    "limit_usd": usd(limit),
                    "soft_limit_usd": soft.map(usd),
                    "spent_usd": usd(u.used),
                    "reserved_usd": usd(u.reserved),
                    "remaining_usd": usd((limit - u.used - u.reserved).max(0)),
                    "resets": u.resets_ms.map(|ms| when(Some(ms))),
                }),
                Measure::Requests(limit) => json!({
                    "kind": "requests_per_minute", "limit": limit, "used": u.used,
                    "remaining": (limit - u.used).max(0),
                }),
                Measure::Tokens(limit) => json!({
                    "kind": "tokens_per_minute", "limit": limit, "used": u.used,
                    "remaining": (limit - u.used).max(0),
                }),
            };
            if let (Some(v), Some(b)) = (v.as_object_mut(), base.as_object()) {
                v.extend(b.clone());
            }
            v
        })
        .collect();
    Json(json!({"data": {
        "id": who.key_id,
        "name": who.name,
        "hint": key.hint,
        "user": who.user,
        "team": who.team,
        "models": key.models,
        "expires": key.expires_ms.map(|ms| when(Some(ms))),
        "usage": {
            "today_usd": spent(&state, &who.key_id, today).await,
            "this_month_usd": spent(&state, &who.key_id, month).await,
        },
        "limits": limits,
    }}))
    .into_response()
}
