//! Canonical request → Ollama's native `/api/chat` body.
//!
//! Differences from OpenAI: tool arguments are JSON objects, images ride on
//! the user message as bare base64, tool results name their tool, and
//! sampling settings live under `options`.

use crate::core::{ChatRequest, ContentBlock, Message, Role};
use crate::protocol::openai::encode::{content_text, output_schema, tool_result_text, tools};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

fn user_turn(message: &Message, tool_names: &HashMap<String, String>, out: &mut Vec<Value>) {
    let blocks = message.content.blocks();
    for b in &blocks {
        if let ContentBlock::ToolResult(r) = b {
            let mut m = json!({
                "role": "tool",
                "tool_call_id": r.tool_use_id,
                "content": tool_result_text(r),
            });
            if let Some(name) = tool_names.get(&r.tool_use_id) {
                m["tool_name"] = json!(name);
            }
            out.push(m);
        }
    }
    let mut text = Vec::new();
    let mut images = Vec::new();
    for b in &blocks {
        match b {
            ContentBlock::Text(t) => text.push(t.text.clone()),
            ContentBlock::Image(m)
                if m.source.get("type").and_then(Value::as_str) == Some("base64") =>
            {
                if let Some(data) = m.source.get("data").and_then(Value::as_str) {
                    images.push(json!(data));
                }
            }
            _ => {}
        }
    }
    if text.is_empty() && images.is_empty() {
        return;
    }
    let mut m = json!({"role": "user", "content": text.join("\n")});
    if !images.is_empty() {
        m["images"] = Value::Array(images);
    }
    out.push(m);
}

fn assistant_turn(
    message: &Message,
    tool_names: &mut HashMap<String, String>,
    out: &mut Vec<Value>,
) {
    let mut text = Vec::new();
    let mut calls = Vec::new();
    for b in message.content.blocks() {
        match b {
            ContentBlock::Text(t) => text.push(t.text),
            ContentBlock::ToolUse(t) => {
                tool_names.insert(t.id.clone(), t.name.clone());
                calls.push(json!({"id": t.id, "function": {"name": t.name, "arguments": t.input}}));
            }
            _ => {}
        }
    }
    let mut m = json!({"role": "assistant", "content": text.join("")});
    if !calls.is_empty() {
        m["tool_calls"] = Value::Array(calls);
    }
    out.push(m);
}

/// The whole `/api/chat` body. `think` switches on the model's reasoning.
pub fn encode_request(request: &ChatRequest, model: &str, stream: bool, think: bool) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": content_text(system)}));
    }
    let mut tool_names = HashMap::new();
    for m in &request.messages {
        match m.role {
            Role::System => {
                messages.push(json!({"role": "system", "content": content_text(&m.content)}))
            }
            Role::User => user_turn(m, &tool_names, &mut messages),
            Role::Assistant => assistant_turn(m, &mut tool_names, &mut messages),
        }
    }
    let mut options = Map::new();
    if let Some(n) = request.max_tokens {
        options.insert("num_predict".into(), json!(n));
    }
    if let Some(t) = request.temperature {
        options.insert("temperature".into(), json!(t));
    }
    if let Some(p) = request.top_p {
        options.insert("top_p".into(), json!(p));
    }
    if let Some(k) = request.top_k {
        options.insert("top_k".into(), json!(k));
    }
    if let Some(stop) = &request.stop_sequences {
        options.insert("stop".into(), json!(stop));
    }
    let mut body = json!({"model": model, "messages": messages, "stream": stream});
    if !options.is_empty() {
        body["options"] = Value::Object(options);
    }
    if let Some(t) = tools(request) {
        body["tools"] = t;
    }
    if think && request.thinking.as_ref().is_some_and(|t| t.is_on()) {
        body["think"] = json!(true);
    }
    if let Some(schema) = output_schema(request) {
        body["format"] = schema.clone();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_shape() {
        let r: ChatRequest = serde_json::from_value(json!({
            "model":"m","max_tokens":50,"temperature":0.2,"system":"be brief",
            "thinking":{"type":"enabled","budget_tokens":1024},
            "tools":[{"name":"get_weather","input_schema":{"type":"object"}}],
            "messages":[
                {"role":"user","content":[{"type":"text","text":"weather in tokyo?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},
                {"role":"assistant","content":[{"type":"tool_use","id":"call_x","name":"get_weather","input":{"city":"Tokyo"}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_x","content":"18C"}]}
            ]})).unwrap();
        let body = encode_request(&r, "qwen2.5-coder:7b", true, false);
        assert_eq!(
            body,
            json!({
                "model":"qwen2.5-coder:7b","stream":true,
                "options":{"num_predict":50,"temperature":0.2},
                "messages":[
                    {"role":"system","content":"be brief"},
                    {"role":"user","content":"weather in tokyo?","images":["iVBOR"]},
                    {"role":"assistant","content":"","tool_calls":[{"id":"call_x","function":{"name":"get_weather","arguments":{"city":"Tokyo"}}}]},
                    {"role":"tool","tool_call_id":"call_x","tool_name":"get_weather","content":"18C"}
                ],
                "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]
            })
        );
        assert_eq!(encode_request(&r, "m", false, true)["think"], json!(true));
    }
}
