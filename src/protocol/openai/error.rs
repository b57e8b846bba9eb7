//! Errors in OpenAI's format: `{"error":{"message","type","param","code"}}`,
//! with the status from the error table (529 becomes 503 here). Upstream
//! client errors from OpenAI-compatible servers pass through unchanged.

use crate::core::Dialect;
use crate::error::{
    GatewayError, UpstreamError, UpstreamErrorKind, kind_for_status, openai_error_type,
    openai_status,
};
use crate::protocol::anthropic::json_reply;
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

/// The reply for a gateway error.
pub fn error_reply(error: &GatewayError) -> http::Response<Bytes> {
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
    let mut resp = json_reply(status, body);
    if let Some(retry_after) = upstream.and_then(|u| u.retry_after.clone()) {
        resp.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    resp
}

/// Classify an OpenAI-style (or Ollama-style) error answer.
pub fn classify_error(status: StatusCode, headers: &HeaderMap, body: Bytes) -> UpstreamError {
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let upstream_message = parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .and_then(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
        })
        .map(str::to_string)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    let kind = kind_for_status(status);
    let message = match kind {
        UpstreamErrorKind::Auth => {
            "the provider rejected the gateway's credentials; check the provider's api_key"
                .to_string()
        }
        _ => format!("upstream returned {}: {upstream_message}", status.as_u16()),
    };
    let passable = matches!(
        kind,
        UpstreamErrorKind::InvalidRequest | UpstreamErrorKind::RateLimited
    ) && parsed
        .as_ref()
        .and_then(|v| v.get("error"))
        .is_some_and(Value::is_object);
    UpstreamError {
        kind,
        status: Some(status),
        retry_after: headers.get(RETRY_AFTER).cloned(),
        passthrough: passable.then_some((Dialect::OpenAi, body)),
        message,
    }
}
