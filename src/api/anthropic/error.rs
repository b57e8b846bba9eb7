//! Errors in Anthropic's format: `{"type":"error","error":{"type","message"}}`
//! with the status from the error table. Upstream client errors in the same
//! dialect are passed through byte for byte.

use crate::core::Dialect;
use crate::error::{GatewayError, anthropic_error_type};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderValue;
use http::header::{CONTENT_TYPE, RETRY_AFTER};

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

/// The error body for a gateway error.
pub fn error_body(error: &GatewayError) -> Bytes {
    error_body_for(error.status().as_u16(), &error.client_message())
}

/// The response for a gateway error.
pub fn error_response(error: &GatewayError) -> Response {
    if let GatewayError::Internal(detail) = error {
        tracing::error!(detail = %detail, "internal error");
    }
    let status = error.status();
    let upstream = error.last_upstream();
    let body = upstream
        .and_then(|u| u.passthrough_for(Dialect::Anthropic).cloned())
        .unwrap_or_else(|| error_body(error));
    let mut resp = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response();
    if let Some(retry_after) = upstream.and_then(|u| u.retry_after.clone()) {
        resp.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    resp
}
