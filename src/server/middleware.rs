//! Request middleware: the request id (and its tracing span), and gateway
//! key checks. Rejections come back in the client's dialect.

use crate::api::{self, RequestId};
use crate::config::AuthConfig;
use crate::error::GatewayError;
use crate::protocol::keys::presented_key;
use crate::state::{AppState, AuthFailures, ClientIp};
use crate::teams::Verdict;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use secrecy::ExposeSecret;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tracing::Instrument;

/// Response header carrying the request id.
pub const REQUEST_ID_HEADER: http::HeaderName =
    http::HeaderName::from_static("x-switchyard-request-id");

/// Give the request an id and a span, and echo the id in the response.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = format!("req_{}", uuid::Uuid::now_v7().simple());
    req.extensions_mut().insert(RequestId(id.clone(), None));
    // The id alone: what a warning inside the request needs to be found
    // beside its access line (which has the endpoint). Each field is
    // formatted when the span is made, on every request.
    let span = tracing::info_span!("request", id = %id);
    let mut resp = next.run(req).instrument(span).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    resp
}

/// Paths anyone may call (the dashboard checks its own session cookie).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/" | "/health" | "/healthz" | "/livez" | "/readyz" | "/metrics" | "/api/hello"
    ) || is_signin(path)
        || path == "/ui"
        || path.starts_with("/ui/")
}

/// The sign-in endpoints Claude Code and browsers call before they hold a
/// token.
fn is_signin(path: &str) -> bool {
    matches!(
        path,
        "/.well-known/oauth-authorization-server"
            | "/oauth/device_authorization"
            | "/oauth/token"
            | "/oauth/revoke"
            | "/oauth/callback"
            | "/device"
            | "/device/deny"
            | "/protocol"
    )
}

/// Paths only the admin (master) key may call (also the Admin-API-shaped
/// `/v1/organizations/…`).
fn is_admin(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/") || path.starts_with("/v1/organizations/")
}

/// Check the gateway key: the master key may call everything; a client key
/// the model endpoints (it travels on in the [`RequestId`]). An address that
/// keeps presenting wrong keys is refused with 429 for the rest of its
/// window, without a log line each.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let AuthConfig::MasterKey(expected) = &state.config.auth
        && !is_public(req.uri().path())
    {
        let ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
        let path = req.uri().path();
        let dialect = api::dialect_for_path(path);
        if state.auth_failures.throttled(ip) {
            return throttled(dialect);
        }
        let presented = presented_key(req.headers());
        let admin = presented
            .is_some_and(|k| bool::from(k.as_bytes().ct_eq(expected.expose_secret().as_bytes())));
        if !admin {
            let verdict = presented.map(|k| match &state.signin {
                Some(signin) if crate::signin::tokens::looks_like_jwt(k) => {
                    match signin.authenticate(k) {
                        Ok(key) => Verdict::Client(key),
                        Err(why) => Verdict::SignedOut(why),
                    }
                }
                _ => state.keys.check(k, crate::teams::view::now_ms()),
            });
            let refusal = match verdict {
                Some(Verdict::Client(key)) if is_admin(path) => {
                    Some(GatewayError::Forbidden(format!(
                        "client key {} cannot use the admin API",
                        key.identity.key_id
                    )))
                }
                Some(Verdict::Client(key)) => {
                    if let Some(id) = req.extensions_mut().get_mut::<RequestId>() {
                        id.1 = Some(key);
                    }
                    None
                }
                Some(Verdict::Revoked(key)) => Some(GatewayError::KeyRejected(format!(
                    "gateway key {} ({}) was revoked; ask your admin for a new one",
                    key.identity.key_id, key.hint
                ))),
                Some(Verdict::Expired(key)) => Some(GatewayError::KeyRejected(format!(
                    "gateway key {} ({}) has expired; ask your admin for a new one",
                    key.identity.key_id, key.hint
                ))),
                Some(Verdict::SignedOut(why)) => Some(GatewayError::KeyRejected(why)),
                Some(Verdict::Unknown) | None => {
                    state.auth_failures.failed(ip, || {
                        format!(
                            "rejected a request to {path} with a {} gateway key (Claude Code retries 401s; check ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN)",
                            if presented.is_some() { "wrong" } else { "missing" }
                        )
                    });
                    Some(GatewayError::Unauthorized)
                }
            };
            if let Some(e) = refusal {
                let mut resp = api::error_response(dialect, &e);
                // Claude Code retries a 401 for over a minute unless told
                // not to; told, it stops at once and shows the message.
                resp.headers_mut()
                    .insert("x-should-retry", HeaderValue::from_static("false"));
                return resp;
            }
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
