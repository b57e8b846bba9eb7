//! Canonical request → OpenAI Chat Completions body.
//!
//! Tool results become `tool` messages placed before the rest of their user
//! turn; tool calls carry their arguments as a JSON string; thinking blocks
//! and `cache_control` have no equivalent and are dropped.

use crate::core::{ChatRequest, Content, ContentBlock, Message, Role, ToolChoice};
use serde_json::{Map, Value, json};

/// The text of some content, blocks joined with newlines.
pub fn content_text(content: &Content) -> String {
    match content {
        Content::Text(t) => t.clone(),
        Content::Blocks(blocks) => {
            let parts: Vec<String> = blocks
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::Text(t) => Some(t.text.clone()),
                    ContentBlock::ToolResult(r) => r.content.as_ref().map(content_text),
                    ContentBlock::Document(d) => document_text(&d.source),
                    _ => None,
                })
                .collect();
            parts.join("\n")
        }
    }
}

fn document_text(source: &Value) -> Option<String> {
    (source.get("type")?.as_str()? == "text")
        .then(|| source.get("data")?.as_str().map(str::to_string))?
}

/// A tool result's text; a failed tool says so (there is no `is_error` field).
pub fn tool_result_text(r: &crate::core::ToolResultBlock) -> String {
    let text = r.content.as_ref().map(content_text).unwrap_or_default();
    if r.is_error == Some(true) {
        format!("Error: {text}")
    } else {
        text
    }
}

/// An image source as a URL (`data:` for base64).
pub fn image_url(source: &Value) -> Option<String> {
    match source.get("type")?.as_str()? {
        "base64" => Some(format!(
            "data:{};base64,{}",
            source.get("media_type")?.as_str()?,
            source.get("data")?.as_str()?
        )),
        "url" => source.get("url")?.as_str().map(str::to_string),
        _ => None,
    }
}

fn user_turn(message: &Message, out: &mut Vec<Value>) {
    let blocks = message.content.blocks();
    for b in &blocks {
        if let ContentBlock::ToolResult(r) = b {
            let text = tool_result_text(r);
            out.push(json!({"role": "tool", "tool_call_id": r.tool_use_id, "content": text}));
        }
    }
    let mut parts = Vec::new();
    let mut has_image = false;
    for b in &blocks {
        match b {
            ContentBlock::Text(t) => parts.push(json!({"type": "text", "text": t.text})),
            ContentBlock::Image(m) => {
                if let Some(url) = image_url(&m.source) {
                    has_image = true;
                    parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
                }
            }
            ContentBlock::Document(d) => {
                if let Some(text) = document_text(&d.source) {
                    parts.push(json!({"type": "text", "text": text}));
                }
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return;
    }
    let content = if has_image {
        Value::Array(parts)
    } else {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        Value::String(texts.join("\n"))
    };
    out.push(json!({"role": "user", "content": content}));
}

fn assistant_turn(message: &Message, out: &mut Vec<Value>) {
    let mut text = Vec::new();
    let mut calls = Vec::new();
    for b in message.content.blocks() {
        match b {
            ContentBlock::Text(t) => text.push(t.text),
            ContentBlock::ToolUse(t) => calls.push(json!({
                "id": t.id,
                "type": "function",
                "function": {"name": t.name, "arguments": t.input.to_string()},
            })),
            _ => {} // thinking has no OpenAI equivalent
        }
    }
    let mut m = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { Value::String(text.join("")) }});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    out.push(m);
}

/// The OpenAI messages for a canonical request.
pub fn messages(request: &ChatRequest) -> Vec<Value> {
    let mut out = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = &request.system {
        out.push(json!({"role": "system", "content": content_text(system)}));
    }
    for m in &request.messages {
        match m.role {
            Role::System => {
                out.push(json!({"role": "system", "content": content_text(&m.content)}))
            }
            Role::User => user_turn(m, &mut out),
            Role::Assistant => assistant_turn(m, &mut out),
        }
    }
    out
}

/// OpenAI `tools` for canonical tools (server tools have no equivalent).
pub fn tools(request: &ChatRequest) -> Option<Value> {
    let tools: Vec<Value> = request
        .tools
        .iter()
        .flatten()
        .filter(|t| t.input_schema.is_some() || !t.extra.contains_key("type"))
        .map(|t| {
            let mut f = json!({
                "name": t.name,
                "parameters": t.input_schema.clone().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
            if let Some(d) = &t.description {
                f["description"] = Value::String(d.clone());
            }
            json!({"type": "function", "function": f})
        })
        .collect();
    (!tools.is_empty()).then_some(Value::Array(tools))
}

/// OpenAI `tool_choice` (and `parallel_tool_calls`) for a canonical choice.
pub fn tool_choice(choice: &ToolChoice) -> (Value, Option<bool>) {
    let value = match choice.kind.as_str() {
        "any" => json!("required"),
        "none" => json!("none"),
        "tool" => {
            json!({"type": "function", "function": {"name": choice.name.clone().unwrap_or_default()}})
        }
        _ => json!("auto"),
    };
    (value, choice.disable_parallel_tool_use.map(|d| !d))
}

/// A JSON-schema output format asked for with Anthropic's `output_config`.
pub fn output_schema(request: &ChatRequest) -> Option<&Value> {
    let format = request.extra.get("output_config")?.get("format")?;
    (format.get("type")?.as_str()? == "json_schema").then(|| format.get("schema"))?
}

/// The whole OpenAI body.
pub fn encode_request(request: &ChatRequest, model: &str, stream: bool) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages(request)));
    body.insert("stream".into(), json!(stream));
    if stream {
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    if let Some(n) = request.max_tokens {
        body.insert("max_tokens".into(), json!(n));
    }
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = request.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if let Some(stop) = &request.stop_sequences {
        body.insert("stop".into(), json!(stop));
    }
    if let Some(tools) = tools(request) {
        body.insert("tools".into(), tools);
        if let Some(choice) = &request.tool_choice {
            let (value, parallel) = tool_choice(choice);
            body.insert("tool_choice".into(), value);
            if let Some(p) = parallel {
                body.insert("parallel_tool_calls".into(), json!(p));
            }
        }
    }
    if let Some(user) = request
        .metadata
        .as_ref()
        .and_then(|m| m.get("user_id"))
        .and_then(Value::as_str)
    {
        body.insert("user".into(), json!(user));
    }
    if let Some(schema) = output_schema(request) {
        body.insert(
            "response_format".into(),
            json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}}),
        );
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: Value) -> ChatRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tool_round_trip_shape() {
        let r = req(json!({
            "model": "m", "max_tokens": 100, "system": [{"type":"text","text":"be brief","cache_control":{"type":"ephemeral"}}],
            "tools": [{"name":"get_weather","description":"d","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
                      {"type":"web_search_20250305","name":"web_search"}],
            "tool_choice": {"type":"any","disable_parallel_tool_use":true},
            "metadata": {"user_id":"u1"},
            "messages": [
                {"role":"user","content":[{"type":"text","text":"weather?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},
                {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Checking."},
                    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
                    {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"city":"Rome"}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
                    {"type":"tool_result","tool_use_id":"toolu_2","content":[{"type":"text","text":"21C"}]},
                    {"type":"text","text":"and tomorrow?"}]},
                {"role":"system","content":"mid-conversation note"}
            ]
        }));
        let body = encode_request(&r, "qwen", true);
        let expected = json!({
            "model": "qwen", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 100,
            "messages": [
                {"role":"system","content":"be brief"},
                {"role":"user","content":[{"type":"text","text":"weather?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]},
                {"role":"assistant","content":"Checking.","tool_calls":[
                    {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                    {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
                {"role":"tool","tool_call_id":"toolu_1","content":"18C"},
                {"role":"tool","tool_call_id":"toolu_2","content":"21C"},
                {"role":"user","content":"and tomorrow?"},
                {"role":"system","content":"mid-conversation note"}
            ],
            "tools": [{"type":"function","function":{"name":"get_weather","description":"d","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
            "tool_choice": "required", "parallel_tool_calls": false, "user": "u1"
        });
        assert_eq!(body, expected);
    }

    #[test]
    fn structured_output_and_sampling() {
        let r = req(
            json!({"model":"m","max_tokens":5,"temperature":0.0,"top_p":0.5,"stop_sequences":["X"],
            "output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}},
            "messages":[{"role":"user","content":"hi"}]}),
        );
        let body = encode_request(&r, "m", false);
        assert_eq!(
            body["response_format"]["json_schema"]["schema"],
            json!({"type":"object"})
        );
        assert_eq!(
            (body["temperature"].as_f64(), body["stop"][0].as_str()),
            (Some(0.0), Some("X"))
        );
        assert!(body.get("stream_options").is_none());
    }
}
