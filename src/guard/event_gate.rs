//! The tool gate for Anthropic events relayed as bytes (the Anthropic and
//! Bedrock passthroughs): each event's JSON is looked at only as far as
//! the gate needs (block starts, tool input fragments, the closing
//! delta); events that pass go out as the exact bytes the provider wrote;
//! a refusal and a rewritten stop reason are written by the caller's
//! encoder (SSE, or event-stream frames for Bedrock clients).

use super::tool_gate::{Out, Seen, ToolGate};
use crate::error::UpstreamError;
use crate::guard::tools::ToolCheck;
use bytes::Bytes;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::VecDeque;

/// Writes one Anthropic event (name, JSON) the way the client reads it.
pub type EncodeEvent = fn(&str, &[u8]) -> Bytes;

/// An event held by the gate: its bytes for the client (and, for the
/// closing delta, its JSON, in case its stop reason must change).
#[derive(Debug)]
pub struct HeldEvent {
    data: Option<Bytes>,
    out: Bytes,
}

/// The gate over one relayed answer.
#[derive(Debug)]
pub struct EventGate {
    gate: ToolGate<HeldEvent>,
    encode: EncodeEvent,
    out: Vec<Out<HeldEvent>>,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(default)]
    index: usize,
    #[serde(default, borrow)]
    content_block: Option<PeekBlock<'a>>,
    #[serde(default, borrow)]
    delta: Option<PeekDelta<'a>>,
}

#[derive(Deserialize)]
struct PeekBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct PeekDelta<'a> {
    #[serde(default, borrow)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    stop_reason: Option<Cow<'a, str>>,
}

impl EventGate {
    /// A gate judging with `check`; `encode` writes the events it makes.
    pub fn new(check: ToolCheck, encode: EncodeEvent) -> Self {
        EventGate {
            gate: ToolGate::new(check),
            encode,
            out: Vec::new(),
        }
    }

    /// Notes of the calls refused so far.
    pub fn refused(&self) -> Vec<String> {
        self.gate.refused().iter().map(|v| v.note()).collect()
    }

    /// Take the event `name` with JSON `data`, which would reach the client
    /// as `bytes`; what may go now is pushed to `out`.
    pub fn push(
        &mut self,
        name: &str,
        data: &[u8],
        bytes: Bytes,
        out: &mut VecDeque<Bytes>,
    ) -> Result<(), UpstreamError> {
        let held = HeldEvent {
            data: (name == "message_delta").then(|| Bytes::copy_from_slice(data)),
            out: bytes,
        };
        let wanted = matches!(
            name,
            "content_block_start" | "content_block_delta" | "content_block_stop" | "message_delta"
        );
        let peek = wanted
            .then(|| serde_json::from_slice::<Peek<'_>>(data).ok())
            .flatten();
        let reasoning = |p: &Peek<'_>| {
            p.content_block
                .as_ref()
                .is_some_and(|b| b.kind == "thinking" || b.kind == "redacted_thinking")
        };
        let seen = match (name, &peek) {
            ("content_block_start", Some(p)) if reasoning(p) => Seen::Reasoning,
            ("content_block_start", Some(p)) => Seen::Block {
                index: p.index,
                tool: p
                    .content_block
                    .as_ref()
                    .filter(|b| b.kind == "tool_use")
                    .map(|b| b.name.as_deref().unwrap_or("")),
            },
            ("content_block_delta", Some(p)) => {
                match p.delta.as_ref().and_then(|d| d.partial_json.as_deref()) {
                    Some(partial) => Seen::Json {
                        index: p.index,
                        partial,
                    },
                    None => Seen::Other,
                }
            }
            ("content_block_stop", Some(p)) => Seen::Stop { index: p.index },
            ("message_delta", Some(p)) => Seen::Delta {
                stop_reason: p.delta.as_ref().and_then(|d| d.stop_reason.as_deref()),
            },
            _ => Seen::Other,
        };
        let result = self.gate.push(seen, held, &mut self.out);
        self.drain(out);
        result
    }

    /// The answer ended: what is held goes out.
    pub fn finish(&mut self, out: &mut VecDeque<Bytes>) {
        self.gate.finish(&mut self.out);
        self.drain(out);
    }

    fn drain(&mut self, out: &mut VecDeque<Bytes>) {
        let encode = self.encode;
        for o in self.out.drain(..) {
            match o {
                Out::Pass(h) => out.push_back(h.out),
                Out::Refused { index, text } => {
                    for (name, json) in refusal_events(index, &text) {
                        out.push_back(encode(name, json.to_string().as_bytes()));
                    }
                }
                Out::EndTurn(h) => match h.data.as_deref().and_then(end_turn) {
                    Some(json) => out.push_back(encode("message_delta", &json)),
                    None => out.push_back(h.out),
                },
            }
        }
    }
}

/// A text block at `index` saying `text`, as Anthropic events.
fn refusal_events(index: usize, text: &str) -> [(&'static str, serde_json::Value); 3] {
    use serde_json::json;
    [
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ),
    ]
}

/// A `message_delta`'s JSON with its stop reason made `end_turn`.
fn end_turn(data: &[u8]) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(data).ok()?;
    *v.get_mut("delta")?.get_mut("stop_reason")? = "end_turn".into();
    serde_json::to_vec(&v).ok()
}
