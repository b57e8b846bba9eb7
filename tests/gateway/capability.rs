//! Claude Code's `capability_rejected: <class>` errors: a translated
//! provider's refusal of a capability reaches an Anthropic client as the
//! stable token Claude Code recovers on; other refusals keep their words,
//! and an Anthropic provider's own refusal passes through unchanged.

use crate::support::*;
use serde_json::{Value, json};

fn openai_upstream(url: &str) -> String {
    format!(
        "[providers.up]\nkind = \"openai\"\nbase_url = \"{url}/v1\"\n\
         [models.local]\nprovider = \"up\"\nid = \"qwen2.5-coder:7b\"\naliases = [\"claude-*\"]\n"
    )
}

fn refusal(message: &str) -> Reply {
    Reply::Json {
        status: 400,
        headers: vec![],
        body: json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
            .to_string(),
    }
}

async fn ask(gw: &TestGateway) -> (u16, Value) {
    let resp = gw
        .post("/v1/messages", &body("claude-sonnet-4-5", false))
        .await;
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn a_translated_providers_refusal_becomes_claude_codes_token() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&openai_upstream(&mock.url())).await;
    for (message, token) in [
        (
            "Could not process image",
            "capability_rejected: image_block",
        ),
        (
            "prompt is too long: 210000 tokens > 200000 maximum",
            "capability_rejected: prompt_too_long",
        ),
        (
            "This model does not support the effort parameter.",
            "capability_rejected: effort_unsupported",
        ),
    ] {
        mock.push(refusal(message));
        let (status, v) = ask(&gw).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(
            v["error"]["message"], token,
            "the token is the whole message"
        );
    }
    // A refusal of no known class keeps its words.
    mock.push(refusal("temperature: must be at most 2"));
    let (status, v) = ask(&gw).await;
    assert_eq!(status, 400);
    let said = v["error"]["message"].as_str().unwrap();
    assert!(said.contains("temperature: must be at most 2"), "{said}");
    assert!(!said.contains("capability_rejected"));
}

#[tokio::test]
async fn an_anthropic_providers_refusal_passes_through_in_its_own_words() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    mock.push(Reply::error(
        400,
        "invalid_request_error",
        "Could not process image",
    ));
    let (status, v) = ask(&gw).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["message"], "Could not process image");
}
