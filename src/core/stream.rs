//! Canonical stream events: Anthropic's event model, the pivot when a stream
//! is translated between dialects.

use super::request::ContentBlock;
use super::response::ChatResponse;
use super::usage::UsageReport;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The message envelope, with empty content and the input usage.
    MessageStart {
        /// The envelope.
        message: ChatResponse,
    },
    /// A block opens at `index`.
    ContentBlockStart {
        /// Block index, from 0 in order.
        index: usize,
        /// The block's initial state.
        content_block: ContentBlock,
    },
    /// A piece of the block at `index`.
    ContentBlockDelta {
        /// Block index.
        index: usize,
        /// The piece.
        delta: Delta,
    },
    /// The block at `index` is complete.
    ContentBlockStop {
        /// Block index.
        index: usize,
    },
    /// Stop reason and cumulative usage.
    MessageDelta {
        /// Stop reason and extras (e.g. `safeguard_results`).
        delta: MessageDeltaBody,
        /// Cumulative usage.
        #[serde(default)]
        usage: Option<UsageReport>,
    },
    /// End of the message.
    MessageStop,
    /// Keep-alive.
    Ping,
    /// A failure after the stream began.
    Error {
        /// `{type, message}`.
        error: ErrorBody,
    },
}

/// A piece of a content block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Delta {
    /// More text.
    TextDelta {
        /// The text.
        text: String,
    },
    /// More tool-input JSON (concatenate, parse at block stop).
    InputJsonDelta {
        /// A fragment of JSON.
        partial_json: String,
    },
    /// More reasoning.
    ThinkingDelta {
        /// The reasoning text.
        thinking: String,
    },
    /// The signature of a thinking block.
    SignatureDelta {
        /// The signature.
        signature: String,
    },
    /// Any other delta, kept verbatim.
    #[serde(untagged)]
    Other(Value),
}

/// `message_delta.delta`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessageDeltaBody {
    /// Why generation stopped.
    #[serde(default)]
    pub stop_reason: Option<String>,
    /// The stop sequence hit.
    #[serde(default)]
    pub stop_sequence: Option<String>,
    /// Unmodelled fields (`safeguard_results`, `container`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{type, message}` of an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Anthropic error type (`overloaded_error`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// Human-readable message.
    pub message: String,
}

impl StreamEvent {
    /// The SSE event name of this event.
    pub fn name(&self) -> &'static str {
        match self {
            StreamEvent::MessageStart { .. } => "message_start",
            StreamEvent::ContentBlockStart { .. } => "content_block_start",
            StreamEvent::ContentBlockDelta { .. } => "content_block_delta",
            StreamEvent::ContentBlockStop { .. } => "content_block_stop",
            StreamEvent::MessageDelta { .. } => "message_delta",
            StreamEvent::MessageStop => "message_stop",
            StreamEvent::Ping => "ping",
            StreamEvent::Error { .. } => "error",
        }
    }
}
