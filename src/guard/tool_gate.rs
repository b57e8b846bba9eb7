//! ToolGate: hold each `tool_use` block of an answer until it is complete,
//! judge the call (`guard::ToolCheck`), and let it through, fail the
//! attempt (so the next target is asked — only while nothing has reached
//! the client), or put a refusal the client's model reads in its place.
//!
//! Text passes at once; the envelope (`message_start`, pings) — and, while
//! the attempt may still escalate, thinking — is held only until the first
//! text or tool block shows what the answer is. When every call
//! of an answer was refused, its `tool_use` stop reason becomes
//! `end_turn`. The gate is generic over what it holds: canonical events
//! when translating, raw event bytes in the passthroughs.

use crate::core::{ChatResponse, ContentBlock, Delta, StreamEvent, TextBlock};
use crate::error::UpstreamError;
use crate::guard::tools::{ToolCheck, Violation, escalation};
use serde_json::Value;

/// What the gate needs to know of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    /// A block opens; `tool` is the name of a tool call.
    Block {
        /// Its index.
        index: usize,
        /// The tool's name, for a `tool_use` block.
        tool: Option<&'a str>,
    },
    /// A thinking block opens.
    Reasoning,
    /// A fragment of a tool call's input.
    Json {
        /// Its block's index.
        index: usize,
        /// The fragment.
        partial: &'a str,
    },
    /// A block closes.
    Stop {
        /// Its index.
        index: usize,
    },
    /// The closing delta with its stop reason.
    Delta {
        /// Why generation stopped.
        stop_reason: Option<&'a str>,
    },
    /// Anything else (the envelope, pings, text, the end).
    Other,
}

/// What the gate lets out.
#[derive(Debug, PartialEq)]
pub enum Out<T> {
    /// An item, as it came.
    Pass(T),
    /// A refusal note as a text block at `index`, in place of a call.
    Refused {
        /// The refused call's block index.
        index: usize,
        /// The note.
        text: String,
    },
    /// The closing delta, with its stop reason to become `end_turn`.
    EndTurn(T),
}

#[derive(Debug)]
struct OpenCall {
    index: usize,
    name: String,
    json: String,
    /// Where its items start in `held`.
    from: usize,
}

/// The gate for one answer.
#[derive(Debug)]
pub struct ToolGate<T> {
    check: ToolCheck,
    held: Vec<T>,
    committed: bool,
    open: Option<OpenCall>,
    kept: usize,
    refused: Vec<Violation>,
}

impl<T> ToolGate<T> {
    /// A gate judging calls with `check`.
    pub fn new(check: ToolCheck) -> Self {
        ToolGate {
            check,
            held: Vec::new(),
            committed: false,
            open: None,
            kept: 0,
            refused: Vec::new(),
        }
    }

    /// The calls refused so far.
    pub fn refused(&self) -> &[Violation] {
        &self.refused
    }

    fn release(&mut self, out: &mut Vec<Out<T>>) {
        self.committed = true;
        out.extend(self.held.drain(..).map(Out::Pass));
    }

    /// Take one item; what may go to the client now is pushed to `out`.
    /// An error fails the attempt: a refused call before anything was sent,
    /// when the check may escalate.
    pub fn push(
        &mut self,
        seen: Seen<'_>,
        item: T,
        out: &mut Vec<Out<T>>,
    ) -> Result<(), UpstreamError> {
        if let Some(open) = &mut self.open {
            match seen {
                Seen::Json { index, partial } if index == open.index => {
                    open.json.push_str(partial);
                    self.held.push(item);
                }
                Seen::Stop { index } if index == open.index => {
                    self.held.push(item);
                    return self.judge(out);
                }
                _ => self.held.push(item),
            }
            return Ok(());
        }
        match seen {
            Seen::Block {
                index,
                tool: Some(name),
            } => {
                self.open = Some(OpenCall {
                    index,
                    name: name.to_string(),
                    json: String::new(),
                    from: self.held.len(),
                });
                self.held.push(item);
            }
            Seen::Delta {
                stop_reason: Some("tool_use"),
            } if self.kept == 0 && !self.refused.is_empty() => {
                self.release(out);
                out.push(Out::EndTurn(item));
            }
            Seen::Other if !self.committed => self.held.push(item),
            Seen::Reasoning if !self.committed && self.check.escalate => self.held.push(item),
            // The end of a held thinking block.
            Seen::Stop { .. } if !self.committed => self.held.push(item),
            _ => {
                self.release(out);
                out.push(Out::Pass(item));
            }
        }
        Ok(())
    }

    fn judge(&mut self, out: &mut Vec<Out<T>>) -> Result<(), UpstreamError> {
        let Some(call) = self.open.take() else {
            return Ok(());
        };
        let input = if call.json.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&call.json).unwrap_or(Value::Null)
        };
        let Some(violation) = self.check.judge(&call.name, &input) else {
            self.kept += 1;
            self.release(out);
            return Ok(());
        };
        if self.check.escalate && (!self.committed || self.check.whole_answer) {
            return Err(escalation(&violation));
        }
        tracing::info!(rule = %violation.rule, tool = %violation.tool, "guardrails: refused a proposed tool call");
        self.held.truncate(call.from);
        self.release(out);
        out.push(Out::Refused {
            index: call.index,
            text: violation.refusal(),
        });
        self.refused.push(violation);
        Ok(())
    }

    /// The answer ended: whatever is still held goes out.
    pub fn finish(&mut self, out: &mut Vec<Out<T>>) {
        self.open = None;
        self.release(out);
    }
}

/// The gate's view of a canonical event, owning its few strings (tool
/// names and input fragments) so the event itself can be held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewed {
    /// See [`Seen::Block`].
    Block(usize, Option<String>),
    /// See [`Seen::Reasoning`].
    Reasoning,
    /// See [`Seen::Json`].
    Json(usize, String),
    /// See [`Seen::Stop`].
    Stop(usize),
    /// See [`Seen::Delta`].
    Delta(Option<String>),
    /// See [`Seen::Other`].
    Other,
}

impl Viewed {
    /// The view of `event`.
    pub fn of(event: &StreamEvent) -> Viewed {
        match event {
            StreamEvent::ContentBlockStart {
                content_block: ContentBlock::Thinking(_) | ContentBlock::RedactedThinking(_),
                ..
            } => Viewed::Reasoning,
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => Viewed::Block(
                *index,
                match content_block {
                    ContentBlock::ToolUse(t) => Some(t.name.clone()),
                    _ => None,
                },
            ),
            StreamEvent::ContentBlockDelta {
                index,
                delta: Delta::InputJsonDelta { partial_json },
            } => Viewed::Json(*index, partial_json.clone()),
            StreamEvent::ContentBlockStop { index } => Viewed::Stop(*index),
            StreamEvent::MessageDelta { delta, .. } => Viewed::Delta(delta.stop_reason.clone()),
            _ => Viewed::Other,
        }
    }

    /// As the gate takes it.
    pub fn as_seen(&self) -> Seen<'_> {
        match self {
            Viewed::Block(index, tool) => Seen::Block {
                index: *index,
                tool: tool.as_deref(),
            },
            Viewed::Json(index, partial) => Seen::Json {
                index: *index,
                partial,
            },
            Viewed::Reasoning => Seen::Reasoning,
            Viewed::Stop(index) => Seen::Stop { index: *index },
            Viewed::Delta(r) => Seen::Delta {
                stop_reason: r.as_deref(),
            },
            Viewed::Other => Seen::Other,
        }
    }
}

/// The canonical events for what the gate let out.
pub fn into_events(out: Out<StreamEvent>, events: &mut Vec<StreamEvent>) {
    match out {
        Out::Pass(e) => events.push(e),
        Out::Refused { index, text } => events.extend([
            StreamEvent::ContentBlockStart {
                index,
                content_block: ContentBlock::Text(TextBlock::new("")),
            },
            StreamEvent::ContentBlockDelta {
                index,
                delta: Delta::TextDelta { text },
            },
            StreamEvent::ContentBlockStop { index },
        ]),
        Out::EndTurn(mut e) => {
            if let StreamEvent::MessageDelta { delta, .. } = &mut e {
                delta.stop_reason = Some("end_turn".into());
            }
            events.push(e);
        }
    }
}

/// Judge a whole answer's tool calls: refused ones become refusal notes
/// (or, when `check` may escalate, the first fails the attempt). Returns
/// the notes of the refused calls.
pub fn judge_answer(
    answer: &mut ChatResponse,
    check: &ToolCheck,
) -> Result<Vec<String>, UpstreamError> {
    let mut refused = Vec::new();
    let mut kept = 0;
    for block in &mut answer.content {
        let ContentBlock::ToolUse(t) = block else {
            continue;
        };
        match check.judge(&t.name, &t.input) {
            None => kept += 1,
            Some(v) if check.escalate => return Err(escalation(&v)),
            Some(v) => {
                *block = ContentBlock::Text(TextBlock::new(v.refusal()));
                refused.push(v.note());
            }
        }
    }
    if kept == 0 && !refused.is_empty() && answer.stop_reason.as_deref() == Some("tool_use") {
        answer.stop_reason = Some("end_turn".into());
    }
    Ok(refused)
}

/// The same for an Anthropic answer as JSON (the passthroughs): the body
/// to send (unchanged unless a call was refused) and the refusals' notes.
pub fn judge_anthropic_json(
    body: bytes::Bytes,
    check: &ToolCheck,
) -> Result<(bytes::Bytes, Vec<String>), UpstreamError> {
    let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else {
        return Ok((body, Vec::new()));
    };
    let (mut refused, mut kept) = (Vec::new(), 0);
    if let Some(blocks) = answer.get_mut("content").and_then(Value::as_array_mut) {
        for block in blocks.iter_mut() {
            if block.get("type").and_then(Value::as_str) != Some("tool_use") {
                continue;
            }
            let name = block.get("name").and_then(Value::as_str).unwrap_or("");
            let input = block.get("input").cloned().unwrap_or(Value::Null);
            match check.judge(name, &input) {
                None => kept += 1,
                Some(v) if check.escalate => return Err(escalation(&v)),
                Some(v) => {
                    *block = serde_json::json!({"type": "text", "text": v.refusal()});
                    refused.push(v.note());
                }
            }
        }
    }
    if refused.is_empty() {
        return Ok((body, refused));
    }
    if kept == 0
        && let Some(reason) = answer.get_mut("stop_reason")
        && reason == "tool_use"
    {
        *reason = "end_turn".into();
    }
    let rewritten = serde_json::to_vec(&answer).map_err(|e| {
        UpstreamError::new(crate::error::UpstreamErrorKind::Malformed, e.to_string())
    })?;
    Ok((rewritten.into(), refused))
}

#[cfg(test)]
#[path = "tool_gate_tests.rs"]
mod tests;
