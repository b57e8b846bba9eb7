//! Ollama `/api/chat` answers → canonical: whole answers and NDJSON streams.
//!
//! Tool calls arrive whole (arguments as an object), usage in the final
//! `done` line (`prompt_eval_count`, `eval_count`), and a tool call is
//! signalled only by its presence (`done_reason` stays `stop`).

use crate::core::{
    ChatResponse, ContentBlock, MessageDeltaBody, StreamEvent, TextBlock, ThinkingBlock,
    ToolUseBlock, UsageReport,
};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::protocol::EventDecoder;
use crate::protocol::blocks::{Blocks, Kind};
use crate::protocol::{parse_tool_arguments, tool_use_id};
use bytes::BytesMut;
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    message: Option<Msg>,
    #[serde(default)]
    done: bool,
    #[serde(default)]
    done_reason: Option<String>,
    #[serde(default)]
    prompt_eval_count: Option<u64>,
    #[serde(default)]
    eval_count: Option<u64>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Msg {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<Call>>,
}

#[derive(Deserialize)]
struct Call {
    #[serde(default)]
    id: Option<String>,
    function: Function,
}

#[derive(Deserialize)]
struct Function {
    name: String,
    #[serde(default)]
    arguments: Option<Value>,
}

fn tool_block(call: Call) -> Result<ToolUseBlock, UpstreamError> {
    let input = match call.function.arguments {
        Some(Value::String(s)) => parse_tool_arguments(&s)?,
        Some(Value::Null) | None => json!({}),
        Some(v @ Value::Object(_)) => v,
        Some(other) => {
            return Err(UpstreamError::new(
                UpstreamErrorKind::Malformed,
                format!("tool call arguments are not an object: {other}"),
            ));
        }
    };
    Ok(ToolUseBlock {
        id: tool_use_id(call.id.as_deref()),
        name: call.function.name,
        input,
        cache_control: None,
        extra: Map::new(),
    })
}

fn stop_reason(done_reason: Option<&str>, tool_calls: bool) -> &'static str {
    match (tool_calls, done_reason) {
        (true, _) => "tool_use",
        (false, Some("length")) => "max_tokens",
        _ => "end_turn",
    }
}

fn usage(line: &Line) -> UsageReport {
    UsageReport {
        input_tokens: Some(line.prompt_eval_count.unwrap_or(0)),
        output_tokens: Some(line.eval_count.unwrap_or(0)),
        ..UsageReport::default()
    }
}

fn line_error(e: &Value) -> UpstreamError {
    let message = e
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| e.to_string());
    UpstreamError::new(
        UpstreamErrorKind::Server,
        format!("upstream stream error: {message}"),
    )
}

fn parse_line(line: &[u8]) -> Result<Line, UpstreamError> {
    serde_json::from_slice(line).map_err(|e| {
        UpstreamError::new(
            UpstreamErrorKind::Malformed,
            format!("upstream line is not Ollama JSON: {e}"),
        )
    })
}

fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// Decode a whole (`"stream": false`) answer.
pub fn decode_answer(body: &[u8]) -> Result<ChatResponse, UpstreamError> {
    let line = parse_line(body)?;
    if let Some(e) = &line.error {
        return Err(line_error(e));
    }
    let report = usage(&line);
    let msg = line.message.unwrap_or_default();
    let mut content = Vec::new();
    if let Some(t) = msg.thinking.filter(|t| !t.is_empty()) {
        content.push(ContentBlock::Thinking(ThinkingBlock {
            thinking: t,
            signature: None,
            extra: Map::new(),
        }));
    }
    if let Some(t) = msg.content.filter(|t| !t.is_empty()) {
        content.push(ContentBlock::Text(TextBlock::new(t)));
    }
    let calls = msg.tool_calls.unwrap_or_default();
    let has_calls = !calls.is_empty();
    for call in calls {
        content.push(ContentBlock::ToolUse(tool_block(call)?));
    }
    Ok(ChatResponse {
        id: message_id(),
        kind: "message".into(),
        role: "assistant".into(),
        model: line.model.unwrap_or_default(),
        content,
        stop_reason: Some(stop_reason(line.done_reason.as_deref(), has_calls).into()),
        stop_sequence: None,
        usage: report,
        extra: Map::new(),
    })
}

/// Ollama NDJSON → canonical events.
#[derive(Debug, Default)]
pub struct OllamaDecoder {
    buf: BytesMut,
    started: bool,
    blocks: Blocks,
    tool_calls: bool,
    ended: bool,
}

impl OllamaDecoder {
    fn line(&mut self, raw: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        if raw.iter().all(u8::is_ascii_whitespace) || self.ended {
            return Ok(());
        }
        let line = parse_line(raw)?;
        if let Some(e) = &line.error {
            return Err(line_error(e));
        }
        if !self.started {
            self.started = true;
            let message =
                ChatResponse::started(message_id(), line.model.clone().unwrap_or_default());
            out.push(StreamEvent::MessageStart { message });
        }
        let report = usage(&line);
        let msg = line.message.unwrap_or_default();
        if let Some(t) = msg.thinking.filter(|t| !t.is_empty()) {
            self.blocks.delta(Kind::Thinking, t, out);
        }
        if let Some(t) = msg.content.filter(|t| !t.is_empty()) {
            self.blocks.delta(Kind::Text, t, out);
        }
        for call in msg.tool_calls.unwrap_or_default() {
            self.blocks.tool_use(tool_block(call)?, out);
            self.tool_calls = true;
        }
        if line.done {
            self.ended = true;
            self.blocks.close(out);
            let stop = stop_reason(line.done_reason.as_deref(), self.tool_calls);
            out.push(StreamEvent::MessageDelta {
                delta: MessageDeltaBody {
                    stop_reason: Some(stop.into()),
                    ..MessageDeltaBody::default()
                },
                usage: Some(report),
            });
            out.push(StreamEvent::MessageStop);
        }
        Ok(())
    }
}

impl EventDecoder for OllamaDecoder {
    fn feed(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        self.buf.extend_from_slice(chunk);
        while let Some(nl) = memchr::memchr(b'\n', &self.buf) {
            let line = self.buf.split_to(nl + 1);
            self.line(&line, out)?;
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), UpstreamError> {
        let rest = std::mem::take(&mut self.buf);
        self.line(&rest, out)?;
        if self.ended {
            Ok(())
        } else {
            Err(UpstreamError::new(
                UpstreamErrorKind::Transport,
                "upstream closed the stream before done",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Delta;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/ollama/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// Decode with one cut; generated ids are replaced so runs compare.
    fn decode(bytes: &[u8], cut: usize) -> Result<Vec<StreamEvent>, UpstreamError> {
        let mut d = OllamaDecoder::default();
        let mut out = Vec::new();
        d.feed(&bytes[..cut], &mut out)?;
        d.feed(&bytes[cut..], &mut out)?;
        d.finish(&mut out)?;
        for e in &mut out {
            match e {
                StreamEvent::MessageStart { message } => message.id = "msg".into(),
                StreamEvent::ContentBlockStart {
                    content_block: ContentBlock::ToolUse(t),
                    ..
                } => t.id = "toolu".into(),
                _ => {}
            }
        }
        Ok(out)
    }

    #[test]
    fn streams_split_anywhere() {
        for name in ["chat_stream_tools.ndjson", "chat_stream_text.ndjson"] {
            let bytes = fixture(name);
            let whole = decode(&bytes, 0).unwrap();
            for cut in 1..bytes.len() {
                assert_eq!(decode(&bytes, cut).unwrap(), whole, "{name} cut at {cut}");
            }
        }
    }

    #[test]
    fn tool_calls_and_usage() {
        let events = decode(&fixture("chat_stream_tools.ndjson"), 0).unwrap();
        let names: Vec<&str> = events.iter().map(StreamEvent::name).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        let StreamEvent::ContentBlockDelta {
            index: 1,
            delta: Delta::InputJsonDelta { partial_json },
        } = &events[6]
        else {
            panic!("{:?}", events[6])
        };
        assert_eq!(partial_json, r#"{"city":"Tokyo"}"#);
        let StreamEvent::MessageDelta { delta, usage } = &events[8] else {
            panic!()
        };
        assert_eq!(delta.stop_reason.as_deref(), Some("tool_use"));
        assert_eq!(
            (
                usage.as_ref().unwrap().input_tokens,
                usage.as_ref().unwrap().output_tokens
            ),
            (Some(26), Some(12))
        );
        let text = decode(&fixture("chat_stream_text.ndjson"), 0).unwrap();
        let StreamEvent::MessageDelta { delta, .. } = &text[text.len() - 2] else {
            panic!()
        };
        assert_eq!(delta.stop_reason.as_deref(), Some("max_tokens"));
    }

    #[test]
    fn errors_mid_stream_and_cut_streams() {
        let e = decode(b"{\"model\":\"m\",\"message\":{\"content\":\"a\"},\"done\":false}\n{\"error\":\"out of memory\"}\n", 0).unwrap_err();
        assert!(e.message.contains("out of memory"));
        let e = decode(
            b"{\"model\":\"m\",\"message\":{\"content\":\"a\"},\"done\":false}\n",
            0,
        )
        .unwrap_err();
        assert_eq!(e.kind, UpstreamErrorKind::Transport);
    }

    #[test]
    fn whole_answers() {
        let r = decode_answer(br#"{"model":"q","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},"done":true,"done_reason":"stop","prompt_eval_count":5,"eval_count":2}"#).unwrap();
        assert_eq!(r.stop_reason.as_deref(), Some("tool_use"));
        assert!(
            matches!(&r.content[0], ContentBlock::ToolUse(t) if t.input == json!({"a":1}) && t.id.starts_with("toolu_"))
        );
        let bad = br#"{"model":"q","message":{"tool_calls":[{"function":{"name":"f","arguments":"{not json"}}]},"done":true}"#;
        assert_eq!(
            decode_answer(bad).unwrap_err().kind,
            UpstreamErrorKind::Malformed
        );
    }
}
