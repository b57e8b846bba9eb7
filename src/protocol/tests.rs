//! Tests of the shared helpers, and snapshots of what each protocol's
//! encoder writes for the same conversation.

use super::*;
use crate::core::ChatRequest;

#[test]
fn tool_ids_are_safe_everywhere() {
    assert_eq!(tool_use_id(Some("call_abc-1")), "call_abc-1");
    assert_eq!(tool_use_id(Some("call:1/x")), "call_1_x");
    assert!(tool_use_id(None).starts_with("toolu_"));
    assert!(tool_use_id(Some("")).starts_with("toolu_"));
}

#[test]
fn tool_arguments() {
    assert_eq!(parse_tool_arguments("").unwrap(), serde_json::json!({}));
    assert_eq!(parse_tool_arguments(r#"{"a":1}"#).unwrap()["a"], 1);
    for bad in ["{", "[1]", "\"x\"", "null"] {
        assert_eq!(
            parse_tool_arguments(bad).unwrap_err().kind,
            UpstreamErrorKind::Malformed,
            "{bad}"
        );
    }
}

fn conversation() -> ChatRequest {
    let path = format!(
        "{}/tests/fixtures/anthropic/conversation.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn openai_body() {
    insta::assert_json_snapshot!(openai::encode::encode_request(
        &conversation(),
        "qwen2.5-coder:7b",
        true
    ));
}

#[test]
fn ollama_body() {
    insta::assert_json_snapshot!(ollama::encode::encode_request(
        &conversation(),
        "qwen2.5-coder:7b",
        true,
        true
    ));
}

#[test]
fn anthropic_body_from_an_openai_client() {
    let openai = serde_json::json!({
        "model": "gpt-4o", "stream": true, "max_completion_tokens": 300, "reasoning_effort": "medium",
        "messages": [
            {"role": "developer", "content": "Answer in French."},
            {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                         {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
            {"role": "assistant", "content": "Let me look closer.", "tool_calls": [{"id": "call_9", "type": "function", "function": {"name": "zoom", "arguments": "{\"factor\":2}"}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "a cat on a mat"}
        ],
        "tools": [{"type": "function", "function": {"name": "zoom", "parameters": {"type": "object", "properties": {"factor": {"type": "number"}}}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {"text": {"type": "string"}}}}}
    });
    let canonical = openai::convert::to_canonical(openai.to_string().as_bytes()).unwrap();
    insta::assert_json_snapshot!(canonical);
}
