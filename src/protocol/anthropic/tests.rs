//! Tests of the Anthropic protocol: how errors read, and what a whole
//! answer passed on as it is counts.

use super::*;
use crate::core::Dialect;
use crate::error::UpstreamErrorKind;
use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, StatusCode};

#[test]
fn error_classification() {
    let body = |t: &str, m: &str| {
        Bytes::from(format!(
            r#"{{"type":"error","error":{{"type":"{t}","message":"{m}"}}}}"#
        ))
    };
    let mut h = HeaderMap::new();
    h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
    let e = classify_error(
        StatusCode::TOO_MANY_REQUESTS,
        &h,
        body("rate_limit_error", "slow down"),
    );
    assert_eq!(e.kind, UpstreamErrorKind::RateLimited);
    assert_eq!(e.retry_after.unwrap(), "7");

    let e = classify_error(
        StatusCode::UNAUTHORIZED,
        &h,
        body("authentication_error", "invalid x-api-key sk-ant-abc"),
    );
    assert_eq!(e.kind, UpstreamErrorKind::Auth);
    assert!(
        !e.message.contains("sk-ant"),
        "no upstream details leak: {}",
        e.message
    );
    assert!(e.passthrough.is_none());

    let b = body("invalid_request_error", "max_tokens too large");
    let e = classify_error(StatusCode::BAD_REQUEST, &h, b.clone());
    assert_eq!(
        (e.kind, e.passthrough),
        (
            UpstreamErrorKind::InvalidRequest,
            Some((Dialect::Anthropic, b))
        )
    );
    assert!(e.message.contains("max_tokens too large"));

    let e = classify_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &h,
        body("overloaded_error", "Overloaded"),
    );
    assert_eq!(e.kind, UpstreamErrorKind::Overloaded);
    let e = classify_error(
        StatusCode::BAD_GATEWAY,
        &h,
        Bytes::from_static(b"<html>nginx</html>"),
    );
    assert_eq!(e.kind, UpstreamErrorKind::Server);
    assert!(e.message.contains("Bad Gateway"));
}

#[test]
fn answers_are_metered() {
    let body = br#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":100}}"#;
    let m = meter_answer(body).unwrap();
    assert_eq!(m.usage().cache_read_tokens, 100);
    assert_eq!(m.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        meter_answer(b"not json").unwrap_err().kind,
        UpstreamErrorKind::Malformed
    );
}
