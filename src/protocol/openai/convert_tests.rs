//! Tests of the OpenAI ⇄ canonical conversion.

use super::*;

fn convert(v: Value) -> ChatRequest {
    to_canonical(v.to_string().as_bytes()).unwrap()
}

#[test]
fn full_conversation() {
    let r = convert(json!({
        "model": "gpt-4o", "max_completion_tokens": 512, "temperature": 1.5, "stop": "END", "user": "u-7",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "developer", "content": "use metric units"},
            {"role": "user", "content": [{"type": "text", "text": "what's this?"},
                                          {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR", "detail": "auto"}}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Rome\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": "21C"},
            {"role": "user", "content": "thanks; tomorrow?"},
            {"role": "system", "content": "mid-conversation note"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false
    }));
    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(
        back,
        json!({
            "model": "gpt-4o", "max_tokens": 512, "temperature": 1.0, "stop_sequences": ["END"],
            "metadata": {"user_id": "u-7"},
            "system": "be brief\n\nuse metric units",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "what's this?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Rome"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": "21C"},
                    {"type": "text", "text": "thanks; tomorrow?"}]},
                {"role": "system", "content": "mid-conversation note"}
            ],
            "tools": [{"name": "get_weather", "description": "d", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true}
        })
    );
}

#[test]
fn defaults_and_options() {
    let r = convert(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "reasoning_effort": "low", "max_tokens": 100,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": true}}}),
    );
    assert_eq!(
        r.max_tokens,
        Some(1124),
        "budget 1024 must fit under max_tokens"
    );
    assert_eq!(r.thinking.unwrap().budget_tokens, Some(1024));
    assert_eq!(
        r.extra["output_config"]["format"]["schema"],
        json!({"type": "object"})
    );
    let r = convert(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}),
    );
    assert_eq!(r.max_tokens, Some(DEFAULT_MAX_TOKENS));
    assert!(matches!(r.system, Some(Content::Text(t)) if t.contains("JSON")));
    let r = convert(
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "f"}}]}),
    );
    assert_eq!(r.tool_choice.unwrap().kind, "any");
    assert_eq!(
        r.tools.unwrap()[0].input_schema,
        Some(json!({"type": "object", "properties": {}}))
    );
}

#[test]
fn bad_requests() {
    for (body, needle) in [
        (json!({"model": "m", "n": 2, "messages": []}), "n:"),
        (
            json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}),
            "unknown role",
        ),
        (
            json!({"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{bad"}}]}]}),
            "not valid JSON",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
            "not supported",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
            "temperature",
        ),
    ] {
        let e = to_canonical(body.to_string().as_bytes()).unwrap_err();
        assert!(e.contains(needle), "{e}");
    }
}

#[test]
fn answers_in_openai_shape() {
    let answer: ChatResponse = serde_json::from_value(json!({
        "id": "msg_01X", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    })).unwrap();
    let v = from_canonical(&answer);
    assert_eq!(v["id"], "chatcmpl-01X");
    assert_eq!(v["object"], "chat.completion");
    let c = &v["choices"][0];
    assert_eq!(c["finish_reason"], "tool_calls");
    assert_eq!(c["message"]["content"], "Checking.");
    assert_eq!(c["message"]["reasoning_content"], "hm");
    assert_eq!(
        c["message"]["tool_calls"][0]["function"]["arguments"],
        "{\"city\":\"Paris\"}"
    );
    assert_eq!(v["usage"]["prompt_tokens"], 130);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
    assert_eq!(v["usage"]["completion_tokens"], 5);
}
