//! The admin API for client keys (master key only), the same operations as
//! `switchyard keys`. Changes take effect on this instance at once and on
//! the others at their next read of the key table (about a second).
//!
//! `GET /admin/keys[?all=true]`, `POST /admin/keys`, `GET /admin/keys/{id}`,
//! `POST /admin/keys/{id}/revoke`, `POST /admin/keys/{id}/rotate`

use super::admin::{problem, store};
use crate::config::units::parse_duration;
use crate::state::AppState;
use crate::store::KeyRow;
use crate::teams::view::{describe, now_ms, status};
use crate::teams::{NewKey, mint, successor};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// The body of `POST /admin/keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    name: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    models: Vec<String>,
    /// e.g. "90d", "12h".
    #[serde(default)]
    expires_in: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    /// The key's own spend limit, USD.
    #[serde(default)]
    budget_usd: Option<rust_decimal::Decimal>,
    /// day, week, month (default) or total.
    #[serde(default)]
    budget_window: Option<String>,
    #[serde(default)]
    requests_per_minute: Option<u64>,
    #[serde(default)]
    tokens_per_minute: Option<u64>,
    /// open (default) or closed.
    #[serde(default)]
    redis_down: Option<String>,
    /// allow, redact, force_local or block.
    #[serde(default)]
    guard: Option<String>,
    /// Ceiling on an answer's tokens.
    #[serde(default)]
    max_tokens: Option<u64>,
}

fn failed(e: impl std::fmt::Display) -> Response {
    problem(StatusCode::INTERNAL_SERVER_ERROR, format!("key table: {e}"))
}

async fn issue(state: &AppState, new: NewKey) -> Response {
    let store = match store(state) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (secret, row) = match mint(&new, now_ms()) {
        Ok(k) => k,
        Err(e) => return failed(e),
    };
    if let Err(e) = store.insert_key(&row).await {
        return failed(e);
    }
    state.keys.apply(std::slice::from_ref(&row));
    let mut v = describe(&row, row.created_ms);
    v["key"] = json!(secret);
    (StatusCode::CREATED, Json(v)).into_response()
}

/// `POST /admin/keys`: the key is in the answer, and nowhere else ever.
pub async fn create(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let req: CreateKey = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("invalid key request: {e}")),
    };
    let expires_ms = match req.expires_in.as_deref().map(parse_duration).transpose() {
        Ok(d) => {
            d.map(|d| now_ms().saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
        }
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("expires_in: {e}")),
    };
    let limits = crate::teams::KeyLimits {
        budget_usd: req.budget_usd,
        budget_window: req.budget_window,
        requests_per_minute: req.requests_per_minute,
        tokens_per_minute: req.tokens_per_minute,
        redis_down: req.redis_down,
        guard: req.guard,
        max_tokens: req.max_tokens,
    };
    if let Err(e) = limits.check() {
        return problem(StatusCode::BAD_REQUEST, e);
    }
    let new = NewKey {
        name: req.name,
        user: req.user,
        team: req.team,
        models: req.models,
        expires_ms,
        metadata: req.metadata.map(|m| m.to_string()),
        limits,
    };
    issue(&state, new).await
}

async fn find(state: &AppState, id: &str) -> Result<KeyRow, Response> {
    let store = store(state).map_err(|r| *r)?;
    match store.key(id).await {
        Ok(Some(k)) => Ok(k),
        Ok(None) => Err(problem(StatusCode::NOT_FOUND, format!("no key {id}"))),
        Err(e) => Err(failed(e)),
    }
}

/// `GET /admin/keys`: live keys, or all with `?all=true`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let store = match store(&state) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let all = q.get("all").is_some_and(|v| v == "true" || v == "1");
    let now = now_ms();
    match store.keys_changed_since(0).await {
        Ok(keys) => {
            let shown: Vec<Value> = keys
                .iter()
                .filter(|k| all || status(k, now) == "live")
                .map(|k| describe(k, now))
                .collect();
            Json(json!({"keys": shown})).into_response()
        }
        Err(e) => failed(e),
    }
}

/// `GET /admin/keys/{id}`.
pub async fn show(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match find(&state, &id).await {
        Ok(k) => Json(describe(&k, now_ms())).into_response(),
        Err(r) => r,
    }
}

async fn revoke_row(state: &AppState, k: &KeyRow) -> Result<KeyRow, Response> {
    let store = store(state).map_err(|r| *r)?;
    let now = now_ms();
    match store.revoke_key(&k.id, now).await {
        Ok(true) => {
            let mut gone = k.clone();
            gone.revoked_ms = Some(now);
            gone.updated_ms = now;
            state.keys.apply(std::slice::from_ref(&gone));
            Ok(gone)
        }
        Ok(false) => Err(problem(
            StatusCode::CONFLICT,
            format!("key {} was already revoked", k.id),
        )),
        Err(e) => Err(failed(e)),
    }
}

/// `POST /admin/keys/{id}/revoke`.
pub async fn revoke(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let k = match find(&state, &id).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    match revoke_row(&state, &k).await {
        Ok(gone) => Json(describe(&gone, now_ms())).into_response(),
        Err(r) => r,
    }
}

/// `POST /admin/keys/{id}/rotate`: a new key for the same owner; the old
/// one is revoked.
pub async fn rotate(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    let old = match find(&state, &id).await {
        Ok(k) if k.revoked_ms.is_none() => k,
        Ok(_) => {
            return problem(
                StatusCode::CONFLICT,
                format!("key {id} is revoked; create a new one"),
            );
        }
        Err(r) => return r,
    };
    let answer = issue(&state, successor(&old, now_ms())).await;
    if answer.status() != StatusCode::CREATED {
        return answer;
    }
    match revoke_row(&state, &old).await {
        Ok(_) => answer,
        Err(r) => r,
    }
}
