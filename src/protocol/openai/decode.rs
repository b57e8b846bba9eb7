//! OpenAI answers → canonical: whole completions and chunk streams.
//!
//! The stream decoder is a small state machine: text and reasoning stream
//! through as they arrive, in blocks numbered from 0; tool calls (whose
//! fragments may interleave across `index`es) are collected and emitted as
//! complete, checked `tool_use` blocks when the choice finishes, so a call
//! with broken JSON arguments is reported as an upstream error instead of
//! reaching the client.

use crate::core::{
    ChatResponse, ContentBlock, MessageDeltaBody, StreamEvent, TextBlock, ThinkingBlock,
    ToolUseBlock, Usage, UsageMeter, UsageReport,
};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::EventDecoder;
use crate::protocol::blocks::{Blocks, Kind};
use crate::protocol::openai::usage::{OpenAiUsage, stop_reason_from_finish};
use crate::protocol::sse::SseDecoder;
use crate::protocol::{parse_tool_arguments, tool_use_id};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default, alias = "delta")]
    message: Option<Msg>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Msg {
    #[serde(default)]
    content: Option<Value>,
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCall>>,
}

#[derive(Deserialize)]
struct ToolCall {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<Function>,
}

#[derive(Deserialize)]
struct Function {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Value>,
}

/// Text of an OpenAI `content` (a string, or parts with `text`).
fn content_string(content: &Option<Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text")?.as_str())
            .collect(),
        _ => String::new(),
    }
}

/// Arguments as the provider sent them (a string, or an object from lax servers).
fn arguments_text(args: &Option<Value>) -> String {
    match args {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn report(usage: &Usage) -> UsageReport {
    UsageReport {
        input_tokens: Some(usage.input_tokens),
        output_tokens: Some(usage.output_tokens),
        cache_read_input_tokens: Some(usage.cache_read_tokens),
        cache_creation_input_tokens: Some(usage.cache_write_tokens()),
        ..UsageReport::default()
    }
}

fn upstream_error(e: &Value) -> UpstreamError {
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("upstream error");
    UpstreamError::new(
        UpstreamErrorKind::Server,
        format!("upstream stream error: {message}"),
    )
}

/// Decode a whole chat completion.
pub fn decode_answer(body: &[u8]) -> Result<ChatResponse, UpstreamError> {
    let c: Completion = serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer is not a chat completion: {e}"),
        )
    })?;
    if let Some(e) = &c.error {
        return Err(upstream_error(e));
    }
    let choice = c.choices.into_iter().next().ok_or_else(|| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            "upstream answer has no choices",
        )
    })?;
    let msg = choice.message.unwrap_or_default();
    let mut content = Vec::new();
    if let Some(r) = msg.reasoning_content.filter(|r| !r.is_empty()) {
        content.push(ContentBlock::Thinking(ThinkingBlock {
            thinking: r,
            signature: None,
            extra: Map::new(),
        }));
    }
    let text = content_string(&msg.content);
    if !text.is_empty() {
        content.push(ContentBlock::Text(TextBlock::new(text)));
    }
    let calls = msg.tool_calls.unwrap_or_default();
    for call in &calls {
        let f = call.function.as_ref();
        content.push(ContentBlock::ToolUse(ToolUseBlock {
            id: tool_use_id(call.id.as_deref()),
            name: f.and_then(|f| f.name.clone()).unwrap_or_default(),
            input: parse_tool_arguments(&arguments_text(&f.and_then(|f| f.arguments.clone())))?,
            cache_control: None,
            extra: Map::new(),
        }));
    }
    let stop = if calls.is_empty() {
        stop_reason_from_finish(choice.finish_reason.as_deref().unwrap_or("stop"))
    } else {
        "tool_use"
    };
    let usage = c.usage.map(|u| u.to_usage()).unwrap_or_default();
    Ok(ChatResponse {
        id: format!(
            "msg_{}",
            c.id.unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
        ),
        kind: "message".into(),
        role: "assistant".into(),
        model: c.model.unwrap_or_default(),
        content,
        stop_reason: Some(stop.to_string()),
        stop_sequence: None,
        usage: report(&usage),
        extra: Map::new(),
    })
}

#[derive(Debug, Default)]
struct PendingTool {
    id: Option<String>,
    name: String,
    arguments: String,
}

/// OpenAI chunk stream → canonical events.
#[derive(Debug, Default)]
pub struct OpenAiDecoder {
    sse: SseDecoder,
    started: bool,
    blocks: Blocks,
    tools: BTreeMap<u64, PendingTool>,
    finish: Option<String>,
    usage: Option<Usage>,
    ended: bool,
}

impl OpenAiDecoder {
    fn start(&mut self, c: &Completion, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let id = format!(
            "msg_{}",
            c.id.clone()
                .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string())
        );
        let message = ChatResponse::started(id, c.model.clone().unwrap_or_default());
        out.push(StreamEvent::MessageStart { message });
    }

    fn chunk(&mut self, data: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        if data == b"[DONE]" {
            return self.end(out);
        }
        let c: Completion = serde_json::from_slice(data).map_err(|e| {
            UpstreamError::new(
                UpstreamErrorKind::Malformed,
                format!("upstream chunk is not JSON: {e}"),
            )
        })?;
        if let Some(e) = &c.error {
            return Err(upstream_error(e));
        }
        self.start(&c, out);
        if let Some(u) = &c.usage {
            self.usage = Some(u.to_usage());
        }
        for choice in c.choices {
            if let Some(m) = choice.message {
                if let Some(r) = m.reasoning_content.filter(|r| !r.is_empty()) {
                    self.blocks.delta(Kind::Thinking, r, out);
                }
                let text = content_string(&m.content);
                if !text.is_empty() {
                    self.blocks.delta(Kind::Text, text, out);
                }
                for (pos, call) in m.tool_calls.into_iter().flatten().enumerate() {
                    let tool = self
                        .tools
                        .entry(call.index.unwrap_or(pos as u64))
                        .or_default();
                    if call.id.is_some() {
                        tool.id = call.id;
                    }
                    if let Some(f) = call.function {
                        if let Some(n) = f.name {
                            tool.name.push_str(&n);
                        }
                        tool.arguments.push_str(&arguments_text(&f.arguments));
                    }
                }
            }
            if let Some(f) = choice.finish_reason {
                self.finish = Some(f);
            }
        }
        Ok(())
    }

    /// Close the message: tool blocks, stop reason, usage, stop.
    fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        if self.ended {
            return Ok(());
        }
        if !self.started {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Malformed,
                "upstream stream had no chunks",
            ));
        }
        self.ended = true;
        self.blocks.close(out);
        let tools = std::mem::take(&mut self.tools);
        for tool in tools.into_values() {
            let block = ToolUseBlock {
                id: tool_use_id(tool.id.as_deref()),
                name: tool.name,
                input: parse_tool_arguments(&tool.arguments)?,
                cache_control: None,
                extra: Map::new(),
            };
            self.blocks.tool_use(block, out);
            self.finish = Some("tool_calls".into());
        }
        let stop = stop_reason_from_finish(self.finish.as_deref().unwrap_or("stop"));
        out.push(StreamEvent::MessageDelta {
            delta: MessageDeltaBody {
                stop_reason: Some(stop.into()),
                ..MessageDeltaBody::default()
            },
            usage: Some(report(&self.usage.unwrap_or_default())),
        });
        out.push(StreamEvent::MessageStop);
        Ok(())
    }
}

impl EventDecoder for OpenAiDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        self.sse.feed(chunk);
        while let Some(e) = self.sse.next_event()? {
            if !self.ended {
                self.chunk(e.data(), out)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        while let Ok(Some(e)) = self.sse.end_of_stream() {
            if !self.ended {
                self.chunk(e.data(), out)?;
            }
        }
        if self.ended {
            return Ok(());
        }
        if self.finish.is_some() {
            // Some servers end without [DONE].
            return self.end(out);
        }
        Err(UpstreamError::new(
            UpstreamErrorKind::Transport,
            "upstream closed the stream before it finished",
        ))
    }
}

/// Meter a whole OpenAI answer passed through as it is.
pub fn meter_answer(body: &[u8]) -> Result<UsageMeter, UpstreamError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        model: Option<String>,
        #[serde(default)]
        usage: Option<OpenAiUsage>,
        #[serde(default)]
        choices: Vec<Value>,
    }
    let a: Answer = serde_json::from_slice(body).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream answer is not a chat completion: {e}"),
        )
    })?;
    let mut meter = UsageMeter::default();
    meter.model = a.model;
    meter.completed = true;
    meter.stop_reason = a
        .choices
        .first()
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        .map(|f| stop_reason_from_finish(f).to_string());
    if let Some(u) = a.usage {
        meter.set_usage(u.to_usage());
    }
    Ok(meter)
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
