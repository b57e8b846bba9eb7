//! `GET /v1/models` and `GET /v1/models/{id}`, in Anthropic's shape for
//! Anthropic clients (they send `anthropic-version`) and OpenAI's otherwise.

use crate::core::Dialect;
use crate::error::GatewayError;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

fn dialect(headers: &HeaderMap) -> Dialect {
    if headers.contains_key("anthropic-version") {
        Dialect::Anthropic
    } else {
        Dialect::OpenAi
    }
}

/// One servable name.
struct Entry {
    id: String,
    context_window: Option<u64>,
    owner: String,
}

fn entries(state: &AppState) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for m in state.router.models() {
        let literal_aliases = m.aliases.iter().filter(|a| !a.contains(['*', '?']));
        for id in std::iter::once(&m.name).chain(literal_aliases) {
            if !out.iter().any(|e| &e.id == id) {
                out.push(Entry {
                    id: id.clone(),
                    context_window: m.context_window,
                    owner: m.provider.clone(),
                });
            }
        }
    }
    out
}

fn anthropic_entry(e: &Entry, created_at: &str) -> Value {
    let mut v =
        json!({"type": "model", "id": e.id, "display_name": e.id, "created_at": created_at});
    if let Some(c) = e.context_window {
        v["max_input_tokens"] = json!(c);
    }
    v
}

fn openai_entry(e: &Entry, created: u64) -> Value {
    json!({"id": e.id, "object": "model", "created": created, "owned_by": e.owner})
}

fn started_secs(state: &AppState) -> u64 {
    time::OffsetDateTime::parse(
        &state.started_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map(|t| t.unix_timestamp().max(0) as u64)
    .unwrap_or(0)
}

/// `GET /v1/models` (Anthropic: `limit`, `after_id`, `before_id`).
pub async fn list_models(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let all = entries(&state);
    if dialect(&headers) == Dialect::OpenAi {
        let created = started_secs(&state);
        let data: Vec<Value> = all.iter().map(|e| openai_entry(e, created)).collect();
        return Json(json!({"object": "list", "data": data})).into_response();
    }
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 1000);
    let position = |id: &String| all.iter().position(|m| &m.id == id);
    let (start, end) = match (
        q.get("after_id").and_then(position),
        q.get("before_id").and_then(position),
    ) {
        (Some(a), _) => (a + 1, (a + 1 + limit).min(all.len())),
        (None, Some(b)) => (b.saturating_sub(limit), b),
        (None, None) => (0, limit.min(all.len())),
    };
    let page = &all[start.min(all.len())..end.max(start).min(all.len())];
    let data: Vec<Value> = page
        .iter()
        .map(|e| anthropic_entry(e, &state.started_at))
        .collect();
    Json(json!({
        "data": data,
        "has_more": end < all.len(),
        "first_id": page.first().map(|e| e.id.clone()),
        "last_id": page.last().map(|e| e.id.clone()),
    }))
    .into_response()
}

/// `GET /v1/models/{id}`: any name the gateway serves, wildcards included.
pub async fn get_model(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let d = dialect(&headers);
    let Some(m) = state.router.resolve(&id) else {
        return super::error_response(d, &GatewayError::ModelNotFound(id));
    };
    let e = Entry {
        id,
        context_window: m.context_window,
        owner: m.provider.clone(),
    };
    match d {
        Dialect::Anthropic | Dialect::Bedrock => {
            Json(anthropic_entry(&e, &state.started_at)).into_response()
        }
        Dialect::OpenAi => Json(openai_entry(&e, started_secs(&state))).into_response(),
    }
}
