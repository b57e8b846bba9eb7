//! Errors as Bedrock writes them: `{"message": …}` with the exception name
//! in `x-amzn-ErrorType`, so AWS SDKs and the Anthropic Bedrock SDK read
//! them as they would Bedrock's own. Bedrock's validation errors from a
//! Bedrock upstream pass through byte for byte.

use super::eventstream::exception_kind;
use crate::core::Dialect;
use crate::error::{GatewayError, TimeoutKind, UpstreamError, UpstreamErrorKind};
use crate::protocol::anthropic::json_reply;
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;

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

/// The reply for a gateway error.
pub fn error_reply(error: &GatewayError) -> http::Response<Bytes> {
    let (name, status) = exception_for_status(error.status());
    let upstream = error.last_upstream();
    let body = upstream
        .and_then(|u| u.passthrough_for(Dialect::Bedrock).cloned())
        .unwrap_or_else(|| {
            bytes::Bytes::from(serde_json::json!({"message": error.client_message()}).to_string())
        });
    let error_type = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
    let mut resp = json_reply(status, body);
    if let Ok(v) = HeaderValue::from_str(&error_type) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    if let Some(retry_after) = upstream.and_then(|u| u.retry_after.clone()) {
        resp.headers_mut().insert(RETRY_AFTER, retry_after);
    }
    resp
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default, alias = "Message")]
    message: String,
    #[serde(default, rename = "__type", alias = "code")]
    kind: Option<String>,
}

/// Classify a Bedrock error answer (the exception name from
/// `x-amzn-ErrorType` or the body decides; the status backs it up).
pub fn classify_error(status: StatusCode, headers: &HeaderMap, body: Bytes) -> UpstreamError {
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let name = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(parsed.kind)
        .map(|n| {
            let n = n.split(':').next().unwrap_or("").to_string();
            n.rsplit('#').next().unwrap_or("").to_string()
        })
        .unwrap_or_default();
    let kind = match name.as_str() {
        "" => crate::error::kind_for_status(status),
        "ModelErrorException" | "InternalServerException" | "ModelStreamErrorException" => {
            UpstreamErrorKind::Server
        }
        "ModelTimeoutException" => UpstreamErrorKind::Timeout(TimeoutKind::FirstByte),
        n => exception_kind(n),
    };
    let mut message = match kind {
        UpstreamErrorKind::Auth => {
            "Bedrock rejected the gateway's credentials; check the provider's AWS credentials"
                .to_string()
        }
        _ => format!(
            "Bedrock {}: {}",
            if name.is_empty() {
                status.as_str()
            } else {
                &name
            },
            parsed.message
        ),
    };
    if parsed.message.contains("on-demand throughput")
        || parsed.message.contains("inference profile")
    {
        message.push_str(
            " (hint: invoke this model through an inference profile, e.g. id = \"us.anthropic.claude-…\" or \"global.anthropic.claude-…\", not the base model id)",
        );
    }
    let status = match kind {
        // Throttling and "not ready" are rate limits whatever the status said.
        UpstreamErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        UpstreamErrorKind::InvalidRequest if !status.is_client_error() => StatusCode::BAD_REQUEST,
        _ => status,
    };
    UpstreamError {
        kind,
        status: Some(status),
        retry_after: headers.get(RETRY_AFTER).cloned(),
        passthrough: (kind == UpstreamErrorKind::InvalidRequest)
            .then_some((Dialect::Bedrock, body)),
        message,
    }
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
