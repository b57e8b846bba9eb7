//! Errors as Bedrock writes them: `{"message": …}` with the exception name
//! in `x-amzn-ErrorType`, so AWS SDKs and the Anthropic Bedrock SDK read
//! them as they would Bedrock's own. Bedrock's validation errors from a
//! Bedrock upstream pass through byte for byte.

use crate::core::Dialect;
use crate::error::GatewayError;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};

/// Bedrock's exception name for a status, and the status Bedrock would use.
pub fn exception_for_status(status: StatusCode) -> (&'static str, StatusCode) {
    match status.as_u16() {
        401 => ("UnrecognizedClientException", StatusCode::FORBIDDEN),
        403 => ("AccessDeniedException", status),
        404 => ("ResourceNotFoundException", status),
        408 | 504 => ("ModelTimeoutException", status),
        429 => ("ThrottlingException", status),
        // 529 is Anthropic's; AWS clients know 503.
        503 | 529 => (
            "ServiceUnavailableException",
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        s if (400..500).contains(&s) => ("ValidationException", status),
        _ => ("InternalServerException", status),
    }
}

/// The response for a gateway error.
pub fn error_response(error: &GatewayError) -> Response {
    if let GatewayError::Internal(detail) = error {
        tracing::error!(detail = %detail, "internal error");
    }
    let (name, status) = exception_for_status(error.status());
    let upstream = error.last_upstream();
    let body = upstream
        .and_then(|u| u.passthrough_for(Dialect::Bedrock).cloned())
        .unwrap_or_else(|| {
            bytes::Bytes::from(serde_json::json!({"message": error.client_message()}).to_string())
        });
    let error_type = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    let mut resp = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&error_type) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    if let Some(retry_after) = upstream.and_then(|u| u.retry_after.clone()) {
        resp.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_name_bedrock_exceptions() {
        let rows = [
            (400, "ValidationException", 400),
            (401, "UnrecognizedClientException", 403),
            (404, "ResourceNotFoundException", 404),
            (413, "ValidationException", 413),
            (429, "ThrottlingException", 429),
            (500, "InternalServerException", 500),
            (502, "InternalServerException", 502),
            (503, "ServiceUnavailableException", 503),
            (529, "ServiceUnavailableException", 503),
            (504, "ModelTimeoutException", 504),
        ];
        for (status, name, sent) in rows {
            let (n, s) = exception_for_status(StatusCode::from_u16(status).unwrap());
            assert_eq!((n, s.as_u16()), (name, sent), "{status}");
        }
    }
}
