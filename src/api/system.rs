//! System endpoints: liveness, health, metrics, and the dialect-aware 404/405.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::CONTENT_TYPE;
use std::sync::Arc;

/// `GET /`, `HEAD /`, `HEAD /api/hello`: the gateway is up.
pub async fn root() -> &'static str {
    "switchyard\n"
}

/// How long a readiness check waits for each dependency.
const READY_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// A dependency check, given up on after `READY_CHECK`.
async fn within(f: impl std::future::Future<Output = Result<(), String>>) -> Result<(), String> {
    tokio::time::timeout(READY_CHECK, f)
        .await
        .unwrap_or_else(|_| Err("no answer within 1 s".into()))
}

/// `GET /livez` (and `/healthz`, the name Claude Code's own gateway uses):
/// the process answers (for an orchestrator's liveness probe: restart it
/// when this fails).
pub async fn livez() -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        r#"{"status":"alive"}"#,
    )
        .into_response()
}

/// `GET /readyz`: whether to send this instance traffic. 503 once shutdown
/// has begun (so a load balancer stops first; see `shutdown_drain`), or
/// when the ledger's database or the Redis cache does not answer within a
/// second — the body names which. A shared dependency that is down for
/// every instance takes them all out: `/readyz?deps=report` still names it
/// but answers 200 unless draining.
pub async fn readyz(
    State(state): State<Arc<AppState>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let mut checks = serde_json::Map::new();
    let mut missing = Vec::new();
    let mut check = |name: &str, result: Result<(), String>| {
        let v = match result {
            Ok(()) => "ok".to_string(),
            Err(e) => {
                missing.push(name.to_string());
                format!("unreachable: {e}")
            }
        };
        checks.insert(name.to_string(), serde_json::Value::String(v));
    };
    if let Some(store) = &state.store {
        check("ledger", within(store.ping()).await);
    }
    if let Some(cache) = &state.cache {
        check("cache", within(cache.ping()).await);
    }
    let report_only = query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p == "deps=report"));
    let (status, word) = if state.draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else if !missing.is_empty() && !report_only {
        (StatusCode::SERVICE_UNAVAILABLE, "missing dependencies")
    } else if !missing.is_empty() {
        (StatusCode::OK, "degraded")
    } else {
        (StatusCode::OK, "ready")
    };
    let body = serde_json::json!({"status": word, "missing": missing, "checks": checks});
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /health`: up, and what is configured.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let targets: Vec<serde_json::Value> = state
        .router
        .health()
        .snapshot()
        .into_iter()
        .map(|t| serde_json::json!({"target": t.target, "state": t.state.as_str(), "detail": t.state.detail()}))
        .collect();
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "providers": state.config.providers.len(),
        "models": state.router.models().len(),
        "targets": targets,
    });
    ([(CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// `GET /metrics`: Prometheus text format (breaker gauges set as of now).
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    crate::telemetry::set_breaker_gauges(&state.router.health().snapshot());
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::telemetry::render_metrics(),
    )
        .into_response()
}

/// Any unknown path.
pub async fn not_found(req: Request) -> Response {
    let path = req.uri().path().to_string();
    super::error_response(
        super::dialect_for_path(&path),
        &crate::error::GatewayError::NotFound(format!("{} {path}", req.method())),
    )
}

/// A known path with the wrong method.
pub async fn method_not_allowed(req: Request) -> Response {
    let path = req.uri().path().to_string();
    let mut resp = super::error_response(
        super::dialect_for_path(&path),
        &crate::error::GatewayError::InvalidRequest(format!(
            "method {} is not allowed on {path}",
            req.method()
        )),
    );
    *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    resp
}
