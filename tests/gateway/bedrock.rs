//! Bedrock as an upstream: Anthropic and OpenAI clients through the gateway
//! to a mock Bedrock that checks every SigV4 signature, streams real
//! event-stream frames (also cut at awkward boundaries, also failing
//! mid-stream), and answers errors the way Bedrock does.

use crate::support::bedrock::*;
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;
use switchyard::usage::Outcome;

const PROFILE_ID: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/// A gateway whose `sonnet` is on the mock Bedrock (`auth` is the
/// provider's credential lines), with `extra` sections appended.
pub fn bedrock_sections(url: &str, auth: &str, extra: &str) -> String {
    format!(
        r#"
[providers.bedrock]
kind = "bedrock"
region = "{REGION}"
endpoint = "{url}"
{auth}

[models.sonnet]
provider = "bedrock"
id = "{PROFILE_ID}"
aliases = ["claude-sonnet-*", "gpt-*"]
{extra}
"#
    )
}

pub fn keys() -> String {
    format!(
        "access_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"{SECRET_KEY}\"\nsession_token = \"{SESSION_TOKEN}\""
    )
}

async fn gateway(mock: &MockBedrock) -> TestGateway {
    TestGateway::custom(&bedrock_sections(&mock.url(), &keys(), "")).await
}

fn streamed_text(events: &[(String, Value)]) -> String {
    events
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn post_with_beta(gw: &TestGateway, body: &str) -> reqwest::Response {
    gw.client()
        .post(format!("{}/v1/messages", gw.url))
        .header("x-api-key", MASTER_KEY)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn anthropic_stream_through_bedrock_is_signed_and_relayed() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let resp = post_with_beta(&gw, &body("claude-sonnet-4-5", true)).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&resp.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(streamed_text(&events), "Hello from Bedrock.");

    let seen = &mock.seen()[0];
    assert_eq!(seen.auth, Ok(()), "the mock recomputed the signature");
    assert_eq!(
        seen.path,
        format!("/model/{PROFILE_ID}/invoke-with-response-stream")
    );
    assert_eq!(seen.headers["accept"], "application/vnd.amazon.eventstream");
    assert!(seen.headers.get("x-api-key").is_none());
    let sent = seen.json();
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(
        sent["anthropic_beta"],
        json!(["interleaved-thinking-2025-05-14"])
    );
    assert!(sent.get("model").is_none() && sent.get("stream").is_none());
    assert_eq!(sent["messages"][0]["content"], "Say hello");

    let r = &gw.records.wait_for(1).await[0];
    assert_eq!(r.outcome, Outcome::Success);
    assert_eq!(r.provider.as_deref(), Some("bedrock"));
    assert_eq!(r.upstream_model.as_deref(), Some(PROFILE_ID));
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (25, 9));
    assert_eq!(
        (r.usage.cache_read_tokens, r.usage.cache_write_5m_tokens),
        (7, 3),
        "cache counts come from the invocation metrics"
    );
}

#[tokio::test]
async fn frames_cut_anywhere_give_the_same_stream() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let mut reference = None;
    for cut in [0, 1, 3, 7, 64, 1000] {
        mock.push(BedrockReply::Frames {
            frames: text_frames(PROFILE_ID, "Hello from Bedrock."),
            cut,
            gap: Duration::from_millis(1),
            drop_at_end: false,
        });
        let resp = gw.post("/v1/messages", &body("sonnet", true)).await;
        assert_eq!(resp.status(), 200, "cut {cut}");
        let events = sse_events(&resp.text().await.unwrap());
        assert_eq!(streamed_text(&events), "Hello from Bedrock.", "cut {cut}");
        match &reference {
            None => reference = Some(events),
            Some(r) => assert_eq!(&events, r, "cut {cut}"),
        }
    }
    for r in gw.records.wait_for(6).await {
        assert_eq!(r.outcome, Outcome::Success);
    }
}

/// A whole answer is read from Bedrock as a stream
/// (`invoke-with-response-stream`) and assembled; with
/// `stream_whole_answers = false` it comes from `invoke`, as it is.
#[tokio::test]
async fn non_streamed_answers_come_whole_either_way() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let resp = gw.post("/v1/messages", &body("sonnet", false)).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (v["type"].as_str(), v["role"].as_str()),
        (Some("message"), Some("assistant"))
    );
    assert_eq!(v["content"][0]["text"], "Hello from Bedrock.");
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(
        mock.seen()[0]
            .path
            .ends_with("/invoke-with-response-stream")
    );
    assert_eq!(mock.seen()[0].auth, Ok(()));
    let r = &gw.records.wait_for(1).await[0];
    assert!(
        r.usage.input_tokens > 0 && r.usage.output_tokens > 0,
        "{:?}",
        r.usage
    );

    let mock = MockBedrock::start().await;
    let sections = bedrock_sections(
        &mock.url(),
        &format!("{}\nstream_whole_answers = false", keys()),
        "",
    );
    let gw = TestGateway::custom(&sections).await;
    let resp = gw.post("/v1/messages", &body("sonnet", false)).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["id"], "msg_bdrk_mock", "the provider's answer as it is");
    assert_eq!(v["content"][0]["text"], "Hello from Bedrock.");
    assert!(mock.seen()[0].path.ends_with("/invoke"));
    let r = &gw.records.wait_for(1).await[0];
    assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (25, 9));
}

#[tokio::test]
async fn openai_clients_are_translated() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let body = json!({"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]});
    let resp = gw.post_openai(&body.to_string()).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains(r#""content":"Hello"#), "{text}");
    assert!(text.contains(r#""prompt_tokens":"#), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    let sent = mock.seen()[0].json();
    assert_eq!(sent["system"], "be brief");
    assert_eq!(sent["anthropic_version"], "bedrock-2023-05-31");
    assert!(sent["max_tokens"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn exception_frames_become_error_events() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let mut frames = text_frames(PROFILE_ID, "Hello from Bedrock.");
    frames.truncate(3);
    frames.push(exception("modelStreamErrorException", "the model broke"));
    mock.push(BedrockReply::Frames {
        frames,
        cut: 5,
        gap: Duration::ZERO,
        drop_at_end: false,
    });
    let resp = gw.post("/v1/messages", &body("sonnet", true)).await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error");
    assert_eq!(data["error"]["type"], "api_error");
    assert!(
        data["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the model broke")
    );
    let r = &gw.records.wait_for(1).await[0];
    assert_eq!(r.outcome, Outcome::StreamFailed);
}

#[tokio::test]
async fn a_stream_cut_inside_a_frame_is_an_error() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let mut bytes = text_frames(PROFILE_ID, "Hello from Bedrock.").concat();
    bytes.truncate(bytes.len() - 10);
    mock.push(BedrockReply::Frames {
        frames: vec![bytes],
        cut: 0,
        gap: Duration::ZERO,
        drop_at_end: false,
    });
    let resp = gw.post("/v1/messages", &body("sonnet", true)).await;
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "error");
    assert_eq!(
        gw.records.wait_for(1).await[0].outcome,
        Outcome::StreamFailed
    );
}

/// Status and error type an Anthropic client sees for each Bedrock error.
#[tokio::test]
async fn bedrock_errors_reach_clients_as_the_table_says() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let rows = [
        (
            400,
            "ValidationException",
            "messages.0: bad",
            400,
            "invalid_request_error",
        ),
        (
            403,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/x is not authorized",
            502,
            "api_error",
        ),
        (
            404,
            "ResourceNotFoundException",
            "model not found",
            404,
            "not_found_error",
        ),
        (
            429,
            "ThrottlingException",
            "Too many requests",
            429,
            "rate_limit_error",
        ),
        (
            503,
            "ServiceUnavailableException",
            "unavailable",
            529,
            "overloaded_error",
        ),
        (
            408,
            "ModelTimeoutException",
            "timed out",
            504,
            "timeout_error",
        ),
        (500, "InternalServerException", "oops", 502, "api_error"),
    ];
    for (status, exception, message, client_status, client_type) in rows {
        // Enough copies for the gateway's retries.
        for _ in 0..3 {
            mock.push(BedrockReply::error(status, exception, message));
        }
        let resp = gw.post("/v1/messages", &body("sonnet", false)).await;
        assert_eq!(resp.status().as_u16(), client_status, "{exception}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["type"], client_type, "{exception}");
        let text = v.to_string();
        assert!(!text.contains("123456789012"), "{exception}: {text}");
        mock.clear_script();
    }
}

#[tokio::test]
async fn on_demand_errors_carry_the_inference_profile_hint() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    mock.push(BedrockReply::error(400, "ValidationException", "Invocation of model ID anthropic.claude-sonnet-4-5-20250929-v1:0 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."));
    let resp = gw.post("/v1/messages", &body("sonnet", false)).await;
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("inference profile"), "{message}");
    assert!(message.contains("us.anthropic.claude-"), "{message}");
}

#[tokio::test]
async fn throttling_falls_back_to_the_next_target() {
    let bedrock = MockBedrock::start().await;
    let anthropic = MockUpstream::start().await;
    let extra = format!(
        r#"
[providers.anthropic]
kind = "anthropic"
base_url = "{}"
api_key = "{UPSTREAM_KEY}"

[models.haiku]
provider = "anthropic"
id = "claude-haiku-4-5"

[[routes]]
name = "bedrock-first"
match = {{ model = "claude-*" }}
targets = ["sonnet", "haiku"]
"#,
        anthropic.url()
    );
    let gw = TestGateway::custom(&bedrock_sections(&bedrock.url(), &keys(), &extra)).await;
    bedrock.push(BedrockReply::error(
        429,
        "ThrottlingException",
        "Too many tokens",
    ));
    let resp = gw.post("/v1/messages", &body("claude-x", false)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-provider"], "anthropic");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], "Hello from the mock.");
    assert_eq!(bedrock.seen().len(), 1, "a throttled target is not retried");
}

#[tokio::test]
async fn api_keys_are_sent_as_bearer_tokens() {
    let mock = MockBedrock::start().await;
    let gw = TestGateway::custom(&bedrock_sections(
        &mock.url(),
        &format!("api_key = \"{API_KEY}\""),
        "",
    ))
    .await;
    let resp = gw.post("/v1/messages", &body("sonnet", true)).await;
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await.unwrap();
    let seen = &mock.seen()[0];
    assert_eq!(seen.auth, Ok(()));
    assert_eq!(seen.headers["authorization"], format!("Bearer {API_KEY}"));
    assert!(seen.headers.get("x-amz-date").is_none());
}

#[tokio::test]
async fn wrong_keys_are_a_gateway_error_without_details() {
    let mock = MockBedrock::start().await;
    let gw = TestGateway::custom(&bedrock_sections(
        &mock.url(),
        &format!("access_key_id = \"{ACCESS_KEY}\"\nsecret_access_key = \"wrong\"\nsession_token = \"{SESSION_TOKEN}\""),
        "",
    ))
    .await;
    let resp = gw.post("/v1/messages", &body("sonnet", false)).await;
    assert_eq!(resp.status(), 502);
    let text = resp.text().await.unwrap();
    assert!(text.contains("credentials"), "{text}");
    assert!(!text.contains("signature we calculated"), "{text}");
    assert!(mock.seen()[0].auth.is_err());
}

#[tokio::test]
async fn count_tokens_uses_bedrock_count_tokens() {
    let mock = MockBedrock::start().await;
    let gw = gateway(&mock).await;
    let body = r#"{"model":"sonnet","messages":[{"role":"user","content":"count me"}]}"#;
    let resp = gw.post("/v1/messages/count_tokens", body).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-switchyard-token-count").is_none());
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["input_tokens"], 4242);
    let seen = &mock.seen()[0];
    assert!(seen.path.ends_with("/count-tokens"));
    assert_eq!(seen.auth, Ok(()));
    let inner = seen.json()["input"]["invokeModel"]["body"]
        .as_str()
        .unwrap()
        .to_string();
    use base64::Engine;
    let inner: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(inner)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(inner["messages"][0]["content"], "count me");
    assert_eq!(inner["anthropic_version"], "bedrock-2023-05-31");

    // When Bedrock cannot count, the gateway estimates.
    for _ in 0..3 {
        mock.push(BedrockReply::error(500, "InternalServerException", "no"));
    }
    let resp = gw.post("/v1/messages/count_tokens", body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-token-count"], "estimate");
}

#[tokio::test]
async fn the_ledger_prices_bedrock_requests_at_the_profile_rate() {
    let mock = MockBedrock::start().await;
    let mut gw = TestGateway::with_ledger(&bedrock_sections(&mock.url(), &keys(), "")).await;
    let resp = gw.post("/v1/messages", &body("sonnet", true)).await;
    let _ = resp.text().await.unwrap();
    gw.records.wait_for(1).await;
    let rows = gw.flushed_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.upstream_model.as_deref(), Some(PROFILE_ID));
    // us. profile: $3.30 in, $16.50 out, $0.33 cache read, $4.125 cache write per million.
    assert_eq!(row.cost_nusd, 25 * 3300 + 9 * 16500 + 7 * 330 + 3 * 4125);
}

#[tokio::test]
async fn govcloud_profiles_are_priced_at_their_own_rates() {
    let mock = MockBedrock::start().await;
    let gov =
        "\n[models.gov]\nprovider = \"bedrock\"\nid = \"us-gov.anthropic.claude-sonnet-5-5\"\n";
    let mut gw = TestGateway::with_ledger(&bedrock_sections(&mock.url(), &keys(), gov)).await;
    let resp = gw.post("/v1/messages", &body("gov", true)).await;
    assert_eq!(resp.status(), 200);
    let _ = resp.text().await.unwrap();
    gw.records.wait_for(1).await;
    let rows = gw.flushed_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        row.upstream_model.as_deref(),
        Some("us-gov.anthropic.claude-sonnet-5-5")
    );
    assert_eq!(row.priced_as, None);
    // us-gov. Sonnet 5.5: $2.40 in, $12 out, $0.12 cache read, $3 cache write per million
    // (20% over the commercial list, not the same).
    assert_eq!(row.cost_nusd, 25 * 2400 + 9 * 12000 + 7 * 120 + 3 * 3000);
}
