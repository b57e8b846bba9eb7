//! Errors in OpenAI's format: `{"error":{"message","type","param","code"}}`,
//! with the status from the error table (529 becomes 503 here). Upstream
//! client errors from OpenAI-compatible servers pass through unchanged.

use crate::core::Dialect;
use crate::error::{GatewayError, openai_error_type, openai_status};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::HeaderValue;
use http::header::{CONTENT_TYPE, RETRY_AFTER};

/// The response for a gateway error.
pub fn error_response(error: &GatewayError) -> Response {
    if let GatewayError::Internal(detail) = error {
        tracing::error!(detail = %detail, "internal error");
    }
    let status = openai_status(error.status());
    let upstream = error.last_upstream();
    let body = match upstream.and_then(|u| u.passthrough_for(Dialect::OpenAi)) {
        Some(b) => b.clone(),
        None => {
            let (kind, code) = openai_error_type(status);
            let v = serde_json::json!({"error": {"message": error.client_message(), "type": kind, "param": null, "code": code}});
            Bytes::from(v.to_string())
        }
    };
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
