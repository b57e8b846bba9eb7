//! Tests of the Bedrock protocol: the error table, what model ids say, and
//! count-tokens answers.

use super::*;
use crate::core::Dialect;
use crate::error::{GatewayError, TimeoutKind, UpstreamErrorKind};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};

fn error(status: u16, error_type: Option<&str>, body: &str) -> UpstreamError {
    let mut headers = HeaderMap::new();
    if let Some(t) = error_type {
        headers.insert("x-amzn-errortype", HeaderValue::from_str(t).unwrap());
    }
    classify_error(
        StatusCode::from_u16(status).unwrap(),
        &headers,
        Bytes::from(body.to_string()),
    )
}

/// The table of the issue: exception → what the client sees, and whether the
/// gateway may retry or fall back.
#[test]
fn error_table() {
    use UpstreamErrorKind as K;
    let rows: &[(u16, &str, K, u16, bool)] = &[
        // status, exception, kind, client status, may fall back
        (400, "ValidationException", K::InvalidRequest, 400, false),
        (403, "AccessDeniedException", K::Auth, 502, true),
        (403, "UnrecognizedClientException", K::Auth, 502, true),
        (
            404,
            "ResourceNotFoundException",
            K::InvalidRequest,
            404,
            false,
        ),
        (429, "ThrottlingException", K::RateLimited, 429, true),
        (429, "ModelNotReadyException", K::RateLimited, 429, true),
        (
            400,
            "ServiceQuotaExceededException",
            K::RateLimited,
            429,
            true,
        ),
        (503, "ServiceUnavailableException", K::Overloaded, 529, true),
        (
            408,
            "ModelTimeoutException",
            K::Timeout(TimeoutKind::FirstByte),
            504,
            true,
        ),
        (500, "InternalServerException", K::Server, 502, true),
        (424, "ModelErrorException", K::Server, 502, true),
    ];
    for (status, name, kind, client, retry) in rows {
        let with_suffix = format!("{name}:http://internal.amazon.com/coral/com.amazon.bedrock/");
        for e in [
            error(*status, Some(&with_suffix), r#"{"message":"nope"}"#),
            error(
                *status,
                None,
                &format!(r#"{{"__type":"com.amazon.bedrock#{name}","message":"nope"}}"#),
            ),
            error(
                *status,
                None,
                &format!(r#"{{"code":"{name}","Message":"nope"}}"#),
            ),
        ] {
            assert_eq!(e.kind, *kind, "{name}");
            assert_eq!(e.client_status().as_u16(), *client, "{name}");
            assert_eq!(e.kind.should_fallback(), *retry, "{name}");
        }
    }
    // no exception name: the status decides
    assert_eq!(error(503, None, "").kind, K::Overloaded);
    assert_eq!(error(500, None, "<html>").kind, K::Server);
}

#[test]
fn validation_errors_pass_through_to_bedrock_clients_only() {
    let body = r#"{"message":"Malformed input request: #: required key [max_tokens] not found"}"#;
    let e = error(400, Some("ValidationException"), body);
    assert_eq!(
        e.passthrough_for(Dialect::Bedrock).map(|b| &b[..]),
        Some(body.as_bytes())
    );
    assert!(e.passthrough_for(Dialect::Anthropic).is_none());
    assert!(
        e.message.contains("required key [max_tokens]"),
        "{}",
        e.message
    );
}

#[test]
fn access_denied_hides_details() {
    let e = error(
        403,
        Some("AccessDeniedException"),
        r#"{"message":"User: arn:aws:iam::123456789012:user/ci is not authorized"}"#,
    );
    assert!(!e.message.contains("123456789012"), "{}", e.message);
    let shown = GatewayError::Upstream {
        attempts: vec![crate::error::FailedAttempt {
            provider: "bedrock".into(),
            model: "m".into(),
            error: e,
        }],
    };
    assert!(
        !shown.client_message().contains("arn:aws"),
        "{}",
        shown.client_message()
    );
}

#[test]
fn on_demand_throughput_errors_explain_inference_profiles() {
    let e = error(
        400,
        Some("ValidationException"),
        r#"{"message":"Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."}"#,
    );
    assert!(
        e.message
            .contains("hint: invoke this model through an inference profile"),
        "{}",
        e.message
    );
    assert!(e.message.contains("us.anthropic.claude-"), "{}", e.message);
}

#[test]
fn bedrock_ids_name_their_anthropic_model() {
    let rows = [
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            Some("claude-sonnet-4-5-20250929"),
        ),
        (
            "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            Some("claude-haiku-4-5-20251001"),
        ),
        (
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            Some("claude-3-5-haiku-20241022"),
        ),
        ("anthropic.claude-v2", Some("claude")),
        (
            "arn:aws:bedrock:us-east-1:1:inference-profile/eu.anthropic.claude-opus-4-1-20250805-v1:0",
            Some("claude-opus-4-1-20250805"),
        ),
        ("anthropic.claude-sonnet-4-5", Some("claude-sonnet-4-5")),
        ("meta.llama3-70b-instruct-v1:0", None),
        ("claude-sonnet-4-5", None),
    ];
    for (id, want) in rows {
        assert_eq!(anthropic_model_name(id).as_deref(), want, "{id}");
    }
}

#[test]
fn count_tokens_answers_are_anthropic_shaped() {
    assert_eq!(
        &count_tokens_answer(br#"{"inputTokens":42}"#).unwrap()[..],
        br#"{"input_tokens":42}"#
    );
    assert_eq!(
        count_tokens_answer(b"{}").unwrap_err().kind,
        UpstreamErrorKind::Malformed
    );
}
