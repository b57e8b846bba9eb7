//! Passthrough of `/v1/messages`: bodies, headers, streams.

use crate::support::mock::{ev, text_message};
use crate::support::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn non_stream_answer_passes_through() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let request = body("claude-opus-5-5", false);
    let resp = gw.post("/v1/messages", &request).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-switchyard-model"], "claude-opus-5-5");
    assert_eq!(h["x-switchyard-provider"], "anthropic");
    assert_eq!(h["x-switchyard-attempts"], "1");
    assert!(
        h["x-switchyard-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    let answer: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        answer,
        text_message("claude-opus-5-5", "Hello from the mock.")
    );
    // Forwarded as it came but asked as a stream (so a hung provider is
    // found at the first-byte limit); this mock answers whole anyway, and
    // that answer passes through as it is.
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        std::str::from_utf8(&seen[0].body).unwrap(),
        request.replace("\"stream\":false", "\"stream\":true"),
        "body forwarded byte for byte, but for the stream flag"
    );
    let records = gw.records.wait_for(1).await;
    assert_eq!(
        (
            records[0].status,
            records[0].usage.input_tokens,
            records[0].usage.output_tokens
        ),
        (200, 25, 9)
    );
}

#[tokio::test]
async fn fixed_model_id_is_the_only_change() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let request = r#"{"model":"claude-sonnet-4-5","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}],"future_field":{"a":[1,2.50,"x"]}}"#;
    let resp = gw.post("/v1/messages", request).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-switchyard-model"],
        "claude-sonnet-4-5-20250929"
    );
    assert_eq!(
        std::str::from_utf8(&mock.seen()[0].body).unwrap(),
        request.replace("claude-sonnet-4-5\"", "claude-sonnet-4-5-20250929\"")
    );
}

#[tokio::test]
async fn claude_code_request_reaches_upstream_intact() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let request = fixture("claude_code_tool_result.json");
    let betas =
        "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27";
    let resp = gw
        .client()
        .post(format!("{}/v1/messages?beta=true", gw.url))
        .header("authorization", format!("Bearer {MASTER_KEY}"))
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", betas)
        .header("x-claude-code-session-id", "sess-123")
        .body(request.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(events.first().unwrap().0, "message_start");
    assert_eq!(events.last().unwrap().0, "message_stop");
    let seen = &mock.seen()[0];
    assert_eq!(seen.path_and_query, "/v1/messages?beta=true");
    assert_eq!(
        seen.body,
        request.as_bytes(),
        "thinking, signatures, cache_control, system turns survive"
    );
    assert_eq!(seen.headers["anthropic-beta"], betas);
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(seen.headers["x-api-key"], UPSTREAM_KEY);
    assert!(
        seen.headers.get("authorization").is_none(),
        "the client's key never goes upstream"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(rec.session_id.as_deref(), Some("sess-123"));
    assert!(rec.stream);
}

/// Thinking with its signature, a tool call, and extra fields in message_delta.
fn tool_use_stream() -> Vec<(String, String)> {
    vec![
        ev(
            "message_start",
            json!({"type":"message_start","message":{"id":"msg_t","type":"message","role":"assistant","model":"claude-opus-5-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"cache_creation_input_tokens":50,"cache_read_input_tokens":2000,"output_tokens":1}}}),
        ),
        ev(
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}),
        ),
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"I should run it."}}),
        ),
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIMsig=="}}),
        ),
        ev(
            "content_block_stop",
            json!({"type":"content_block_stop","index":0}),
        ),
        ev(
            "content_block_start",
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"Bash","input":{}}}),
        ),
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}),
        ),
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \"ec"}}),
        ),
        ev(
            "content_block_delta",
            json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ho ok\"}"}}),
        ),
        ev(
            "content_block_stop",
            json!({"type":"content_block_stop","index":1}),
        ),
        ev(
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null,"safeguard_results":[{"type":"dangerous_tool_use","status":{"type":"available"}}]},"usage":{"output_tokens":40}}),
        ),
        ev("message_stop", json!({"type":"message_stop"})),
    ]
}

#[tokio::test]
async fn tool_use_round_trip_with_thinking() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    let events = tool_use_stream();
    let expected: String = events
        .iter()
        .map(|(n, d)| format!("event: {n}\ndata: {d}\n\n"))
        .collect();
    mock.push(Reply::Sse {
        events,
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });

    let first = json!({"model":"claude-opus-5-5","max_tokens":100,"stream":true,
        "thinking":{"type":"enabled","budget_tokens":2048},
        "tools":[{"name":"Bash","input_schema":{"type":"object"}}],
        "messages":[{"role":"user","content":"run echo ok"}]});
    let resp = gw.post("/v1/messages", &first.to_string()).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = resp.text().await.unwrap();
    assert_eq!(
        text, expected,
        "the stream reaches the client byte for byte"
    );

    // The client sends the thinking block back with the tool result.
    let events = sse_events(&text);
    let thinking = events[2].1["delta"]["thinking"].clone();
    let signature = events[3].1["delta"]["signature"].clone();
    let follow_up = json!({"model":"claude-opus-5-5","max_tokens":100,"stream":true,
        "tools":[{"name":"Bash","input_schema":{"type":"object"}}],
        "messages":[
            {"role":"user","content":"run echo ok"},
            {"role":"assistant","content":[
                {"type":"thinking","thinking":thinking,"signature":signature},
                {"type":"tool_use","id":"toolu_01","name":"Bash","input":{"command":"echo ok"}}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"ok","is_error":false}]}]});
    mock.push(Reply::text_stream(
        "The command printed ok.",
        Duration::ZERO,
    ));
    let resp = gw.post("/v1/messages", &follow_up.to_string()).await;
    let events = sse_events(&resp.text().await.unwrap());
    let text: String = events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "The command printed ok.");
    let upstream_follow_up = mock.seen()[1].json();
    assert_eq!(
        upstream_follow_up["messages"][1]["content"][0]["signature"],
        "EqQBCgIYAhIMsig=="
    );
    assert_eq!(
        upstream_follow_up["messages"][2]["content"][0]["tool_use_id"],
        "toolu_01"
    );

    let records = gw.records.wait_for(2).await;
    let u = records[0].usage;
    assert_eq!(
        (
            u.input_tokens,
            u.cache_write_5m_tokens,
            u.cache_read_tokens,
            u.output_tokens
        ),
        (100, 50, 2000, 40)
    );
    assert_eq!(records[0].stop_reason.as_deref(), Some("tool_use"));
}

#[tokio::test]
async fn events_reach_the_client_before_the_stream_ends() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::start(&mock.url(), "").await;
    // The upstream sends three events and then holds the stream open: a
    // buffering gateway would never deliver them.
    let events = mock::text_events("claude-opus-5-5", "abc", 5, 5)
        .into_iter()
        .take(4)
        .collect();
    mock.push(Reply::Sse {
        events,
        gap: Duration::from_millis(20),
        tail: StreamTail::Hang,
    });
    let mut resp = gw
        .post("/v1/messages", &body("claude-opus-5-5", true))
        .await;
    assert_eq!(resp.status(), 200);
    let mut got = String::new();
    while !got.contains("text_delta") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk())
            .await
            .expect("events must flow")
            .unwrap()
            .unwrap();
        got.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    assert!(got.starts_with("event: message_start"), "{got}");
}
