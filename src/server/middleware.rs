//! Request middleware: the request id (and its tracing span), and gateway
//! key checks. Rejections come back in the client's dialect.

use crate::api::{self, RequestId};
use crate::config::AuthConfig;
use crate::error::GatewayError;
use crate::protocol::keys::presented_key;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use secrecy::ExposeSecret;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tracing::Instrument;

/// Response header carrying the request id.
pub const REQUEST_ID_HEADER: &str = "x-switchyard-request-id";

/// Give the request an id and a span, and echo the id in the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = format!("req_{}", uuid::Uuid::now_v7().simple());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span =
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}

/// Paths anyone may call (the dashboard checks its own session cookie).
fn is_public(path: &str) -> bool {
    matches!(path, "/" | "/health" | "/metrics" | "/api/hello")
        || path == "/ui"
        || path.starts_with("/ui/")
}

/// Check the gateway key.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if let AuthConfig::MasterKey(expected) = &state.config.auth
        && !is_public(req.uri().path())
    {
        let ok = presented_key(req.headers())
            .is_some_and(|k| bool::from(k.as_bytes().ct_eq(expected.expose_secret().as_bytes())));
        if !ok {
            tracing::warn!(
                path = %req.uri().path(),
                presented = presented_key(req.headers()).is_some(),
                "rejected a request with a missing or wrong gateway key (Claude Code retries 401s; check ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN)"
            );
            return api::error_response(
                api::dialect_for_path(req.uri().path()),
                &GatewayError::Unauthorized,
            );
        }
    }
    next.run(req).await
}
