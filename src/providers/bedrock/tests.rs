//! Tests of the Bedrock adapter: model ids in paths, and what a signed
//! request looks like.

use super::*;
use crate::config::{ProviderKind, Timeouts, WireApi};
use crate::core::{BodyKind, RawRequest};
use crate::protocol::ClientCodec;
use http::HeaderMap;

fn adapter() -> BedrockAdapter {
    BedrockAdapter::new(&ProviderConfig {
        name: "bedrock".into(),
        kind: ProviderKind::Bedrock,
        api: WireApi::Bedrock,
        discover: false,
        stream_whole_answers: true,
        local: false,
        bedrock: Some(crate::config::BedrockSettings {
            region: "us-west-2".into(),
            ..Default::default()
        }),
        base_url: "http://127.0.0.1:9".into(),
        api_key: None,
        headers: vec![],
        timeouts: Timeouts::default(),
    })
}

#[test]
fn model_ids_are_encoded_like_the_sdk() {
    assert_eq!(
        encode_model_id("us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    );
    assert_eq!(
        encode_model_id(
            "arn:aws:bedrock:us-east-1:123:inference-profile/us.anthropic.claude-x-v1:0"
        ),
        "arn:aws:bedrock:us-east-1:123:inference-profile%2Fus.anthropic.claude-x-v1:0"
    );
    assert_eq!(encode_model_id("a b"), "a%20b");
}

fn call_parts(body: &str) -> (RawRequest, HeaderMap) {
    let raw = RawRequest::parse(Bytes::from(body.to_string()), BodyKind::Messages).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        "anthropic-beta",
        HeaderValue::from_static("interleaved-thinking-2025-05-14"),
    );
    headers.insert("x-api-key", HeaderValue::from_static("sk-client-secret"));
    (raw, headers)
}

fn build(op: Operation, auth: &Resolved) -> http::Request<Bytes> {
    let (raw, headers) = call_parts(
        r#"{"model":"claude","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    let codec = crate::protocol::anthropic::AnthropicCodec;
    let call = Call {
        raw: &raw,
        canonical: None,
        upstream_model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        capabilities: Default::default(),
        client_headers: &headers,
        query: None,
        client: &codec as &dyn ClientCodec,
        tools: None,
        timeouts: Default::default(),
        max_response_bytes: None,
        trace_headers: None,
    };
    adapter().build(&call, op, auth).unwrap()
}

#[test]
fn signed_requests_carry_sigv4_for_service_bedrock() {
    let creds = aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "secret",
        Some("token".into()),
        None,
        "test",
    );
    let req = build(Operation::InvokeStream, &Resolved::Sigv4(creds));
    assert_eq!(
        req.uri().to_string(),
        "http://127.0.0.1:9/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream"
    );
    let auth = req.headers()[AUTHORIZATION].to_str().unwrap();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    assert!(auth.contains("/us-west-2/bedrock/aws4_request"), "{auth}");
    assert!(auth.contains("SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token;x-amzn-bedrock-accept"), "{auth}");
    assert_eq!(req.headers()["x-amz-security-token"], "token");
    assert!(
        req.headers().get("x-api-key").is_none(),
        "the client's key never goes upstream"
    );
    let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(
        body["anthropic_beta"],
        serde_json::json!(["interleaved-thinking-2025-05-14"])
    );
    assert!(body.get("model").is_none() && body.get("stream").is_none());
}

#[test]
fn api_keys_go_as_bearer_without_sigv4() {
    let req = build(
        Operation::Invoke,
        &Resolved::Bearer("bedrock-api-key".into()),
    );
    assert_eq!(req.headers()[AUTHORIZATION], "Bearer bedrock-api-key");
    assert!(req.headers().get("x-amz-date").is_none());
    assert!(req.uri().path().ends_with("/invoke"));
}

#[test]
fn count_tokens_wraps_the_invoke_body() {
    let req = build(Operation::CountTokens, &Resolved::Bearer("k".into()));
    assert!(req.uri().path().ends_with("/count-tokens"));
    let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
    let inner = body["input"]["invokeModel"]["body"].as_str().unwrap();
    let inner = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .unwrap();
    let inner: serde_json::Value = serde_json::from_slice(&inner).unwrap();
    assert_eq!(inner["max_tokens"], 5);
    assert_eq!(inner["anthropic_version"], "bedrock-2023-05-31");
}
