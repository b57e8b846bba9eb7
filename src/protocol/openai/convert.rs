//! OpenAI Chat Completions ⇄ canonical: the client's request in, the answer
//! out.
//!
//! Leading system/developer messages become the system prompt; later ones
//! stay in place as system turns. Tool messages become `tool_result` blocks
//! at the front of one user turn (merged with a user message that follows).

use crate::core::{
    ChatRequest, ChatResponse, Content, ContentBlock, MediaBlock, Message, Role, TextBlock,
    Thinking, Tool, ToolChoice, ToolResultBlock, ToolUseBlock, Usage,
};
use crate::protocol::openai::usage::{finish_from_stop_reason, usage_to_openai};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Output budget when the client sets none (Anthropic requires one).
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

#[derive(Deserialize)]
struct Request {
    model: String,
    messages: Vec<Msg>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    stop: Option<Value>,
    #[serde(default)]
    tools: Option<Vec<ToolDef>>,
    #[serde(default)]
    tool_choice: Option<Value>,
    #[serde(default)]
    parallel_tool_calls: Option<bool>,
    #[serde(default)]
    response_format: Option<Value>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    reasoning_effort: Option<String>,
    #[serde(default)]
    n: Option<u64>,
}

#[derive(Deserialize)]
struct Msg {
    role: String,
    #[serde(default)]
    content: Option<Value>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
    #[serde(default)]
    tool_call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct ToolCall {
    id: String,
    function: Function,
}

#[derive(Deserialize)]
struct Function {
    name: String,
    #[serde(default)]
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct ToolDef {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    function: FunctionDef,
}

#[derive(Deserialize)]
struct FunctionDef {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Value>,
}

fn text_of(content: &Option<Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn image_block(url: &str) -> ContentBlock {
    let source = match url
        .strip_prefix("data:")
        .and_then(|r| r.split_once(";base64,"))
    {
        Some((media_type, data)) => {
            json!({"type": "base64", "media_type": media_type, "data": data})
        }
        None => json!({"type": "url", "url": url}),
    };
    ContentBlock::Image(MediaBlock {
        source,
        cache_control: None,
        extra: Map::new(),
    })
}

fn user_blocks(content: &Option<Value>, at: usize) -> Result<Vec<ContentBlock>, String> {
    match content {
        Some(Value::String(s)) => Ok(vec![ContentBlock::Text(TextBlock::new(s.clone()))]),
        Some(Value::Array(parts)) => parts
            .iter()
            .enumerate()
            .map(|(j, p)| match p.get("type").and_then(Value::as_str) {
                Some("text") => Ok(ContentBlock::Text(TextBlock::new(
                    p.get("text").and_then(Value::as_str).unwrap_or(""),
                ))),
                Some("image_url") => {
                    let url = p
                        .pointer("/image_url/url")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    Ok(image_block(url))
                }
                other => Err(format!(
                    "messages[{at}].content[{j}]: content part type {other:?} is not supported"
                )),
            })
            .collect(),
        _ => Ok(Vec::new()),
    }
}

fn assistant_blocks(m: &Msg, at: usize) -> Result<Vec<ContentBlock>, String> {
    let mut blocks = Vec::new();
    let text = text_of(&m.content);
    if !text.is_empty() {
        blocks.push(ContentBlock::Text(TextBlock::new(text)));
    }
    for (j, call) in m.tool_calls.iter().flatten().enumerate() {
        let args = call.function.arguments.as_deref().unwrap_or("");
        let input = if args.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(args).map_err(|_| {
                format!("messages[{at}].tool_calls[{j}].function.arguments is not valid JSON")
            })?
        };
        blocks.push(ContentBlock::ToolUse(ToolUseBlock {
            id: call.id.clone(),
            name: call.function.name.clone(),
            input,
            cache_control: None,
            extra: Map::new(),
        }));
    }
    Ok(blocks)
}

fn push_turn(messages: &mut Vec<Message>, role: Role, blocks: Vec<ContentBlock>) {
    if blocks.is_empty() {
        return;
    }
    if let Some(last) = messages.last_mut()
        && last.role == role
        && role != Role::System
        && let Content::Blocks(existing) = &mut last.content
    {
        existing.extend(blocks);
        return;
    }
    messages.push(Message {
        role,
        content: Content::Blocks(blocks),
        extra: Map::new(),
    });
}

fn tool_choice(value: &Value, parallel: Option<bool>) -> Option<ToolChoice> {
    let kind = match value {
        Value::String(s) if s == "required" => "any",
        Value::String(s) if s == "none" => "none",
        Value::Object(_) => "tool",
        _ => "auto",
    };
    let name = value
        .pointer("/function/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(ToolChoice {
        kind: kind.to_string(),
        name,
        disable_parallel_tool_use: parallel.map(|p| !p).filter(|d| *d),
        extra: Map::new(),
    })
}

/// An OpenAI request body in canonical form. The error text is for the client.
pub fn to_canonical(body: &[u8]) -> Result<ChatRequest, String> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let r: Request =
        serde_path_to_error::deserialize(de).map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    if r.n.is_some_and(|n| n > 1) {
        return Err("n: only n = 1 is supported".into());
    }
    let mut system: Vec<String> = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for (i, m) in r.messages.iter().enumerate() {
        match m.role.as_str() {
            "system" | "developer" if messages.is_empty() => system.push(text_of(&m.content)),
            "system" | "developer" => messages.push(Message {
                role: Role::System,
                content: Content::Text(text_of(&m.content)),
                extra: Map::new(),
            }),
            "user" => push_turn(&mut messages, Role::User, user_blocks(&m.content, i)?),
            "assistant" => push_turn(&mut messages, Role::Assistant, assistant_blocks(m, i)?),
            "tool" | "function" => {
                let id = m
                    .tool_call_id
                    .clone()
                    .or_else(|| m.name.clone())
                    .unwrap_or_default();
                let block = ContentBlock::ToolResult(ToolResultBlock {
                    tool_use_id: id,
                    content: Some(Content::Text(text_of(&m.content))),
                    is_error: None,
                    cache_control: None,
                    extra: Map::new(),
                });
                push_turn(&mut messages, Role::User, vec![block]);
            }
            other => return Err(format!("messages[{i}].role: unknown role '{other}'")),
        }
    }
    let mut extra = Map::new();
    match r
        .response_format
        .as_ref()
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
    {
        Some("json_schema") => {
            let schema = r
                .response_format
                .as_ref()
                .and_then(|f| f.pointer("/json_schema/schema"))
                .cloned();
            extra.insert(
                "output_config".into(),
                json!({"format": {"type": "json_schema", "schema": schema.unwrap_or(json!({}))}}),
            );
        }
        Some("json_object") => {
            system.push("Respond with a single valid JSON object and nothing else.".into())
        }
        _ => {}
    }
    let mut max_tokens = r
        .max_completion_tokens
        .or(r.max_tokens)
        .unwrap_or(DEFAULT_MAX_TOKENS);
    let thinking = match r.reasoning_effort.as_deref() {
        Some("low") => Some(1024),
        Some("medium") => Some(2048),
        Some("high") => Some(4096),
        _ => None,
    }
    .map(|budget: u64| {
        if max_tokens <= budget {
            max_tokens += budget;
        }
        Thinking {
            kind: "enabled".into(),
            budget_tokens: Some(budget),
            extra: Map::new(),
        }
    });
    let tools: Option<Vec<Tool>> = r.tools.map(|defs| {
        defs.into_iter()
            .filter(|d| d.kind.as_deref().is_none_or(|k| k == "function"))
            .map(|d| Tool {
                name: d.function.name,
                description: d.function.description,
                input_schema: Some(
                    d.function
                        .parameters
                        .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
                ),
                cache_control: None,
                extra: Map::new(),
            })
            .collect()
    });
    let choice = match (&r.tool_choice, r.parallel_tool_calls) {
        (Some(v), p) => tool_choice(v, p),
        (None, Some(false)) => tool_choice(&json!("auto"), Some(false)),
        (None, _) => None,
    };
    let stop_sequences = match r.stop {
        Some(Value::String(s)) => Some(vec![s]),
        Some(Value::Array(a)) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    };
    Ok(ChatRequest {
        model: r.model,
        messages,
        system: (!system.is_empty()).then(|| Content::Text(system.join("\n\n"))),
        max_tokens: Some(max_tokens),
        stream: None,
        temperature: r.temperature.map(|t| t.min(1.0)),
        top_p: r.top_p,
        top_k: None,
        stop_sequences,
        tools,
        tool_choice: choice,
        thinking,
        metadata: r.user.map(|u| json!({"user_id": u})),
        extra,
    })
}

/// OpenAI's `id` for an answer.
pub fn completion_id(message_id: &str) -> String {
    format!("chatcmpl-{}", message_id.trim_start_matches("msg_"))
}

/// Seconds since the epoch (`created`).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A canonical answer as an OpenAI chat completion.
pub fn from_canonical(answer: &ChatResponse) -> Value {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for b in &answer.content {
        match b {
            ContentBlock::Text(t) => text.push_str(&t.text),
            ContentBlock::Thinking(t) => reasoning.push_str(&t.thinking),
            ContentBlock::ToolUse(t) => calls.push(json!({
                "id": t.id, "type": "function",
                "function": {"name": t.name, "arguments": t.input.to_string()},
            })),
            _ => {}
        }
    }
    let mut message = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    if !reasoning.is_empty() {
        message["reasoning_content"] = json!(reasoning);
    }
    let mut usage = Usage::default();
    answer.usage.apply_to(&mut usage);
    json!({
        "id": completion_id(&answer.id),
        "object": "chat.completion",
        "created": now_secs(),
        "model": answer.model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": finish_from_stop_reason(answer.stop_reason.as_deref().unwrap_or("end_turn")),
            "logprobs": null,
        }],
        "usage": usage_to_openai(&usage),
    })
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
