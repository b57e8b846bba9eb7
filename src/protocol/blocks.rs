//! Content blocks for protocols that stream plain text deltas (OpenAI
//! chunks, Ollama lines): which block is open, opening a text or thinking
//! block when the kind of delta changes, and whole tool-use blocks. Both
//! decoders share it so their events number and nest the same way.

use crate::core::{ContentBlock, Delta, StreamEvent, TextBlock, ThinkingBlock, ToolUseBlock};
use serde_json::{Map, Value};

/// What a text-like delta carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Answer text.
    Text,
    /// Reasoning.
    Thinking,
}

/// The blocks of one streamed message.
#[derive(Debug, Default)]
pub struct Blocks {
    open: Option<(usize, Kind)>,
    next_index: usize,
}

impl Blocks {
    /// Close the open block, if any.
    pub fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some((index, _)) = self.open.take() {
            out.push(StreamEvent::ContentBlockStop { index });
        }
    }

    fn next(&mut self) -> usize {
        let i = self.next_index;
        self.next_index += 1;
        i
    }

    /// A delta of `kind`: into the open block when it is of that kind, else
    /// into a new one.
    pub fn delta(&mut self, kind: Kind, text: String, out: &mut Vec<StreamEvent>) {
        let index = match self.open {
            Some((i, k)) if k == kind => i,
            _ => {
                self.close(out);
                let i = self.next();
                let content_block = match kind {
                    Kind::Text => ContentBlock::Text(TextBlock::new("")),
                    Kind::Thinking => ContentBlock::Thinking(ThinkingBlock {
                        thinking: String::new(),
                        signature: None,
                        extra: Map::new(),
                    }),
                };
                out.push(StreamEvent::ContentBlockStart {
                    index: i,
                    content_block,
                });
                self.open = Some((i, kind));
                i
            }
        };
        let delta = match kind {
            Kind::Text => Delta::TextDelta { text },
            Kind::Thinking => Delta::ThinkingDelta { thinking: text },
        };
        out.push(StreamEvent::ContentBlockDelta { index, delta });
    }

    /// A whole tool call: start (with empty input), its input as one JSON
    /// delta, stop.
    pub fn tool_use(&mut self, mut block: ToolUseBlock, out: &mut Vec<StreamEvent>) {
        self.close(out);
        let input = std::mem::replace(&mut block.input, Value::Object(Map::new()));
        let index = self.next();
        out.push(StreamEvent::ContentBlockStart {
            index,
            content_block: ContentBlock::ToolUse(block),
        });
        out.push(StreamEvent::ContentBlockDelta {
            index,
            delta: Delta::InputJsonDelta {
                partial_json: input.to_string(),
            },
        });
        out.push(StreamEvent::ContentBlockStop { index });
    }
}
