//! The Bedrock ingress: clients that speak Bedrock (Claude Code with
//! `CLAUDE_CODE_USE_BEDROCK=1`) call `/model/{id}/invoke…` on the gateway
//! and get event-stream frames and Bedrock-style errors, whatever the
//! upstream.

use crate::bedrock::{bedrock_sections, keys};
use crate::support::bedrock::*;
use crate::support::*;
use aws_smithy_eventstream::frame::read_message_from;
use base64::Engine;
use serde_json::{Value, json};
use switchyard::core::Dialect;
use switchyard::usage::Outcome;

const SONNET_ID: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/// What a Bedrock client gets out of an event-stream body: each frame as
/// (`:message-type`, `:event-type` or `:exception-type`, JSON).
fn frames(mut body: &[u8]) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let message = read_message_from(&mut body).unwrap();
        let header = |name: &str| {
            message
                .headers()
                .iter()
                .find(|h| h.name().as_str() == name)
                .and_then(|h| h.value().as_string().ok())
                .map(|s| s.as_str().to_string())
                .unwrap_or_default()
        };
        let payload: Value = serde_json::from_slice(message.payload()).unwrap();
        let kind = header(":message-type");
        if kind == "event" {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(payload["bytes"].as_str().unwrap())
                .unwrap();
            let event: Value = serde_json::from_slice(&bytes).unwrap();
            out.push((kind, header(":event-type"), event));
        } else {
            out.push((kind, header(":exception-type"), payload));
        }
    }
    out
}

fn invoke_body(betas: &[&str]) -> String {
    let mut b = json!({
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello"}],
    });
    if !betas.is_empty() {
        b["anthropic_beta"] = json!(betas);
    }
    b.to_string()
}

async fn invoke(gw: &TestGateway, model: &str, op: &str, body: &str) -> reqwest::Response {
    gw.client()
        .post(format!("{}/model/{model}/{op}", gw.url))
        .bearer_auth(MASTER_KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bedrock_clients_stream_from_an_anthropic_upstream() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let resp = invoke(
        &gw,
        SONNET_ID,
        "invoke-with-response-stream",
        &invoke_body(&["interleaved-thinking-2025-05-14"]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.amazon.eventstream"
    );
    let got = frames(&resp.bytes().await.unwrap());
    assert!(got.iter().all(|(m, e, _)| m == "event" && e == "chunk"));
    let types: Vec<&str> = got
        .iter()
        .map(|(_, _, v)| v["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"message_start"));
    assert_eq!(types.last(), Some(&"message_stop"));
    let text: String = got
        .iter()
        .filter_map(|(_, _, v)| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock.");

    let up = &mock.seen()[0];
    assert_eq!(up.path_and_query, "/v1/messages");
    assert_eq!(
        up.headers["anthropic-beta"],
        "interleaved-thinking-2025-05-14"
    );
    let sent = up.json();
    assert_eq!(
        sent["model"], "claude-sonnet-4-5-20250929",
        "the Bedrock id routes as the model it names"
    );
    assert_eq!(sent["stream"], true);
    assert!(sent.get("anthropic_version").is_none() && sent.get("anthropic_beta").is_none());

    let r = &gw.records.wait_for(1).await[0];
    assert_eq!(r.dialect, Dialect::Bedrock);
    assert_eq!(r.endpoint, "invoke-with-response-stream");
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (25, 9));
}

#[tokio::test]
async fn bedrock_clients_on_a_bedrock_upstream_get_its_frames() {
    let bedrock = MockBedrock::start().await;
    let gw = TestGateway::custom(&bedrock_sections(&bedrock.url(), &keys(), "")).await;
    let resp = invoke(
        &gw,
        "sonnet",
        "invoke-with-response-stream",
        &invoke_body(&["b1"]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let got = frames(&resp.bytes().await.unwrap());
    let last = &got.last().unwrap().2;
    assert_eq!(last["type"], "message_stop");
    assert_eq!(
        last["amazon-bedrock-invocationMetrics"]["cacheReadInputTokenCount"], 7,
        "Bedrock's own frames pass through"
    );
    let seen = &bedrock.seen()[0];
    assert_eq!(seen.auth, Ok(()));
    let sent = seen.json();
    assert_eq!(sent["anthropic_beta"], json!(["b1"]));
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    assert!(sent.get("model").is_none());
}

#[tokio::test]
async fn non_streamed_invoke_answers_with_the_message() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let resp = invoke(&gw, SONNET_ID, "invoke", &invoke_body(&[])).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-amzn-requestid").is_some());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "Hello from the mock.");
    assert_eq!(
        mock.seen()[0].json()["stream"],
        true,
        "read upstream as a stream"
    );
}

#[tokio::test]
async fn failures_inside_a_stream_are_exception_frames() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let mut events = mock::text_events("claude-sonnet-4-5-20250929", "Hello", 5, 1);
    events.truncate(3);
    events.push(mock::ev(
        "error",
        json!({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}),
    ));
    mock.push(Reply::Sse {
        events,
        gap: std::time::Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let resp = invoke(
        &gw,
        SONNET_ID,
        "invoke-with-response-stream",
        &invoke_body(&[]),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let got = frames(&resp.bytes().await.unwrap());
    let (kind, name, payload) = got.last().unwrap();
    assert_eq!(
        (kind.as_str(), name.as_str()),
        ("exception", "serviceUnavailableException")
    );
    assert_eq!(payload["message"], "Overloaded");
}

#[tokio::test]
async fn errors_are_written_the_way_bedrock_writes_them() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let check = |resp: reqwest::Response, status: u16, exception: &'static str| async move {
        assert_eq!(resp.status().as_u16(), status, "{exception}");
        let t = resp.headers()["x-amzn-errortype"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(t.starts_with(&format!("{exception}:")), "{t}");
        let v: Value = resp.json().await.unwrap();
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        v
    };
    let v = check(
        invoke(&gw, SONNET_ID, "invoke", "{not json").await,
        400,
        "ValidationException",
    )
    .await;
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Malformed input request")
    );
    check(
        invoke(
            &gw,
            SONNET_ID,
            "invoke",
            r#"{"anthropic_version":"bedrock-2023-05-31","messages":[]}"#,
        )
        .await,
        400,
        "ValidationException",
    )
    .await;
    check(
        invoke(
            &gw,
            "meta.llama3-70b-instruct-v1:0",
            "invoke",
            &invoke_body(&[]),
        )
        .await,
        404,
        "ResourceNotFoundException",
    )
    .await;
    mock.push(Reply::error(429, "rate_limit_error", "slow down"));
    check(
        invoke(&gw, SONNET_ID, "invoke", &invoke_body(&[])).await,
        429,
        "ThrottlingException",
    )
    .await;
    let no_key = gw
        .client()
        .post(format!("{}/model/{SONNET_ID}/invoke", gw.url))
        .body(invoke_body(&[]))
        .send()
        .await
        .unwrap();
    check(no_key, 403, "UnrecognizedClientException").await;
}

#[tokio::test]
async fn count_tokens_answers_in_bedrock_shape() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let inner = base64::engine::general_purpose::STANDARD.encode(invoke_body(&[]));
    let body = json!({"input": {"invokeModel": {"body": inner}}}).to_string();
    let resp = invoke(&gw, SONNET_ID, "count-tokens", &body).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v, json!({"inputTokens": 4242}));
    let sent = mock.seen()[0].json();
    assert!(
        mock.seen()[0]
            .path_and_query
            .starts_with("/v1/messages/count_tokens")
    );
    assert!(
        sent.get("max_tokens").is_none(),
        "Anthropic's count_tokens takes no max_tokens"
    );
    assert_eq!(sent["model"], "claude-sonnet-4-5-20250929");

    let converse = json!({"input": {"converse": {"messages": []}}}).to_string();
    let resp = invoke(&gw, SONNET_ID, "count-tokens", &converse).await;
    assert_eq!(resp.status(), 400);
}
