//! Errors in Anthropic's format: `{"type":"error","error":{"type","message"}}`
//! with the status from the error table. Upstream client errors in the same
//! dialect are passed through byte for byte.

use crate::core::Dialect;
use crate::error::{
    GatewayError, UpstreamError, UpstreamErrorKind, anthropic_error_type, kind_for_status,
};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

/// An error body for a status and message.
pub fn error_body_for(status: u16, message: &str) -> Bytes {
    let status =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "type": "error",
        "error": {"type": anthropic_error_type(status), "message": message}
    });
    Bytes::from(body.to_string())
}

/// The error body for a gateway error. A spend cap reached is a
/// `billing_error` (what Claude Code shows as the gateway's own message); a
/// provider refusing a capability, in words switchyard rewrote, is Claude
/// Code's `capability_rejected: <class>`; other types follow the status.
pub fn error_body(error: &GatewayError) -> Bytes {
    if let GatewayError::BudgetExceeded { .. } = error {
        let body = serde_json::json!({
            "type": "error",
            "error": {"type": "billing_error", "message": error.client_message()}
        });
        return Bytes::from(body.to_string());
    }
    let status = error.status().as_u16();
    if let Some(token) = error
        .last_upstream()
        .and_then(|u| super::capability::token(status, &u.message))
    {
        return error_body_for(status, &token);
    }
    error_body_for(status, &error.client_message())
}

/// The reply for a gateway error.
pub fn error_reply(error: &GatewayError) -> http::Response<Bytes> {
    let status = error.status();
    let upstream = error.last_upstream();
    let body = upstream
        .and_then(|u| u.passthrough_for(Dialect::Anthropic).cloned())
        .unwrap_or_else(|| error_body(error));
    let mut resp = json_reply(status, body);
    if let Some(retry_after) = upstream.and_then(|u| u.retry_after.clone()) {
        resp.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    resp
}

/// A JSON reply with `status`.
pub fn json_reply(status: StatusCode, body: Bytes) -> http::Response<Bytes> {
    let mut resp = http::Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    message: String,
}

/// Classify an Anthropic error answer: the status decides, the body's
/// message is kept when it is safe to show.
pub fn classify_error(status: StatusCode, headers: &HeaderMap, body: Bytes) -> UpstreamError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(&body).ok();
    let mut kind = kind_for_status(status);
    if parsed
        .as_ref()
        .is_some_and(|p| p.error.kind == "overloaded_error")
    {
        kind = UpstreamErrorKind::Overloaded;
    }
    let upstream_message = parsed
        .as_ref()
        .map(|p| p.error.message.clone())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let message = match kind {
        UpstreamErrorKind::Auth => {
            "the provider rejected the gateway's credentials; check the provider's api_key"
                .to_string()
        }
        _ => format!("upstream returned {}: {upstream_message}", status.as_u16()),
    };
    UpstreamError {
        kind,
        status: Some(status),
        retry_after: headers.get(RETRY_AFTER).cloned(),
        // Only client errors are passed on verbatim.
        passthrough: (kind == UpstreamErrorKind::InvalidRequest
            || kind == UpstreamErrorKind::RateLimited)
            .then_some((Dialect::Anthropic, body)),
        message,
    }
}
