//! Translation between dialects, end to end: OpenAI clients on Anthropic
//! upstreams, Anthropic clients on OpenAI-compatible and Ollama upstreams,
//! and OpenAI passthrough.

use crate::support::mock::{ollama_lines, openai_text_chunks, openai_tool_chunks};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;

fn providers(kind: &str, url: &str, extra: &str) -> String {
    format!(
        r#"
[providers.up]
kind = "{kind}"
base_url = "{url}"
{extra}

[models.local]
provider = "up"
id = "qwen2.5-coder:7b"
aliases = ["claude-*", "gpt-*"]
"#
    )
}

fn openai_body(stream: bool, include_usage: bool) -> String {
    let mut b = json!({
        "model": "gpt-4o", "max_tokens": 64, "stream": stream,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Say hello"}],
    });
    if include_usage {
        b["stream_options"] = json!({"include_usage": true});
    }
    b.to_string()
}

/// `data:` payloads of an OpenAI stream.
fn data_lines(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|b| b.trim().strip_prefix("data: ").map(str::to_string))
        .collect()
}

#[tokio::test]
async fn openai_client_on_anthropic_upstream() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&format!(
        "[providers.a]\nkind = \"anthropic\"\nbase_url = \"{}\"\napi_key = \"{UPSTREAM_KEY}\"\n[models.sonnet]\nprovider = \"a\"\nid = \"claude-sonnet-4-5-20250929\"\naliases = [\"gpt-*\"]",
        mock.url()
    ))
    .await;
    // Non-stream.
    let resp = gw.post_openai(&openai_body(false, false)).await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from the mock."
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        (
            v["usage"]["prompt_tokens"].as_u64(),
            v["usage"]["completion_tokens"].as_u64()
        ),
        (Some(25), Some(9))
    );
    let up = mock.seen()[0].json();
    assert_eq!(
        up["system"], "be brief",
        "system messages become the system prompt"
    );
    assert_eq!(
        up["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Say hello"}]}])
    );
    assert_eq!(
        (up["model"].as_str(), up["max_tokens"].as_u64()),
        (Some("claude-sonnet-4-5-20250929"), Some(64))
    );
    assert_eq!(mock.seen()[0].headers["anthropic-version"], "2023-06-01");

    // Stream, with usage asked for.
    let resp = gw.post_openai(&openai_body(true, true)).await;
    assert_eq!(resp.status(), 200);
    let lines = data_lines(&resp.text().await.unwrap());
    assert_eq!(lines.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = lines[..lines.len() - 1]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock.");
    assert!(
        chunks
            .iter()
            .any(|c| c["choices"][0]["finish_reason"] == "stop")
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["total_tokens"], 34);
    assert_eq!(mock.seen()[1].json()["stream"], true);
}

#[tokio::test]
async fn openai_passthrough_meters_without_changing_the_stream() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&providers("openai", &format!("{}/v1", mock.url()), "")).await;
    // The client did not ask for usage: the gateway asks upstream, and drops the usage chunk.
    let resp = gw.post_openai(&openai_body(true, false)).await;
    assert_eq!(resp.status(), 200);
    let lines = data_lines(&resp.text().await.unwrap());
    assert!(
        lines.iter().all(|l| !l.contains("\"usage\":{")),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap(), "[DONE]");
    let up = mock.seen()[0].json();
    assert_eq!(up["model"], "qwen2.5-coder:7b");
    assert_eq!(up["stream_options"]["include_usage"], true);
    assert_eq!(
        up["messages"][0]["content"], "be brief",
        "the body is passed on as it came"
    );
    let rec = &gw.records.wait_for(1).await[0];
    assert_eq!(
        (
            rec.usage.input_tokens,
            rec.usage.cache_read_tokens,
            rec.usage.output_tokens
        ),
        (20, 5, 9)
    );
    // Non-stream: byte for byte, model rewritten, asked as a stream with
    // usage (this mock answers whole anyway: passed on as it is).
    let body = openai_body(false, false);
    let resp = gw.post_openai(&body).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from the mock."
    );
    assert_eq!(
        std::str::from_utf8(&mock.seen()[1].body).unwrap(),
        format!(
            "{{\"stream_options\":{{\"include_usage\":true}},{}",
            body.replace("\"gpt-4o\"", "\"qwen2.5-coder:7b\"")
                .replace("\"stream\":false", "\"stream\":true")
                .trim_start_matches('{')
        )
    );
}

#[tokio::test]
async fn anthropic_client_on_openai_upstream_with_tools() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&providers("openai", &format!("{}/v1", mock.url()), "")).await;
    mock.push(Reply::Sse {
        events: openai_tool_chunks("qwen", "get_weather", r#"{"city":"Paris"}"#),
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let request = json!({
        "model": "claude-haiku-5-5", "max_tokens": 100, "stream": true,
        "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "messages": [{"role": "user", "content": "weather in Paris?"}]
    });
    let resp = gw.post("/v1/messages", &request.to_string()).await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events[1].1["content_block"]["type"], "tool_use");
    assert_eq!(events[1].1["content_block"]["id"], "call_mock1");
    assert_eq!(events[2].1["delta"]["partial_json"], r#"{"city":"Paris"}"#);
    assert_eq!(events[4].1["delta"]["stop_reason"], "tool_use");
    assert_eq!(events[4].1["usage"]["output_tokens"], 12);
    let up = mock.seen()[0].json();
    assert_eq!(
        up["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    assert_eq!(up["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(up["stream_options"]["include_usage"], true);

    // The tool result goes back as a tool message.
    let follow_up = json!({
        "model": "claude-haiku-5-5", "max_tokens": 100,
        "tools": request["tools"],
        "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "call_mock1", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_mock1", "content": "18C"}]}
        ]
    });
    let resp = gw.post("/v1/messages", &follow_up.to_string()).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], "Hello from the mock.");
    assert_eq!(v["stop_reason"], "end_turn");
    let up = mock.seen()[1].json();
    assert_eq!(
        up["messages"][1]["tool_calls"][0]["function"]["arguments"],
        r#"{"city":"Paris"}"#
    );
    assert_eq!(
        up["messages"][2],
        json!({"role": "tool", "tool_call_id": "call_mock1", "content": "18C"})
    );
}

#[tokio::test]
async fn unusable_local_answers_are_upstream_errors() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&format!(
        "[retry]\nattempts = 0\n{}",
        providers("openai", &format!("{}/v1", mock.url()), "")
    ))
    .await;
    let tools = json!([{"name": "get_weather", "input_schema": {"type": "object"}}]);
    let request = |stream: bool| {
        json!({"model": "claude-x", "max_tokens": 50, "stream": stream, "tools": tools,
               "messages": [{"role": "user", "content": "weather?"}]})
        .to_string()
    };
    // A tool call written as text.
    mock.push(Reply::Sse {
        events: openai_text_chunks(
            "q",
            r#"{"name": "get_weather", "arguments": {"city": "Paris"}}"#,
            true,
        ),
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let resp = gw.post("/v1/messages", &request(true)).await;
    assert_eq!(
        resp.status(),
        502,
        "nothing was streamed, so the client gets a clean error"
    );
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tool call as text"),
        "{v}"
    );
    // Broken tool arguments, non-stream.
    mock.push(Reply::Json {
        status: 200,
        headers: vec![],
        body: json!({"id": "x", "model": "q", "choices": [{"message": {"tool_calls": [{"id": "c", "function": {"name": "get_weather", "arguments": "{\"city\": "}}]}, "finish_reason": "tool_calls"}]}).to_string(),
    });
    let resp = gw.post("/v1/messages", &request(false)).await;
    assert_eq!(resp.status(), 502);
    // An empty answer.
    mock.push(Reply::Sse {
        events: openai_text_chunks("q", "", true),
        gap: Duration::ZERO,
        tail: StreamTail::Complete,
    });
    let resp = gw.post("/v1/messages", &request(true)).await;
    assert_eq!(resp.status(), 502);
    let records = gw.records.wait_for(3).await;
    assert!(
        records
            .iter()
            .all(|r| r.error_kind.as_deref() == Some("malformed_response")),
        "{records:?}"
    );
}

#[tokio::test]
async fn anthropic_client_on_ollama_native() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&providers("ollama", &mock.url(), "")).await;
    let resp = gw
        .post("/v1/messages", &body("claude-haiku-5-5", true))
        .await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    let text: String = events
        .iter()
        .filter_map(|(_, d)| d["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "Hello from the mock.");
    assert_eq!(events.last().unwrap().0, "message_stop");
    let seen = mock.seen();
    let chat = seen
        .iter()
        .find(|s| s.path_and_query == "/api/chat")
        .unwrap()
        .json();
    assert_eq!(
        (chat["model"].as_str(), chat["stream"].as_bool()),
        (Some("qwen2.5-coder:7b"), Some(true))
    );
    assert_eq!(chat["options"]["num_predict"], 64);
    let rec = gw.records.wait_for(1).await;
    assert_eq!(
        (rec[0].usage.input_tokens, rec[0].usage.output_tokens),
        (26, 7)
    );
    // Non-stream, and through an OpenAI client.
    let resp = gw
        .post("/v1/messages", &body("claude-haiku-5-5", false))
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["usage"]["input_tokens"], 26);
    let resp = gw.post_openai(&openai_body(false, false)).await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["usage"]["prompt_tokens"], 26);
    let _ = ollama_lines;
}

#[tokio::test]
async fn ollama_models_are_discovered() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&providers("ollama", &mock.url(), "discover = true")).await;
    let resp = gw
        .post("/v1/messages", &body("llama3.2:latest", false))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchyard-model"], "llama3.2:latest");
    let chat = mock
        .seen()
        .into_iter()
        .find(|s| s.path_and_query == "/api/chat")
        .unwrap()
        .json();
    assert_eq!(chat["model"], "llama3.2:latest");
}

#[tokio::test]
async fn ollama_anthropic_mode_passes_through() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&providers("ollama", &mock.url(), "api = \"anthropic\"")).await;
    let request = body("claude-haiku-5-5", true);
    let resp = gw.post("/v1/messages", &request).await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(events.last().unwrap().0, "message_stop");
    let seen = &mock.seen()[0];
    assert_eq!(seen.path_and_query, "/v1/messages");
    assert_eq!(
        seen.body,
        request
            .replace("claude-haiku-5-5", "qwen2.5-coder:7b")
            .as_bytes()
    );
}

#[tokio::test]
async fn openai_errors_in_openai_format() {
    let mock = MockUpstream::start().await;
    let gw = TestGateway::custom(&providers("openai", &format!("{}/v1", mock.url()), "")).await;
    let rows: Vec<(String, u16, &str)> = vec![
        ("{oops".into(), 400, "invalid_request_error"),
        (
            json!({"model": "nope", "messages": []}).to_string(),
            404,
            "invalid_request_error",
        ),
        (
            json!({"messages": []}).to_string(),
            400,
            "invalid_request_error",
        ),
    ];
    for (body, status, kind) in rows {
        let resp = gw.post_openai(&body).await;
        assert_eq!(resp.status().as_u16(), status, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["type"], kind, "{v}");
        assert!(v["error"]["message"].is_string());
    }
    let resp = gw
        .client()
        .post(format!("{}/v1/chat/completions", gw.url))
        .body(openai_body(false, false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    // An upstream 400 in OpenAI format passes through unchanged.
    let upstream = json!({"error": {"message": "bad temperature", "type": "invalid_request_error", "param": "temperature", "code": null}}).to_string();
    mock.push(Reply::Json {
        status: 400,
        headers: vec![],
        body: upstream.clone(),
    });
    let resp = gw.post_openai(&openai_body(false, false)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.text().await.unwrap(), upstream);
    // 529 from an Anthropic-style overload becomes 503 for OpenAI clients.
    for _ in 0..3 {
        mock.push(Reply::error(529, "overloaded_error", "Overloaded"));
    }
    let gw2 = TestGateway::custom(&format!(
        "[retry]\nattempts = 0\n[providers.a]\nkind = \"anthropic\"\nbase_url = \"{}\"\n[models.m]\nprovider = \"a\"\naliases = [\"gpt-*\"]",
        mock.url()
    ))
    .await;
    let resp = gw2.post_openai(&openai_body(false, false)).await;
    assert_eq!(resp.status(), 503);
}
