//! Tests of the Anthropic adapter: what goes upstream.

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
        stream_whole_answers: true,
        local: false,
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
        client: &crate::protocol::anthropic::AnthropicCodec,
        tools: None,
        timeouts: Default::default(),
        max_response_bytes: None,
        trace_headers: None,
    };
    let req = adapter(Some("sk-upstream"))
        .build(&call, Operation::Messages)
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
    let count = adapter(None).build(&call, Operation::CountTokens).unwrap();
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
        client: &crate::protocol::anthropic::AnthropicCodec,
        tools: None,
        timeouts: Default::default(),
        max_response_bytes: None,
        trace_headers: None,
    };
    let req = adapter(None).build(&call, Operation::Messages).unwrap();
    assert_eq!(req.uri(), "http://127.0.0.1:9/prefix/v1/messages");
    assert_eq!(req.headers()["anthropic-version"], DEFAULT_VERSION);
}
