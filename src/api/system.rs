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

/// `GET /metrics`: Prometheus text format.
pub async fn metrics() -> Response {
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
