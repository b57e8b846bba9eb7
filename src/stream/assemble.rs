//! Whole answers and streams, both ways: [`Assembler`] folds canonical
//! stream events into the complete answer they describe, and
//! [`answer_events`] plays a complete answer back as the events of a
//! well-formed stream (what a cache hit sends to a streaming client).

use crate::core::{
    ChatResponse, ContentBlock, Delta, MessageDeltaBody, StreamEvent, TextBlock, ThinkingBlock,
    ToolUseBlock, UsageReport,
};
use serde_json::{Map, Value};

/// A block being assembled, with the raw tool-input JSON gathered so far.
#[derive(Debug)]
struct Open {
    block: ContentBlock,
    json: String,
}

/// Builds a [`ChatResponse`] from stream events.
#[derive(Debug, Default)]
pub struct Assembler {
    message: Option<ChatResponse>,
    blocks: Vec<Open>,
    stopped: bool,
    failed: bool,
}

impl Assembler {
    /// Take one event.
    pub fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::MessageStart { message } => {
                let mut m = message.clone();
                m.content.clear();
                self.message = Some(m);
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                if *index == self.blocks.len() {
                    self.blocks.push(Open {
                        block: content_block.clone(),
                        json: String::new(),
                    });
                } else {
                    self.failed = true;
                }
            }
            StreamEvent::ContentBlockDelta { index, delta } => match self.blocks.get_mut(*index) {
                Some(open) => apply(open, delta),
                None => self.failed = true,
            },
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping => {}
            StreamEvent::MessageDelta { delta, usage } => {
                if let Some(m) = &mut self.message {
                    m.stop_reason = delta.stop_reason.clone();
                    m.stop_sequence = delta.stop_sequence.clone();
                    for (k, v) in &delta.extra {
                        m.extra.insert(k.clone(), v.clone());
                    }
                    if let Some(u) = usage {
                        merge_usage(&mut m.usage, u);
                    }
                }
            }
            StreamEvent::MessageStop => self.stopped = true,
            StreamEvent::Error { .. } => self.failed = true,
        }
    }

    /// The complete answer, if the stream was complete and well formed.
    pub fn finish(self) -> Option<ChatResponse> {
        if !self.stopped || self.failed {
            return None;
        }
        let mut message = self.message?;
        for open in self.blocks {
            let mut block = open.block;
            if !open.json.is_empty() {
                let input = serde_json::from_str(&open.json).ok()?;
                match &mut block {
                    ContentBlock::ToolUse(t) => t.input = input,
                    // Server tools (`server_tool_use`, `mcp_tool_use`).
                    ContentBlock::Other(Value::Object(o)) => {
                        o.insert("input".into(), input);
                    }
                    _ => {}
                }
            }
            message.content.push(block);
        }
        Some(message)
    }
}

fn apply(open: &mut Open, delta: &Delta) {
    match (&mut open.block, delta) {
        (ContentBlock::Text(t), Delta::TextDelta { text }) => t.text.push_str(text),
        (
            ContentBlock::ToolUse(_) | ContentBlock::Other(_),
            Delta::InputJsonDelta { partial_json },
        ) => open.json.push_str(partial_json),
        (ContentBlock::Text(t), Delta::Other(d)) if d["type"] == "citations_delta" => {
            let citation = d["citation"].clone();
            match t.extra.entry("citations").or_insert(Value::Null) {
                Value::Array(list) => list.push(citation),
                other => *other = Value::Array(vec![citation]),
            }
        }
        (ContentBlock::Thinking(t), Delta::ThinkingDelta { thinking }) => {
            t.thinking.push_str(thinking)
        }
        (ContentBlock::Thinking(t), Delta::SignatureDelta { signature }) => t
            .signature
            .get_or_insert_with(String::new)
            .push_str(signature),
        // Other deltas do not change the answer.
        _ => {}
    }
}

/// Later usage reports override earlier counts field by field.
fn merge_usage(into: &mut UsageReport, from: &UsageReport) {
    let set = |a: &mut Option<u64>, b: Option<u64>| {
        if b.is_some() {
            *a = b;
        }
    };
    set(&mut into.input_tokens, from.input_tokens);
    set(&mut into.output_tokens, from.output_tokens);
    set(
        &mut into.cache_creation_input_tokens,
        from.cache_creation_input_tokens,
    );
    set(
        &mut into.cache_read_input_tokens,
        from.cache_read_input_tokens,
    );
    if from.cache_creation.is_some() {
        into.cache_creation = from.cache_creation;
    }
}

/// Split text into a few pieces on char boundaries (a replay looks like a stream).
fn pieces(text: &str, max: usize) -> Vec<&str> {
    if text.is_empty() {
        return vec![""];
    }
    let size = text.len().div_ceil(max).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + size).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

/// The events of a stream that delivers `answer`.
pub fn answer_events(answer: &ChatResponse) -> Vec<StreamEvent> {
    let mut start = answer.clone();
    start.content.clear();
    start.stop_reason = None;
    start.stop_sequence = None;
    start.usage.output_tokens = Some(1.min(answer.usage.output_tokens.unwrap_or(1)));
    let mut events = vec![StreamEvent::MessageStart { message: start }];
    for (index, block) in answer.content.iter().enumerate() {
        let (opening, deltas) = block_events(block);
        events.push(StreamEvent::ContentBlockStart {
            index,
            content_block: opening,
        });
        events.extend(
            deltas
                .into_iter()
                .map(|delta| StreamEvent::ContentBlockDelta { index, delta }),
        );
        events.push(StreamEvent::ContentBlockStop { index });
    }
    events.push(StreamEvent::MessageDelta {
        delta: MessageDeltaBody {
            stop_reason: answer.stop_reason.clone(),
            stop_sequence: answer.stop_sequence.clone(),
            extra: Map::new(),
        },
        usage: Some(answer.usage.clone()),
    });
    events.push(StreamEvent::MessageStop);
    events
}

/// A block's opening state and the deltas that fill it.
fn block_events(block: &ContentBlock) -> (ContentBlock, Vec<Delta>) {
    match block {
        ContentBlock::Text(t) => {
            let mut empty = TextBlock::new("");
            empty.extra = t.extra.clone();
            let deltas = pieces(&t.text, 4)
                .into_iter()
                .map(|p| Delta::TextDelta { text: p.into() })
                .collect();
            (ContentBlock::Text(empty), deltas)
        }
        ContentBlock::ToolUse(t) => {
            let opening = ToolUseBlock {
                input: Value::Object(Map::new()),
                ..t.clone()
            };
            let json = t.input.to_string();
            let deltas = pieces(&json, 4)
                .into_iter()
                .map(|p| Delta::InputJsonDelta {
                    partial_json: p.into(),
                })
                .collect();
            (ContentBlock::ToolUse(opening), deltas)
        }
        ContentBlock::Thinking(t) => {
            let opening = ThinkingBlock {
                thinking: String::new(),
                signature: Some(String::new()),
                extra: t.extra.clone(),
            };
            let mut deltas = vec![Delta::ThinkingDelta {
                thinking: t.thinking.clone(),
            }];
            if let Some(signature) = &t.signature {
                deltas.push(Delta::SignatureDelta {
                    signature: signature.clone(),
                });
            }
            (ContentBlock::Thinking(opening), deltas)
        }
        // Redacted thinking and other blocks arrive whole in their start event.
        other => (other.clone(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer() -> ChatResponse {
        serde_json::from_value(serde_json::json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "Let me think.", "signature": "sig-abc"},
                {"type": "text", "text": "Here is the plan: café ☕ and more text."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls -la", "n": 2}},
                {"type": "redacted_thinking", "data": "opaque"}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 120, "output_tokens": 45, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0}
        }))
        .unwrap()
    }

    #[test]
    fn replaying_and_assembling_round_trip() {
        let a = answer();
        let events = answer_events(&a);
        assert!(matches!(
            events.first(),
            Some(StreamEvent::MessageStart { .. })
        ));
        assert!(matches!(events.last(), Some(StreamEvent::MessageStop)));
        let text_deltas = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    StreamEvent::ContentBlockDelta {
                        delta: Delta::TextDelta { .. },
                        ..
                    }
                )
            })
            .count();
        assert!(text_deltas > 1, "text arrives in pieces");
        let mut asm = Assembler::default();
        for e in &events {
            asm.push(e);
        }
        assert_eq!(asm.finish(), Some(a));
    }

    #[test]
    fn incomplete_or_failed_streams_give_nothing() {
        let events = answer_events(&answer());
        let mut asm = Assembler::default();
        for e in &events[..events.len() - 1] {
            asm.push(e);
        }
        assert_eq!(asm.finish(), None, "no message_stop");
        let mut asm = Assembler::default();
        for e in &events {
            asm.push(e);
            if matches!(e, StreamEvent::ContentBlockStop { index: 1 }) {
                asm.push(&StreamEvent::Error {
                    error: crate::core::ErrorBody {
                        kind: "overloaded_error".into(),
                        message: "x".into(),
                    },
                });
            }
        }
        assert_eq!(asm.finish(), None, "an error inside");
    }

    #[test]
    fn citations_and_server_tool_inputs_are_kept() {
        let events: Vec<StreamEvent> = [
            serde_json::json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}),
            serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}),
            serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"query\":"}}),
            serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\"rust\"}"}}),
            serde_json::json!({"type":"content_block_stop","index":0}),
            serde_json::json!({"type":"content_block_start","index":1,"content_block":{"type":"text","text":"","citations":null}}),
            serde_json::json!({"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"x"}}}),
            serde_json::json!({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Rust is"}}),
            serde_json::json!({"type":"content_block_stop","index":1}),
            serde_json::json!({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":9}}),
            serde_json::json!({"type":"message_stop"}),
        ]
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
        let mut asm = Assembler::default();
        events.iter().for_each(|e| asm.push(e));
        let got = serde_json::to_value(asm.finish().unwrap()).unwrap();
        assert_eq!(
            got["content"][0]["input"],
            serde_json::json!({"query": "rust"})
        );
        assert_eq!(got["content"][1]["text"], "Rust is");
        assert_eq!(
            got["content"][1]["citations"],
            serde_json::json!([{"type":"char_location","cited_text":"x"}])
        );
        assert_eq!(got["usage"]["output_tokens"], 9);
    }

    #[test]
    fn pieces_respect_char_boundaries() {
        for text in ["", "a", "ééééé", "日本語のテキスト", "abc☕def"] {
            assert_eq!(pieces(text, 4).concat(), text);
        }
    }
}
