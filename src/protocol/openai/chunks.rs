//! Canonical events → OpenAI chat completion chunks, and the OpenAI client
//! codec.
//!
//! Tool calls are numbered by their own `index` (not the Anthropic block
//! index); the usage-only chunk goes out when the client asked for it with
//! `stream_options.include_usage`; the stream ends with `data: [DONE]`.

use super::convert::{completion_id, from_canonical, now_secs, to_canonical};
use super::passthrough::openai_error_event;
use crate::core::{
    ChatRequest, ChatResponse, ContentBlock, Delta, Dialect, RawRequest, StreamEvent, Usage,
};
use crate::error::UpstreamError;
use crate::protocol::openai::usage::{finish_from_stop_reason, usage_to_openai};
use crate::protocol::sse::encode_data;
use crate::protocol::{ClientCodec, EventDecoder, EventEncoder};
use bytes::Bytes;
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, VecDeque};

/// Writes canonical events as OpenAI chunks.
#[derive(Debug)]
pub struct OpenAiEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    tool_index: HashMap<usize, usize>,
    usage: Usage,
}

impl OpenAiEncoder {
    /// An encoder for a client that did (or did not) ask for usage.
    pub fn new(include_usage: bool) -> Self {
        OpenAiEncoder {
            id: String::new(),
            model: String::new(),
            created: now_secs(),
            include_usage,
            tool_index: HashMap::new(),
            usage: Usage::default(),
        }
    }

    /// One `data:` chunk, serialized straight from borrowed fields (this
    /// runs per token: no intermediate `Value`, one buffer).
    fn chunk<D: Serialize>(&self, delta: &D, finish: Option<&str>, out: &mut VecDeque<Bytes>) {
        #[derive(Serialize)]
        struct Choice<'a, D> {
            index: u32,
            delta: &'a D,
            finish_reason: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Chunk<'a, D> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: &'a str,
            choices: [Choice<'a, D>; 1],
        }
        let chunk = Chunk {
            id: &self.id,
            object: "chat.completion.chunk",
            created: self.created,
            model: &self.model,
            choices: [Choice {
                index: 0,
                delta,
                finish_reason: finish,
            }],
        };
        let mut buf = Vec::with_capacity(160 + self.id.len() + self.model.len());
        buf.extend_from_slice(b"data: ");
        if serde_json::to_writer(&mut buf, &chunk).is_ok() {
            buf.extend_from_slice(b"\n\n");
            out.push_back(Bytes::from(buf));
        }
    }
}

/// A text delta: `{"content": "…"}`.
#[derive(Serialize)]
struct Content<'a> {
    content: &'a str,
}

/// A thinking delta: `{"reasoning_content": "…"}`.
#[derive(Serialize)]
struct Reasoning<'a> {
    reasoning_content: &'a str,
}

impl EventEncoder for OpenAiEncoder {
    fn encode(&mut self, event: &StreamEvent, out: &mut VecDeque<Bytes>) {
        match event {
            StreamEvent::MessageStart { message } => {
                self.id = completion_id(&message.id);
                self.model = message.model.clone();
                message.usage.apply_to(&mut self.usage);
                self.chunk(&json!({"role": "assistant", "content": ""}), None, out);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block: ContentBlock::ToolUse(t),
            } => {
                let n = self.tool_index.len();
                self.tool_index.insert(*index, n);
                let call = json!({"index": n, "id": t.id, "type": "function", "function": {"name": t.name, "arguments": ""}});
                self.chunk(&json!({"tool_calls": [call]}), None, out);
            }
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                Delta::TextDelta { text } => self.chunk(&Content { content: text }, None, out),
                Delta::ThinkingDelta { thinking } => self.chunk(
                    &Reasoning {
                        reasoning_content: thinking,
                    },
                    None,
                    out,
                ),
                Delta::InputJsonDelta { partial_json } if !partial_json.is_empty() => {
                    if let Some(n) = self.tool_index.get(index) {
                        let call = json!({"index": n, "function": {"arguments": partial_json}});
                        self.chunk(&json!({"tool_calls": [call]}), None, out);
                    }
                }
                _ => {}
            },
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(u) = usage {
                    u.apply_to(&mut self.usage);
                }
                if let Some(stop) = &delta.stop_reason {
                    self.chunk(&json!({}), Some(finish_from_stop_reason(stop)), out);
                }
            }
            StreamEvent::MessageStop => {
                if self.include_usage {
                    let c = json!({
                        "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                        "choices": [], "usage": usage_to_openai(&self.usage),
                    });
                    out.push_back(encode_data(c.to_string().as_bytes()));
                }
                out.push_back(encode_data(b"[DONE]"));
            }
            StreamEvent::Error { error } => {
                let e = json!({"error": {"message": error.message, "type": error.kind, "param": null, "code": null}});
                out.push_back(encode_data(e.to_string().as_bytes()));
            }
            StreamEvent::ContentBlockStart { .. }
            | StreamEvent::ContentBlockStop { .. }
            | StreamEvent::Ping => {}
        }
    }

    fn error(&self, error: &UpstreamError) -> Bytes {
        openai_error_event(error)
    }
}

/// The OpenAI Chat Completions dialect.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenAiCodec;

impl ClientCodec for OpenAiCodec {
    fn dialect(&self) -> Dialect {
        Dialect::OpenAi
    }

    fn canonical(&self, raw: &RawRequest) -> Result<ChatRequest, String> {
        to_canonical(raw.bytes())
    }

    fn stream_encoder(&self, raw: &RawRequest) -> Box<dyn EventEncoder> {
        Box::new(OpenAiEncoder::new(raw.include_usage()))
    }

    fn encode_answer(&self, _raw: &RawRequest, answer: &ChatResponse) -> Bytes {
        Bytes::from(from_canonical(answer).to_string())
    }

    fn error_event(&self, error: &UpstreamError) -> Bytes {
        openai_error_event(error)
    }

    fn decode_answer(&self, body: &[u8]) -> Option<ChatResponse> {
        super::decode_answer(body).ok()
    }

    fn stream_decoder(&self) -> Box<dyn EventDecoder> {
        Box::new(super::OpenAiDecoder::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::sse::SseDecoder;
    use serde_json::Value;

    #[test]
    fn anthropic_fixture_becomes_openai_chunks() {
        let bytes = std::fs::read(format!(
            "{}/tests/fixtures/anthropic/stream_tool_use.sse",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut dec = SseDecoder::default();
        dec.feed(&bytes);
        let mut enc = OpenAiEncoder::new(true);
        let mut out = VecDeque::new();
        while let Some(e) = dec.next_event().unwrap() {
            enc.encode(&serde_json::from_slice(e.data()).unwrap(), &mut out);
        }
        let chunks: Vec<Value> = out
            .iter()
            .map(|b| {
                std::str::from_utf8(b)
                    .unwrap()
                    .trim()
                    .strip_prefix("data: ")
                    .unwrap()
                    .to_string()
            })
            .filter(|d| d != "[DONE]")
            .map(|d| serde_json::from_str(&d).unwrap())
            .collect();
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(chunks[0]["id"], "chatcmpl-019Q1hrJbZG26Fb9BQhrkHEr");
        assert_eq!(chunks[1]["choices"][0]["delta"]["content"], "I'll check.");
        assert_eq!(
            chunks[2]["choices"][0]["delta"]["tool_calls"][0]["index"], 0,
            "tool index, not block index"
        );
        assert_eq!(
            chunks[2]["choices"][0]["delta"]["tool_calls"][0]["id"],
            "toolu_01NRLabsLyVHZPKxbKvkfSMn"
        );
        let args: String = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert_eq!(args, "{\"location\": \"Paris\"}");
        let finish = chunks
            .iter()
            .find_map(|c| c["choices"][0]["finish_reason"].as_str())
            .unwrap();
        assert_eq!(finish, "tool_calls");
        let usage = &chunks.last().unwrap()["usage"];
        assert_eq!(
            (
                usage["prompt_tokens"].as_u64(),
                usage["completion_tokens"].as_u64()
            ),
            (Some(377), Some(65))
        );
        assert_eq!(
            std::str::from_utf8(out.back().unwrap()).unwrap(),
            "data: [DONE]\n\n"
        );
    }
}
