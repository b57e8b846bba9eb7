//! Request middleware: the request id (and its tracing span), and gateway
//! key checks. Rejections come back in the client's dialect.

use crate::api::{self, RequestId};
use crate::config::AuthConfig;
use crate::error::GatewayError;
use crate::protocol::keys::presented_key;
use crate::state::{AppState, AuthFailures, ClientIp};
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

/// Check the gateway key. An address that keeps presenting wrong keys is
/// refused with 429 for the rest of its window, without a log line each.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    if let AuthConfig::MasterKey(expected) = &state.config.auth
        && !is_public(req.uri().path())
    {
        let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
        let dialect = api::dialect_for_path(req.uri().path());
        if state.auth_failures.throttled(ip) {
            return throttled(dialect);
        }
        let ok = presented_key(req.headers())
            .is_some_and(|k| bool::from(k.as_bytes().ct_eq(expected.expose_secret().as_bytes())));
        if !ok {
            state.auth_failures.failed(ip, || {
                format!(
                    "rejected a request to {} with a {} gateway key (Claude Code retries 401s; check ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN)",
                    req.uri().path(),
                    if presented_key(req.headers()).is_some() { "wrong" } else { "missing" }
                )
            });
            return api::error_response(dialect, &GatewayError::Unauthorized);
        }
    }
    next.run(req).await
}

/// The 429 for a throttled address, with `retry-after`.
pub fn throttled(dialect: crate::core::Dialect) -> Response {
    let secs = AuthFailures::WINDOW.as_secs();
    let mut resp = api::error_response(
        dialect,
        &GatewayError::AuthThrottled {
            retry_after_secs: secs,
        },
    );
    resp.headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}
