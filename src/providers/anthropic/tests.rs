//! Tests of the Anthropic adapter: what goes upstream, and how errors read.

use super::*;
use crate::config::Timeouts;
use crate::core::{BodyKind, RawRequest};
use http::header::AUTHORIZATION;

fn adapter(key: Option<&str>) -> AnthropicAdapter {
    AnthropicAdapter::new(&ProviderConfig {
        name: "a".into(),
        kind: crate::config::ProviderKind::Anthropic,
        api: crate::config::WireApi::Anthropic,
        discover: false,
        bedrock: None,
        base_url: "http://127.0.0.1:9/prefix".into(),
        api_key: key.map(|k| SecretString::from(k.to_string())),
        headers: vec![(
            HeaderName::from_static("x-team"),
            HeaderValue::from_static("core"),
        )],
        timeouts: Timeouts::default(),
    })
}

fn client_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-api-key", HeaderValue::from_static("sk-client-secret"));
    h.insert(
        AUTHORIZATION,
        HeaderValue::from_static("Bearer sk-client-secret"),
    );
    h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    h.insert(
        "anthropic-beta",
        HeaderValue::from_static("claude-code-20250219,interleaved-thinking-2025-05-14"),
    );
    h.insert("x-claude-code-session-id", HeaderValue::from_static("s-1"));
    h
}

#[test]
fn request_swaps_keys_and_keeps_betas() {
    let raw = RawRequest::parse(
        Bytes::from_static(
            br#"{"model":"claude-opus-5-5","max_tokens":9,"messages":[],"x":{"keep":true}}"#,
        ),
        BodyKind::Messages,
    )
    .unwrap();
    let headers = client_headers();
    let call = Call {
        raw: &raw,
        upstream_model: "claude-sonnet-4-5-20250929",
        client_headers: &headers,
        query: Some("beta=true"),
        canonical: None,
        capabilities: crate::config::Capabilities::all(),
        client: &crate::api::anthropic::sse::AnthropicCodec,
    };
    let req = adapter(Some("sk-upstream"))
        .request(&call, Endpoint::Messages)
        .unwrap();
    assert_eq!(req.uri(), "http://127.0.0.1:9/prefix/v1/messages?beta=true");
    let h = req.headers();
    assert_eq!(h["x-api-key"], "sk-upstream");
    assert!(
        h.get(AUTHORIZATION).is_none(),
        "client bearer never forwarded"
    );
    assert_eq!(
        h["anthropic-beta"],
        "claude-code-20250219,interleaved-thinking-2025-05-14"
    );
    assert_eq!(h["anthropic-version"], "2023-06-01");
    assert_eq!(h["x-team"], "core");
    assert!(h.get("x-claude-code-session-id").is_none());
    assert_eq!(
        req.body().as_ref(),
        br#"{"model":"claude-sonnet-4-5-20250929","max_tokens":9,"messages":[],"x":{"keep":true}}"#
    );
    let count = adapter(None).request(&call, Endpoint::CountTokens).unwrap();
    assert_eq!(
        count.uri(),
        "http://127.0.0.1:9/prefix/v1/messages/count_tokens?beta=true"
    );
    assert!(
        count.headers().get("x-api-key").is_none(),
        "no key configured, none sent"
    );
}

#[test]
fn default_version_when_client_sends_none() {
    let raw = RawRequest::parse(
        Bytes::from_static(br#"{"model":"m","max_tokens":1,"messages":[]}"#),
        BodyKind::Messages,
    )
    .unwrap();
    let headers = HeaderMap::new();
    let call = Call {
        raw: &raw,
        upstream_model: "m",
        client_headers: &headers,
        query: None,
        canonical: None,
        capabilities: crate::config::Capabilities::all(),
        client: &crate::api::anthropic::sse::AnthropicCodec,
    };
    let req = adapter(None).request(&call, Endpoint::Messages).unwrap();
    assert_eq!(req.uri(), "http://127.0.0.1:9/prefix/v1/messages");
    assert_eq!(req.headers()["anthropic-version"], DEFAULT_VERSION);
}

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
    let m = adapter(None).meter_answer(body).unwrap();
    assert_eq!(m.usage().cache_read_tokens, 100);
    assert_eq!(m.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        adapter(None).meter_answer(b"not json").unwrap_err().kind,
        UpstreamErrorKind::Malformed
    );
}
